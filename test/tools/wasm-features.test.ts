// The build checks the WebAssembly features of every module it makes
// (tools/wasm-features.ts): one module serves both engines, so it may use
// only what wasm2c and wasm3 0.5.0 both run.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkModuleFeatures } from "../../tools/wasm-features";
import { build } from "../../tools/build";

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mote-features-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function wat(name: string, text: string, flags: string[] = []): string {
  const out = path.join(tmp, `${name}.wasm`);
  fs.writeFileSync(path.join(tmp, `${name}.wat`), text);
  execFileSync("wat2wasm", [...flags, path.join(tmp, `${name}.wat`), "-o", out]);
  return out;
}

test("the modules the build makes pass (demo and test app)", () => {
  for (const app of [undefined, "test/apps/core-test.ts"]) {
    const wasm = build({ board: "linux", app, quiet: true }).wasm;
    expect(() => checkModuleFeatures(wasm)).not.toThrow();
    // and they do use memory.copy/fill, which both engines run
    expect(execFileSync("wasm-objdump", ["-d", wasm], { encoding: "utf8", maxBuffer: 64 << 20 })).toMatch(/\| memory\.copy/);
  }
});

test("memory.copy, memory.fill, sign-extension and saturating conversions are allowed", () => {
  const f = wat("ok", `(module (memory 1) (func (export "f") (param f32) (result i32)
    (memory.copy (i32.const 0) (i32.const 8) (i32.const 4))
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 4))
    (i32.add (i32.extend8_s (i32.const 255)) (i32.trunc_sat_f32_s (local.get 0)))))`);
  expect(() => checkModuleFeatures(f)).not.toThrow();
});

test("memory.init and data.drop fail the build, named with where they are", () => {
  const f = wat("init", `(module (memory 1) (data "abc")
    (func $load (export "load") (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 3)) (data.drop 0)))`);
  expect(() => checkModuleFeatures(f)).toThrow(/uses memory\.init \(1x, first in func\[0\] <load>\), data\.drop \(1x, first in func\[0\] <load>\): wasm3 0\.5\.0 cannot run these/);
});

test("table bulk operations fail the build", () => {
  const f = wat("tables", `(module (table 2 funcref) (elem funcref (ref.func $g)) (func $g)
    (func (export "f") (table.init 0 (i32.const 0) (i32.const 0) (i32.const 1)) (elem.drop 0)))`);
  expect(() => checkModuleFeatures(f)).toThrow(/table\.init .*elem\.drop|outside what mote's engines run/);
});

test("a passive data segment alone fails the build", () => {
  const f = wat("passive", `(module (memory 1) (data "unused") (func (export "f")))`);
  expect(() => checkModuleFeatures(f)).toThrow(/passive or declared segment/);
});

test("SIMD fails the build", () => {
  const f = wat("simd", `(module (func (export "f") (result i32) (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4))))`);
  expect(() => checkModuleFeatures(f)).toThrow(/outside what mote's engines run/);
});
