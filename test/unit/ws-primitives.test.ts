// Unit tests for the allocation-free WebSocket primitives: SHA-1, base64,
// Sec-WebSocket-Accept, incremental UTF-8 validation and payload unmasking.
// Each is compiled to wasm (test/unit/ws-entry.ts) and checked against Node
// (crypto, Buffer, TextDecoder) or a plain JS reference.
import * as crypto from "crypto";
import { compileAs } from "./asc";

interface WsExports {
  memory: WebAssembly.Memory;
  scratchPtr(): number;
  scratchSize(): number;
  sha1(data: number, len: number, out20: number): void;
  sha1Init(): void;
  sha1Update(data: number, len: number): void;
  sha1Final(out20: number): void;
  base64Encode(src: number, len: number, dst: number): number;
  base64Decode(src: number, len: number, dst: number, dstCap: number): number;
  base64EncodedLen(len: number): number;
  wsAcceptKey(key: number, keyLen: number, out28: number): void;
  wsKeyValid(key: number, keyLen: number): number;
  wsAcceptLen(): number;
  utf8Step(state: number, ptr: number, len: number): number;
  utf8Accept(): number;
  utf8Reject(): number;
  unmask(ptr: number, len: number, key: number, phase: number): number;
}

let ex: WsExports;
let S = 0; // scratch base
const HALF = 2 << 20; // scratch is 4 MiB: input half, output half

beforeAll(async () => {
  const wasm = compileAs("test/unit/ws-entry.ts");
  const { instance } = await WebAssembly.instantiate(wasm, {
    env: {
      abort: () => {
        throw new Error("abort");
      },
    },
  });
  ex = instance.exports as unknown as WsExports;
  S = ex.scratchPtr();
  expect(ex.scratchSize()).toBeGreaterThanOrEqual(2 * HALF);
});

const mem = (): Uint8Array => new Uint8Array(ex.memory.buffer);
function put(bytes: Uint8Array | number[], at: number): number {
  mem().set(bytes, at);
  return at;
}
function get(at: number, len: number): Buffer {
  return Buffer.from(mem().slice(at, at + len));
}
const ascii = (s: string): Buffer => Buffer.from(s, "latin1");

/** Cheap equality for hot loops: only builds a jest assertion on mismatch,
 *  with `ctx` in the report. */
function eq(actual: unknown, expected: unknown, ...ctx: unknown[]): void {
  if (actual !== expected) expect([...ctx, actual]).toEqual([...ctx, expected]);
}

// Deterministic PRNG (mulberry32) so failures reproduce.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function randBytes(r: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

// ------------------------------------------------------------------ SHA-1 --

