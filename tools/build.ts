// `mote build`: AssemblyScript core + app -> core.wasm -> (wasm2c) C -> the
// simulator binary for a board. Every step is skipped when the hash of its
// inputs matches the stamp left by the last run, so re-builds are quick.
import * as fs from "fs";
import * as path from "path";
import * as crypto from "crypto";
import { execFileSync } from "child_process";
import { genHeader } from "./gen-header";
import { writeAbiHeaders } from "./abi";
import { loadBoard, Board, isArmBoard, isEsp32Board } from "./boards";
import { buildArm } from "./build-arm";
import { buildEsp32 } from "./build-esp32";
import { checkModuleFeatures } from "./wasm-features";
import { ensureWasm3Sources, wasm3Headers, wasm3IncludeFlags, WASM3_CFLAGS, WASM3_DIR, WASM3_UNITS } from "./wasm3";
import { ensureTls, mbedtlsUnits, tlsHeaders, tlsIncludeFlags, MBEDTLS_DIR, TLS_DIR, TLS_TEST_DIR } from "./tls";

export const ROOT = path.resolve(__dirname, "..");
const WASM2C_RT = "/usr/src/wasm2c";
/** Engines a board can run the module on (boards/<name>.json names its default). */
export const ENGINES = ["wasm2c", "wasm3"];

export interface BuildOptions {
  board: string;
  engine?: string;
  app?: string; // AssemblyScript file exporting setup(); default app/demo.ts
  imageKey?: string; // wasm3 boards: the device key file compiled in (default build/keys/image.key)
  dhcp?: boolean; // lwIP boards: lease the address by DHCP (network.dhcp), built in <engine>-dhcp/
  tls?: boolean; // boards: TLS (platform/tls, mbedTLS) built in, in <engine>[-dhcp]-tls/ (linux: always built in)
  portable?: boolean; // linux: the BSD-socket port on POSIX calls and poll(2) only (arch_posix.h), in <engine>-posix/
  quiet?: boolean;
}

export interface BuildResult {
  board: Board;
  engine: string;
  dir: string;
  wasm: string;
  binary: string;
  /** wasm3 boards: the app-image store as provisioned (the app in slot 0). */
  flash?: string;
}

export function log(opts: BuildOptions, msg: string) {
  if (!opts.quiet) process.stderr.write(`[build] ${msg}\n`);
}

export function listFiles(dir: string, ext: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, ext));
    else if (e.name.endsWith(ext)) out.push(p);
  }
  return out.sort();
}

function hashOf(files: string[], extra: string): string {
  const h = crypto.createHash("sha256");
  h.update(extra);
  for (const f of files) {
    h.update(f);
    h.update(fs.readFileSync(f));
  }
  return h.digest("hex");
}

/** Runs `make` when the stamp at `stamp` differs from the inputs' hash. */
export function step(stamp: string, inputs: string[], extra: string, outputs: string[], make: () => void): boolean {
  const want = hashOf(inputs, extra);
  const fresh = outputs.every((o) => fs.existsSync(o)) && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === want;
  if (fresh) return false;
  make();
  fs.writeFileSync(stamp, want);
  return true;
}

export function run(cmd: string, args: string[], cwd = ROOT) {
  try {
    execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e: any) {
    const out = `${e.stdout || ""}${e.stderr || ""}`.trim();
    throw new Error(`${cmd} failed:\n${out}`);
  }
}

/** One C unit of a build: its flags and the files whose change rebuilds it. */
export interface Unit {
  src: string;
  flags: string[];
  deps: string[];
}

/** The object file of a unit. Third-party objects that depend on neither
 *  the app nor the engine (wasm3's interpreter, mbedTLS) are kept once per
 *  board; the rest under the build's own folder. */
function objectOf(board: string, dir: string, src: string): string {
  const rel = path.relative(ROOT, src).replace(/^\.\.\/+/g, "").replace(/[\/]/g, "_").replace(/\.c$/, ".o");
  if (src.startsWith(WASM3_DIR + path.sep)) return path.join(ROOT, "build", board, "wasm3-interp", rel);
  if (src.startsWith(MBEDTLS_DIR + path.sep)) return path.join(ROOT, "build", board, "mbedtls", rel);
  return path.join(dir, "obj", rel);
}

