// RFC 6455 in the real core module over the in-memory network.
import { testHost } from "./core";
import { Host, FakeConn, clientFrame, parseFrames, Frame } from "./host";
import * as crypto from "crypto";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
function upgrade(extra = "", key = KEY, version = "13"): string {
  return `GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: ${version}\r\n${extra}\r\n`;
}

let h: Host;
beforeEach(async () => {
  h = await testHost();
});

function open(extra = ""): FakeConn {
  const c = h.accept()!;
  h.feed(c, upgrade(extra));
  const resp = c.take().toString();
  expect(resp.startsWith("HTTP/1.1 101 Switching Protocols\r\n")).toBe(true);
  return c;
}

function frames(c: FakeConn): Frame[] {
  const { frames, rest } = parseFrames(c.take());
  expect(rest.length).toBe(0);
  return frames;
}

function closeCode(f: Frame): number {
  expect(f.opcode).toBe(8);
  return f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
}

describe("opening handshake", () => {
  test("Sec-WebSocket-Accept per RFC 6455 4.2.2", () => {
    const c = h.accept()!;
    h.feed(c, upgrade());
    const resp = c.take().toString();
    expect(resp).toContain("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n");
    expect(resp).toMatch(/Upgrade: websocket\r\n/i);
    expect(resp).not.toContain("Sec-WebSocket-Protocol");
  });

  test("split at every byte", () => {
    const raw = upgrade("Sec-WebSocket-Protocol: inspect\r\n");
    for (let cut = 1; cut < raw.length; cut += 3) {
      const c = h.accept()!;
      h.feed(c, raw.slice(0, cut));
      h.feed(c, raw.slice(cut));
      expect(c.take().toString()).toContain("Sec-WebSocket-Protocol: inspect\r\n");
      h.peerClose(c);
    }
  });

  test("the first requested protocol the server has is chosen", () => {
    const c = h.accept()!;
    h.feed(c, upgrade("Sec-WebSocket-Protocol: nope, inspect, echo\r\n"));
    expect(c.take().toString()).toContain("Sec-WebSocket-Protocol: inspect\r\n");
    h.feed(c, clientFrame(1, "abc"));
    expect(frames(c)[0].payload.toString()).toBe("3 first=1 final=1 remaining=0 binary=0");
  });

  test("no protocol requested selects the default (echo)", () => {
    const c = open();
    h.feed(c, clientFrame(1, "hi"));
    expect(frames(c).map((f) => f.payload.toString())).toEqual(["hi"]);
  });

  test("frames right behind the handshake are processed", () => {
    const c = h.accept()!;
    h.feed(c, Buffer.concat([Buffer.from(upgrade()), clientFrame(1, "early"), clientFrame(2, Buffer.from([1, 2, 3]))]));
    const b = c.take();
    const body = b.subarray(b.indexOf("\r\n\r\n") + 4);
    const { frames } = parseFrames(body);
    expect(frames.map((f) => [f.opcode, f.payload.toString("hex")])).toEqual([[1, Buffer.from("early").toString("hex")], [2, "010203"]]);
  });

  const bad: [string, string, number][] = [
    ["version 8", upgrade("", KEY, "8"), 426],
    ["key of 15 bytes", upgrade("", Buffer.alloc(15).toString("base64")), 400],
    ["key not base64", upgrade("", "!!!!!!!!!!!!!!!!!!!!!!=="), 400],
    ["no requested protocol is served", upgrade("Sec-WebSocket-Protocol: chat, superchat\r\n"), 400],
    ["refused by FILTER_PROTOCOL_CONNECTION", upgrade("Sec-WebSocket-Protocol: refuse\r\n"), 403],
    ["POST upgrade", upgrade().replace("GET", "POST"), 400],
  ];
  test.each(bad)("%s", (_n, raw, status) => {
    const c = h.accept()!;
    h.feed(c, raw);
    const resp = c.take().toString();
    expect(resp.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
    if (status === 426) expect(resp).toContain("Sec-WebSocket-Version: 13\r\n");
    expect(c.closed).toBe("graceful");
  });
});

describe("framing", () => {
  test("echo of text, binary, empty and every length encoding", () => {
    const c = open();
    for (const len of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
      const p = crypto.randomBytes(len);
      h.feed(c, clientFrame(2, p));
      const fs = frames(c);
      expect(Buffer.concat(fs.map((f) => f.payload)).equals(p)).toBe(true);
      expect(fs[0].opcode).toBe(2);
      expect(fs[fs.length - 1].fin).toBe(true);
    }
    h.feed(c, clientFrame(1, "héllo ✓"));
    expect(frames(c)[0].payload.toString()).toBe("héllo ✓");
  });

  test("fragments keep their opcodes; split at every byte", () => {
    const msg = Buffer.concat([clientFrame(1, "Hel", false), clientFrame(0, "lo ", false), clientFrame(0, "wörld", true)]);
    for (let cut = 0; cut <= msg.length; cut++) {
      const c = open();
      h.feed(c, msg.subarray(0, cut));
      h.feed(c, msg.subarray(cut));
      const fs = frames(c);
      expect(Buffer.concat(fs.map((f) => f.payload)).toString()).toBe("Hello wörld");
      expect(fs[0].opcode).toBe(1);
      expect(fs.slice(1).every((f) => f.opcode === 0)).toBe(true);
      expect(fs.slice(0, -1).every((f) => !f.fin)).toBe(true);
      expect(fs[fs.length - 1].fin).toBe(true);
      h.peerClose(c);
    }
  });

  test("isFinalFragment and remainingPacketPayload while a frame arrives in pieces", () => {
    const c = h.accept()!;
    h.feed(c, upgrade("Sec-WebSocket-Protocol: inspect\r\n"));
    c.take();
    const f = clientFrame(2, Buffer.alloc(10, 7));
    const hl = f.length - 10;
    h.feed(c, f.subarray(0, hl + 3));
    h.feed(c, f.subarray(hl + 3, hl + 8));
    h.feed(c, f.subarray(hl + 8));
    expect(frames(c).map((x) => x.payload.toString())).toEqual([
      "3 first=1 final=0 remaining=7 binary=1",
      "5 first=0 final=0 remaining=2 binary=1",
      "2 first=0 final=1 remaining=0 binary=1",
    ]);
  });

  test("ping gets a pong with the same payload, also between fragments", () => {
    const c = open();
    h.feed(c, clientFrame(9, "ping!"));
    expect(frames(c).map((f) => [f.opcode, f.payload.toString()])).toEqual([[10, "ping!"]]);
    h.feed(c, Buffer.concat([clientFrame(1, "ab", false), clientFrame(9, "mid"), clientFrame(0, "cd", true)]));
    const fs = frames(c);
    expect(fs.map((f) => [f.opcode, f.payload.toString()])).toEqual([[1, "ab"], [10, "mid"], [0, "cd"]]);
  });

  const protocolErrors: [string, Buffer][] = [
    ["RSV1 without extension", clientFrame(1, "x", true, 4)],
    ["reserved opcode 3", clientFrame(3, "x")],
    ["reserved opcode 11", clientFrame(11, "x")],
    ["fragmented ping", clientFrame(9, "x", false)],
    ["ping over 125 bytes", clientFrame(9, Buffer.alloc(126))],
    ["continuation without start", clientFrame(0, "x")],
    ["new message inside a fragmented one", Buffer.concat([clientFrame(1, "a", false), clientFrame(1, "b")])],
    ["unmasked frame", Buffer.from([0x81, 0x01, 0x61])],
    ["close with 1-byte payload", clientFrame(8, Buffer.from([3]))],
    ["close code 1005", clientFrame(8, Buffer.from([0x03, 0xed]))],
    ["close code 999", clientFrame(8, Buffer.from([0x03, 0xe7]))],
    ["close code 1004", clientFrame(8, Buffer.from([0x03, 0xec]))],
    ["close code 2999", clientFrame(8, Buffer.from([0x0b, 0xb7]))],
  ];
  test.each(protocolErrors)("%s: close 1002", (_n, bytes) => {
    const c = open();
    h.feed(c, bytes);
    const fs = frames(c);
    expect(closeCode(fs[fs.length - 1])).toBe(1002);
    expect(c.closed).toBe("graceful");
  });

  test("invalid UTF-8 fails fast with 1007, before the message ends", () => {
    const c = open();
    h.feed(c, clientFrame(1, Buffer.from([0x61, 0xce, 0xba, 0xf4, 0x90]), false));
    const fs = frames(c);
    expect(fs.length).toBe(1);
    expect(closeCode(fs[0])).toBe(1007);
  });

  test("a text message ending inside a UTF-8 sequence is 1007", () => {
    const c = open();
    h.feed(c, clientFrame(1, Buffer.from([0x61, 0xe2, 0x82]), true));
    expect(closeCode(frames(c)[0])).toBe(1007);
  });

  test("UTF-8 split across fragments is valid", () => {
    const c = open();
    h.feed(c, Buffer.concat([clientFrame(1, Buffer.from([0xe2, 0x82]), false), clientFrame(0, Buffer.from([0xac]), true)]));
    const fs = frames(c);
    expect(Buffer.concat(fs.map((f) => f.payload)).toString()).toBe("€");
  });

  test("message over the limit: 1009", async () => {
    h = await testHost({ maxMessage: 1000 });
    const c = open();
    h.feed(c, clientFrame(2, Buffer.alloc(1000)));
    expect(frames(c)[0].payload.length).toBe(1000);
    h.feed(c, Buffer.concat([clientFrame(2, Buffer.alloc(600), false), clientFrame(0, Buffer.alloc(600), true)]));
    const fs = frames(c);
    expect(closeCode(fs[fs.length - 1])).toBe(1009);
  });
});

describe("closing", () => {
  test("a peer's close is answered with its code and the TCP connection closes", () => {
    const c = open();
    h.feed(c, clientFrame(8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from("bye")])));
    const fs = frames(c);
    expect(fs.length).toBe(1);
    expect(closeCode(fs[0])).toBe(1000);
    expect(fs[0].payload.length).toBe(2);
    expect(c.closed).toBe("graceful");
  });

  test("an empty close is answered with an empty close", () => {
    const c = open();
    h.feed(c, clientFrame(8, Buffer.alloc(0)));
    expect(frames(c)[0].payload.length).toBe(0);
  });

  test("close reason that is not UTF-8: 1007", () => {
    const c = open();
    h.feed(c, clientFrame(8, Buffer.from([0x03, 0xe8, 0xff])));
    expect(closeCode(frames(c)[0])).toBe(1007);
  });

  test.each([1000, 1001, 1003, 1007, 1011, 3000, 4999])("valid close code %i is echoed", (code) => {
    const c = open();
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code);
    h.feed(c, clientFrame(8, p));
    expect(closeCode(frames(c)[0])).toBe(code);
  });

  test("a handler returning -1 sends a close frame and waits for the peer's", () => {
    const c = h.accept()!;
    h.feed(c, upgrade("Sec-WebSocket-Protocol: inspect\r\n"));
    c.take();
    h.feed(c, clientFrame(1, "close"));
    expect(closeCode(frames(c)[0])).toBe(4001);
    expect(c.closed).toBe(false);
    // data after our close is ignored; the peer's close completes the handshake
    h.feed(c, clientFrame(1, "ignored"));
    expect(frames(c).length).toBe(0);
    h.feed(c, clientFrame(8, Buffer.from([0x0f, 0xa1])));
    expect(c.closed).toBe("graceful");
  });

  test("no close reply within the close timeout drops the connection", () => {
    const c = h.accept()!;
    h.feed(c, upgrade("Sec-WebSocket-Protocol: inspect\r\n"));
    c.take();
    h.feed(c, clientFrame(1, "close"));
    h.tick(4000);
    expect(c.closed).toBe(false);
    h.tick(1500);
    expect(c.closed).toBe("abort");
  });

  test("shutdown sends 1001 to every WebSocket", () => {
    const a = open();
    const b = open();
    expect(h.shutdown()).toBe(2);
    expect(closeCode(frames(a)[0])).toBe(1001);
    expect(closeCode(frames(b)[0])).toBe(1001);
    h.feed(a, clientFrame(8, Buffer.from([0x03, 0xe9])));
    expect(a.closed).toBe("graceful");
  });
});

