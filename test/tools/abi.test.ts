// The ABI written once (tools/abi.ts): src/abi/imports.ts and exports.ts are
// the only description of the calls; the C prototypes, both engines' glue
// and the Node host's import list are generated from them. These tests fail
// when a module, the generated code or the Node host drifts from that source.
import * as fs from "fs";
import * as path from "path";
import {
  readAbi, parseImports, parseExports, genImportsHeader, genExportsHeader, genWasm2cGlue, genWasm3Glue, hostImports, Abi,
} from "../../tools/abi";
import { build } from "../../tools/build";

const abi = readAbi();

/** The function imports and exports of a module binary, with their types. */
function moduleInterface(file: string) {
  const b = fs.readFileSync(file);
  let o = 8;
  const u32 = () => {
    let r = 0, s = 0, x: number;
    do {
      x = b[o++];
      r |= (x & 0x7f) << s;
      s += 7;
    } while (x & 0x80);
    return r >>> 0;
  };
  const name = () => {
    const n = u32();
    const v = b.toString("utf8", o, o + n);
    o += n;
    return v;
  };
  const types: { params: number[]; results: number[] }[] = [];
  const imports: { module: string; name: string; type: number }[] = [];
  const funcs: number[] = [];
  const exports: { name: string; kind: number; index: number }[] = [];
  while (o < b.length) {
    const id = b[o++];
    const size = u32();
    const end = o + size;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        o++; // 0x60
        const params = Array.from({ length: u32() }, () => b[o++]);
        const results = Array.from({ length: u32() }, () => b[o++]);
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        const module = name(), nm = name(), kind = b[o++];
        if (kind === 0) imports.push({ module, name: nm, type: u32() });
        else throw new Error(`${file}: imports a non-function ${module}.${nm}`);
      }
    } else if (id === 3) {
      for (let n = u32(); n > 0; n--) funcs.push(u32());
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) exports.push({ name: name(), kind: b[o++], index: u32() });
    }
    o = end;
  }
  const sig = (t: number) => `${types[t].params.length}->${types[t].results.length}`;
  const I32 = 0x7f;
  const allI32 = (t: number) => [...types[t].params, ...types[t].results].every((v) => v === I32);
  return {
    imports: imports.map((i) => ({ name: `${i.module}.${i.name}`, sig: sig(i.type), i32: allI32(i.type) })),
    exports: exports.filter((e) => e.kind === 0).map((e) => {
      const t = funcs[e.index - imports.length];
      return { name: e.name, sig: sig(t), i32: allI32(t) };
    }),
  };
}

const declaredSig = (c: Abi["imports"][number]) => `${c.params.length}->${c.ret === "void" ? 0 : 1}`;

describe.each([
  ["linux", "app/demo.ts"],
  ["linux", "test/apps/core-test.ts"],
  ["mps2-an386", "app/demo.ts"],
])("the %s module of %s", (board, app) => {
  test("imports only what src/abi/imports.ts declares, with its types; exports exactly src/abi/exports.ts", () => {
    const wasm = board === "linux" ? build({ board, app, quiet: true }).wasm : build({ board, app, quiet: true, engine: "wasm3" }).wasm;
    const m = moduleInterface(wasm);
    const declared = new Map(abi.imports.map((c) => [`env.${c.name}`, declaredSig(c)]));
    declared.set("env.abort", "4->0"); // AssemblyScript's runtime
    for (const i of m.imports) {
      expect([i.name, declared.get(i.name)]).toEqual([i.name, i.sig]);
      expect(i.i32).toBe(true);
    }
    expect(m.imports.map((i) => i.name)).toEqual(expect.arrayContaining(["env.sock_send", "env.sock_close", "env.log_emit"]));
    const ex = new Map(m.exports.map((e) => [e.name, e.sig]));
    expect([...ex.keys()].sort()).toEqual(abi.exports.map((c) => c.name).sort());
    for (const c of abi.exports) expect([c.name, ex.get(c.name)]).toEqual([c.name, declaredSig(c)]);
  });
});

