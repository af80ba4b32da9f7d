// libFuzzer over the whole core (test/fuzz/fuzz.c): builds one fuzzer per
// target with clang (-fsanitize=fuzzer,address,undefined) over the wasm2c
// translation of test/apps/core-test.ts, seeds each corpus from
// test/vectors/ and a few hand-made inputs, and runs them bounded.
//
//   npx tsx tools/fuzz.ts [--target T] [--seconds S] [--corpus DIR]
//
// The long run is the same with more seconds and a corpus folder kept
// between runs (docs/status.md, "Fuzzing"). A finding is a crash file in
// build/fuzz/findings/ and a non-zero exit.
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { build } from "./build";
import * as C from "../src/abi/constants";

const ROOT = path.resolve(__dirname, "..");
const OUT = path.join(ROOT, "build/fuzz");
const WASM2C_RT = "/usr/src/wasm2c";
export const TARGETS = ["http", "ws", "deflate", "mounts", "image", "client", "wasmcheck"] as const;
export type Target = (typeof TARGETS)[number];

const CFLAGS = ["-g", "-O1", "-fsanitize=fuzzer-no-link,address,undefined", "-fno-sanitize-recover=undefined", "-std=gnu11",
  "-DMOTE_HAVE_ZLIB=1", "-DMOTE_IMAGE_STORE=1", "-DMOTE_BOARD_LINUX=1", "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0"];

function newer(out: string, inputs: string[]): boolean {
  if (!fs.existsSync(out)) return false;
  const t = fs.statSync(out).mtimeMs;
  return inputs.every((f) => fs.statSync(f).mtimeMs <= t);
}

/** The fuzzers, built when stale. Returns their paths by target. */
export function buildFuzzers(quiet = true): Record<Target, string> {
  const r = build({ board: "linux", engine: "wasm2c", app: "test/apps/core-test.ts", quiet });
  const dir = path.dirname(r.binary); // build/linux/core-test/wasm2c
  const inc = [`-I${path.join(dir, "include")}`, `-I${path.join(ROOT, "platform/include")}`, `-I${WASM2C_RT}`, `-I${path.join(dir, "gen")}`,
    `-I${path.join(ROOT, "platform/common")}`];
  fs.mkdirSync(path.join(OUT, "obj"), { recursive: true });
  const shared = [
    path.join(dir, "gen/core.c"), path.join(WASM2C_RT, "wasm-rt-impl.c"), path.join(ROOT, "platform/engines/wasm2c/engine_wasm2c.c"),
    path.join(ROOT, "platform/common/zcodec.c"), path.join(ROOT, "platform/common/image_store.c"), path.join(ROOT, "platform/common/sha256.c"),
    path.join(ROOT, "platform/common/wasm_check.c"),
  ];
  const headers = [...fs.readdirSync(path.join(dir, "include")).map((f) => path.join(dir, "include", f)), path.join(dir, "gen/core.h"),
    ...fs.readdirSync(path.join(ROOT, "platform/common")).filter((f) => f.endsWith(".h")).map((f) => path.join(ROOT, "platform/common", f))];
  const objs = shared.map((src) => {
    const o = path.join(OUT, "obj", path.basename(src).replace(/\.c$/, ".o"));
    if (!newer(o, [src, ...headers])) {
      if (!quiet) process.stderr.write(`[fuzz] clang ${path.relative(ROOT, src)}\n`);
      execFileSync("clang", [...CFLAGS, ...inc, "-c", src, "-o", o], { stdio: "inherit" });
    }
    return o;
  });
  const harness = path.join(ROOT, "test/fuzz/fuzz.c");
  const out = {} as Record<Target, string>;
  for (const t of TARGETS) {
    const bin = path.join(OUT, `fuzz-${t}`);
    if (!newer(bin, [harness, ...objs])) {
      if (!quiet) process.stderr.write(`[fuzz] link fuzz-${t}\n`);
      execFileSync("clang", [...CFLAGS.map((f) => (f.startsWith("-fsanitize=fuzzer-no-link") ? "-fsanitize=fuzzer,address,undefined" : f)),
        `-DFUZZ_${t}=1`, `-DFUZZ_image=${t === "image" ? 1 : 0}`, ...inc, harness, ...objs, "-lz", "-lm", "-o", bin], { stdio: "inherit" });
    }
    out[t] = bin;
  }
  return out;
}

/** A masked client frame (RFC 6455 5.2). */
function frame(op: number, payload: Buffer, fin = true, rsv1 = false): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const head = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op];
  if (payload.length < 126) head.push(0x80 | payload.length);
  else head.push(0x80 | 126, payload.length >> 8, payload.length & 255);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]));
  return Buffer.concat([Buffer.from(head), mask, body]);
}