describe("writing", () => {
  test("callbackOnWritableAllProtocol reaches every connection of the protocol", () => {
    const a = h.accept()!;
    const b = h.accept()!;
    for (const c of [a, b]) {
      h.feed(c, upgrade("Sec-WebSocket-Protocol: writer\r\n"));
      c.take();
    }
    const e = open(); // echo: must not get a writeable
    h.feed(a, clientFrame(1, "go"));
    expect(frames(a).length).toBe(1);
    expect(frames(b).length).toBe(1);
    expect(frames(e).length).toBe(0);
  });

  test("a partial send is buffered and flushed; extra WRITEABLE is tolerated", () => {
    const a = h.accept()!;
    h.feed(a, upgrade("Sec-WebSocket-Protocol: writer\r\n"));
    a.take();
    a.sendWindow = 2;
    h.feed(a, clientFrame(1, "go"));
    expect(a.wantWritable).toBe(true);
    a.sendWindow = Infinity;
    h.pump();
    const fs = frames(a);
    expect(fs.length).toBeGreaterThanOrEqual(1);
    expect(fs[0].payload.toString()).toMatch(/^w\d+$/);
  });

  test("the heap top does not move across 100k messages", () => {
    const c = open();
    const msg = clientFrame(1, "steady-state message");
    const batch = Buffer.concat(Array.from({ length: 100 }, () => msg));
    // warm-up, then measure: two probes differ by exactly one probe block
    h.feed(c, batch);
    c.take();
    const p0 = h.heapProbe();
    const p1 = h.heapProbe();
    const probe = p1 - p0;
    expect(probe).toBeGreaterThan(0);
    for (let i = 0; i < 1000; i++) {
      h.feed(c, batch);
      c.out = [];
    }
    const p2 = h.heapProbe();
    expect(p2 - p1).toBe(probe);
  });
});

