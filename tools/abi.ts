// The ABI written once. src/abi/imports.ts (the @external declarations) and
// src/abi/exports.ts (the mote_* functions) are the only description of the
// calls between the module and the port; this file reads them and generates
// everything else that must agree with them, at build time:
//   mote_imports.h     the port_* prototypes every port implements
//   mote_exports.h     engine.h's call wrappers, one per export
//   mote_wasm2c.h      wasm2c's import functions (pointers checked) and the
//                      export wrappers (included by engine_wasm2c.c)
//   mote_wasm3.h       wasm3's import functions and link table, the export
//                      table and wrappers (included by engine_wasm3.c)
// and, for the Node test host, hostImports(): the checked import object.
// test/tools/abi.test.ts fails when a module, a host or a port drifts.
import * as fs from "fs";
import * as path from "path";

export const ABI_DIR = path.resolve(__dirname, "../src/abi");

export type WasmType = "u32" | "i32" | "usize";
export type RetType = WasmType | "void";

export interface Param {
  name: string; // as in the AssemblyScript source
  type: WasmType;
}

/** A pointer parameter and how the engine checks it. */
export interface Pointer {
  param: number; // index of the usize parameter
  lenParam: number; // index of its length parameter, or -1 (fixed `size`)
  size: string; // the fixed size (a number or a MOTE_* constant), when lenParam is -1
  out: boolean; // the port writes there
  text: boolean; // UTF-8 text: const char * in C
}

export interface Call {
  name: string;
  params: Param[];
  ret: RetType;
  pointers: Pointer[];
}

export interface Abi {
  imports: Call[];
  exports: Call[];
}

function parseParams(list: string, where: string): Param[] {
  if (!list.trim()) return [];
  return list.split(",").map((p) => {
    const m = /^\s*(\w+)\s*:\s*(u32|i32|usize)\s*$/.exec(p);
    if (!m) throw new Error(`${where}: parameter '${p.trim()}' is not 'name: u32|i32|usize'`);
    return { name: m[1], type: m[2] as WasmType };
  });
}

function parseRet(t: string, where: string): RetType {
  if (t === "void" || t === "u32" || t === "i32" || t === "usize") return t;
  throw new Error(`${where}: result type '${t}' is not void, u32, i32 or usize`);
}

/** The imports of src/abi/imports.ts: every `@external("env", "NAME")`
 *  followed by `export declare function NAME(...): T;`, with the @size, @out
 *  and @text tags of the doc comment before it. */
export function parseImports(src: string, file = "imports.ts"): Call[] {
  const out: Call[] = [];
  const re = /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)?\s*@external\("env", "(\w+)"\)\s*export declare function (\w+)\(([^)]*)\):\s*(\w+);/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src))) {
    const [, doc = "", ext, name, plist, ret] = m;
    const where = `${file}: ${name}`;
    if (ext !== name) throw new Error(`${where}: @external name "${ext}" differs from the function's`);
    const params = parseParams(plist, where);
    const tags = [...doc.matchAll(/@(size|out|text)\s+(\w+)(?:\s+(\w+))?/g)];
    const index = (p: string) => {
      const i = params.findIndex((x) => x.name === p);
      if (i < 0 || params[i].type !== "usize") throw new Error(`${where}: tag names '${p}', which is not a usize parameter`);
      return i;
    };
    const pointers: Pointer[] = [];
    params.forEach((p, i) => {
      if (p.type !== "usize") return;
      const size = tags.find((t) => t[1] === "size" && t[2] === p.name);
      let lenParam = -1;
      if (!size) {
        if (i + 1 >= params.length || params[i + 1].type !== "u32")
          throw new Error(`${where}: pointer '${p.name}' needs a u32 length after it or '@size ${p.name} BYTES'`);
        lenParam = i + 1;
      } else if (!size[3]) throw new Error(`${where}: '@size ${p.name}' needs a size`);
      pointers.push({
        param: i, lenParam, size: size ? size[3] : "",
        out: tags.some((t) => t[1] === "out" && t[2] === p.name),
        text: tags.some((t) => t[1] === "text" && t[2] === p.name),
      });
    });
    for (const t of tags) index(t[2]);
    out.push({ name, params, ret: parseRet(ret, where), pointers });
  }
  const declared = (src.match(/@external\(/g) || []).length;
  if (declared !== out.length) throw new Error(`${file}: ${declared} @external declarations, ${out.length} understood (one per function, doc comment first)`);
  return out;
}

