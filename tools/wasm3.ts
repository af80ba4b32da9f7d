// The wasm3 engine's part of a build, shared by every board: where wasm3's C
// core is (vendor/wasm3, fetched and patched by tools/bootstrap.js), which of
// its files are compiled, and with which flags.
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";

const ROOT = path.resolve(__dirname, "..");
export const WASM3_DIR = path.join(ROOT, "vendor/wasm3");
export const WASM3_ENGINE_DIR = path.join(ROOT, "platform/engines/wasm3");
/** mote's wasm3 configuration, forced in front of wasm3's own m3_config.h. */
export const WASM3_CONFIG = path.join(WASM3_ENGINE_DIR, "m3_mote_config.h");

/** The interpreter core: every m3_*.c of the sdist except m3_info.c (debug
 *  printing, only used by DEBUG builds). There is no WASI or libc glue in
 *  the sdist, and mote needs none. */
export const WASM3_UNITS = [
  "m3_bind.c", "m3_code.c", "m3_compile.c", "m3_core.c", "m3_emit.c",
  "m3_env.c", "m3_exec.c", "m3_function.c", "m3_module.c", "m3_parse.c",
];

let checked = false;

/** Fetches vendor/wasm3 when it is missing or does not match its manifest
 *  (tools/bootstrap.js; checked once per process). */
export function ensureWasm3Sources(): string {
  if (checked) return WASM3_DIR;
  checked = true;
  execFileSync(process.execPath, [path.join(ROOT, "tools/bootstrap.js"), "wasm3"], { stdio: ["ignore", "inherit", "inherit"] });
  for (const u of WASM3_UNITS) {
    if (!fs.existsSync(path.join(WASM3_DIR, u))) throw new Error(`${path.join(WASM3_DIR, u)} is missing after 'node tools/bootstrap.js wasm3'`);
  }
  return WASM3_DIR;
}

/** Flags for every unit that sees wasm3's headers (its own sources and
 *  engine_wasm3.c). */
export function wasm3IncludeFlags(): string[] {
  return ["-include", WASM3_CONFIG, `-I${WASM3_DIR}`];
}

/** Flags for wasm3's own sources, on top of the target's base flags (no -W:
 *  third-party code). wasm3 dispatches by tail calls from one operation to
 *  the next: sibling-call optimisation must stay on (it is on at -O2, and
 *  wasm2c's -fno-optimize-sibling-calls must never reach these files), or
 *  every executed operation would take a native stack frame. */
export const WASM3_CFLAGS = ["-O3", "-fomit-frame-pointer", "-foptimize-sibling-calls"];

/** Headers every wasm3-side unit depends on (for rebuild stamps). */
export function wasm3Headers(): string[] {
  const hs = fs.existsSync(WASM3_DIR) ? fs.readdirSync(WASM3_DIR).filter((f) => f.endsWith(".h")).map((f) => path.join(WASM3_DIR, f)) : [];
  return [...hs.sort(), WASM3_CONFIG];
}