describe("liveness (Vhost.wsPingSecs, wsHangupSecs, wsMessageSecs; board defaults via LIM_WS_*)", () => {
  beforeEach(async () => {
    h = await testHost({ wsPing: 1, wsHangup: 3, wsMessage: 2 });
  });
  const ops = (c: FakeConn) => frames(c).map((f) => f.opcode);

  test("a silent WebSocket is pinged every wsPing, closed with 1001 after wsHangup, dropped when it does not answer", () => {
    const c = open();
    h.tick(999);
    expect(ops(c)).toEqual([]);
    h.tick(1);
    expect(ops(c)).toEqual([9]);
    h.tick(1000);
    expect(ops(c)).toEqual([9]);
    h.tick(1000);
    const fs = frames(c);
    expect(fs.length).toBe(1);
    expect(closeCode(fs[0])).toBe(1001);
    expect(c.closed).toBe(false); // waits for the peer's close
    h.tick(5000);
    expect(c.closed).toBe("abort");
  });

  test("a peer that answers the pings stays open, and its messages are served", () => {
    const c = open();
    for (let s = 0; s < 20; s++) {
      h.tick(1000);
      for (const f of frames(c)) expect(f.opcode).toBe(9);
      h.feed(c, clientFrame(10, ""));
    }
    h.feed(c, clientFrame(1, "still here"));
    expect(frames(c).map((f) => f.payload.toString())).toEqual(["still here"]);
    expect(c.closed).toBe(false);
  });

  test("a frame that declares more than it sends is closed with 1008 after wsMessage, though bytes trickle in", () => {
    const c = open();
    const f = clientFrame(2, Buffer.alloc(100, 7));
    h.feed(c, f.subarray(0, 16));
    let sent = 16;
    for (let t = 0; t < 1900; t += 100) {
      h.tick(100);
      h.feed(c, f.subarray(sent, sent + 1));
      sent++;
      expect(ops(c).filter((o) => o === 8)).toEqual([]); // the echo streams what came; no close
    }
    h.tick(100);
    const fs = frames(c).filter((x) => x.opcode === 8);
    expect(fs.length).toBe(1);
    expect(closeCode(fs[0])).toBe(1008);
  });

  test("an unfinished fragmented message is closed with 1008 after wsMessage, though the peer answers pings", () => {
    const c = open();
    h.feed(c, clientFrame(1, "part one", false));
    expect(frames(c).length).toBe(1); // echoed as it came
    for (let t = 0; t < 4; t++) {
      h.tick(500);
      h.feed(c, clientFrame(10, ""));
    }
    const fs = frames(c).filter((x) => x.opcode !== 9);
    expect(fs.length).toBe(1);
    expect(closeCode(fs[0])).toBe(1008);
  });

  test("messages that complete reset the message clock", () => {
    const c = open();
    for (let t = 0; t < 10; t++) {
      h.tick(900);
      h.feed(c, clientFrame(1, `m${t}`));
      expect(frames(c).map((f) => f.payload.toString())).toEqual([`m${t}`]);
    }
    expect(c.closed).toBe(false);
  });

  test("0 turns each off", async () => {
    h = await testHost({ wsPing: 0, wsHangup: 0, wsMessage: 0 });
    const c = open();
    h.feed(c, clientFrame(2, Buffer.alloc(100, 7)).subarray(0, 20));
    c.take(); // the echo of what came
    for (let i = 0; i < 100; i++) h.tick(10000);
    expect(ops(c)).toEqual([]); // no ping, no close
    expect(c.closed).toBe(false);
  });
});

