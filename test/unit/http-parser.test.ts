// HTTP/1.1 request-head parser and chunked decoder (src/http/head.ts,
// src/http/chunked.ts), compiled with the core's flags and driven through
// test/unit/http-entry.ts.
//
// Every vector in test/vectors/http/*.json is replayed whole, split in two at
// every octet, and octet by octet; all replays must agree with each other and
// with the vector. Each call's input is copied to the very end of linear
// memory, so a read past `len` traps instead of passing silently.
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { compileAs } from "./asc";

interface Entry {
  memory: WebAssembly.Memory;
  scratchPtr(): number;
  namePtr(): number;
  tokenPtr(): number;
  heapBase(): number;
  headSize(): number;
  decoderSize(): number;
  scan(buf: number, len: number, from: number, maxHead: number, maxRequestLine: number): number;
  parse(buf: number, headLen: number, maxHeaders: number): number;
  h_contentLength(): bigint;
  h_method(): number;
  h_methodOff(): number;
  h_methodLen(): number;
  h_targetOff(): number;
  h_targetLen(): number;
  h_targetForm(): number;
  h_pathOff(): number;
  h_pathLen(): number;
  h_queryOff(): number;
  h_queryLen(): number;
  h_hostOff(): number;
  h_hostLen(): number;
  h_versionMinor(): number;
  h_headerCount(): number;
  h_headLen(): number;
  h_hasQuery(): number;
  h_hasHost(): number;
  h_chunked(): number;
  h_keepAlive(): number;
  h_expectContinue(): number;
  h_expectOther(): number;
  h_upgradeWebsocket(): number;
  h_connectionUpgrade(): number;
  hdr_nameOff(i: number): number;
  hdr_nameLen(i: number): number;
  hdr_valueOff(i: number): number;
  hdr_valueLen(i: number): number;
  find(buf: number, nameLen: number): number;
  findFrom(buf: number, nameLen: number, start: number): number;
  count(buf: number, nameLen: number): number;
  hasToken(buf: number, nameLen: number, tokenLen: number): number;
  ch_reset(): void;
  ch_resetLimits(maxExt: number, maxTrailer: number): void;
  ch_decode(buf: number, len: number): number;
  ch_spanOff(): number;
  ch_spanLen(): number;
  ch_done(): number;
  ch_remaining(): bigint;
  ch_total(): bigint;
}

const ROOT = path.resolve(__dirname, "../..");
const METHODS = ["OTHER", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];
const FORMS = ["origin", "absolute", "authority", "asterisk"];

let wasm: Buffer;
let ex: Entry;

beforeAll(() => {
  wasm = compileAs("test/unit/http-entry.ts");
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasm), {
    env: { abort: () => { throw new Error("abort"); } },
  });
  ex = inst.exports as unknown as Entry;
  ex.memory.grow(4); // free room above the static data for the guard placement
});

// ---- memory helpers ----------------------------------------------------------

const bytes = (s: string): Buffer => Buffer.from(s, "latin1");
const u8 = (): Uint8Array => new Uint8Array(ex.memory.buffer);
const str = (ptr: number, len: number): string => Buffer.from(u8().subarray(ptr, ptr + len)).toString("latin1");

/** Copies `b` so that it ends exactly at the end of linear memory. */
function placeAtEnd(b: Uint8Array): number {
  const end = ex.memory.buffer.byteLength;
  const ptr = end - b.length;
  if (ptr < ex.heapBase()) throw new Error("input too large for the guard area");
  u8().set(b, ptr);
  return ptr;
}

function putName(name: string): number {
  u8().set(bytes(name), ex.namePtr());
  return name.length;
}
function putToken(tok: string): number {
  u8().set(bytes(tok), ex.tokenPtr());
  return tok.length;
}

// ---- request head ------------------------------------------------------------

interface Limits { maxHead: number; maxRequestLine: number; maxHeaders: number }
const DEFAULT_LIMITS: Limits = { maxHead: 8192, maxRequestLine: 4096, maxHeaders: 64 };

interface HeadView {
  method: string;
  methodId: string;
  target: string;
  path: string;
  query: string | null;
  form: string;
  versionMinor: number;
  headerCount: number;
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
  expectContinue: boolean;
  expectOther: boolean;
  upgradeWebsocket: boolean;
  connectionUpgrade: boolean;
  host: string | null;
  headLen: number;
}

