// The client role of platform/tls (for the core's coming client
// connections): test/tls/client.c, built here against the same mbedTLS
// objects as the simulator, connects to the simulator with --tls. Checks
// that it verifies the chain (the test CA), the host name (RFC 6125: the
// name it asked for must be in the certificate), sends SNI, and presents a
// client certificate when the server asks.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Sim, ROOT, ENGINE, simBinary } from "../integration/sim";
import { cert } from "./tls-helpers";
import { MBEDTLS_UNITS, TLS_DIR, tlsIncludeFlags } from "../../tools/tls";

// one binary per jest project (the wasm2c and wasm3 projects run at once)
const OUT = path.join(ROOT, "build/linux", `tls-client-${ENGINE || "wasm2c"}`);
const BIN = path.join(OUT, "tls-client");

function client(port: number, host: string, ca = cert("ca.crt"), own: string[] = []): { status: number | null; line: string } {
  const r = spawnSync("timeout", ["10", BIN, ca, host, String(port), ...own], { encoding: "utf8", timeout: 15000 });
  return { status: r.status, line: (r.stdout || "").trim() + (r.status === 2 ? ` ${r.stderr}` : "") };
}

beforeAll(() => {
  simBinary(); // builds mbedTLS's objects (build/linux/mbedtls) too
  const objs = MBEDTLS_UNITS.map((u) => path.join(ROOT, "build/linux/mbedtls", `vendor_mbedtls_library_${u.replace(/\.c$/, ".o")}`));
  for (const o of objs) if (!fs.existsSync(o)) throw new Error(`${o} missing after the simulator build`);
  fs.mkdirSync(OUT, { recursive: true });
  execFileSync("gcc", ["-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", ...tlsIncludeFlags(), `-I${TLS_DIR}`, `-I${path.join(ROOT, "platform/include")}`,
    // driver.h needs the generated ABI header; any build's copy will do
    `-I${path.join(ROOT, "build/linux/demo/wasm2c/include")}`,
    "-o", BIN, path.join(__dirname, "client.c"), path.join(TLS_DIR, "tls.c"), ...objs], { stdio: ["ignore", "pipe", "pipe"] });
}, 120000);

describe("against a TLS 1.2 server with an SNI certificate and the default one", () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await Sim.start({ tls: ["--tls", "--tls-sni", `sni.mote.test=${cert("sni.crt")},${cert("sni.key")}`, "-d", "15"] });
  }, 30000);
  afterAll(async () => {
    expect((await sim.stop()).code).toBe(0);
  }, 15000);

  test("verified chain and name: the GET is answered", () => {
    const r = client(sim.port, "localhost");
    expect(r.line).toMatch(/^ok TLSv1\.2 TLS-ECDHE-\S+ status=HTTP\/1\.1 200 OK/);
    expect(r.status).toBe(0);
  });

  test("SNI: asking for sni.mote.test gets (and verifies) that certificate", async () => {
    const r = client(sim.port, "sni.mote.test");
    expect(r.line).toMatch(/^ok .* status=HTTP\/1\.1 200 OK/);
    await sim.waitLog(/TLS handshake done: .*SNI sni\.mote\.test/);
  });

  test("a name the certificate does not carry is refused (hostname check)", () => {
    const r = client(sim.port, "other.example");
    expect(r.status).toBe(1);
    // the unknown name gets the default certificate (localhost), which does not match
    expect(r.line).toMatch(/^fail .*verif.*; .*(Common Name|CN|subject|name).*(does not match|expected)/i);
  });

  test("a server certificate from another CA is refused (chain check)", () => {
    const r = client(sim.port, "localhost", cert("rogue-ca.crt"));
    expect(r.status).toBe(1);
    expect(r.line).toMatch(/not correctly signed by the trusted CA/);
  });
});

test("a client certificate is presented when the server requires one", async () => {
  const sim = await Sim.start({ tls: ["--tls", "--tls-client-ca", cert("ca.crt")] });
  try {
    expect(client(sim.port, "localhost", cert("ca.crt"), [cert("client.crt"), cert("client.key")]).line).toMatch(/^ok .*200 OK/);
    expect(client(sim.port, "localhost").status).toBe(1);
  } finally {
    expect((await sim.stop()).code).toBe(0);
  }
}, 30000);