describe("output fairness (the tx pool's reserve, one connection's cap)", () => {
  // 64 blocks of 1 KiB, rx 4 KiB: the reserve keeps 16 blocks; the cap is a
  // quarter of the other 48 KiB
  test("two peers that never read cannot starve a third: it echoes 1 MiB while they hold their backlog", () => {
    const hogs = [open(), open()];
    const chunk = clientFrame(2, Buffer.alloc(4000, 1));
    for (const g of hogs) {
      g.sendWindow = 0; // never reads
      let fed = 0;
      for (let i = 0; i < 200; i++) fed += h.feed(g, chunk);
      expect(fed).toBeLessThan(200 * chunk.length); // reading stopped: its own cap
      g.take();
    }
    const v = open();
    const payload = crypto.randomBytes(1 << 20);
    let got = Buffer.alloc(0);
    v.sendWindow = 0;
    for (let off = 0; off < payload.length; off += 3000) {
      const piece = clientFrame(2, payload.subarray(off, off + 3000));
      let at = 0;
      for (let round = 0; at < piece.length; round++) {
        expect(round).toBeLessThan(100);
        at += h.feed(v, piece.subarray(at));
        v.sendWindow = 4096; // the victim reads 4 KiB per round
        h.pump();
        v.sendWindow = 0;
        got = Buffer.concat([got, v.take()]);
      }
    }
    v.sendWindow = Infinity;
    h.pump();
    got = Buffer.concat([got, v.take()]);
    expect(v.closed).toBe(false);
    const { frames: fs, rest } = parseFrames(got);
    expect(rest.length).toBe(0);
    expect(Buffer.concat(fs.map((f) => f.payload)).equals(payload)).toBe(true);
    for (const g of hogs) expect(g.closed).toBe(false); // nobody was dropped
  });
});
