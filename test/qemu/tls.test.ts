// TLS on the emulated board (mps2-an386 under QEMU, lwIP): the firmware
// built with --tls (mbedTLS with platform/tls/mote_mbedtls_config_board.h:
// TLS 1.2, ECDHE-ECDSA P-256, AES-128-GCM or ChaCha20-Poly1305) serving the
// test ECDSA certificate, read from the host through semihosting.
// - https GET by curl and openssl s_client with each built suite, chain and
//   name verified; an RSA suite refused;
// - wss echo, including a 100 KiB message (many 16 KiB records into the
//   board's 16 KiB input buffer);
// - garbage, plaintext HTTP and a stalled handshake close only that
//   connection; an open wss connection keeps being served;
// - heap per TLS connection, during and after the handshake, from the
//   board's log: written to test-artifacts/tls-mps2-an386/summary.txt.
// Connects are paced: slirp's listen backlog is 1.
import * as fs from "fs";
import * as path from "path";
import WebSocket from "ws";
import { QemuBoard, BOARD, pace, nextMessage } from "./board";
import { ROOT, rawExchange, sleep } from "../integration/sim";
import { curl, sClient, wssOpen, httpsGet, cert as certFile } from "../tls/tls-helpers";
import { boardTlsWords } from "../../tools/tls";

const OUT = path.join(ROOT, "test-artifacts", `tls-${BOARD}`);
const HANDSHAKE_MS = 2000;
let board: QemuBoard;

beforeAll(async () => {
  board = await QemuBoard.start({ tls: [...boardTlsWords(), "--tls-handshake-timeout", String(HANDSHAKE_MS)], firmwareArgs: ["-d", "15"] });
}, 60000);

afterAll(async () => {
  if (!board) return;
  const r = await board.stop();
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, "board.log"), board.log);
  const done = [...board.log.matchAll(/TLS handshake done: (\S+) (\S+) in (\d+) ms; TLS heap (\d+) B, peak (\d+) B; shared (\d+) B/g)];
  const by = new Map<string, { after: number; peak: number; ms: number[] }>();
  for (const m of done) {
    const e = by.get(m[2]) || { after: 0, peak: 0, ms: [] };
    e.after = Math.max(e.after, +m[4]);
    e.peak = Math.max(e.peak, +m[5]);
    e.ms.push(+m[3]);
    by.set(m[2], e);
  }
  const shared = done.length ? +done[0][6] : 0;
  const med = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const line =
    `tls (${BOARD} under QEMU, TLS 1.2 ECDHE-ECDSA P-256, per connection): ` +
    [...by].map(([k, e]) => `${k.replace(/^TLS-ECDHE-ECDSA-WITH-/, "")}: heap after handshake ${e.after} B, peak ${e.peak} B, handshake ${med(e.ms)} ms (median of ${e.ms.length})`).join("; ") +
    `; shared ${shared} B (certificate, key, configuration)`;
  fs.writeFileSync(path.join(OUT, "summary.txt"), line + "\n");
  expect(r.code).toBe(0);
}, 20000);

async function echo(ws: WebSocket, text: string): Promise<void> {
  const m = nextMessage(ws, 8000);
  ws.send(text);
  expect((await m).data.toString()).toBe(text);
}

test("curl: https GET, the test CA verified", async () => {
  const r = curl(board.url + "/", ["--resolve", `localhost:${board.port}:127.0.0.1`]);
  expect(r.err).toBe("");
  expect(r.code).toBe("200");
  expect(r.body).toMatch(/mote test page/);
});

test.each(["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"])("openssl s_client with %s", async (suite) => {
  await pace();
  const r = sClient(board.port, ["-tls1_2", "-cipher", suite, "-servername", "localhost", "-verify_hostname", "localhost"]);
  expect(r.cipher).toBe(suite);
  expect(r.verify).toBe("0 (ok)");
  expect(r.out).toMatch(/HTTP\/1\.1 200 OK/);
});

