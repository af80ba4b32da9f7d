// permessage-deflate (RFC 7692) end to end: the simulator (zlib codec in
// the port, negotiation and framing in the core) against the npm `ws`
// client's perMessageDeflate, plus raw exchanges for what `ws` hides (RSV1
// on the wire, declined offers). Linux simulator only: the board's port has
// no codec (it does not set INIT_DEFLATE) and never offers the extension.
import WebSocket from "ws";
import * as crypto from "crypto";
import * as zlib from "zlib";
import { Sim, perFile, closeAll, nextMessage, rawExchange, closed } from "./sim";

jest.setTimeout(30000);

let sim: Sim;
perFile(() => Sim.start(), (s) => (sim = s));

const opened: WebSocket[] = [];
afterEach(() => closeAll(opened.splice(0)));

function connect(perMessageDeflate: boolean | object): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(sim.wsUrl + "/", { perMessageDeflate } as WebSocket.ClientOptions);
    opened.push(ws);
    // our answer's Sec-WebSocket-Extensions line, as sent
    ws.once("upgrade", (res) => ((ws as any).extHeader = res.headers["sec-websocket-extensions"]));
    const t = setTimeout(() => reject(new Error("open timed out")), 5000);
    ws.once("open", () => {
      clearTimeout(t);
      resolve(ws);
    });
    ws.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

async function echo(ws: WebSocket, data: string | Buffer): Promise<{ data: Buffer; binary: boolean }> {
  const m = nextMessage(ws, 10000);
  ws.send(data);
  return m;
}

const TEXT = "Il était une fois, dans un pays lointain, un serveur WebSocket très petit. ".repeat(2000); // ~150 KB, compressible
const RANDOM = crypto.randomBytes(300000); // incompressible

const variants: [string, object, string][] = [
  ["default offer", { threshold: 0 }, "permessage-deflate"],
  ["server_no_context_takeover", { threshold: 0, serverNoContextTakeover: true }, "permessage-deflate; server_no_context_takeover"],
  ["client_no_context_takeover", { threshold: 0, clientNoContextTakeover: true }, "permessage-deflate; client_no_context_takeover"],
  ["both no_context_takeover, server_max_window_bits=9", { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9 },
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9"],
  ["client_max_window_bits=10 (we do not limit the client)", { threshold: 0, clientMaxWindowBits: 10 }, "permessage-deflate"],
];

describe.each(variants)("ws perMessageDeflate, %s", (_name, opts, negotiated) => {
  test("negotiated as offered; text, binary, empty and large messages echo intact, several in a row", async () => {
    const ws = await connect(opts);
    expect((ws as any).extHeader).toBe(negotiated);
    expect(ws.extensions).toBe("permessage-deflate");
    for (let round = 0; round < 3; round++) {
      const a = await echo(ws, "hello " + round);
      expect(a.binary).toBe(false);
      expect(a.data.toString()).toBe("hello " + round);
    }
    const t = await echo(ws, TEXT);
    expect(t.data.toString()).toBe(TEXT);
    const r = await echo(ws, RANDOM);
    expect(r.binary).toBe(true);
    expect(r.data.equals(RANDOM)).toBe(true);
    const e = await echo(ws, "");
    expect(e.data.length).toBe(0);
    const t2 = await echo(ws, TEXT); // again: context takeover (where kept) refers back
    expect(t2.data.toString()).toBe(TEXT);
    ws.close(1000);
    expect(await closed(ws)).toBe(1000);
  });
});

test("fragmented compressed message from ws (fin: false) echoes whole", async () => {
  const ws = await connect({ threshold: 0 });
  const m = nextMessage(ws, 10000);
  ws.send("first part, ", { fin: false, compress: true });
  ws.send("second part, ", { fin: false, compress: true });
  ws.send("end.", { fin: true, compress: true });
  expect((await m).data.toString()).toBe("first part, second part, end.");
});

test("many compressed connections at once", async () => {
  const socks = await Promise.all(Array.from({ length: 20 }, () => connect({ threshold: 0 })));
  const got = await Promise.all(socks.map((ws, i) => echo(ws, `conn ${i} `.repeat(500))));
  got.forEach((g, i) => expect(g.data.toString()).toBe(`conn ${i} `.repeat(500)));
});

test("without perMessageDeflate nothing is negotiated and echo works", async () => {
  const ws = await connect(false);
  expect(ws.extensions).toBe("");
  expect((ws as any).extHeader).toBeUndefined();
  expect((await echo(ws, TEXT)).data.toString()).toBe(TEXT);
});

// ---- raw exchanges --------------------------------------------------------------------------

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
function handshake(ext: string | null): string {
  return `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n` +
    (ext === null ? "" : `Sec-WebSocket-Extensions: ${ext}\r\n`) + "\r\n";
}

function maskedFrame(b0: number, payload: Buffer): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([b0, 0x80 | len]) : Buffer.from([b0, 0x80 | 126, len >> 8, len & 255]);
  const body = Buffer.from(payload.map((x, i) => x ^ mask[i & 3]));
  return Buffer.concat([head, mask, body]);
}