/** Seed inputs of a target (each prefixed with the cutting seed byte). */
export function seeds(t: Target): Buffer[] {
  const s: Buffer[] = [];
  const add = (b: Buffer | string) => s.push(Buffer.concat([Buffer.from([s.length & 255]), Buffer.from(b as any, "latin1" as any)]));
  if (t === "http") {
    const v = JSON.parse(fs.readFileSync(path.join(ROOT, "test/vectors/http/requests.json"), "utf8")).vectors as { input: string }[];
    for (const x of v) add(x.input);
    const ch = JSON.parse(fs.readFileSync(path.join(ROOT, "test/vectors/http/chunked.json"), "utf8"));
    for (const x of (ch.vectors || []) as { input: string }[])
      add(`POST /body HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${x.input}`);
    add("POST /body HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhelloGET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
  } else if (t === "ws" || t === "deflate") {
    add(frame(1, Buffer.from("hello")));
    add(Buffer.concat([frame(1, Buffer.from("frag"), false), frame(9, Buffer.from("p")), frame(0, Buffer.from("ment"))]));
    add(frame(2, Buffer.alloc(300, 7)));
    add(frame(8, Buffer.from([3, 232, 0x62, 0x79, 0x65])));
    if (t === "deflate") {
      // "hello" deflated raw, without the 00 00 ff ff tail (RFC 7692 7.2.1)
      const z = require("zlib").deflateRawSync(Buffer.from("hello hello hello"), { flush: 2 }) as Buffer;
      add(frame(1, z.subarray(0, z.length - 4), true, true));
    }
  } else if (t === "mounts") {
    for (const p of ["/", "/a%20b.txt", "/../x", "/docs/", "/%2e%2e/", "/x?y=1", "/docs", "//a"]) add(p);
  } else if (t === "image") {
    const key = Buffer.alloc(32);
    key[0] = 1;
    const img = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    const m = Buffer.alloc(C.IMG_MAN_BYTES);
    m.writeUInt32LE(C.IMG_MAN_MAGIC, 0);
    m.writeUInt32LE(img.length, C.IMG_MAN_LEN);
    m.writeUInt32LE(5, C.IMG_MAN_VERSION);
    crypto.createHmac("sha256", key).update("mote device id").digest().subarray(0, 8).copy(m, C.IMG_MAN_DEVICE);
    crypto.createHash("sha256").update(img).digest().copy(m, C.IMG_MAN_SHA256);
    crypto.createHmac("sha256", key).update(m.subarray(0, C.IMG_MAN_HMAC)).digest().copy(m, C.IMG_MAN_HMAC);
    add(Buffer.concat([m, img]));
  } else if (t === "wasmcheck") {
    add(fs.readFileSync(build({ board: "linux", engine: "wasm2c", app: "test/apps/core-test.ts", quiet: true }).wasm));
    add(Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0, 1]));
    add(Buffer.concat([Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 1, 0x7f, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0, 0x0b])]));
  } else {
    // the answer to the client's key: port_random_fill gives 16 x 0x5a
    const key = Buffer.alloc(16, 0x5a).toString("base64");
    const accept = crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
    const ok = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
    const unmasked = (op: number, p: string) => Buffer.concat([Buffer.from([0x80 | op, p.length]), Buffer.from(p)]);
    add(Buffer.concat([Buffer.from(ok), unmasked(1, "hi"), unmasked(9, ""), unmasked(8, "\x03\xe8")]));
    add("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno");
  }
  return s;
}

export interface FuzzResult {
  target: Target;
  runs: number;
  seconds: number;
  finding: string | null;
  output: string;
}

/** Runs one target for `seconds` over `corpus` (seeded when empty). */
export function runFuzzer(bin: string, t: Target, seconds: number, corpus: string, env: NodeJS.ProcessEnv = process.env): FuzzResult {
  fs.mkdirSync(corpus, { recursive: true });
  if (fs.readdirSync(corpus).length === 0) seeds(t).forEach((b, i) => fs.writeFileSync(path.join(corpus, `seed-${i}`), b));
  const findings = path.join(OUT, "findings", t) + path.sep;
  fs.mkdirSync(findings, { recursive: true });
  const t0 = Date.now();
  const r = spawnSync(bin, [`-max_total_time=${seconds}`, "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1",
    `-artifact_prefix=${findings}`, corpus], { encoding: "utf8", timeout: (seconds + 60) * 1000, env });
  const output = (r.stderr || "") + (r.stdout || "");
  const runs = +((/stat::number_of_executed_units:\s+(\d+)/.exec(output) || [0, 0])[1]);
  const crash = /Test unit written to (\S+)/.exec(output);
  const finding = r.status === 0 ? null : crash ? crash[1] : `exit ${r.status ?? r.signal}`;
  return { target: t, runs, seconds: (Date.now() - t0) / 1000, finding, output };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const get = (k: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
  const only = get("--target") as Target | undefined;
  if (only && !TARGETS.includes(only)) {
    console.error(`fuzz: unknown target '${only}' (known: ${TARGETS.join(", ")})`);
    process.exit(2);
  }
  const seconds = +(get("--seconds") || 60);
  const bins = buildFuzzers(false);
  let bad = 0;
  for (const t of only ? [only] : TARGETS) {
    const corpus = get("--corpus") ? path.join(get("--corpus")!, t) : path.join(OUT, "corpus", t);
    const r = runFuzzer(bins[t], t, seconds, corpus);
    console.log(`${t}: ${r.runs} runs in ${r.seconds.toFixed(0)} s${r.finding ? `, FINDING ${r.finding}` : ", nothing found"}`);
    if (r.finding) {
      bad++;
      console.log(r.output.split("\n").filter((l) => /ERROR|SUMMARY|trapped|#0 |#1 |#2 /.test(l)).slice(0, 20).join("\n"));
    }
  }
  process.exit(bad ? 1 : 0);
}