/** Compiles each unit with `cc` (skipped when its stamp matches) and links
 *  them into `out` with `ldflags`, before the objects, and `libs` after
 *  them (the simulator and the Cortex-M firmware alike). Returns true when
 *  the link ran. */
export function compileAndLink(opts: BuildOptions, board: string, dir: string, cc: string, units: Unit[], out: string,
                               ldflags: string[], libs: string[], linkDeps: string[] = []): boolean {
  const objs: string[] = [];
  for (const u of units) {
    const obj = objectOf(board, dir, u.src);
    fs.mkdirSync(path.dirname(obj), { recursive: true });
    step(obj + ".stamp", u.deps, u.flags.join(" "), [obj], () => {
      log(opts, `${cc} ${path.relative(ROOT, u.src)}`);
      run(cc, [...u.flags, "-c", u.src, "-o", obj]);
    });
    objs.push(obj);
  }
  return step(out + ".stamp", [...objs, ...linkDeps], [...ldflags, ...libs].join(" "), [out], () => {
    log(opts, `link ${path.relative(ROOT, out)}`);
    run(cc, [...ldflags, "-o", out, ...objs, ...libs]);
  });
}

/** The exports listed in src/abi/exports.ts, so the entry re-exports only those
 *  (and not the imports, which AssemblyScript would otherwise re-export). */
function abiExports(): string[] {
  const src = fs.readFileSync(path.join(ROOT, "src/abi/exports.ts"), "utf8");
  return [...src.matchAll(/^export function (mote_\w+)/gm)].map((m) => m[1]);
}

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".json": "application/json",
  ".png": "image/png", ".svg": "image/svg+xml", ".ico": "image/x-icon", ".txt": "text/plain; charset=utf-8",
};

/** The app's www/ folder as an AssemblyScript module: each file a data
 *  segment, registered in the VFS at start-up. */
function assetsModule(wwwDir: string, dir: string): string {
  const lines = ["// Generated by tools/build.ts from the app's www/ folder. Do not edit."];
  lines.push(`import { vfsAdd } from "${path.relative(dir, path.join(ROOT, "src/vfs/vfs")).replace(/\\/g, "/")}";`);
  const files = fs.existsSync(wwwDir) ? listFiles(wwwDir, "") : [];
  files.forEach((f, i) => {
    const bytes = fs.readFileSync(f);
    const rel = "/" + path.relative(wwwDir, f).replace(/\\/g, "/");
    const mime = MIME[path.extname(f).toLowerCase()] || "application/octet-stream";
    lines.push(`const F${i} = memory.data<u8>([${Array.from(bytes).join(",")}]);`);
    // the entity tag: 64 bits of the content's SHA-256, the same for the same bytes in every build
    const etag = `"${crypto.createHash("sha256").update(bytes).digest("hex").slice(0, 16)}"`;
    lines.push(`vfsAdd(${JSON.stringify(rel)}, F${i}, ${bytes.length}, ${JSON.stringify(mime)}, ${JSON.stringify(etag)});`);
  });
  return lines.join("\n") + "\n";
}

export const ASC_FLAGS = ["--runtime", "stub", "-O3", "--noAssert", "--converge"];

/** asc's flags for a board: ASC_FLAGS, plus the board file's
 *  wasm.shrinkLevel (flash-bound boards trade a little speed for size). */
export function ascFlags(boardName?: string): string[] {
  const level = loadBoard(boardName || "linux").wasm?.shrinkLevel || 0;
  if (!Number.isInteger(level) || level < 0 || level > 2) throw new Error(`board ${boardName}: wasm.shrinkLevel must be 0, 1 or 2, not ${level}`);
  return level ? [...ASC_FLAGS, "--shrinkLevel", String(level)] : ASC_FLAGS;
}

/** Build folder name of an app: its file name without .ts. */
export function appName(app?: string): string {
  return path.basename(app || "app/demo.ts").replace(/\.ts$/, "");
}