describe("sha1", () => {
  const ref = (b: Uint8Array): Buffer => crypto.createHash("sha1").update(b).digest();

  test("FIPS 180 examples", () => {
    const cases: [string, string][] = [
      ["", "da39a3ee5e6b4b0d3255bfef95601890afd80709"],
      ["abc", "a9993e364706816aba3e25717850c26c9cd0d89d"],
      ["abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"],
    ];
    for (const [msg, hex] of cases) {
      const b = ascii(msg);
      put(b, S);
      ex.sha1(S, b.length, S + HALF);
      expect(get(S + HALF, 20).toString("hex")).toBe(hex);
    }
  });

  test("lengths 0..300 at every alignment 0..3 match crypto", () => {
    const r = rng(1);
    for (let len = 0; len <= 300; len++) {
      const data = randBytes(r, len);
      const want = ref(data).toString("hex");
      for (let off = 0; off < 4; off++) {
        put(data, S + off);
        ex.sha1(S + off, len, S + HALF + off);
        expect(get(S + HALF + off, 20).toString("hex")).toBe(want);
      }
    }
  });

  test("1 MiB (and 1 MiB + 55) match crypto", () => {
    const r = rng(2);
    for (const len of [1 << 20, (1 << 20) + 55]) {
      const data = randBytes(r, len);
      put(data, S + 1);
      ex.sha1(S + 1, len, S + HALF);
      expect(get(S + HALF, 20).toString("hex")).toBe(ref(data).toString("hex"));
    }
  });

  test("streaming with random splits matches one-shot", () => {
    const r = rng(3);
    for (let iter = 0; iter < 300; iter++) {
      const len = (r() * 400) | 0;
      const data = randBytes(r, len);
      put(data, S);
      ex.sha1Init();
      let p = 0;
      while (p < len) {
        const n = Math.min(len - p, (r() * 130) | 0);
        ex.sha1Update(S + p, n);
        p += n;
      }
      ex.sha1Final(S + HALF);
      expect(get(S + HALF, 20).toString("hex")).toBe(ref(data).toString("hex"));
    }
  });

  test("output may overlap the input", () => {
    const data = ascii("The quick brown fox jumps over the lazy dog");
    put(data, S);
    ex.sha1(S, data.length, S);
    expect(get(S, 20).toString("hex")).toBe("2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
  });
});

// ----------------------------------------------------------------- base64 --

describe("base64", () => {
  function decode(s: Buffer | string, cap = 1024): { n: number; out: Buffer } {
    const b = typeof s === "string" ? ascii(s) : s;
    put(b, S);
    const n = ex.base64Decode(S, b.length, S + HALF, cap);
    return { n, out: n >= 0 ? get(S + HALF, n) : Buffer.alloc(0) };
  }

  test("encode lengths 0..100 at alignments 0..3 match Buffer", () => {
    const r = rng(10);
    for (let len = 0; len <= 100; len++) {
      const data = randBytes(r, len);
      const want = Buffer.from(data).toString("base64");
      expect(ex.base64EncodedLen(len)).toBe(want.length);
      for (let off = 0; off < 4; off++) {
        put(data, S + off);
        const sentinel = S + HALF + off + want.length;
        mem()[sentinel] = 0xa5;
        const n = ex.base64Encode(S + off, len, S + HALF + off);
        expect(n).toBe(want.length);
        expect(get(S + HALF + off, n).toString("latin1")).toBe(want);
        expect(mem()[sentinel]).toBe(0xa5); // wrote nothing past the end
      }
    }
  });

  test("all byte values round-trip", () => {
    const data = new Uint8Array(256 * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 255;
    put(data, S);
    const n = ex.base64Encode(S, data.length, S + HALF);
    const enc = get(S + HALF, n);
    expect(enc.toString("latin1")).toBe(Buffer.from(data).toString("base64"));
    const d = decode(enc, data.length);
    expect(d.n).toBe(data.length);
    expect(d.out.equals(Buffer.from(data))).toBe(true);
  });

  test("decode lengths 0..100 match Buffer", () => {
    const r = rng(11);
    for (let len = 0; len <= 100; len++) {
      const data = Buffer.from(randBytes(r, len));
      const enc = data.toString("base64");
      const d = decode(enc);
      expect(d.n).toBe(len);
      expect(d.out.equals(data)).toBe(true);
      expect(d.out.equals(Buffer.from(enc, "base64"))).toBe(true);
    }
  });

  test("known vectors (RFC 4648 §10)", () => {
    const v: [string, string][] = [
      ["", ""],
      ["f", "Zg=="],
      ["fo", "Zm8="],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg=="],
      ["fooba", "Zm9vYmE="],
      ["foobar", "Zm9vYmFy"],
    ];
    for (const [plain, enc] of v) {
      const p = ascii(plain);
      put(p, S);
      const n = ex.base64Encode(S, p.length, S + HALF);
      expect(get(S + HALF, n).toString("latin1")).toBe(enc);
      const d = decode(enc);
      expect(d.n).toBe(plain.length);
      expect(d.out.toString("latin1")).toBe(plain);
    }
  });

  test("unused bits before the padding are ignored (like Buffer)", () => {
    expect(decode("Zh==").out.toString("latin1")).toBe("f");
    expect(decode("Zm9=").out.toString("latin1")).toBe("fo");
    expect(Buffer.from("Zh==", "base64").toString("latin1")).toBe("f");
  });

  test("rejects characters outside the standard alphabet at every position", () => {
    const good = "Zm9vYmFy"; // "foobar"
    const bad = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x21, 0x2c, 0x2d, 0x2e, 0x3a, 0x40, 0x5b, 0x5f, 0x60, 0x7b, 0x7f, 0x80, 0xc3, 0xff, 0x3d];
    for (let i = 0; i < good.length; i++) {
      for (const c of bad) {
        if (c === 0x3d && i === good.length - 1) continue; // "Zm9vYmF=" is valid padding
        const b = ascii(good);
        b[i] = c;
        expect([i, c, decode(b).n]).toEqual([i, c, -1]);
      }
    }
    // Every byte value in a full quad: exactly the 64 alphabet chars pass.
    let ok = 0;
    for (let c = 0; c < 256; c++) {
      const b = ascii("AAAA");
      b[1] = c;
      if (decode(b).n === 3) ok++;
      else expect(decode(b).n).toBe(-1);
    }
    expect(ok).toBe(64);
  });

  test("rejects bad padding, wrong length and whitespace", () => {
    const invalid = [
      "Z", "Zg", "Zg=", "Zm9", "Zm9vY", "Zm9vYg", "Zm9vYg=", // length not a multiple of 4
      "====", "Z===", "=Zg=", "==Zg", "Zg=a", "Z=g=", "Zm=v", // '=' misplaced
      "Zg==Zg==", "Zm8=Zm9v", "Zg==Zm9v", "Zm9vZg===", "Zm9v====", // padding before the end / too much
      " Zg=", "Zg= ", "Zm9v\n", "Zm9v Zm9v", "Zm9v\r\nZm9v", "Zm\t9v", " Zm9v", "Zm9v ", // whitespace
      "Zm9v-_8=", "Zm9v_w==", // URL-safe alphabet
    ];
    for (const s of invalid) expect([s, decode(s).n]).toEqual([s, -1]);
  });

  test("dstCap: exact fit works, one byte short fails without writing", () => {
    for (const [enc, n] of [["Zm9vYmFy", 6], ["Zm9vYmE=", 5], ["Zm9vYg==", 4], ["Zg==", 1]] as [string, number][]) {
      expect(decode(enc, n).n).toBe(n);
      mem().fill(0xa5, S + HALF, S + HALF + 8);
      expect(decode(enc, n - 1).n).toBe(-1);
      expect([...get(S + HALF, 8)].every((x) => x === 0xa5)).toBe(true);
    }
    expect(decode("", 0).n).toBe(0);
  });

  test("decodes in place", () => {
    const data = Buffer.from(randBytes(rng(12), 61));
    const enc = ascii(data.toString("base64"));
    put(enc, S + 3);
    expect(ex.base64Decode(S + 3, enc.length, S + 3, 100)).toBe(61);
    expect(get(S + 3, 61).equals(data)).toBe(true);
  });
});

// ------------------------------------------------------- handshake accept --

describe("Sec-WebSocket-Accept", () => {
  const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  const refAccept = (key: Buffer): string =>
    crypto.createHash("sha1").update(Buffer.concat([key, ascii(GUID)])).digest("base64");

  function accept(key: Buffer): string {
    put(key, S);
    mem().fill(0xa5, S + HALF, S + HALF + 32);
    ex.wsAcceptKey(S, key.length, S + HALF);
    expect(mem()[S + HALF + 28]).toBe(0xa5);
    return get(S + HALF, 28).toString("latin1");
  }
  const valid = (key: Buffer | string): boolean => {
    const b = typeof key === "string" ? ascii(key) : key;
    put(b, S);
    return ex.wsKeyValid(S, b.length) !== 0;
  };

  test("RFC 6455 §1.3 example", () => {
    expect(ex.wsAcceptLen()).toBe(28);
    expect(accept(ascii("dGhlIHNhbXBsZSBub25jZQ=="))).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    expect(valid("dGhlIHNhbXBsZSBub25jZQ==")).toBe(true);
  });

  test("random keys match crypto", () => {
    const r = rng(20);
    for (let i = 0; i < 200; i++) {
      const key = ascii(Buffer.from(randBytes(r, 16)).toString("base64"));
      expect(accept(key)).toBe(refAccept(key));
      expect(valid(key)).toBe(true);
    }
    // The key is hashed as sent, whatever its length (validity is separate).
    for (const len of [0, 1, 23, 24, 25, 27, 28, 29, 64, 100, 200]) {
      const key = ascii(Buffer.from(randBytes(r, len)).toString("latin1"));
      expect(accept(key)).toBe(refAccept(key));
    }
  });

  test("wsKeyValid: exactly 16 decoded bytes", () => {
    const r = rng(21);
    for (let n = 0; n <= 24; n++) {
      const key = Buffer.from(randBytes(r, n)).toString("base64");
      expect([n, valid(key)]).toEqual([n, n === 16]);
    }
    const k15 = Buffer.from(randBytes(r, 15)).toString("base64"); // 20 chars
    const k17 = Buffer.from(randBytes(r, 17)).toString("base64"); // 24 chars, one '='
    const k18 = Buffer.from(randBytes(r, 18)).toString("base64"); // 24 chars, no '='
    expect([k15.length, k17.length, k18.length]).toEqual([20, 24, 24]);
    expect(valid(k15)).toBe(false);
    expect(valid(k17)).toBe(false);
    expect(valid(k18)).toBe(false);
  });

  test("wsKeyValid: invalid base64", () => {
    const good = "dGhlIHNhbXBsZSBub25jZQ==";
    const bad = [
      "",
      "dGhlIHNhbXBsZSBub25jZQ=", // 23 chars
      "dGhlIHNhbXBsZSBub25jZQ===", // 25 chars
      "dGhlIHNhbXBsZSBub25jZQ", // unpadded
      "dGhlIHNhbXBsZSBub25jZ===", // 15 bytes + extra '='
      "dGhlIHNhbXBsZSBub25j=Q==", // '=' inside
      "dGhlIHNhbXBsZSBub25jZQ-=",
      "dGhlIHNhbXBsZSBub25jZ-_=",
      " dGhlIHNhbXBsZSBub25jZQ==", // untrimmed
      "dGhlIHNhbXBsZSBub25jZQ== ",
      "dGhlIHNhbXBsZSBub 25jZQ=",
      "dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25jZQ==",
    ];
    for (const k of bad) expect([k, valid(k)]).toEqual([k, false]);
    for (let i = 0; i < 22; i++) {
      const b = ascii(good);
      b[i] = 0x2e; // '.'
      expect(valid(b)).toBe(false);
    }
  });
});

// ------------------------------------------------------------------ UTF-8 --

/** Unicode Table 3-7 written out directly. firstBad: index of the first byte
 *  that cannot continue any well-formed sequence (-1 if none); complete: no
 *  bad byte and the input ends at a code point boundary. */
function refUtf8(b: Uint8Array): { firstBad: number; complete: boolean } {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c === 0xe0) (need = 2), (lo = 0xa0);
    else if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) need = 2;
    else if (c === 0xed) (need = 2), (hi = 0x9f);
    else if (c === 0xf0) (need = 3), (lo = 0x90);
    else if (c >= 0xf1 && c <= 0xf3) need = 3;
    else if (c === 0xf4) (need = 3), (hi = 0x8f);
    else return { firstBad: i, complete: false };
    for (let j = 1; j <= need; j++) {
      if (i + j >= n) return { firstBad: -1, complete: false };
      const d = b[i + j];
      if (d < (j === 1 ? lo : 0x80) || d > (j === 1 ? hi : 0xbf)) return { firstBad: i + j, complete: false };
    }
    i += need + 1;
  }
  return { firstBad: -1, complete: true };
}

