// The WebAssembly features of a built module, checked against what every
// engine mote ships executes. One module serves both engines, so the check
// applies to every build.
//
// The set: MVP + sign-extension + mutable-globals + nontrapping-f2i +
// memory.copy/memory.fill. That is asc 0.28's default output, and all of it
// runs on wasm2c (wabt 1.0.32) and on wasm3 0.5.0. wasm3 0.5.0 lacks the
// rest of bulk memory: memory.init/data.drop (and passive data segments,
// which its parser misreads) and the table operations. Bulk memory is not
// disabled in asc (--disable bulk-memory would also take memory.copy/fill):
// measured on the demo, the MVP module is ~2 KB larger and an echoed 1 KiB
// message costs wasm3 ~70% more instructions (asc's memcpy in wasm instead
// of one memmove), see docs/engines.md.
import { execFileSync } from "child_process";

/** Instructions wasm3 0.5.0 cannot compile although wabt validates them with
 *  bulk memory on. */
export const FORBIDDEN_INSTRUCTIONS = ["memory.init", "data.drop", "table.init", "elem.drop", "table.copy"];
/** Proposals wabt 1.0.32 enables by default that no engine of mote needs. */
const WABT_DISABLE = ["--disable-simd", "--disable-reference-types", "--disable-multi-value"];

function tool(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 << 20 });
  } catch (e: any) {
    throw new Error(`${e.stdout || ""}${e.stderr || ""}`.trim() || `${cmd} failed`);
  }
}

/** Throws, naming the offending instruction (and where) or feature, when the
 *  module at `wasm` uses something outside the set above. */
export function checkModuleFeatures(wasm: string): void {
  const name = wasm;
  try {
    tool("wasm-validate", [...WABT_DISABLE, wasm]);
  } catch (e: any) {
    throw new Error(`${name} uses a WebAssembly feature outside what mote's engines run (MVP + sign-extension, ` +
      `mutable-globals, nontrapping-f2i, memory.copy/fill):\n${e.message}`);
  }
  // every instruction: "  0001a2: fc 08 00 00 | memory.init 0 0" under "0001a0 func[12] <name>:"
  const found = new Map<string, { count: number; first: string }>();
  let func = "?";
  for (const line of tool("wasm-objdump", ["-d", wasm]).split("\n")) {
    const f = /^[0-9a-f]+ (func\[\d+\](?: <[^>]*>)?):$/.exec(line);
    if (f) {
      func = f[1];
      continue;
    }
    const bar = line.indexOf("| ");
    if (bar < 0) continue;
    const op = line.slice(bar + 2).trim().split(/\s+/)[0];
    if (!FORBIDDEN_INSTRUCTIONS.includes(op)) continue;
    const e = found.get(op) || { count: 0, first: func };
    e.count++;
    found.set(op, e);
  }
  if (found.size) {
    const what = [...found].map(([op, e]) => `${op} (${e.count}x, first in ${e.first})`).join(", ");
    throw new Error(`${name} uses ${what}: wasm3 0.5.0 cannot run ${found.size > 1 ? "these" : "it"}. ` +
      `Passive data segments and their instructions come from memory.init()/data.drop() in the app ` +
      `or from asc's --sharedMemory; do not use them.`);
  }
  // segments: "- segment[3] passive size=..." (wasm3 0.5.0 reads only active ones)
  const segs = tool("wasm-objdump", ["-x", wasm]);
  const passive = segs.split("\n").filter((l) => /segment\[\d+\].*\b(passive|declared)\b/.test(l));
  if (passive.length) throw new Error(`${name} has ${passive.length} passive or declared segment(s) (first: ${passive[0].trim()}): wasm3 0.5.0 cannot load them`);
}
