// Vhosts sharing a listen port with TLS, in the real core over the Node host
// (test/unit/host.ts), which plays the port: it records each sock_tls
// options block and reports, with each accepted connection, the vhost whose
// TLS configuration served its handshake (what mbedTLS's SNI callback chose
// in the real ports). Host-only selection (plaintext) is in core-http.
import * as C from "../../src/abi/constants";
import { testHost } from "./core";
import { FakeConn, Host } from "./host";

const get = (host: string, p = "/") => `GET ${p} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
const statuses = (out: Buffer) => [...out.toString("latin1").matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => +m[1]);

describe("TLS vhosts on one port (test/apps/tls-vhost.ts)", () => {
  let h: Host;
  beforeEach(async () => {
    h = await testHost({ logLevel: C.LOG_DEFAULT }, "tls-vhost", { tls: true });
  });

  test("each vhost's TLS options reach the port once, the port's default first", () => {
    expect(h.listens.length).toBe(1); // one listener for both
    expect(h.tlsCalls.map((t) => [t.listener, t.vhost])).toEqual([[0, 0], [0, 1]]);
    const [def, sni] = h.tlsCalls.map((t) => t.opts);
    expect(def.get(C.TLS_OPT_CERT)).toEqual(["vendor/tls/ecdsa.crt"]);
    expect(def.get(C.TLS_OPT_KEY)).toEqual(["vendor/tls/ecdsa.key"]);
    expect(def.get(C.TLS_OPT_CIPHERS)).toEqual(["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"]);
    expect(def.get(C.TLS_OPT_NAME)).toEqual(["secure"]);
    expect(def.has(C.TLS_OPT_CLIENT_CA)).toBe(false);
    expect(sni.get(C.TLS_OPT_CERT)).toEqual(["vendor/tls/sni.crt"]);
    expect(sni.get(C.TLS_OPT_CLIENT_CA)).toEqual(["vendor/tls/ca.crt"]);
    expect(sni.get(C.TLS_OPT_NAME)).toEqual(["sni.mote.test"]);
    expect(sni.has(C.TLS_OPT_CIPHERS)).toBe(false); // the port's list
    expect(h.logs.map((l) => l.text).join("\n")).toMatch(/vhost sni\.mote\.test: shares port 7681 with vhost secure/);
  });

  test("a connection the port reports for a vhost is served by it, whatever the Host names", () => {
    const c = h.accept(1)!;
    h.feed(c, get("sni.mote.test") + get("unknown.example"));
    const out = c.take().toString();
    expect(statuses(Buffer.from(out))).toEqual([200, 200]);
    expect(out.split("hello from vhost sni.mote.test\n").length).toBe(3);
    expect(c.closed).toBe(false);
  });

  test("a request naming the port's other vhost on a TLS-bound connection: 421 and close", () => {
    for (const [vhost, other, first] of [[1, "secure", "sni.mote.test"], [0, "SNI.mote.test:443", "localhost"]] as const) {
      const c: FakeConn = h.accept(vhost)!;
      h.feed(c, get(first) + get(other));
      const out = c.take();
      expect(statuses(out)).toEqual([200, 421]);
      expect(c.closed).toBe("graceful");
    }
  });

  test("a vhost the port names that is not on the listener: logged, the default serves", () => {
    const c = h.accept(7)!;
    h.feed(c, get("localhost"));
    expect(c.take().toString()).toContain("hello from a TLS vhost\n");
    expect(h.logs.map((l) => l.text).join("\n")).toMatch(/accept: conn \d+: vhost 7 not on listener 0/);
  });
});

describe("start-up refusals", () => {
  test("a port without TLS: the vhost never serves plaintext instead", async () => {
    await expect(testHost({}, "tls-vhost")).rejects.toThrow(/vhost secure: TLS refused by the port \(errno 38\)/);
  });

  test("TLS and plaintext vhosts on one port", async () => {
    await expect(testHost({}, "vhost-mixed", { tls: true })).rejects.toThrow(
      /vhost plain\.test: port 7681 of vhost secure\.test: TLS and plaintext cannot share a port/,
    );
  });
});

describe("vhosts on different ports and interfaces (test/apps/two-ports.ts)", () => {
  test("one listener per port and interface, each vhost's own port, the vhosts on a port sharing it", async () => {
    const h = await testHost({ logLevel: C.LOG_DEFAULT }, "two-ports");
    expect(h.listens).toEqual([7681, 7691, 7691, 7692]); // this host does not resolve "" to 127.0.0.1
    expect(h.listenIfaces).toEqual(["", "", "127.0.0.1", "127.0.0.2"]);
    expect(h.logs.map((l) => l.text).join("\n")).toMatch(/vhost www: shares port 7681 with vhost main/);
  });

  test("the command line's port moves the default vhost (and the vhosts sharing it) only", async () => {
    const h = await testHost({ logLevel: C.LOG_DEFAULT, port: 9000 }, "two-ports");
    expect(h.listens).toEqual([9000, 7691, 7691, 7692]);
    const any = await testHost({ logLevel: C.LOG_DEFAULT, port: C.PORT_ANY }, "two-ports");
    expect(any.listens).toEqual([0, 7691, 7691, 7692]);
  });

  test("a vhost the port puts on an open listener shares it (--port onto another vhost's port; one interface)", async () => {
    const h = await testHost({ logLevel: C.LOG_DEFAULT, port: 7691 }, "two-ports", { oneInterface: true });
    expect(h.listens).toEqual([7691, 7692]); // admin's and lo1's 7691 is main's listener
    const log = h.logs.map((l) => l.text).join("\n");
    expect(log).toMatch(/vhost admin: shares port 7691 with vhost main/);
    expect(log).toMatch(/vhost lo1: shares port 7691 with vhost main/);
    const hosts = ["main", "admin", "www", "lo1"].map((name) => {
      const c = h.accept(C.VHOST_ANY, 0)!;
      h.feed(c, get(name));
      return c.take().toString().split("\r\n\r\n")[1];
    });
    expect(hosts).toEqual(["main\n", "admin\n", "www\n", "lo1\n"]);
  });

  test("a connection accepted on a listener is served by the vhost listening there", async () => {
    const h = await testHost({}, "two-ports");
    const names = [0, 1, 3].map((l) => {
      const c = h.accept(C.VHOST_ANY, l)!;
      h.feed(c, get("whatever.example"));
      return c.take().toString().split("\r\n\r\n")[1];
    });
    expect(names).toEqual(["main\n", "admin\n", "lo2\n"]);
  });
});