/** Node's streaming fatal decoder fed one byte at a time: index of the byte
 *  at which it throws, or -1. */
function textDecoderFirstBad(b: Uint8Array): number {
  const d = new TextDecoder("utf-8", { fatal: true });
  for (let i = 0; i < b.length; i++) {
    try {
      d.decode(b.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return -1;
}

function textDecoderValid(b: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

describe("utf8Step", () => {
  let ACCEPT = 0;
  let REJECT = 0;
  beforeAll(() => {
    ACCEPT = ex.utf8Accept();
    REJECT = ex.utf8Reject();
  });

  /** One call over the whole input at `off`. */
  function whole(b: Uint8Array, off = 0): number {
    put(b, S + off);
    return ex.utf8Step(ACCEPT, S + off, b.length);
  }
  /** Byte by byte; returns the final state and the index where REJECT first appeared. */
  function byteByByte(b: Uint8Array, off = 0): { state: number; rejectAt: number } {
    put(b, S + off);
    let st = ACCEPT;
    let rejectAt = -1;
    for (let i = 0; i < b.length; i++) {
      st = ex.utf8Step(st, S + off + i, 1);
      if (st === REJECT && rejectAt < 0) rejectAt = i;
      if (rejectAt >= 0) eq(st, REJECT, "sticky", i); // sticky
    }
    return { state: st, rejectAt };
  }
  type Verdict = "accept" | "pending" | "reject";
  const verdict = (st: number): Verdict => (st === ACCEPT ? "accept" : st === REJECT ? "reject" : "pending");

  /** Every property the validator must have on one input. */
  function checkAll(b: Uint8Array, opts: { splits?: boolean; prefixes?: boolean; td?: boolean } = {}): void {
    const ref = refUtf8(b);
    const want: Verdict = ref.firstBad >= 0 ? "reject" : ref.complete ? "accept" : "pending";
    const label = Buffer.from(b).toString("hex");
    const off = b.length & 7;
    const st = whole(b, off);
    eq(verdict(st), want, label);
    // Whole-message verdict agrees with Node's fatal decoder.
    eq(st === ACCEPT, textDecoderValid(b), label, "TextDecoder");
    // Fail-fast: REJECT exactly at the first bad byte.
    const bb = byteByByte(b, off);
    eq(bb.rejectAt, ref.firstBad, label, "rejectAt");
    eq(bb.state, st, label, "byte-by-byte state");
    if (opts.td !== false) eq(textDecoderFirstBad(b), ref.firstBad, label, "TextDecoder stream");
    if (opts.splits !== false) {
      // Split at every position: same final state as one call.
      put(b, S + off);
      for (let k = 0; k <= b.length; k++) {
        const s1 = ex.utf8Step(ACCEPT, S + off, k);
        const s2 = ex.utf8Step(s1, S + off + k, b.length - k);
        eq(s2, st, label, "split", k);
      }
    }
    if (opts.prefixes !== false) {
      // Bulk calls (fast path included) on every prefix: REJECT iff the prefix holds the first bad byte.
      put(b, S + off);
      for (let k = 0; k <= b.length; k++) {
        const s = ex.utf8Step(ACCEPT, S + off, k);
        const bad = ref.firstBad >= 0 && k > ref.firstBad;
        eq(s === REJECT, bad, label, "prefix", k);
      }
    }
  }

  const h = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
  const u = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "utf8"));

  test("constants", () => {
    expect(ACCEPT).toBe(0);
    expect(REJECT).not.toBe(0);
    expect(ex.utf8Step(REJECT, S, 0)).toBe(REJECT);
    put(ascii("abc"), S);
    expect(ex.utf8Step(REJECT, S, 3)).toBe(REJECT);
    expect(ex.utf8Step(ACCEPT, S, 0)).toBe(ACCEPT);
  });

  // [hex bytes, expected verdict, first bad byte index (reject only)]
  const vectors: [string, Verdict, number?][] = [
    // 6.1 / 6.2 / 6.3: empty and valid text
    ["", "accept"],
    [Buffer.from("Hello-µ@ßöäüàá-UTF-8!!").toString("hex"), "accept"],
    ["cebae1bdb9cf83cebcceb5", "accept"], // κόσμε
    // 6.4: valid text then a bad sequence
    ["cebae1bdb9cf83cebcceb5 f4908080 65646974656421", "reject", 12],
    ["cebae1bdb9cf83cebcceb5 eda080 65646974656421", "reject", 12],
    // 6.5 - 6.7: first possible sequence of each length
    ["00", "accept"],
    ["c280", "accept"],
    ["e0a080", "accept"],
    ["f0908080", "accept"],
    // 6.8: 5- and 6-byte forms
    ["f888808080", "reject", 0],
    ["fc8480808080", "reject", 0],
    // 6.9: last possible sequence of each length
    ["7f", "accept"],
    ["dfbf", "accept"],
    ["efbfbf", "accept"], // U+FFFF
    ["f48fbfbf", "accept"], // U+10FFFF
    // 6.10
    ["f7bfbfbf", "reject", 0],
    ["fbbfbfbfbf", "reject", 0],
    ["fdbfbfbfbfbf", "reject", 0],
    // 6.11: other boundaries
    ["ed9fbf", "accept"], // U+D7FF
    ["ee8080", "accept"], // U+E000
    ["efbfbd", "accept"], // U+FFFD
    ["f48fbfbf", "accept"],
    ["f4908080", "reject", 1], // U+110000
    // 6.12: unexpected continuation bytes
    ["80", "reject", 0],
    ["bf", "reject", 0],
    ["80bf", "reject", 0],
    ["80bf80", "reject", 0],
    ["41 80", "reject", 1],
    ["c280 80", "reject", 2],
    // 6.13: lonely start characters
    ["c020", "reject", 0],
    ["c220", "reject", 1],
    ["df20", "reject", 1],
    ["e020", "reject", 1],
    ["e120", "reject", 1],
    ["e18020", "reject", 2],
    ["f020", "reject", 1],
    ["f18020", "reject", 2],
    ["f1808020", "reject", 3],
    ["f820", "reject", 0],
    ["fc20", "reject", 0],
    // 6.14: last byte missing (incomplete, not invalid: pending)
    ["c2", "pending"],
    ["df", "pending"],
    ["e0a0", "pending"],
    ["e080", "reject", 1], // overlong can be refused early
    ["efbf", "pending"],
    ["f090", "pending"],
    ["f09080", "pending"],
    ["f48fbf", "pending"],
    ["f4", "pending"],
    ["ed", "pending"],
    ["ed9f", "pending"],
    ["c0", "reject", 0],
    ["c1", "reject", 0],
    ["f08080", "reject", 1],
    ["f7bfbf", "reject", 0],
    // 6.15: concatenation of incomplete sequences
    ["c2 e0a0 f09080", "reject", 1],
    // 6.16: impossible bytes
    ["fe", "reject", 0],
    ["ff", "reject", 0],
    ["fefeffff", "reject", 0],
    ["41 fe", "reject", 1],
    // 6.17: overlong ASCII '/'
    ["c0af", "reject", 0],
    ["e080af", "reject", 1],
    ["f08080af", "reject", 1],
    ["f8808080af", "reject", 0],
    ["fc80808080af", "reject", 0],
    // 6.18: maximum overlongs
    ["c1bf", "reject", 0],
    ["e09fbf", "reject", 1],
    ["f08fbfbf", "reject", 1],
    ["f887bfbfbf", "reject", 0],
    ["fc83bfbfbfbf", "reject", 0],
    // 6.19: overlong NUL
    ["c080", "reject", 0],
    ["e08080", "reject", 1],
    ["f0808080", "reject", 1],
    ["f880808080", "reject", 0],
    ["fc8080808080", "reject", 0],
    // 6.20: single surrogates
    ["eda080", "reject", 1],
    ["edadbf", "reject", 1],
    ["edae80", "reject", 1],
    ["edafbf", "reject", 1],
    ["edb080", "reject", 1],
    ["edbe80", "reject", 1],
    ["edbfbf", "reject", 1],
    // 6.21: paired surrogates
    ["eda080edb080", "reject", 1],
    ["edafbfedbfbf", "reject", 1],
    // 6.22: noncharacters are valid
    ["efbfbe", "accept"], // U+FFFE
    ["f09fbfbe f09fbfbf", "accept"], // U+1FFFE U+1FFFF
    ["f48fbfbe", "accept"], // U+10FFFE
    ["efb790 efb7af", "accept"], // U+FDD0 U+FDEF
    // 6.23: replacement character
    ["efbfbd", "accept"],
    // more: bytes after an F4 / F0 / E0 / ED lead at every continuation range
    ["f480", "pending"],
    ["f48f", "pending"],
    ["f490", "reject", 1],
    ["f4bf", "reject", 1],
    ["f080", "reject", 1],
    ["f08f", "reject", 1],
    ["f0bf", "pending"],
    ["e09f", "reject", 1],
    ["e0bf", "pending"],
    ["ed80", "pending"],
    ["eda0", "reject", 1],
    ["f5808080", "reject", 0],
    ["c2c2", "reject", 1],
    ["e1c2", "reject", 1],
    ["f180c2", "reject", 2],
    ["f18080c2", "reject", 3],
    ["f1808080", "accept"],
    ["f3bfbfbf", "accept"],
    ["e1 80", "pending"],
  ];

  test.each(vectors.map((v) => [v[0] === "" ? "(empty)" : v[0], v[1], v[2] ?? -1] as const))(
    "vector %s -> %s (first bad %d)",
    (hex, want, firstBad) => {
      const b = h(hex === "(empty)" ? "" : hex);
      const st = whole(b);
      expect(verdict(st)).toBe(want);
      expect(byteByByte(b).rejectAt).toBe(want === "reject" ? firstBad : -1);
      // The vectors themselves agree with the Table 3-7 reference.
      expect(refUtf8(b).firstBad).toBe(want === "reject" ? firstBad : -1);
      checkAll(b);
    },
  );

  test("every code point U+0000..U+10FFFF (surrogates excluded) is accepted, alone and in runs", () => {
    const strs: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      strs.push(String.fromCodePoint(cp));
    }
    const all = Buffer.from(strs.join(""), "utf8");
    expect(all.length).toBe(0x80 + 0x780 * 2 + (0x10000 - 0x800 - 0x800) * 3 + 0x100000 * 4);
    // 4.3 MB in 1 MiB pieces cut anywhere, the state carried across.
    for (const off of [0, 3]) {
      let st = ACCEPT;
      for (let p = 0; p < all.length; p += 1 << 20) {
        const piece = all.subarray(p, p + (1 << 20));
        put(piece, S + off);
        st = ex.utf8Step(st, S + off, piece.length);
        expect(st).not.toBe(REJECT);
      }
      expect(st).toBe(ACCEPT);
    }
    // Each encoded code point on its own (byte by byte for a sample).
    for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x800 ? 1 : 97) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const b = Buffer.from(String.fromCodePoint(cp), "utf8");
      eq(whole(b), ACCEPT, cp);
      eq(byteByByte(b).state, ACCEPT, cp);
    }
  });

  test("all 1- and 2-byte inputs, all 3-byte inputs starting E0..EF/F0..F4", () => {
    const b1 = new Uint8Array(1);
    for (let a = 0; a < 256; a++) {
      b1[0] = a;
      checkAll(b1, { td: false });
    }
    const b2 = new Uint8Array(2);
    for (let a = 0; a < 256; a++)
      for (let c = 0; c < 256; c++) {
        b2[0] = a;
        b2[1] = c;
        const ref = refUtf8(b2);
        const st = whole(b2);
        eq(verdict(st), ref.firstBad >= 0 ? "reject" : ref.complete ? "accept" : "pending", a, c);
        eq(byteByByte(b2).rejectAt, ref.firstBad, a, c);
      }
    const b3 = new Uint8Array(3);
    for (let a = 0xe0; a <= 0xf4; a++)
      for (let c = 0x70; c < 0xc8; c++)
        for (let d = 0x70; d < 0xc8; d++) {
          b3[0] = a;
          b3[1] = c;
          b3[2] = d;
          const ref = refUtf8(b3);
          const st = whole(b3);
          eq(verdict(st), ref.firstBad >= 0 ? "reject" : ref.complete ? "accept" : "pending", a, c, d);
          eq(st === ACCEPT, textDecoderValid(b3), a, c, d);
        }
  });

  test("random byte strings biased to high bytes vs TextDecoder and Table 3-7", () => {
    const r = rng(30);
    const special = [
      0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef,
      0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfe, 0xff,
    ];
    let accepted = 0;
    let pending = 0;
    let rejected = 0;
    for (let iter = 0; iter < 4000; iter++) {
      const len = (r() * 24) | 0;
      const b = new Uint8Array(len);
      for (let i = 0; i < len; i++) {
        const x = r();
        if (x < 0.15) b[i] = (r() * 0x80) | 0;
        else if (x < 0.55) b[i] = 0x80 + ((r() * 0x40) | 0); // continuation bytes
        else if (x < 0.8) b[i] = special[(r() * special.length) | 0];
        else b[i] = 0xc0 + ((r() * 0x40) | 0); // lead bytes
      }
      checkAll(b);
      const st = whole(b);
      if (st === ACCEPT) accepted++;
      else if (st === REJECT) rejected++;
      else pending++;
    }
    // The generator reaches all three outcomes.
    expect(accepted).toBeGreaterThan(100);
    expect(pending).toBeGreaterThan(30);
    expect(rejected).toBeGreaterThan(100);
  });

  test("valid text with one corruption, long ASCII runs (fast path) at every alignment", () => {
    const r = rng(31);
    const sampleCp = (): number => {
      const x = r();
      if (x < 0.4) return 0x20 + ((r() * 0x5f) | 0);
      if (x < 0.6) return 0x80 + ((r() * 0x780) | 0);
      if (x < 0.8) {
        const cp = 0x800 + ((r() * 0xf800) | 0);
        return cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp;
      }
      return 0x10000 + ((r() * 0x100000) | 0);
    };
    for (let iter = 0; iter < 1500; iter++) {
      const parts: Buffer[] = [];
      const nParts = 1 + ((r() * 6) | 0);
      for (let p = 0; p < nParts; p++) {
        parts.push(Buffer.from("x".repeat((r() * 40) | 0) + String.fromCodePoint(sampleCp()), "utf8"));
      }
      parts.push(Buffer.from("y".repeat((r() * 40) | 0), "utf8"));
      const b = Uint8Array.from(Buffer.concat(parts));
      const x = r();
      if (x < 0.3) {
        b[(r() * b.length) | 0] = (r() * 256) | 0; // corrupt one byte
      } else if (x < 0.5) {
        b[(r() * b.length) | 0] = 0x80 | ((r() * 0x7f) | 0);
      } else if (x < 0.6 && b.length > 0) {
        checkAll(b.subarray(0, (r() * b.length) | 0), { td: false }); // truncated
        continue;
      }
      checkAll(b, { td: iter < 300 });
      for (let off = 0; off < 8; off++) {
        eq(whole(b, off), whole(b, 0), off);
      }
    }
  });

  test("fast path: a bad byte at every position of an ASCII buffer, every alignment", () => {
    for (const bad of [0x80, 0xbf, 0xc0, 0xff]) {
      for (const len of [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100]) {
        for (let off = 0; off < 8; off++) {
          for (let i = 0; i < len; i++) {
            const b = new Uint8Array(len).fill(0x61);
            b[i] = bad;
            put(b, S + off);
            const bulk = ex.utf8Step(ACCEPT, S + off, len);
            eq(bulk, REJECT, bad, len, off, i);
            eq(ex.utf8Step(ACCEPT, S + off, i), ACCEPT, bad, len, off, i);
            eq(ex.utf8Step(ACCEPT, S + off, i + 1), REJECT, bad, len, off, i);
          }
        }
      }
    }
    // A lead byte near the end of a long ASCII run is pending, not rejected.
    for (let off = 0; off < 8; off++) {
      for (let i = 0; i < 40; i++) {
        const b = new Uint8Array(40).fill(0x61);
        b[i] = 0xe2;
        put(b, S + off);
        expect(ex.utf8Step(ACCEPT, S + off, i + 1)).not.toBe(REJECT);
        expect(ex.utf8Step(ACCEPT, S + off, i + 1)).not.toBe(ACCEPT);
        const full = ex.utf8Step(ACCEPT, S + off, 40);
        if (i === 39) expect(verdict(full)).toBe("pending");
        else expect(full).toBe(REJECT); // the 'a' after the lead byte
      }
    }
  });

  test("1 MiB mixed text: one call, 4 KiB pieces and odd-sized pieces agree", () => {
    const r = rng(32);
    const s: string[] = [];
    let n = 0;
    while (n < 1 << 20) {
      const piece = r() < 0.7 ? "ascii text run " : String.fromCodePoint(0xa0 + ((r() * 0x10f00) | 0));
      s.push(piece);
      n += piece.length;
    }
    const b = Uint8Array.from(Buffer.from(s.join(""), "utf8").subarray(0, 1 << 20));
    const ref = refUtf8(b);
    put(b, S);
    const st = ex.utf8Step(ACCEPT, S, b.length);
    expect(verdict(st)).toBe(ref.firstBad >= 0 ? "reject" : ref.complete ? "accept" : "pending");
    for (const piece of [4096, 1, 3, 7, 13, 1000]) {
      let st2 = ACCEPT;
      for (let p = 0; p < b.length; p += piece) st2 = ex.utf8Step(st2, S + p, Math.min(piece, b.length - p));
      expect(st2).toBe(st);
    }
    // A bad byte deep inside is found, and the prefix before it is not rejected.
    const at = 777_777;
    const saved = b[at];
    mem()[S + at] = 0xff;
    expect(ex.utf8Step(ACCEPT, S, b.length)).toBe(REJECT);
    expect(ex.utf8Step(ACCEPT, S, at)).not.toBe(REJECT);
    expect(ex.utf8Step(ACCEPT, S, at + 1)).toBe(REJECT);
    mem()[S + at] = saved;
  });
});