interface Outcome {
  status: number | "incomplete";
  by?: "scan" | "parse";
  headLen?: number;
  head?: HeadView;
  headers?: [string, string][];
}

function readHead(buf: number): HeadView {
  return {
    method: str(buf + ex.h_methodOff(), ex.h_methodLen()),
    methodId: METHODS[ex.h_method()],
    target: str(buf + ex.h_targetOff(), ex.h_targetLen()),
    path: str(buf + ex.h_pathOff(), ex.h_pathLen()),
    query: ex.h_hasQuery() ? str(buf + ex.h_queryOff(), ex.h_queryLen()) : null,
    form: FORMS[ex.h_targetForm()],
    versionMinor: ex.h_versionMinor(),
    headerCount: ex.h_headerCount(),
    contentLength: Number(ex.h_contentLength()),
    chunked: !!ex.h_chunked(),
    keepAlive: !!ex.h_keepAlive(),
    expectContinue: !!ex.h_expectContinue(),
    expectOther: !!ex.h_expectOther(),
    upgradeWebsocket: !!ex.h_upgradeWebsocket(),
    connectionUpgrade: !!ex.h_connectionUpgrade(),
    host: ex.h_hasHost() ? str(buf + ex.h_hostOff(), ex.h_hostLen()) : null,
    headLen: ex.h_headLen(),
  };
}

function readHeaders(buf: number): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < ex.h_headerCount(); i++) {
    out.push([str(buf + ex.hdr_nameOff(i), ex.hdr_nameLen(i)), str(buf + ex.hdr_valueOff(i), ex.hdr_valueLen(i))]);
  }
  return out;
}

/** Parses the head found by scanHeadEnd, placed so that it ends at the end
 *  of memory (parseRequestHead must not look past headLen). */
function parseFound(input: Buffer, headLen: number, lim: Limits): Outcome {
  const ptr = placeAtEnd(input.subarray(0, headLen));
  const r = ex.parse(ptr, headLen, lim.maxHeaders);
  const out: Outcome = { status: r, by: "parse", headLen };
  if (r === 0) {
    out.head = readHead(ptr);
    out.headers = readHeaders(ptr);
  }
  return out;
}

/** Feeds growing prefixes input[0, cut) for each cut (increasing, the last
 *  being input.length), resuming scanHeadEnd with `from` = previous length. */
