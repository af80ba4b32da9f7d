// The client role (src/ws/client.ts) in the real core over the Node host,
// which plays the port (sock_connect, mote_connected, mote_connect_failed)
// and the remote server (it reads the request and writes the 101 and frames).
// The test app (test/apps/core-test.ts) connects on GET /connect/PORT/PATH
// and logs its client events at GET /clientlog.
import * as crypto from "crypto";
import * as C from "../../src/abi/constants";
import { testHost } from "./core";
import { Host, FakeConn } from "./host";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Masked client frames (RFC 6455 5.1): checks the mask bit, unmasks. */
function clientFrames(b: Buffer): { fin: boolean; opcode: number; payload: Buffer; key: Buffer }[] {
  const out = [];
  let o = 0;
  while (o < b.length) {
    const b0 = b[o], b1 = b[o + 1];
    if (!(b1 & 0x80)) throw new Error("client frame not masked");
    let len = b1 & 127;
    let h = 2;
    if (len === 126) (len = b.readUInt16BE(o + 2)), (h = 4);
    else if (len === 127) (len = Number(b.readBigUInt64BE(o + 2))), (h = 10);
    const key = b.subarray(o + h, o + h + 4);
    const payload = Buffer.from(b.subarray(o + h + 4, o + h + 4 + len));
    for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
    out.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 15, payload, key: Buffer.from(key) });
    o += h + 4 + len;
  }
  return out;
}

/** An unmasked server frame. */
function serverFrame(opcode: number, payload: Buffer | string, fin = true, masked = false): Buffer {
  const p = Buffer.from(payload);
  const head = [(fin ? 0x80 : 0) | opcode];
  const m = masked ? 0x80 : 0;
  if (p.length < 126) head.push(m | p.length);
  else head.push(m | 126, p.length >> 8, p.length & 255);
  return Buffer.concat([Buffer.from(head), masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0), p]);
}

let h: Host;
beforeEach(async () => {
  h = await testHost({ logLevel: C.LOG_DEFAULT });
});

function get(path: string): string {
  const c = h.accept()!;
  h.feed(c, `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`); // its header buffer goes back
  const s = c.take().toString();
  return s.slice(s.indexOf("\r\n\r\n") + 4);
}
const log = () => get("/clientlog");

/** Starts a client connection to port 9000 and returns it with the request it sent once connected. */
function start(path = "/chat"): { cc: FakeConn; request: string; key: string } {
  expect(get(`/connect/9000${path}`)).toBe("connecting\n");
  const { id, host, port, flags } = h.connects[h.connects.length - 1];
  expect([host, port, flags]).toEqual(["127.0.0.1", 9000, 0]);
  const cc = h.conns.get(id)!;
  expect(cc.take().length).toBe(0); // nothing before the port says it is connected
  h.connected(cc);
  const request = cc.take().toString("latin1");
  const key = (/\r\nSec-WebSocket-Key: ([^\r]*)\r\n/.exec(request) || [])[1];
  return { cc, request, key };
}