/** The exports of src/abi/exports.ts: every `export function mote_*(...): T`. */
export function parseExports(src: string, file = "exports.ts"): Call[] {
  const out: Call[] = [];
  for (const m of src.matchAll(/^export function (mote_\w+)\(([^)]*)\):\s*(\w+)\s*\{/gm)) {
    const where = `${file}: ${m[1]}`;
    const params = parseParams(m[2], where);
    if (params.some((p) => p.type === "usize")) throw new Error(`${where}: exports take no pointers`);
    out.push({ name: m[1], params, ret: parseRet(m[3], where), pointers: [] });
  }
  return out;
}

export function readAbi(dir = ABI_DIR): Abi {
  return {
    imports: parseImports(fs.readFileSync(path.join(dir, "imports.ts"), "utf8")),
    exports: parseExports(fs.readFileSync(path.join(dir, "exports.ts"), "utf8")),
  };
}

// ---- C ------------------------------------------------------------------------------

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
/** A wasm argument's name in the glue: a pointer's offset is NAME_at (the
 *  checked host pointer gets cName), the others their snake-case name. */
const rawName = (p: Param) => (p.type === "usize" ? `${cName(p)}_at` : snake(p.name));
/** The C name of a parameter: "hostPtr" -> "host", "inLen" -> "in_len". */
const cName = (p: Param) => snake(p.name.replace(/Ptr$/, "") || p.name);
const cScalar = (t: WasmType | RetType) => (t === "i32" ? "int32_t" : t === "void" ? "void" : "uint32_t");
const sizeExpr = (s: string) => (/^\d+$/.test(s) ? `${s}u` : `MOTE_${s}`);

function cParamType(c: Call, i: number): string {
  const ptr = c.pointers.find((p) => p.param === i);
  if (!ptr) return cScalar(c.params[i].type);
  return ptr.text ? "const char *" : ptr.out ? "uint8_t *" : "const uint8_t *";
}

function portPrototype(c: Call): string {
  const ps = c.params.map((p, i) => `${cParamType(c, i)}${cParamType(c, i).endsWith("*") ? "" : " "}${cName(p)}`);
  return `${cScalar(c.ret)} port_${c.name}(${ps.length ? ps.join(", ") : "void"})`;
}

const BANNER = (what: string) =>
  `/* Generated from src/abi/imports.ts and src/abi/exports.ts by tools/abi.ts: ${what}. Do not edit. */`;

/** The port_* prototypes (included by platform/include/port.h). */
export function genImportsHeader(abi: Abi): string {
  const lines = [BANNER("the imports every port implements"), "#ifndef MOTE_IMPORTS_H", "#define MOTE_IMPORTS_H", "",
    "#include <stdint.h>", ""];
  lines.push("/* Pointers have been checked against linear memory by the engine and are");
  lines.push(" * valid for the call only. See src/abi/imports.ts for each contract. */");
  for (const c of abi.imports) lines.push(`${portPrototype(c)};`);
  lines.push("", "#endif", "");
  return lines.join("\n");
}

/** engine.h's wrapper name and C prototype for an export. */
export function engineName(c: Call): string {
  return `mote_engine_${c.name.replace(/^mote_/, "")}`;
}
function enginePrototype(c: Call): string {
  const ps = c.params.map((p) => `uint32_t ${snake(p.name)}`);
  if (c.ret !== "void") ps.push(`${cScalar(c.ret)} *ret`);
  return `int ${engineName(c)}(${ps.length ? ps.join(", ") : "void"})`;
}

/** Exports the engines wrap by hand: they return a pointer into linear
 *  memory, which the engine checks and turns into a host pointer. */
export const HAND_WRAPPED = new Set(["mote_limits_ptr", "mote_rx_buffer"]);

/** The mote_engine_* call wrappers (included by platform/include/engine.h). */
export function genExportsHeader(abi: Abi): string {
  const lines = [BANNER("the call wrappers every engine provides"), "#ifndef MOTE_EXPORTS_H", "#define MOTE_EXPORTS_H", "",
    "#include <stdint.h>", ""];
  lines.push("/* One per export of src/abi/exports.ts (the status contract: engine.h). */");
  for (const c of abi.exports) if (!HAND_WRAPPED.has(c.name)) lines.push(`${enginePrototype(c)};`);
  lines.push("", "#endif", "");
  return lines.join("\n");
}

const w2cType = (t: RetType) => (t === "void" ? "void" : "u32");