function feedHead(input: Buffer, cuts: number[], lim: Limits): Outcome {
  let from = 0;
  for (const cut of cuts) {
    const ptr = placeAtEnd(input.subarray(0, cut));
    const r = ex.scan(ptr, cut, from, lim.maxHead, lim.maxRequestLine);
    from = cut;
    if (r < 0) return { status: r, by: "scan" };
    if (r > cut) throw new Error(`scanHeadEnd returned ${r} beyond len ${cut}`);
    if (r > 0) return parseFound(input, r, lim);
  }
  return { status: "incomplete" };
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

/** Whole, every two-piece split, octet by octet: all must agree. */
function replayHead(input: Buffer, lim: Limits): Outcome {
  const n = input.length;
  const whole = feedHead(input, [n], lim);
  for (let k = 1; k < n; k++) {
    const split = feedHead(input, [k, n], lim);
    if (JSON.stringify(split) !== JSON.stringify(whole)) {
      throw new Error(`split at ${k}: ${JSON.stringify(split)} != whole ${JSON.stringify(whole)}`);
    }
  }
  const bytewise = feedHead(input, range(1, n + 1), lim);
  expect(bytewise).toEqual(whole);
  return whole;
}

interface RequestVector {
  name: string;
  input: string;
  status: number | "incomplete";
  by?: "scan" | "parse";
  rest?: string;
  limits?: Partial<Limits>;
  head?: Partial<HeadView>;
  headers?: [string, string][];
}

const requestFile = JSON.parse(fs.readFileSync(path.join(ROOT, "test/vectors/http/requests.json"), "utf8")) as {
  defaults: Limits;
  vectors: RequestVector[];
};

describe("request head vectors", () => {
  test("vector names are unique", () => {
    const names = requestFile.vectors.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
  });

  test.each(requestFile.vectors.map((v) => [v.name, v] as [string, RequestVector]))("%s", (_name, v) => {
    const lim: Limits = { ...DEFAULT_LIMITS, ...requestFile.defaults, ...v.limits };
    const input = bytes(v.input);
    const got = replayHead(input, lim);
    expect(got.status).toBe(v.status);
    if (v.by) expect(got.by).toBe(v.by);
    if (got.by === "parse") {
      expect(got.headLen).toBe(input.length - (v.rest ? v.rest.length : 0));
    }
    if (v.status === 0) {
      const head = got.head!;
      expect(head.headLen).toBe(got.headLen);
      if (v.head) expect(head).toMatchObject(v.head);
      if (v.headers) expect(got.headers).toEqual(v.headers);
      // Invariants of every parsed head.
      expect(head.headerCount).toBe(got.headers!.length);
      if (head.chunked) expect(head.contentLength).toBe(-1);
      if (head.versionMinor === 1 && head.form !== "absolute" && head.form !== "authority") expect(head.host).not.toBeNull();
    }
  });
});

describe("request head API", () => {
  const lim = DEFAULT_LIMITS;

  test("pipelined requests: parse the first head, then the second from the rest", () => {
    const first = "POST /upload?x=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\n\r\n";
    const second = "GET /next HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n";
    const all = bytes(first + "abc" + second);
    const buf = ex.scratchPtr();
    u8().set(all, buf);
    const h1 = ex.scan(buf, all.length, 0, lim.maxHead, lim.maxRequestLine);
    expect(h1).toBe(first.length);
    expect(ex.parse(buf, h1, lim.maxHeaders)).toBe(0);
    let head = readHead(buf);
    expect(head).toMatchObject({ methodId: "POST", path: "/upload", query: "x=1", host: "a.example", contentLength: 3, keepAlive: true });
    // the core consumes the body, then parses the next head where it starts
    const next = buf + h1 + 3;
    const h2 = ex.scan(next, all.length - h1 - 3, 0, lim.maxHead, lim.maxRequestLine);
    expect(h2).toBe(second.length);
    expect(ex.parse(next, h2, lim.maxHeaders)).toBe(0);
    head = readHead(next);
    expect(head).toMatchObject({ methodId: "GET", path: "/next", query: null, host: "b.example", contentLength: -1, keepAlive: false });
    expect(ex.h_methodOff()).toBe(0); // offsets are relative to the buf passed in
  });

  test("every field is rewritten by the next parse", () => {
    const a = bytes("PUT http://x:1/p?q HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue, foo\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    const b = bytes("GET / HTTP/1.0\r\n\r\n");
    let ptr = placeAtEnd(a);
    expect(ex.parse(ptr, a.length, 64)).toBe(0);
    expect(readHead(ptr)).toMatchObject({ form: "absolute", chunked: true, expectContinue: true, expectOther: true, upgradeWebsocket: true, query: "q" });
    ptr = placeAtEnd(b);
    expect(ex.parse(ptr, b.length, 64)).toBe(0);
    expect(readHead(ptr)).toEqual({
      method: "GET", methodId: "GET", target: "/", path: "/", query: null, form: "origin", versionMinor: 0, headerCount: 0,
      contentLength: -1, chunked: false, keepAlive: false, expectContinue: false, expectOther: false, upgradeWebsocket: false,
      connectionUpgrade: false, host: null, headLen: b.length,
    });
  });

  test("findHeaderFrom: ASCII case-insensitive names, from any line", () => {
    const h = bytes("GET / HTTP/1.1\r\nHost: h\r\nX-Multi: 1\r\nCookie: a=b\r\nx-multi: 2\r\nX-MULTI:3\r\nX-Multi-Not: 4\r\n\r\n");
    const buf = placeAtEnd(h);
    expect(ex.parse(buf, h.length, 64)).toBe(0);
    const val = (i: number) => str(buf + ex.hdr_valueOff(i), ex.hdr_valueLen(i));
    expect(ex.find(buf, putName("cookie"))).toBe(2);
    expect(ex.find(buf, putName("COOKIE"))).toBe(2);
    expect(ex.find(buf, putName("HoSt"))).toBe(0);
    expect(ex.find(buf, putName("x-multi"))).toBe(1);
    expect(ex.findFrom(buf, putName("x-multi"), 2)).toBe(3);
    expect(ex.findFrom(buf, putName("x-multi"), 4)).toBe(4);
    expect(ex.findFrom(buf, putName("x-multi"), 5)).toBe(-1);
    expect(val(ex.find(buf, putName("X-Multi-Not")))).toBe("4");
    expect(ex.count(buf, putName("x-multi"))).toBe(3);
    expect(ex.find(buf, putName("x-mult"))).toBe(-1);
    expect(ex.find(buf, putName("cookies"))).toBe(-1);
    expect(ex.find(buf, putName(""))).toBe(-1);
    expect(ex.find(buf, putName("x_multi"))).toBe(-1); // '-' is not '_' even though '_' | 0x20 is DEL
  });

  test("headerHasToken: every line, comma lists, OWS, case, whole elements", () => {
    const h = bytes(
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nA: ,, x ,y\t,  \r\nconnection: foo ,  UpGrade\r\nB: websocket/13, websockets\r\nC:\r\nD: a;q=1\r\n\r\n",
    );
    const buf = placeAtEnd(h);
    expect(ex.parse(buf, h.length, 64)).toBe(0);
    const has = (name: string, tok: string) => !!ex.hasToken(buf, putName(name), putToken(tok));
    expect(has("connection", "upgrade")).toBe(true);
    expect(has("CONNECTION", "keep-alive")).toBe(true);
    expect(has("connection", "foo")).toBe(true);
    expect(has("connection", "close")).toBe(false);
    expect(has("connection", "upgrad")).toBe(false);
    expect(has("connection", "keep")).toBe(false);
    expect(has("a", "x")).toBe(true);
    expect(has("a", "y")).toBe(true);
    expect(has("a", "")).toBe(false);
    expect(has("b", "websocket")).toBe(false);
    expect(has("b", "WEBSOCKETS")).toBe(true);
    expect(has("c", "x")).toBe(false);
    expect(has("d", "a")).toBe(false);
    expect(has("d", "a;q=1")).toBe(true);
    expect(has("missing", "x")).toBe(false);
  });

  test("header table entries point into buf and are trimmed", () => {
    const text = "GET / HTTP/1.1\r\nHost: h\r\nA:\t \tv1 v2\t \r\n\r\n";
    const h = bytes(text);
    const buf = placeAtEnd(h);
    expect(ex.parse(buf, h.length, 64)).toBe(0);
    expect(ex.hdr_nameOff(1)).toBe(text.indexOf("A:"));
    expect(ex.hdr_nameLen(1)).toBe(1);
    expect(ex.hdr_valueOff(1)).toBe(text.indexOf("v1"));
    expect(ex.hdr_valueLen(1)).toBe("v1 v2".length);
  });

  test("maxHeaders boundary with many headers", () => {
    const mk = (n: number) => bytes("GET / HTTP/1.1\r\nHost: h\r\n" + range(1, n).map((i) => `X-${i}: ${i}\r\n`).join("") + "\r\n");
    for (const max of [1, 2, 10, 100, 1000]) {
      const ok = mk(max);
      expect(ex.parse(placeAtEnd(ok), ok.length, max)).toBe(0);
      expect(ex.h_headerCount()).toBe(max);
      const over = mk(max + 1);
      expect(ex.parse(placeAtEnd(over), over.length, max)).toBe(-431);
    }
    // maxHeaders 0 means no header fits, so an HTTP/1.1 request cannot pass
    const one = mk(1);
    expect(ex.parse(placeAtEnd(one), one.length, 0)).toBe(-431);
  });

  test("maxRequestLine: -414 as soon as the line is too long, octet by octet", () => {
    for (const max of [16, 17, 100, 1000]) {
      const line = "GET /" + "a".repeat(max - "GET / HTTP/1.1".length) + " HTTP/1.1";
      expect(line.length).toBe(max);
      const ok = bytes(line + "\r\nHost: h\r\n\r\n");
      expect(feedHead(ok, range(1, ok.length + 1), { ...lim, maxRequestLine: max }).status).toBe(0);
      const long = bytes("GET /" + "a".repeat(max * 2)); // no CRLF ever arrives
      let from = 0;
      let status = 0;
      let at = 0;
      for (let len = 1; len <= long.length && status === 0; len++) {
        status = ex.scan(placeAtEnd(long.subarray(0, len)), len, from, lim.maxHead, max);
        from = len;
        at = len;
      }
      expect(status).toBe(-414);
      expect(at).toBe(max + 1); // the first octet that cannot be a CR within the limit
    }
  });

  test("maxHead is capped at 65535 (u16 offsets)", () => {
    const headStart = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
    const pad = (total: number) => {
      return bytes(headStart + "v".repeat(total - headStart.length - 4) + "\r\n\r\n");
    };
    const max = pad(65535);
    expect(max.length).toBe(65535);
    let ptr = placeAtEnd(max);
    expect(ex.scan(ptr, max.length, 0, 1 << 20, 1 << 20)).toBe(65535);
    expect(ex.parse(ptr, 65535, 64)).toBe(0);
    expect(ex.hdr_valueLen(1)).toBe(65535 - headStart.length - 4);
    const over = pad(65536);
    ptr = placeAtEnd(over);
    expect(ex.scan(ptr, over.length, 0, 1 << 20, 1 << 20)).toBe(-431);
    expect(ex.scan(ptr, 40000, 0, 1 << 20, 1 << 20)).toBe(0);
    expect(ex.scan(ptr, over.length, 40000, 1 << 20, 1 << 20)).toBe(-431);
    expect(ex.parse(ptr, over.length, 64)).toBe(-431);
  });

  test("scanHeadEnd resumes with from: CRLFCRLF split anywhere, from beyond len is clamped", () => {
    const h = bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\nBODY");
    const end = h.length - 4;
    for (let a = end - 5; a <= end; a++) {
      for (let b = a; b <= h.length; b++) {
        const ptr = placeAtEnd(h.subarray(0, b));
        const r1 = ex.scan(ptr, a, 0, 8192, 4096);
        expect(r1).toBe(a >= end ? end : 0);
        expect(ex.scan(ptr, b, a, 8192, 4096)).toBe(b >= end ? end : 0);
      }
    }
    const ptr = placeAtEnd(h);
    expect(ex.scan(ptr, h.length, h.length + 10, 8192, 4096)).toBe(0); // nothing new to look at
    expect(ex.scan(ptr, 0, 0, 8192, 4096)).toBe(0);
  });

  test("random mutations only ever parse or yield a protocol status", () => {
    const seeds = requestFile.vectors.filter((v) => v.status === 0).map((v) => bytes(v.input));
    const allowed = new Set([0, -400, -414, -431, -501, -505]);
    let state = 0x12345678;
    const rnd = (n: number) => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) % n;
    };
    const interesting = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x23, 0x2c, 0x3a, 0x3b, 0x7f, 0x80, 0xff, 0x2f, 0x3f, 0x5b, 0x5d];
    for (let iter = 0; iter < 3000; iter++) {
      const m = Buffer.from(seeds[rnd(seeds.length)]);
      for (let k = 1 + rnd(3); k > 0; k--) {
        const i = rnd(m.length);
        m[i] = rnd(2) ? interesting[rnd(interesting.length)] : rnd(256);
      }
      const lim2 = { maxHead: 8192, maxRequestLine: 1 + rnd(200), maxHeaders: 1 + rnd(10) };
      const got = feedHead(m, [m.length], lim2);
      if (got.status !== "incomplete") expect(allowed.has(got.status)).toBe(true);
      if (got.status === 0) {
        const hd = got.head!;
        expect(hd.headLen).toBeLessThanOrEqual(m.length);
        expect(hd.headerCount).toBeLessThanOrEqual(lim2.maxHeaders);
      }
    }
  });
});