test("suites the board does not build are refused (RSA, AES-256, TLS 1.3 only)", async () => {
  for (const args of [["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"], ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"], ["-tls1_3"]]) {
    await pace();
    const r = sClient(board.port, args);
    expect(r.cipher).toBe("");
    expect(r.out).not.toMatch(/HTTP\/1\.1/);
  }
  await board.waitLog(/TLS handshake failed: SSL - /);
});

test("wss echo: text and a 100 KiB binary message", async () => {
  await pace();
  const ws = await wssOpen(board.wsUrl + "/", "echo");
  try {
    await echo(ws, "hello from the board over TLS");
    const big = Buffer.alloc(100 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 13 + (i >> 9)) & 0xff;
    const m = nextMessage(ws, 20000);
    ws.send(big);
    const got = await m;
    expect(Buffer.compare(got.data, big)).toBe(0);
  } finally {
    ws.terminate();
  }
}, 40000);

describe("bad input closes that connection only", () => {
  let keeper: WebSocket;
  beforeAll(async () => {
    await pace();
    keeper = await wssOpen(board.wsUrl + "/", "echo");
  });
  afterAll(() => keeper && keeper.terminate());
  afterEach(async () => {
    await pace();
    await echo(keeper, `still here ${Date.now()}`);
    await pace();
    expect((await httpsGet(board.url + "/", 8000)).status).toBe(200);
  }, 20000);

  test("garbage instead of a ClientHello", async () => {
    await pace();
    const junk = Buffer.alloc(200, 0x5a);
    const r = await rawExchange(board.port, [junk], 5000);
    expect(r.closed).toBe(true);
    await board.waitLog(/TLS handshake failed: SSL - An unexpected message/);
  });

  test("plaintext HTTP on the TLS port", async () => {
    await pace();
    const before = (board.log.match(/TLS handshake failed/g) || []).length;
    const r = await rawExchange(board.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5000);
    expect(r.closed).toBe(true);
    expect(r.data.toString("latin1")).not.toMatch(/HTTP\/1\.1 200/);
    const end = Date.now() + 3000;
    while ((board.log.match(/TLS handshake failed/g) || []).length === before && Date.now() < end) await sleep(20);
    expect((board.log.match(/TLS handshake failed/g) || []).length).toBeGreaterThan(before);
  });

  test("a stalled handshake is closed after the timeout", async () => {
    await pace();
    const t0 = Date.now();
    const r = await rawExchange(board.port, [Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])], HANDSHAKE_MS + 4000);
    expect(r.closed).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(HANDSHAKE_MS - 100);
    await board.waitLog(new RegExp(`TLS handshake timed out after ${HANDSHAKE_MS} ms`));
  }, 15000);
});

test("three TLS connections at once fit the board's TLS heap, each served", async () => {
  const socks: WebSocket[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      await pace();
      socks.push(await wssOpen(board.wsUrl + "/", "echo"));
    }
    for (const [i, ws] of socks.entries()) await echo(ws, `conn ${i}`);
  } finally {
    for (const ws of socks) ws.terminate();
  }
}, 30000);

test("heap per TLS connection on the board: below 20 kB after the handshake", () => {
  const done = [...board.log.matchAll(/TLS handshake done: \S+ (\S+) in \d+ ms; TLS heap (\d+) B, peak (\d+) B/g)];
  expect(done.length).toBeGreaterThan(3);
  for (const m of done) {
    expect(+m[2]).toBeLessThan(20000);
    expect(+m[3]).toBeLessThan(24000);
  }
});

test("a vhost that asks for TLS itself (Vhost.setTls), no TLS words on the firmware's command line", async () => {
  const b = await QemuBoard.start({ app: "test/apps/tls-vhost.ts", tls: [] });
  try {
    expect(b.log).toMatch(/vhost secure: TLS with vendor\/tls\/ecdsa\.crt/);
    const r = curl(b.url + "/");
    expect(r.body).toBe("hello from a TLS vhost\n");
    await pace();
    const ws = await wssOpen(b.wsUrl + "/", "echo");
    try {
      await echo(ws, "echo over the vhost's TLS on the board");
    } finally {
      ws.terminate();
    }
  } finally {
    expect((await b.stop()).code).toBe(0);
  }
}, 60000);

test("a second vhost on the port chosen by SNI, with its own certificate and client CA, on the board", async () => {
  const b = await QemuBoard.start({ app: "test/apps/tls-vhost.ts", tls: [] });
  try {
    expect(b.log).toMatch(/vhost sni\.mote\.test: TLS with vendor\/tls\/sni\.crt, client certificates required/);
    const byName = ["--resolve", `sni.mote.test:${b.port}:127.0.0.1`];
    const url = `https://sni.mote.test:${b.port}/`;
    const withCert = ["--cert", certFile("client.crt"), "--key", certFile("client.key")];
    expect(curl(url, [...byName, ...withCert]).body).toBe("hello from vhost sni.mote.test\n");
    await pace();
    const refused = curl(url, byName); // no client certificate: no session
    expect(refused.body).not.toContain("hello");
    expect(refused.status).not.toBe(0);
    await pace();
    // a request for the port's default vhost on the SNI vhost's session
    const mis = curl(url, [...byName, ...withCert, "-H", "Host: secure"]);
    expect(mis.code).toBe("421");
    await pace();
    expect(curl(b.url + "/").body).toBe("hello from a TLS vhost\n"); // the default, beside it
  } finally {
    expect((await b.stop()).code).toBe(0);
  }
}, 60000);