test("the build's generated C is what src/abi/ generates now (prototypes, both engines' glue)", () => {
  const dir = path.join(path.dirname(build({ board: "linux", quiet: true }).binary), "include");
  expect(fs.readFileSync(path.join(dir, "mote_imports.h"), "utf8")).toBe(genImportsHeader(abi));
  expect(fs.readFileSync(path.join(dir, "mote_exports.h"), "utf8")).toBe(genExportsHeader(abi));
  expect(fs.readFileSync(path.join(dir, "mote_wasm2c.h"), "utf8")).toBe(genWasm2cGlue(abi));
  expect(fs.readFileSync(path.join(dir, "mote_wasm3.h"), "utf8")).toBe(genWasm3Glue(abi));
  // every import has its prototype, its wasm2c function and its wasm3 link entry
  for (const c of abi.imports) {
    expect(genImportsHeader(abi)).toContain(` port_${c.name}(`);
    expect(genWasm2cGlue(abi)).toContain(` Z_envZ_${c.name}(struct Z_env_instance_t *e`);
    expect(genWasm3Glue(abi)).toContain(`{"${c.name}", "`);
  }
  // pointers are checked, with their length or their fixed size
  expect(genWasm2cGlue(abi)).toContain(`host_ptr(ptr_at, len, "sock_send")`);
  expect(genWasm3Glue(abi)).toContain(`CHECKED(res, uint8_t *, res_at, MOTE_Z_RESULT_BYTES, "z_inflate")`);
  expect(genImportsHeader(abi)).toContain("int32_t port_sock_connect(const char *host, uint32_t host_len, uint32_t port, uint32_t flags);");
});

describe("the Node host's imports", () => {
  const mem = new WebAssembly.Memory({ initial: 1 });
  const impl = () => {
    const o: Record<string, (...a: number[]) => number> = { abort: () => 0 };
    for (const c of abi.imports) o[c.name] = () => 7;
    return o;
  };

  test("a complete host passes, and its calls go through", () => {
    const env = hostImports(impl(), () => mem);
    expect(env.sock_send(1, 100, 10)).toBe(7);
  });

  test("a missing or an extra import is named", () => {
    const a = impl();
    delete a.sock_pause_rx;
    expect(() => hostImports(a, () => mem)).toThrow(/missing \[sock_pause_rx\]/);
    const b = { ...impl(), sock_frobnicate: () => 0 };
    expect(() => hostImports(b, () => mem)).toThrow(/not in the ABI \[sock_frobnicate\]/);
  });

  test("an import taking more arguments than the ABI passes is refused", () => {
    const a = { ...impl(), sock_close: (x: number, y: number, z: number) => x + y + z };
    expect(() => hostImports(a, () => mem)).toThrow(/sock_close takes 3 arguments; src\/abi\/imports.ts passes 2/);
  });

  test("a pointer outside memory is refused before the host sees it, as in C", () => {
    const env = hostImports(impl(), () => mem);
    expect(() => env.sock_send(1, 65530, 10)).toThrow(/bad pointer from core: sock_send\(ptr 65530, len 10\)/);
    expect(() => env.z_inflate(0, 0, 0, 0, 0, 0, 65535)).toThrow(/bad pointer from core: z_inflate\(ptr 65535, len 8\)/);
    expect(env.z_inflate(0, 0, 0, 0, 0, 0, 65528)).toBe(7);
  });
});

describe("the parser refuses a declaration it cannot generate from", () => {
  const decl = (doc: string, sig: string) => `/** x${doc} */\n@external("env", "f")\nexport declare function f(${sig}): i32;\n`;

  test("a pointer with neither a length after it nor @size", () => {
    expect(() => parseImports(decl("", "p: usize, flags: i32"))).toThrow(/pointer 'p' needs a u32 length after it or '@size p BYTES'/);
    expect(parseImports(decl(" @size p 8", "p: usize, flags: i32"))[0].pointers).toEqual([
      { param: 0, lenParam: -1, size: "8", out: false, text: false },
    ]);
  });

  test("a tag naming no pointer, a type it does not know, a name that differs", () => {
    expect(() => parseImports(decl(" @out flags", "p: usize, n: u32, flags: u32"))).toThrow(/tag names 'flags', which is not a usize parameter/);
    expect(() => parseImports(decl("", "x: u64"))).toThrow(/parameter 'x: u64' is not 'name: u32\|i32\|usize'/);
    expect(() => parseImports(`@external("env", "g")\nexport declare function f(): void;\n`)).toThrow(/@external name "g" differs/);
    expect(() => parseImports(`@external("env", "f")\nexport declare function f(): void\n`)).toThrow(/1 @external declarations, 0 understood/);
  });

  test("an export taking a pointer", () => {
    expect(() => parseExports("export function mote_x(p: usize): u32 {")).toThrow(/exports take no pointers/);
  });
});