// ---- chunked body --------------------------------------------------------------

interface ChunkOutcome { status: number | "done" | "incomplete"; body: string; consumed: number }

/** Feeds input[0, end) for each end of `pieces` (increasing, last = length),
 *  calling chunkedDecode until the available bytes are consumed. Each call
 *  sees only the unconsumed bytes, placed at the end of memory. */
function feedChunked(input: Buffer, pieces: number[], maxExt = 4096, maxTrailer = 4096): ChunkOutcome {
  ex.ch_resetLimits(maxExt, maxTrailer);
  let pos = 0;
  const body: Buffer[] = [];
  for (const end of pieces) {
    while (pos < end) {
      const len = end - pos;
      const ptr = placeAtEnd(input.subarray(pos, end));
      const r = ex.ch_decode(ptr, len);
      if (r < 0) return { status: r, body: Buffer.concat(body).toString("latin1"), consumed: pos };
      if (r > len) throw new Error(`consumed ${r} of ${len}`);
      const sl = ex.ch_spanLen();
      if (sl > 0) {
        const so = ex.ch_spanOff();
        // the one span lies inside the consumed bytes and ends the call
        if (so + sl !== r) throw new Error(`span ${so}+${sl} does not end the consumed ${r}`);
        body.push(Buffer.from(u8().subarray(ptr + so, ptr + so + sl)));
      }
      pos += r;
      if (ex.ch_done()) {
        // done: nothing more is consumed, whatever follows
        const restPtr = placeAtEnd(input.subarray(pos));
        if (ex.ch_decode(restPtr, input.length - pos) !== 0 || ex.ch_spanLen() !== 0) throw new Error("consumed after done");
        return { status: "done", body: Buffer.concat(body).toString("latin1"), consumed: pos };
      }
      if (r === 0) throw new Error(`no progress at ${pos}`);
    }
  }
  return { status: "incomplete", body: Buffer.concat(body).toString("latin1"), consumed: pos };
}