function serverFrames(b: Buffer): { b0: number; payload: Buffer }[] {
  const out: { b0: number; payload: Buffer }[] = [];
  let o = 0;
  while (o + 2 <= b.length) {
    let len = b[o + 1] & 127;
    let h = 2;
    if (len === 126) {
      len = b.readUInt16BE(o + 2);
      h = 4;
    }
    if (o + h + len > b.length) break;
    out.push({ b0: b[o], payload: b.subarray(o + h, o + h + len) });
    o += h + len;
  }
  return out;
}

test("on the wire: RSV1 on our compressed answer, which inflates with the 00 00 ff ff tail; control frames plain", async () => {
  const msg = "raw hello, ".repeat(20); // over DEFLATE_MIN_BYTES: answered compressed
  const z = zlib.deflateRawSync(Buffer.from(msg), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const payload = z.subarray(0, z.length - 4); // section 7.2.1
  const r = await rawExchange(sim.port, [handshake("permessage-deflate"), Buffer.concat([maskedFrame(0xc1, payload), maskedFrame(0x89, Buffer.from("p")), maskedFrame(0x88, Buffer.from([3, 232]))])], 3000);
  const text = r.data.toString("latin1");
  const headEnd = text.indexOf("\r\n\r\n");
  expect(text.slice(0, headEnd)).toMatch(/\r\nSec-WebSocket-Extensions: permessage-deflate(\r\n|$)/);
  const fs = serverFrames(r.data.subarray(headEnd + 4));
  expect(fs.map((f) => f.b0)).toEqual([0xc1, 0x8a, 0x88]); // FIN+RSV1+text, pong (no RSV1), close
  const inflated = zlib.inflateRawSync(Buffer.concat([fs[0].payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  expect(inflated.toString()).toBe(msg);
});

const malformed = [
  "permessage-deflate; foo=bar",
  "permessage-deflate; server_max_window_bits=16",
  "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
  "permessage-deflate; client_max_window_bits=0x0f",
];
test.each(malformed)("a malformed offer is declined, the handshake succeeds, RSV1 is then a protocol error: %s", async (offer) => {
  const r = await rawExchange(sim.port, [handshake(offer), maskedFrame(0xc1, Buffer.from([0x02, 0x00]))], 3000);
  const text = r.data.toString("latin1");
  const headEnd = text.indexOf("\r\n\r\n");
  expect(text.startsWith("HTTP/1.1 101 ")).toBe(true);
  expect(text.slice(0, headEnd)).not.toMatch(/Sec-WebSocket-Extensions/i);
  const fs = serverFrames(r.data.subarray(headEnd + 4));
  expect(fs.length).toBe(1);
  expect(fs[0].b0).toBe(0x88);
  expect(fs[0].payload.readUInt16BE(0)).toBe(1002);
});

test("corrupt compressed data closes with 1007", async () => {
  const r = await rawExchange(sim.port, [handshake("permessage-deflate"), maskedFrame(0xc2, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]))], 3000);
  const text = r.data.toString("latin1");
  const fs = serverFrames(r.data.subarray(text.indexOf("\r\n\r\n") + 4));
  expect(fs[fs.length - 1].b0).toBe(0x88);
  expect(fs[fs.length - 1].payload.readUInt16BE(0)).toBe(1007);
});

// ---- a third-party peer: libwebsockets' test client (Debian libwebsockets-test-server) --------

test("libwebsockets-test-client: permessage-deflate on its mirror connection, its circles inflate and reach an observer", async () => {
  const from = sim.stderr.length;
  // an observer on the mirror protocol, without the extension: what the lws
  // client draws (compressed) reaches it inflated
  const seen: string[] = [];
  const mirror = await new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(sim.wsUrl + "/", "lws-mirror-protocol", { perMessageDeflate: false });
    opened.push(ws);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
  mirror.on("message", (d: Buffer) => seen.push(d.toString()));
  const { spawn } = await import("child_process");
  const out: string[] = [];
  const p = spawn("timeout", ["-s", "INT", "15", "libwebsockets-test-client", "127.0.0.1", "-p", String(sim.port)], { stdio: ["ignore", "pipe", "pipe"] });
  p.stdout!.on("data", (d) => out.push(d.toString()));
  p.stderr!.on("data", (d) => out.push(d.toString()));
  const exited = new Promise<number | null>((r) => p.on("exit", (code) => r(code)));
  try {
    const end = Date.now() + 10000;
    while (seen.length < 20 && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  } finally {
    p.kill("SIGINT");
    await exited;
  }
  const log = out.join("");
  expect(seen.length).toBeGreaterThanOrEqual(20);
  for (const m of seen) expect(m).toMatch(/^c #[0-9A-F]{6} \d{1,3} \d{1,3} \d{1,2};$/);
  // our side: the mirror connection negotiated the extension (dumb-increment
  // does not: Protocol.deflate false, as lws's own server)
  const ours = sim.stderr.slice(from);
  expect(log).toMatch(/instantiating client ext permessage-deflate/);
  expect(log).not.toMatch(/illegal rsv|failed construction/);
  expect(ours).not.toMatch(/\] [EW]: /);
});
