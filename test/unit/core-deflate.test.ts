// permessage-deflate (RFC 7692) in the real core module over the in-memory
// network: the negotiation (section 7.1), RSV1 framing (section 6), the
// tail handling (7.2), limits and release. The host's codec (HostCodec)
// inflates with Node's zlib and deflates into stored blocks; the client side
// here compresses with Node's zlib.
import * as zlib from "zlib";
import * as C from "../../src/abi/constants";
import { testHost } from "./core";
import { Host, FakeConn, clientFrame, parseFrames, Frame } from "./host";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
function upgrade(extra = ""): string {
  return `GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
}

let h: Host;
beforeEach(async () => {
  h = await testHost({ deflate: true });
});

/** Handshake with `offer` as the Sec-WebSocket-Extensions value(s); returns
 *  the connection and the response's extension line (null: none). */
function open(offer: string | string[] | null, protocol = ""): { c: FakeConn; ext: string | null } {
  const c = h.accept()!;
  const offers = offer === null ? [] : Array.isArray(offer) ? offer : [offer];
  const extra = offers.map((o) => `Sec-WebSocket-Extensions: ${o}\r\n`).join("") + (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : "");
  h.feed(c, upgrade(extra));
  const resp = c.take().toString("latin1");
  expect(resp.startsWith("HTTP/1.1 101 Switching Protocols\r\n")).toBe(true);
  const m = /\r\nSec-WebSocket-Extensions: ([^\r]*)\r\n/i.exec(resp);
  return { c, ext: m ? m[1] : null };
}

function frames(c: FakeConn): Frame[] {
  const { frames, rest } = parseFrames(c.take());
  expect(rest.length).toBe(0);
  return frames;
}

/** A compressed message's payload as a sender makes it (7.2.1): raw DEFLATE,
 *  sync flush, the trailing 00 00 ff ff removed. */
function compress(data: Buffer | string): Buffer {
  const b = zlib.deflateRawSync(Buffer.from(data), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  expect(b.subarray(b.length - 4)).toEqual(Buffer.from([0, 0, 0xff, 0xff]));
  return b.subarray(0, b.length - 4);
}

/** The message carried by server frames (RSV1 on the first: inflate, 7.2.2). */
function messageOf(fs: Frame[]): { opcode: number; compressed: boolean; data: Buffer } {
  const body = Buffer.concat(fs.map((f) => f.payload));
  const compressed = !!fs[0].rsv1;
  const data = compressed ? zlib.inflateRawSync(Buffer.concat([body, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }) : body;
  return { opcode: fs[0].opcode, compressed, data };
}

function closeCode(f: Frame): number {
  expect(f.opcode).toBe(8);
  return f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
}

describe("negotiation (RFC 7692 section 7.1)", () => {
  const accepted: [string, string | string[], string, number, number, number?][] = [
    // offer, response, z_open flags, deflate window[, inflate window: the client's offered client_max_window_bits]
    ["plain offer", "permessage-deflate", "permessage-deflate", 0, 15],
    ["client_max_window_bits without a value (browsers)", "permessage-deflate; client_max_window_bits", "permessage-deflate", 0, 15],
    ["server_no_context_takeover is answered", "permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover", C.Z_TX_NO_CONTEXT, 15],
    ["client_no_context_takeover is echoed", "permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover", C.Z_RX_NO_CONTEXT, 15],
    ["server_max_window_bits bounds our window", "permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10", 0, 10],
    ["quoted value", 'permessage-deflate; server_max_window_bits="12"', "permessage-deflate; server_max_window_bits=12", 0, 12],
    ["names ignore case, OWS around separators", "PerMessage-Deflate ;\tServer_No_Context_Takeover ; client_max_window_bits = 10",
      "permessage-deflate; server_no_context_takeover", C.Z_TX_NO_CONTEXT, 15, 10],
    ["every parameter", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9",
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9", C.Z_RX_NO_CONTEXT | C.Z_TX_NO_CONTEXT, 9, 9],
    ["the first acceptable offer wins", "permessage-deflate; server_max_window_bits=9, permessage-deflate",
      "permessage-deflate; server_max_window_bits=9", 0, 9],
    ["a declined offer gives way to the next", "permessage-deflate; bogus, permessage-deflate; server_no_context_takeover",
      "permessage-deflate; server_no_context_takeover", C.Z_TX_NO_CONTEXT, 15],
    ["other extensions are skipped (quoted commas too)", 'x-foo; a="1,2", permessage-deflate', "permessage-deflate", 0, 15],
    ["offers over several header lines", ["x-foo", "permessage-deflate; client_no_context_takeover"],
      "permessage-deflate; client_no_context_takeover", C.Z_RX_NO_CONTEXT, 15],
    ["server_max_window_bits=8 (zlib has no 256-byte window) is declined for the next offer", "permessage-deflate; server_max_window_bits=8, permessage-deflate",
      "permessage-deflate", 0, 15],
  ];
  test.each(accepted)("%s", (_name, offer, response, flags, window, rxWindow = 15) => {
    const { c, ext } = open(offer);
    expect(ext).toBe(response);
    const z = h.codecs.get(c.id)!;
    expect(z).toBeDefined();
    expect(z.flags).toBe(flags);
    expect(z.txBits).toBe(window);
    expect(z.rxBits).toBe(rxWindow);
    expect(z.memLevel).toBe(8); // the vhost's default
  });

  const declined: [string, string | null][] = [
    ["no offer", null],
    ["another extension only", "x-webkit-deflate-frame"],
    ["an unknown parameter (section 7: decline)", "permessage-deflate; foo"],
    ["a repeated parameter", "permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
    ["a repeated window parameter", "permessage-deflate; client_max_window_bits=10; client_max_window_bits=11"],
    ["server_max_window_bits without a value", "permessage-deflate; server_max_window_bits"],
    ["server_max_window_bits out of range", "permessage-deflate; server_max_window_bits=16"],
    ["server_max_window_bits below 8", "permessage-deflate; server_max_window_bits=7"],
    ["a leading zero", "permessage-deflate; server_max_window_bits=010"],
    ["client_max_window_bits out of range", "permessage-deflate; client_max_window_bits=20"],
    ["a value on server_no_context_takeover", "permessage-deflate; server_no_context_takeover=1"],
    ["a value on client_no_context_takeover", "permessage-deflate; client_no_context_takeover=true"],
    ["an empty value", "permessage-deflate; server_max_window_bits="],
    ["an unterminated quoted string", 'permessage-deflate; server_max_window_bits="10'],
    ["garbage in the element", "permessage-deflate garbage"],
    ["a parameter without a name", "permessage-deflate; =10"],
    ["server_max_window_bits=8 alone", "permessage-deflate; server_max_window_bits=8"],
  ];
  test.each(declined)("declined, handshake still succeeds: %s", (_name, offer) => {
    const { c, ext } = open(offer);
    expect(ext).toBeNull();
    expect(h.codecs.has(c.id)).toBe(false);
    // plain RFC 6455 on it: RSV1 is a protocol error (1002)
    h.feed(c, clientFrame(1, compress("hello"), true, 4));
    const f = frames(c);
    expect(closeCode(f[f.length - 1])).toBe(1002);
  });

  test("not offered when the port has no codec (no INIT_DEFLATE)", async () => {
    h = await testHost({ deflate: false });
    const { c, ext } = open("permessage-deflate");
    expect(ext).toBeNull();
    expect(h.codecs.size).toBe(0);
    h.feed(c, clientFrame(1, "plain"));
    expect(frames(c).map((f) => f.payload.toString())).toEqual(["plain"]);
  });

  test("declined when the port's codec has no memory (z_open fails): plain WebSocket", () => {
    h.zOpenFails = C.Z_ERR_MEM;
    const { c, ext } = open("permessage-deflate");
    expect(ext).toBeNull();
    h.feed(c, clientFrame(1, "still works"));
    expect(frames(c).map((f) => f.payload.toString())).toEqual(["still works"]);
  });

  test("the chosen subprotocol and the extension are both answered", () => {
    const { ext } = open("permessage-deflate", "echo");
    expect(ext).toBe("permessage-deflate");
  });
});

describe("compressed messages (RFC 7692 sections 6 and 7.2)", () => {
  const LONG = "Hello, deflate! ".repeat(10); // 160 bytes: over DEFLATE_MIN_BYTES

  test("a compressed text message is echoed compressed, RSV1 on its first frame", () => {
    const { c } = open("permessage-deflate");
    h.feed(c, clientFrame(1, compress(LONG), true, 4));
    const fs = frames(c);
    expect(fs.length).toBe(1);
    expect(fs[0].rsv1).toBe(true);
    const m = messageOf(fs);
    expect(m.opcode).toBe(1);
    expect(m.data.toString()).toBe(LONG);
  });

  test("an uncompressed message on a deflate connection is accepted; a long answer is compressed", () => {
    const { c } = open("permessage-deflate");
    const data = Buffer.from(LONG);
    h.feed(c, clientFrame(2, data));
    const m = messageOf(frames(c));
    expect(m.compressed).toBe(true);
    expect(m.opcode).toBe(2);
    expect(m.data.equals(data)).toBe(true);
  });

  test("short messages are compressed too, an empty one included (as lws does)", () => {
    const { c } = open("permessage-deflate");
    for (const s of ["x", "", "short"]) {
      h.feed(c, clientFrame(1, s, true, 0));
      const fs = frames(c);
      expect(fs[0].rsv1).toBe(true);
      expect(messageOf(fs).data.toString()).toBe(s);
    }
  });

  test("context takeover: messages referring to earlier ones inflate", () => {
    const { c } = open("permessage-deflate");
    const d = zlib.createDeflateRaw();
    const parts: Buffer[] = [];
    d.on("data", (b: Buffer) => parts.push(b));
    const msgs = ["the same words again and again", "the same words again and again!", "again and again the same words"];
    const send = async (s: string) => {
      parts.length = 0;
      d.write(s);
      await new Promise<void>((r) => d.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
      const b = Buffer.concat(parts);
      return b.subarray(0, b.length - 4);
    };
    return (async () => {
      for (const s of msgs) {
        h.feed(c, clientFrame(1, await send(s), true, 4));
        expect(messageOf(frames(c)).data.toString()).toBe(s);
      }
    })();
  });

  test("client_no_context_takeover: each message on its own", () => {
    const { c } = open("permessage-deflate; client_no_context_takeover");
    for (const s of ["one one one", "two two two", "one one one"]) {
      h.feed(c, clientFrame(1, compress(s), true, 4));
      expect(messageOf(frames(c)).data.toString()).toBe(s);
    }
  });

  test("a fragmented compressed message (RSV1 on the first frame only), split at every byte", () => {
    const text = "fragmented ".repeat(50);
    const z = compress(text);
    const a = z.subarray(0, 7);
    const b = z.subarray(7, 20);
    const rest = z.subarray(20);
    const wire = Buffer.concat([clientFrame(1, a, false, 4), clientFrame(9, "p"), clientFrame(0, b, false), clientFrame(0, rest, true)]);
    for (const chunk of [Infinity, 1, 5]) {
      const { c } = open("permessage-deflate; client_no_context_takeover");
      h.feed(c, wire, chunk);
      const fs = frames(c);
      const pong = fs.filter((f) => f.opcode === 10);
      expect(pong.length).toBe(1);
      const data = fs.filter((f) => f.opcode !== 10);
      expect(data[0].rsv1).toBe(true);
      expect(data.slice(1).every((f) => !f.rsv1 && f.opcode === 0)).toBe(true);
      expect(data[data.length - 1].fin).toBe(true);
      expect(messageOf(data).data.toString()).toBe(text);
      h.peerClose(c);
    }
  });

  test("an empty compressed message (a single 00 byte, section 7.2.3.6) and a zero-length one", () => {
    const { c } = open("permessage-deflate");
    h.feed(c, clientFrame(1, Buffer.from([0x00]), true, 4));
    expect(messageOf(frames(c)).data.length).toBe(0);
    h.feed(c, clientFrame(2, Buffer.alloc(0), true, 4));
    const m = messageOf(frames(c));
    expect(m.opcode).toBe(2);
    expect(m.data.length).toBe(0);
  });

  test("a message inflating beyond the receive area streams through in pieces", () => {
    // 200 KB of zeros compress to a few hundred bytes; the rx area is 4 KiB
    const big = Buffer.alloc(200000, 0x61);
    const { c } = open("permessage-deflate");
    h.feed(c, clientFrame(2, compress(big), true, 4));
    const fs = frames(c);
    expect(fs.length).toBeGreaterThan(1); // echoed piece by piece
    expect(messageOf(fs).data.equals(big)).toBe(true);
  });

  test("the message-size limit applies to the inflated size: 1009", async () => {
    h = await testHost({ deflate: true, maxMessage: 10000 });
    const { c } = open("permessage-deflate");
    const z = compress(Buffer.alloc(20000, 0x62));
    expect(z.length).toBeLessThan(10000);
    h.feed(c, clientFrame(2, z, true, 4));
    const fs = frames(c);
    expect(closeCode(fs[fs.length - 1])).toBe(1009);
  });

  test("invalid UTF-8 inside compressed text: 1007", () => {
    const { c } = open("permessage-deflate");
    h.feed(c, clientFrame(1, compress(Buffer.from([0x61, 0xff, 0x62])), true, 4));
    const fs = frames(c);
    expect(closeCode(fs[fs.length - 1])).toBe(1007);
  });

  test("text ending inside a UTF-8 sequence after inflating: 1007", () => {
    const { c } = open("permessage-deflate");
    h.feed(c, clientFrame(1, compress(Buffer.from([0x61, 0xe2, 0x82])), true, 4));
    const fs = frames(c);
    expect(closeCode(fs[fs.length - 1])).toBe(1007);
  });

  test("corrupt DEFLATE data: 1007", () => {
    const { c } = open("permessage-deflate");
    h.feed(c, clientFrame(2, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), true, 4));
    const fs = frames(c);
    expect(closeCode(fs[fs.length - 1])).toBe(1007);
  });

  const protocolErrors: [string, Buffer][] = [
    ["RSV1 on a continuation frame", Buffer.concat([clientFrame(1, compress("ab"), false, 4), clientFrame(0, Buffer.alloc(0), true, 4)])],
    ["RSV1 on a ping", clientFrame(9, "x", true, 4)],
    ["RSV2 on a data frame", clientFrame(1, "x", true, 2)],
    ["RSV3 on a data frame", clientFrame(1, "x", true, 1)],
  ];
  test.each(protocolErrors)("%s is still a protocol error: 1002", (_name, wire) => {
    const { c } = open("permessage-deflate");
    h.feed(c, wire);
    const fs = frames(c);
    expect(closeCode(fs[fs.length - 1])).toBe(1002);
  });

  test("control frames are never compressed", () => {
    const { c } = open("permessage-deflate");
    h.feed(c, clientFrame(9, "ping!"));
    const fs = frames(c);
    expect(fs).toHaveLength(1);
    expect(fs[0].opcode).toBe(10);
    expect(fs[0].rsv1).toBe(false);
    expect(fs[0].payload.toString()).toBe("ping!");
  });
});

describe("codec lifetime", () => {
  test("the codec is opened at the handshake and freed when the peer goes", () => {
    const { c } = open("permessage-deflate");
    expect(h.codecs.size).toBe(1);
    h.peerClose(c);
    expect(h.codecs.size).toBe(0);
  });

  test("freed after a closing handshake the core ends", () => {
    const { c } = open("permessage-deflate");
    h.feed(c, clientFrame(8, Buffer.from([0x03, 0xe8])));
    expect(c.closed).toBeTruthy();
    expect(h.codecs.size).toBe(0);
  });

  test("a failed connection frees its codec", () => {
    const { c } = open("permessage-deflate");
    h.feed(c, clientFrame(1, "x", true, 2)); // RSV2: 1002, then the close
    h.feed(c, clientFrame(8, Buffer.from([0x03, 0xea])));
    expect(c.closed).toBeTruthy();
    expect(h.codecs.size).toBe(0);
  });

  test("no allocation in steady state: many compressed messages leave the heap where it was", () => {
    const { c } = open("permessage-deflate");
    const warm = compress("warm up ".repeat(100));
    h.feed(c, clientFrame(1, warm, true, 4));
    frames(c);
    const before = h.heapProbe();
    for (let i = 0; i < 50; i++) {
      h.feed(c, clientFrame(1, compress(`message ${i} `.repeat(200)), true, 4));
      frames(c);
    }
    expect(h.heapProbe() - before).toBe(16);
  });
});