function replayChunked(input: Buffer, maxExt?: number, maxTrailer?: number): ChunkOutcome {
  const n = input.length;
  const norm = (o: ChunkOutcome) => (typeof o.status === "number" ? { status: o.status } : o);
  const whole = feedChunked(input, [n], maxExt, maxTrailer);
  for (let k = 1; k < n; k++) {
    const split = feedChunked(input, [k, n], maxExt, maxTrailer);
    if (JSON.stringify(norm(split)) !== JSON.stringify(norm(whole))) {
      throw new Error(`split at ${k}: ${JSON.stringify(split)} != whole ${JSON.stringify(whole)}`);
    }
  }
  expect(norm(feedChunked(input, range(1, n + 1), maxExt, maxTrailer))).toEqual(norm(whole));
  return whole;
}

interface ChunkVector {
  name: string;
  input: string;
  body?: string;
  rest?: string;
  status: number | "done" | "incomplete";
  limits?: { maxExt?: number; maxTrailer?: number };
}

const chunkFile = JSON.parse(fs.readFileSync(path.join(ROOT, "test/vectors/http/chunked.json"), "utf8")) as { vectors: ChunkVector[] };

describe("chunked vectors", () => {
  test("vector names are unique", () => {
    const names = chunkFile.vectors.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
  });

  test.each(chunkFile.vectors.map((v) => [v.name, v] as [string, ChunkVector]))("%s", (_name, v) => {
    const input = bytes(v.input);
    const got = replayChunked(input, v.limits?.maxExt, v.limits?.maxTrailer);
    expect(got.status).toBe(v.status);
    if (v.status === "done" || v.status === "incomplete") {
      expect(got.body).toBe(v.body);
      expect(got.consumed).toBe(input.length - (v.rest ? v.rest.length : 0));
    }
  });
});