export function buildWasm(opts: BuildOptions, dir: string): string {
  const app = path.resolve(ROOT, opts.app || "app/demo.ts");
  if (!fs.existsSync(app)) throw new Error(`app file not found: ${app} (pass an AssemblyScript file that exports setup())`);
  fs.mkdirSync(dir, { recursive: true });
  const entry = path.join(dir, "entry.ts");
  const rel = (p: string) => {
    let r = path.relative(dir, p).replace(/\\/g, "/").replace(/\.ts$/, "");
    return r.startsWith(".") ? r : "./" + r;
  };
  const entrySrc =
    `// Generated by tools/build.ts: the module entry = ABI exports + the app.\n` +
    `export { ${abiExports().join(", ")} } from "${rel(path.join(ROOT, "src/abi/exports.ts"))}";\n` +
    `import { setup } from "${rel(app)}";\n` +
    `import { registerApp } from "${rel(path.join(ROOT, "src/core/app.ts"))}";\n` +
    `import "./assets";\n` +
    `registerApp(setup);\n`;
  if (!fs.existsSync(entry) || fs.readFileSync(entry, "utf8") !== entrySrc) fs.writeFileSync(entry, entrySrc);
  const assets = path.join(dir, "assets.ts");
  const assetsSrc = assetsModule(path.join(path.dirname(app), "www"), dir);
  if (!fs.existsSync(assets) || fs.readFileSync(assets, "utf8") !== assetsSrc) fs.writeFileSync(assets, assetsSrc);
  const wasm = path.join(dir, "core.wasm");
  const inputs = [entry, assets, ...listFiles(path.join(ROOT, "src"), ".ts"), ...listFiles(path.dirname(app), ".ts")];
  const flags = ascFlags(opts.board);
  step(path.join(dir, "core.wasm.stamp"), [...inputs, path.join(__dirname, "wasm-features.ts")], flags.join(" "), [wasm], () => {
    log(opts, `asc ${path.relative(ROOT, app)} -> ${path.relative(ROOT, wasm)}${flags === ASC_FLAGS ? "" : ` (${flags.slice(ASC_FLAGS.length).join(" ")})`}`);
    run(path.join(ROOT, "node_modules/.bin/asc"), [entry, "-o", wasm, "--textFile", wasm.replace(/\.wasm$/, ".wat"), ...flags]);
    // one module for both engines: only features both run (tools/wasm-features.ts)
    try {
      checkModuleFeatures(wasm);
    } catch (e) {
      fs.rmSync(wasm, { force: true });
      throw e;
    }
  });
  return wasm;
}

/** The C view of a board file: one #define per limit. */
export function boardConfig(board: Board): string {
  const l = board.limits;
  const rl = l.maxConnections === "rlimit";
  const lines = [
    `/* Generated from boards/${board.name}.json by tools/build.ts. Do not edit. */`,
    "#ifndef MOTE_BOARD_CONFIG_H",
    "#define MOTE_BOARD_CONFIG_H",
    `#define MOTE_BOARD_NAME "${board.name}"`,
    `/* connection table: ${rl ? "RLIMIT_NOFILE minus descriptors in use, capped" : "fixed"} */`,
    `#define MOTE_BOARD_MAX_CONNS_FROM_RLIMIT ${rl ? 1 : 0}`,
    `#define MOTE_BOARD_MAX_CONNS ${rl ? l.maxConnectionsCap || 65536 : l.maxConnections}`,
    `#define MOTE_BOARD_RX_BUF ${l.rxBufferBytes}`,
    `#define MOTE_BOARD_HDR_POOL ${l.httpHeaderPool}`,
    `#define MOTE_BOARD_HDR_BYTES ${l.httpHeaderBytes}`,
    `#define MOTE_BOARD_TX_BLOCKS ${l.txBlocks}`,
    `#define MOTE_BOARD_TX_BLOCK_BYTES ${l.txBlockBytes}`,
    `#define MOTE_BOARD_MAX_MESSAGE ${l.maxMessageBytes}`,
    `#define MOTE_BOARD_TX_CONN_BYTES ${l.txConnBytes ?? 0}`,
    `#define MOTE_BOARD_WS_PING_S ${l.wsPingSeconds ?? 60}`,
    `#define MOTE_BOARD_WS_HANGUP_S ${l.wsHangupSeconds ?? 120}`,
    `#define MOTE_BOARD_WS_MESSAGE_S ${l.wsMessageSeconds ?? 60}`,
    `#define MOTE_BOARD_PEER_CONNS ${l.maxConnsPerPeer ?? 0}`,
    // the board's overrides of platform/include/mote_opts.h
    ...Object.entries(board.opts || {}).map(([k, v]) => `#define MOTE_${k} ${v}`),
    ...(board.imageStore
      ? [
          `#define MOTE_BOARD_IMAGE_SLOT_BYTES ${board.imageStore.slotBytes}u`,
          `#define MOTE_BOARD_IMAGE_ERASE_BYTES ${board.imageStore.eraseBytes}u`,
          ...(board.imageStore.origin ? [`#define MOTE_BOARD_IMAGE_ORIGIN ${board.imageStore.origin}u`] : []),
        ]
      : []),
    "#endif",
    "",
  ];
  return lines.join("\n");
}