const accept = (key: string) => crypto.createHash("sha1").update(key + GUID).digest("base64");
const ok101 = (key: string, extra = "", proto = "Sec-WebSocket-Protocol: mote-client-test\r\n") =>
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(key)}\r\n${proto}${extra}\r\n`;

describe("handshake", () => {
  test("the request: GET with Host, Upgrade, Connection, version 13, a random 16-byte key, the protocol", () => {
    const { request, key } = start("/chat/room1");
    expect(request).toMatch(/^GET \/chat\/room1 HTTP\/1\.1\r\n/);
    expect(request).toContain("\r\nHost: 127.0.0.1:9000\r\n");
    expect(request).toContain("\r\nUpgrade: websocket\r\n");
    expect(request).toContain("\r\nConnection: Upgrade\r\n");
    expect(request).toContain("\r\nSec-WebSocket-Version: 13\r\n");
    expect(request).toContain("\r\nSec-WebSocket-Protocol: mote-client-test\r\n");
    expect(request.endsWith("\r\n\r\n")).toBe(true);
    expect(Buffer.from(key, "base64").length).toBe(16);
    const second = start().key;
    expect(second).not.toBe(key); // a fresh nonce each time
  });

  test("a valid 101 establishes it (split at every byte too), and the client speaks masked frames", () => {
    for (const chunk of [Infinity, 1]) {
      const { cc, key } = start();
      h.feed(cc, ok101(key), chunk);
      const [hello] = clientFrames(cc.take());
      expect(hello.opcode).toBe(1);
      expect(hello.payload.toString()).toBe("hello from mote");
      expect(hello.key.equals(Buffer.alloc(4))).toBe(false);
      // an echo of a text, a binary and a fragmented message
      h.feed(cc, serverFrame(1, "abc"));
      h.feed(cc, serverFrame(2, Buffer.from([1, 2, 3, 250])));
      h.feed(cc, Buffer.concat([serverFrame(1, "frag", false), serverFrame(0, "ment")]));
      const fs = clientFrames(cc.take());
      expect(fs.map((f) => [f.opcode, f.fin, f.payload.toString("latin1")])).toEqual([
        [1, true, "abc"], [2, true, "\x01\x02\x03\xfa"], [1, false, "frag"], [0, true, "ment"],
      ]);
      expect(new Set(fs.map((f) => f.key.toString("hex"))).size).toBe(fs.length); // a new key per frame
      expect(log()).toContain("established\n");
      // "bye": the app returns -1: close 1000, masked
      h.feed(cc, serverFrame(1, "bye"));
      const [close] = clientFrames(cc.take());
      expect(close.opcode).toBe(8);
      expect(close.payload.readUInt16BE(0)).toBe(1000);
      h.feed(cc, serverFrame(8, Buffer.from([0x03, 0xe8]))); // the server's answer
      expect(cc.closed).toBe("graceful");
      expect(log()).toMatch(/rx text bye\nclosed\n$/);
    }
  });

  test("frames that arrive with the 101 are delivered", () => {
    const { cc, key } = start();
    h.feed(cc, Buffer.concat([Buffer.from(ok101(key)), serverFrame(1, "early")]));
    const fs = clientFrames(cc.take());
    expect(fs.map((f) => f.payload.toString())).toEqual(["hello from mote", "early"]);
  });

  test.each([
    ["a status other than 101", (k: string) => "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "the server answered HTTP 403"],
    ["a wrong Sec-WebSocket-Accept", (k: string) => ok101(k).replace(accept(k), accept("x" + k)), "Sec-WebSocket-Accept missing or wrong"],
    ["no Sec-WebSocket-Accept", (k: string) => ok101(k).replace(/Sec-WebSocket-Accept: [^\r]*\r\n/, ""), "Sec-WebSocket-Accept missing or wrong"],
    ["no Upgrade", (k: string) => ok101(k).replace("Upgrade: websocket\r\n", ""), "no Upgrade: websocket in the 101"],
    ["Connection without upgrade", (k: string) => ok101(k).replace("Connection: Upgrade", "Connection: keep-alive"), "no Connection: upgrade in the 101"],
    ["another protocol", (k: string) => ok101(k, "", "Sec-WebSocket-Protocol: other\r\n"), "the server did not select the protocol asked for"],
    ["no protocol", (k: string) => ok101(k, "", ""), "the server did not select the protocol asked for"],
    ["an extension not offered", (k: string) => ok101(k, "Sec-WebSocket-Extensions: permessage-deflate\r\n"), "the server chose an extension not offered"],
    ["a malformed status line", (k: string) => "HTTP/1.1 1O1 Nope\r\n\r\n", "malformed response head"],
  ])("%s: clientConnectionError, the socket closed, no frame sent", (_n, resp, why) => {
    const { cc, key } = start();
    h.feed(cc, resp(key));
    expect(cc.take().length).toBe(0);
    expect(cc.closed).toBe("abort");
    expect(log()).toMatch(new RegExp(`error: ${why.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\n$`));
  });

  test("a masked frame from the server fails the connection with 1002", () => {
    const { cc, key } = start();
    h.feed(cc, ok101(key));
    cc.take();
    h.feed(cc, serverFrame(1, "masked", true, true));
    const [close] = clientFrames(cc.take());
    expect(close.opcode).toBe(8);
    expect(close.payload.readUInt16BE(0)).toBe(1002);
  });
});

describe("no subprotocol asked for (Autobahn's fuzzingserver client, /autobahn/PORT/CASE)", () => {
  function startAutobahn(): { cc: FakeConn; request: string; key: string } {
    expect(get("/autobahn/9001/7")).toBe("connecting\n");
    const cc = h.conns.get(h.connects[h.connects.length - 1].id)!;
    h.connected(cc);
    const request = cc.take().toString("latin1");
    return { cc, request, key: (/\r\nSec-WebSocket-Key: ([^\r]*)\r\n/.exec(request) || [])[1] };
  }

  test("the request names no protocol, and a 101 without one establishes", () => {
    const { cc, request, key } = startAutobahn();
    expect(request).toMatch(/^GET \/runCase\?case=7&agent=mote HTTP\/1\.1\r\n/);
    expect(request).not.toContain("Sec-WebSocket-Protocol");
    h.feed(cc, ok101(key, "", ""));
    h.feed(cc, serverFrame(1, "echo me"));
    expect(clientFrames(cc.take()).map((f) => f.payload.toString())).toEqual(["echo me"]);
  });

  test("a 101 naming a protocol nobody asked for fails it", () => {
    const { cc, key } = startAutobahn();
    h.feed(cc, ok101(key));
    expect(cc.closed).toBe("abort");
    expect(log()).toMatch(/error: the server did not select the protocol asked for\n$/);
  });
});

describe("failures before the handshake", () => {
  test("the port reports the connect failed: clientConnectionError with the errno", () => {
    expect(get("/connect/9000/x")).toBe("connecting\n");
    const cc = h.conns.get(h.connects[0].id)!;
    h.connectFailed(cc, 111);
    expect(log()).toMatch(/error: connect failed, errno 111\n$/);
  });

  test("no answer within 20 s: timed out, the socket closed", () => {
    const { cc } = start();
    h.tick(19000);
    expect(cc.closed).toBe(false);
    h.tick(1500);
    expect(cc.closed).toBe("abort");
    expect(log()).toMatch(/error: no handshake answer in time\n$/);
  });

  test("the server closes during the handshake", () => {
    const { cc } = start();
    h.peerClose(cc);
    expect(log()).toMatch(/error: closed by the server during the handshake\n$/);
  });

  test("the port refuses at once: connectClient returns null, no callback", () => {
    h.connectFails = -111;
    expect(get("/connect/9000/x")).toBe("refused\n");
    expect(log()).toBe("");
  });
});