describe("chunked API", () => {
  /** Encodes `data` with the given chunk sizes, plus optional extensions and trailers. */
  function encode(data: Buffer, sizes: number[], ext = "", trailer = ""): Buffer {
    const parts: Buffer[] = [];
    let off = 0;
    for (const s of sizes) {
      parts.push(bytes(s.toString(16) + ext + "\r\n"), data.subarray(off, off + s), bytes("\r\n"));
      off += s;
    }
    parts.push(bytes("0" + ext + "\r\n" + trailer + "\r\n"));
    return Buffer.concat(parts);
  }

  test("binary data with every octet value round-trips at every split", () => {
    const data = Buffer.from(range(0, 256).map((i) => i));
    const enc = encode(data, [1, 2, 13, 0x10, 100, 124], ";x=\"a\\\"b\"");
    const got = replayChunked(Buffer.concat([enc, bytes("NEXT")]));
    expect(got.status).toBe("done");
    expect(Buffer.from(got.body, "latin1").equals(data)).toBe(true);
    expect(got.consumed).toBe(enc.length);
    expect(Number(ex.ch_total())).toBe(256);
  });

  test("random bodies, chunkings and splits", () => {
    let state = 0x9e3779b9;
    const rnd = (n: number) => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) % n;
    };
    for (let iter = 0; iter < 300; iter++) {
      const data = Buffer.from(range(0, rnd(400)).map(() => rnd(256)));
      const sizes: number[] = [];
      for (let left = data.length; left > 0; ) {
        const s = Math.min(left, 1 + rnd(70));
        sizes.push(s);
        left -= s;
      }
      const enc = encode(data, sizes, rnd(2) ? "" : ";n=v", rnd(2) ? "" : "T: x\r\n");
      const input = Buffer.concat([enc, bytes("GET")]);
      const cuts: number[] = [];
      for (let c = rnd(20); c < input.length; c += 1 + rnd(40)) if (c > 0) cuts.push(c);
      cuts.push(input.length);
      const got = feedChunked(input, cuts);
      expect(got.status).toBe("done");
      expect(Buffer.from(got.body, "latin1").equals(data)).toBe(true);
      expect(got.consumed).toBe(enc.length);
    }
  });

  test("a data span never exceeds the chunk or the buffer", () => {
    const input = bytes("a\r\n0123456789\r\n0\r\n\r\n");
    ex.ch_reset();
    const ptr = placeAtEnd(input);
    expect(ex.ch_decode(ptr, 7)).toBe(7); // "a\r\n0123"
    expect([ex.ch_spanOff(), ex.ch_spanLen()]).toEqual([3, 4]);
    expect(Number(ex.ch_remaining())).toBe(6);
    expect(ex.ch_decode(ptr + 7, input.length - 7)).toBe(6); // "456789"
    expect([ex.ch_spanOff(), ex.ch_spanLen()]).toEqual([0, 6]);
    expect(ex.ch_decode(ptr + 13, input.length - 13)).toBe(input.length - 13);
    expect(ex.ch_spanLen()).toBe(0);
    expect(ex.ch_done()).toBe(1);
  });

  test("chunk size up to 2^53 is accepted, and counted down", () => {
    ex.ch_reset();
    const head = bytes("20000000000000\r\nabc");
    const ptr = placeAtEnd(head);
    expect(ex.ch_decode(ptr, head.length)).toBe(head.length);
    expect(ex.ch_spanLen()).toBe(3);
    expect(ex.ch_remaining()).toBe(2n ** 53n - 3n);
    expect(ex.ch_total()).toBe(3n);
    expect(ex.ch_done()).toBe(0);
  });

  test("after an error the decoder keeps failing until reset; reset starts a new body", () => {
    ex.ch_reset();
    const bad = bytes("5\nhello");
    expect(ex.ch_decode(placeAtEnd(bad), bad.length)).toBe(-400);
    const good = bytes("1\r\nx\r\n0\r\n\r\n");
    expect(ex.ch_decode(placeAtEnd(good), good.length)).toBe(-400);
    ex.ch_reset();
    expect(feedChunked(good, [good.length])).toEqual({ status: "done", body: "x", consumed: good.length });
    expect(feedChunked(good, [good.length])).toEqual({ status: "done", body: "x", consumed: good.length });
  });

  test("extension and trailer limits are per body", () => {
    const many = Buffer.concat([...range(0, 50).map(() => bytes("1;abcdefgh\r\nx\r\n")), bytes("0\r\n\r\n")]);
    // each ";abcdefgh" plus the CR that ends it counts 10 octets
    expect(feedChunked(many, [many.length], 10 * 50).status).toBe("done");
    expect(feedChunked(many, [many.length], 10 * 50 - 1).status).toBe(-400);
    const trailers = bytes("0\r\n" + "A: 1\r\n".repeat(100) + "\r\n");
    expect(feedChunked(trailers, [trailers.length], 4096, 600).status).toBe("done");
    expect(feedChunked(trailers, [trailers.length], 4096, 599).status).toBe(-400);
  });
});