/** wasm2c (1.0.32 names): the env imports, each pointer checked with
 *  host_ptr() (a trap, MOTE_TRAP_BAD_POINTER, when outside memory), and the
 *  export wrappers under ENGINE_CALL(). Both are defined by
 *  engine_wasm2c.c before it includes this. */
export function genWasm2cGlue(abi: Abi): string {
  const lines = [BANNER("wasm2c's import functions and export wrappers"), ""];
  const sig = (c: Call) =>
    `${w2cType(c.ret)} Z_envZ_${c.name}(struct Z_env_instance_t *e${c.params.map((p) => `, u32 ${rawName(p)}`).join("")})`;
  lines.push("/* Declared first: core.h declares only the imports the module uses, and a");
  lines.push(" * type that differs from the module's must not compile. */");
  for (const c of abi.imports) lines.push(`${sig(c)};`);
  for (const c of abi.imports) {
    lines.push("", `${sig(c)} {`, "  (void)e;");
    const args = c.params.map((p, i) => {
      const ptr = c.pointers.find((x) => x.param === i);
      if (!ptr) return rawName(p);
      const len = ptr.lenParam >= 0 ? rawName(c.params[ptr.lenParam]) : sizeExpr(ptr.size);
      lines.push(`  ${cParamType(c, i)}${cName(p)} = (${cParamType(c, i)})host_ptr(${rawName(p)}, ${len}, "${c.name}");`);
      return cName(p);
    });
    const call = `port_${c.name}(${args.join(", ")})`;
    lines.push(c.ret === "void" ? `  ${call};` : `  return (u32)${call};`, "}");
  }
  for (const c of abi.exports) {
    if (HAND_WRAPPED.has(c.name)) continue;
    const call = `Z_coreZ_${c.name}(&inst${c.params.map((p) => `, ${snake(p.name)}`).join("")})`;
    lines.push("", `${enginePrototype(c)} {`);
    lines.push(c.ret === "void" ? `  ENGINE_CALL(${call});` : `  ENGINE_CALL(*ret = (${cScalar(c.ret)})${call});`);
    lines.push("  return 0;", "}");
  }
  return lines.join("\n") + "\n";
}

const m3Char = (t: RetType) => (t === "void" ? "v" : "i");

/** wasm3 (0.5.0): the env imports as raw functions (pointers checked with
 *  CHECKED()), their link table (idef, with the hand-written imp_abort of
 *  AssemblyScript's runtime), the export table (xdef, X_*) and the export
 *  wrappers over call3(). engine_wasm3.c defines CHECKED, call3 and
 *  imp_abort before it includes this. */
export function genWasm3Glue(abi: Abi): string {
  const lines = [BANNER("wasm3's import functions, link table, export table and wrappers"), ""];
  lines.push("static int call3(int x, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t *ret);", "");
  for (const c of abi.imports) {
    lines.push(`static m3ApiRawFunction(imp_${c.name}) {`);
    if (c.ret !== "void") lines.push(`  m3ApiReturnType(${cScalar(c.ret)});`);
    for (const p of c.params) lines.push(`  m3ApiGetArg(uint32_t, ${rawName(p)});`);
    const args = c.params.map((p, i) => {
      const ptr = c.pointers.find((x) => x.param === i);
      if (!ptr) return rawName(p);
      const len = ptr.lenParam >= 0 ? rawName(c.params[ptr.lenParam]) : sizeExpr(ptr.size);
      lines.push(`  CHECKED(${cName(p)}, ${cParamType(c, i).trim()}, ${rawName(p)}, ${len}, "${c.name}");`);
      return cName(p);
    });
    const call = `port_${c.name}(${args.join(", ")})`;
    lines.push(c.ret === "void" ? `  ${call};\n  m3ApiSuccess();` : `  m3ApiReturn(${call});`, "}", "");
  }
  lines.push("/* Every import the firmware provides (\"env\" module), with its wasm3");
  lines.push(" * signature (result, then arguments): a module importing one with another");
  lines.push(" * type is refused at open. */");
  lines.push("static const struct {", "  const char *name, *sig;", "  M3RawCall fn;", "} idef[] = {");
  for (const c of abi.imports) lines.push(`    {"${c.name}", "${m3Char(c.ret)}(${c.params.map(() => "i").join("")})", imp_${c.name}},`);
  lines.push(`    {"abort", "v(iiii)", imp_abort}, /* AssemblyScript's runtime */`, "};");
  lines.push("#define N_IMPORTS (sizeof idef / sizeof idef[0])", "");
  const xname = (c: Call) => `X_${c.name.replace(/^mote_/, "").toUpperCase()}`;
  lines.push(`enum { ${abi.exports.map(xname).join(", ")}, X_COUNT };`);
  lines.push("/* Each export with its number of i32 arguments and results. */");
  lines.push("static const struct {", "  const char *name;", "  uint8_t args, rets;", "} xdef[X_COUNT] = {");
  for (const c of abi.exports) lines.push(`    [${xname(c)}] = {"${c.name}", ${c.params.length}, ${c.ret === "void" ? 0 : 1}},`);
  lines.push("};", "static IM3Function xfn[X_COUNT];");
  for (const c of abi.exports) {
    if (HAND_WRAPPED.has(c.name)) continue;
    if (c.params.length > 3) throw new Error(`exports.ts: ${c.name}: wasm3's call3 takes at most 3 arguments`);
    const a = [0, 1, 2].map((i) => (i < c.params.length ? snake(c.params[i].name) : "0"));
    lines.push("", `${enginePrototype(c)} {`);
    if (c.ret === "void") lines.push(`  return call3(${xname(c)}, ${a.join(", ")}, NULL);`);
    else {
      lines.push("  uint32_t v = 0;", `  int st = call3(${xname(c)}, ${a.join(", ")}, &v);`);
      lines.push(`  if (st == 0) *ret = (${cScalar(c.ret)})v;`, "  return st;");
    }
    lines.push("}");
  }
  return lines.join("\n") + "\n";
}