// ----------------------------------------------------------------- unmask --

describe("unmask", () => {
  function refMask(data: Uint8Array, keyBytes: Uint8Array, phase: number): Uint8Array {
    const out = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = data[i] ^ keyBytes[(phase + i) & 3];
    return out;
  }
  const keyU32 = (k: Uint8Array): number => (k[0] | (k[1] << 8) | (k[2] << 16) | (k[3] << 24)) >>> 0;

  test("RFC 6455 §5.7 masked \"Hello\"", () => {
    const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
    put([0x7f, 0x9f, 0x4d, 0x51, 0x58], S + 1);
    expect(ex.unmask(S + 1, 5, keyU32(key), 0)).toBe(1);
    expect(get(S + 1, 5).toString("latin1")).toBe("Hello");
  });

  test("all phases 0..3, lengths 0..64, offsets 0..7 vs JS reference; neighbours untouched", () => {
    const r = rng(40);
    for (let phase = 0; phase < 4; phase++) {
      for (let len = 0; len <= 64; len++) {
        for (let off = 0; off < 8; off++) {
          const key = randBytes(r, 4);
          const data = randBytes(r, len);
          const at = S + 16 + off;
          mem().fill(0xa5, at - 16, at + len + 16);
          put(data, at);
          const ret = ex.unmask(at, len, keyU32(key), phase);
          expect(ret).toBe((phase + len) & 3);
          expect(get(at, len).equals(Buffer.from(refMask(data, key, phase)))).toBe(true);
          expect([...get(at - 16, 16), ...get(at + len, 16)].every((x) => x === 0xa5)).toBe(true);
        }
      }
    }
  });

  test("masking twice restores the data; phase bits above 3 are ignored", () => {
    const r = rng(41);
    const data = randBytes(r, 77);
    const key = keyU32(randBytes(r, 4));
    put(data, S + 3);
    ex.unmask(S + 3, 77, key, 2);
    ex.unmask(S + 3, 77, key, 6);
    expect(get(S + 3, 77).equals(Buffer.from(data))).toBe(true);
  });

  test("large buffer in one call and in random pieces with chained phase", () => {
    const r = rng(42);
    const len = (1 << 20) + 5;
    const data = randBytes(r, len);
    const keyB = randBytes(r, 4);
    const key = keyU32(keyB);
    const want = Buffer.from(refMask(data, keyB, 0));
    put(data, S + 5);
    expect(ex.unmask(S + 5, len, key, 0)).toBe(len & 3);
    expect(get(S + 5, len).equals(want)).toBe(true);

    put(data, S + 2);
    let phase = 0;
    let p = 0;
    while (p < len) {
      const n = Math.min(len - p, (r() * 300) | 0);
      phase = ex.unmask(S + 2 + p, n, key, phase);
      p += n;
    }
    expect(phase).toBe(len & 3);
    expect(get(S + 2, len).equals(want)).toBe(true);
  });
});