// ---- character classes, every octet -------------------------------------------------
// Reference definitions written from the RFC grammar, independent of tokens.ts.

const isTchar = (b: number) => b < 0x80 && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(String.fromCharCode(b));
const isVchar = (b: number) => b >= 0x21 && b <= 0x7e;
const isFieldOctet = (b: number) => isVchar(b) || b >= 0x80 || b === 0x20 || b === 0x09;
const isRegName = (b: number) => b < 0x80 && /[A-Za-z0-9\-._~!$&'()*+,;=]/.test(String.fromCharCode(b));
const isQdtext = (b: number) => b === 0x09 || b === 0x20 || b === 0x21 || (b >= 0x23 && b <= 0x5b) || (b >= 0x5d && b <= 0x7e) || b >= 0x80;
const hexOf = (b: number) => (b < 0x80 && /[0-9a-fA-F]/.test(String.fromCharCode(b)) ? parseInt(String.fromCharCode(b), 16) : -1);
const octets = range(0, 256);
const ch = (b: number) => String.fromCharCode(b);
const headStatus = (text: string) => feedHead(bytes(text), [text.length], DEFAULT_LIMITS).status;

describe("character classes, every octet", () => {
  test("field-name octets are tchar", () => {
    for (const b of octets) {
      const want = isTchar(b) || b === 0x3a ? 0 : -400; // ':' just ends the name early
      expect([b, headStatus(`GET / HTTP/1.1\r\nHost: h\r\nX${ch(b)}Y: v\r\n\r\n`)]).toEqual([b, want]);
    }
  });
  test("method octets are tchar", () => {
    for (const b of octets) {
      const want = isTchar(b) ? 0 : -400;
      expect([b, headStatus(`G${ch(b)}T / HTTP/1.1\r\nHost: h\r\n\r\n`)]).toEqual([b, want]);
    }
  });
  test("field-value octets are VCHAR, obs-text, SP, HTAB", () => {
    for (const b of octets) {
      const want = isFieldOctet(b) ? 0 : -400;
      expect([b, headStatus(`GET / HTTP/1.1\r\nHost: h\r\nX: a${ch(b)}b\r\n\r\n`)]).toEqual([b, want]);
    }
  });
  test("request-target octets are VCHAR except #", () => {
    for (const b of octets) {
      const want = isVchar(b) && b !== 0x23 ? 0 : -400;
      expect([b, headStatus(`GET /a${ch(b)}b HTTP/1.1\r\nHost: h\r\n\r\n`)]).toEqual([b, want]);
    }
  });
  test("Host reg-name octets are unreserved / sub-delims", () => {
    for (const b of octets) {
      const want = isRegName(b) ? 0 : -400;
      expect([b, headStatus(`GET / HTTP/1.1\r\nHost: a${ch(b)}z\r\n\r\n`)]).toEqual([b, want]);
    }
  });
  test("chunk-size HEXDIG values", () => {
    for (const b of octets) {
      const v = hexOf(b);
      const input = bytes(`${ch(b)}\r\n${"x".repeat(Math.max(v, 0))}\r\n0\r\n\r\n`);
      const got = feedChunked(input, [input.length]);
      if (v < 0) expect([b, got.status]).toEqual([b, -400]);
      else if (v === 0) expect([b, got.status, got.consumed]).toEqual([b, "done", 5]); // "0\r\n\r\n", the rest is not ours
      else expect([b, got.status, got.body.length]).toEqual([b, "done", v]);
    }
  });
  test("chunk-ext-name octets are tchar", () => {
    for (const b of octets) {
      const input = bytes(`1;a${ch(b)}b\r\nx\r\n0\r\n\r\n`);
      const want = isTchar(b) || b === 0x3b || b === 0x3d ? "done" : -400; // ';' and '=' keep it valid
      expect([b, feedChunked(input, [input.length]).status]).toEqual([b, want]);
    }
  });
  test("quoted chunk-ext-val octets are qdtext; quoted-pair takes HTAB / SP / VCHAR / obs-text", () => {
    for (const b of octets) {
      const q = bytes(`1;a="${ch(b)}"\r\nx\r\n0\r\n\r\n`);
      expect([b, feedChunked(q, [q.length]).status]).toEqual([b, isQdtext(b) ? "done" : -400]);
      const e = bytes(`1;a="\\${ch(b)}"\r\nx\r\n0\r\n\r\n`);
      expect([b, feedChunked(e, [e.length]).status]).toEqual([b, isFieldOctet(b) ? "done" : -400]);
    }
  });
  test("trailer name and value octets", () => {
    for (const b of octets) {
      const n = bytes(`0\r\nT${ch(b)}U: v\r\n\r\n`);
      expect([b, feedChunked(n, [n.length]).status]).toEqual([b, isTchar(b) || b === 0x3a ? "done" : -400]);
      const v = bytes(`0\r\nT: a${ch(b)}b\r\n\r\n`);
      expect([b, feedChunked(v, [v.length]).status]).toEqual([b, isFieldOctet(b) ? "done" : -400]);
    }
  });
});

// ---- build properties ------------------------------------------------------------

describe("module", () => {
  test("the parsers never allocate: no memory.grow in the compiled entry, imports only env.abort", () => {
    const text = execFileSync(
      process.execPath,
      ["--input-type=module", "-e", "import b from 'binaryen'; import fs from 'fs'; process.stdout.write(b.readBinary(fs.readFileSync(0)).emitText());"],
      { input: wasm, cwd: ROOT, maxBuffer: 64 << 20 },
    ).toString();
    expect(text).toContain("func");
    expect(text).not.toContain("memory.grow");
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasm));
    for (const i of imports) expect(`${i.module}.${i.name}`).toBe("env.abort");
  });

  test("struct sizes fit what the core reserves", () => {
    expect(ex.headSize()).toBeLessThanOrEqual(128);
    expect(ex.decoderSize()).toBeLessThanOrEqual(64);
  });
});