export function build(opts: BuildOptions): BuildResult {
  const board = loadBoard(opts.board);
  const engine = opts.engine || board.engine;
  if (!ENGINES.includes(engine)) throw new Error(`unknown engine '${engine}' (known: ${ENGINES.join(", ")})`);
  if (isArmBoard(board)) return buildArm(opts, board); // tools/build-arm.ts: Cortex-M firmware
  if (isEsp32Board(board)) return buildEsp32(opts, board); // tools/build-esp32.ts: ESP-IDF firmware
  if (board.name !== "linux") throw new Error(`board '${board.name}' cannot be built yet; use --board linux`);
  if (opts.dhcp) throw new Error(`--dhcp is for lwIP boards; the simulator uses the host's network`);
  // build/<board>/<app>/ holds the module; build/<board>/<app>/<engine>/ the binary
  const appDir = path.join(ROOT, "build", board.name, appName(opts.app));
  const dir = path.join(appDir, `${engine}${opts.portable ? "-posix" : ""}`);
  const inc = path.join(dir, "include");
  fs.mkdirSync(inc, { recursive: true });

  // 1. the C view of the ABI constants
  const hdr = path.join(inc, "mote_abi.h");
  const constants = path.join(ROOT, "src/abi/constants.ts");
  step(path.join(inc, ".stamp"), [constants, __filename], "", [hdr], () => fs.writeFileSync(hdr, genHeader(constants)));
  // and of the calls (src/abi/imports.ts, exports.ts: tools/abi.ts)
  const abiHeaders = writeAbiHeaders(inc);

  const cfg = path.join(inc, "board_config.h");
  step(path.join(inc, ".board.stamp"), [path.join(ROOT, "boards", `${board.name}.json`), __filename], "", [cfg], () =>
    fs.writeFileSync(cfg, boardConfig(board)),
  );

  // 2. the module
  const wasm = buildWasm(opts, appDir);

  // 3. wasm2c: the module as C (wasm3 reads core.wasm at run time instead)
  const gen = path.join(dir, "gen");
  const coreC = path.join(gen, "core.c");
  if (engine === "wasm2c") {
    fs.mkdirSync(gen, { recursive: true });
    step(path.join(gen, ".stamp"), [wasm], "wasm2c", [coreC], () => {
      log(opts, "wasm2c core.wasm -> core.c");
      run("wasm2c", [wasm, "-n", "core", "-o", coreC]);
    });
  } else {
    ensureWasm3Sources();
  }

  // 4. C: compile each unit separately, then link
  // MOTE_HAVE_ZLIB: the DEFLATE codec (platform/common/zcodec.c, RFC 7692) on Debian's zlib1g-dev
  // the BSD-socket port (platform/posix) with Linux's arch header and epoll,
  // or (portable) with arch_posix.h and poll(2) only
  const arch = opts.portable ? [] : ["-D_GNU_SOURCE", `-DMOTE_ARCH_HEADER=${JSON.stringify("arch_linux.h")}`, "-DMOTE_HAVE_EPOLL=1"];
  const base = ["-std=gnu11", "-O2", "-g", "-DMOTE_BOARD_LINUX=1", "-DMOTE_HAVE_ZLIB=1", "-DMOTE_TLS=1", ...arch,
    `-I${inc}`, `-I${path.join(ROOT, "platform/include")}`, `-I${path.join(ROOT, "platform/posix")}`, `-I${path.join(ROOT, "platform/linux")}`,
    `-DMOTE_TLS_TEST_DIR=${JSON.stringify(TLS_TEST_DIR)}`];
  const warn = ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror"]; // mote's own units: a warning stops the build
  const cflags =
    engine === "wasm2c"
      ? [
          ...base, ...warn,
          "-fno-optimize-sibling-calls", "-frounding-math", // required by wasm2c output at -O2
          "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0", // inline bounds checks: no guard pages needed
          `-I${WASM2C_RT}`, `-I${gen}`,
        ]
      : [...base, ...warn, ...wasm3IncludeFlags(), "-DMOTE_IMAGE_STORE=1", `-DMOTE_DEFAULT_MODULE=${JSON.stringify(wasm)}`];
  const headers = [
    ...listFiles(path.join(ROOT, "platform/include"), ".h"),
    ...listFiles(path.join(ROOT, "platform/common"), ".h"),
    ...listFiles(path.join(ROOT, "platform/posix"), ".h"),
    ...listFiles(path.join(ROOT, "platform/linux"), ".h"),
    ...listFiles(path.join(ROOT, "platform/tls"), ".h"),
    ...listFiles(path.join(ROOT, "platform/engines", engine), ".h"),
    hdr, cfg, ...abiHeaders,
    ...(engine === "wasm2c" ? [path.join(gen, "core.h")] : wasm3Headers()),
  ];
  ensureTls(); // mbedTLS and the test certificates (tools/tls.ts)
  const units = [
    ...listFiles(path.join(ROOT, "platform/common"), ".c"),
    path.join(TLS_DIR, "tls.c"), // TLS (platform/tls/) on mbedTLS
    ...mbedtlsUnits(),
    ...listFiles(path.join(ROOT, "platform/posix"), ".c"),
    ...listFiles(path.join(ROOT, "platform/linux"), ".c").filter((f) => !(opts.portable && f.endsWith("loop_epoll.c"))),
    ...(engine === "wasm2c"
      ? [...listFiles(path.join(ROOT, "platform/engines/wasm2c"), ".c"), path.join(WASM2C_RT, "wasm-rt-impl.c"), coreC]
      : [path.join(ROOT, "platform/engines/wasm3/engine_wasm3.c"), ...WASM3_UNITS.map((u) => path.join(WASM3_DIR, u))]),
  ];
  const plan: Unit[] = units.map((src) => {
    const interp = src.startsWith(WASM3_DIR + path.sep);
    const mbed = src.startsWith(MBEDTLS_DIR + path.sep);
    const flags =
      src === path.join(WASM2C_RT, "wasm-rt-impl.c") || src === coreC // third-party and generated: no -W
        ? cflags.filter((f) => !f.startsWith("-W"))
        : interp
          ? ["-std=gnu11", "-O2", "-g", ...wasm3IncludeFlags(), ...WASM3_CFLAGS] // third-party: no -W
          : mbed
            ? ["-std=gnu11", "-O2", "-g", ...tlsIncludeFlags()] // third-party: no -W
            : src.startsWith(TLS_DIR + path.sep)
              ? [...cflags, ...tlsIncludeFlags()]
              : cflags;
    const deps = interp ? [src, ...wasm3Headers()] : mbed ? [src, ...tlsHeaders(true)] : [src, ...headers, ...tlsHeaders()];
    return { src, flags, deps };
  });
  const binary = path.join(dir, "mote-sim");
  compileAndLink(opts, board.name, dir, "gcc", plan, binary, [], ["-lz", "-lm"]);
  if (engine === "wasm3") {
    // the app image next to the binary, where mote-sim looks first: the
    // folder runs as is, and a new app is a new core.wasm, not a new binary
    const image = path.join(dir, "core.wasm");
    step(image + ".stamp", [wasm], "copy", [image], () => fs.copyFileSync(wasm, image));
  }
  return { board, engine, dir, wasm, binary };
}