/** Writes the four generated headers into `inc` (when their text changed)
 *  and returns their paths. */
export function writeAbiHeaders(inc: string, abi: Abi = readAbi()): string[] {
  const files: [string, string][] = [
    ["mote_imports.h", genImportsHeader(abi)],
    ["mote_exports.h", genExportsHeader(abi)],
    ["mote_wasm2c.h", genWasm2cGlue(abi)],
    ["mote_wasm3.h", genWasm3Glue(abi)],
  ];
  fs.mkdirSync(inc, { recursive: true });
  return files.map(([name, text]) => {
    const f = path.join(inc, name);
    if (!fs.existsSync(f) || fs.readFileSync(f, "utf8") !== text) fs.writeFileSync(f, text);
    return f;
  });
}

// ---- the Node test host ---------------------------------------------------------------

export type ImportImpl = (...args: number[]) => number | void;

/** The module's env imports for a host written in TypeScript: `impl` must
 *  have exactly one function per import of src/abi/imports.ts (plus
 *  AssemblyScript's `abort`), else this throws naming the difference; each
 *  pointer argument is checked against the memory (`mem()`, valid once the
 *  module is instantiated) before the function runs, as the C engines do. */
export function hostImports(impl: Record<string, ImportImpl>, mem: () => WebAssembly.Memory, abi: Abi = readAbi()): Record<string, ImportImpl> {
  const want = new Set([...abi.imports.map((c) => c.name), "abort"]);
  const missing = [...want].filter((n) => !(n in impl));
  const extra = Object.keys(impl).filter((n) => !want.has(n));
  if (missing.length || extra.length)
    throw new Error(`host imports drift from src/abi/imports.ts: missing [${missing.join(", ")}], not in the ABI [${extra.join(", ")}]`);
  const out: Record<string, ImportImpl> = { abort: impl.abort };
  for (const c of abi.imports) {
    const f = impl[c.name];
    if (f.length > c.params.length) // fewer is fine: a host may ignore trailing arguments
      throw new Error(`host import ${c.name} takes ${f.length} arguments; src/abi/imports.ts passes ${c.params.length}`);
    out[c.name] = (...args: number[]) => {
      const size = mem().buffer.byteLength;
      for (const p of c.pointers) {
        const ptr = args[p.param] >>> 0;
        const len = p.lenParam >= 0 ? args[p.lenParam] >>> 0 : fixedSize(p.size);
        if (ptr > size || len > size - ptr) throw new Error(`bad pointer from core: ${c.name}(ptr ${ptr}, len ${len}), memory ${size} bytes`);
      }
      return f(...args);
    };
  }
  return out;
}

function fixedSize(s: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  const C = require(path.join(ABI_DIR, "constants")) as Record<string, number>;
  if (typeof C[s] !== "number") throw new Error(`@size ${s}: not a constant of src/abi/constants.ts`);
  return C[s];
}
