// The wasm3 simulator runs a module image read from a file: a new app is a
// new core.wasm, not a new binary, and an image that cannot run on this
// firmware is refused at start-up with one line naming why. (Runs in the
// wasm3 jest project only; the suites that serve traffic run on both
// engines.)
import { spawnSync, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import WebSocket from "ws";
import { Sim, ROOT, freePort, simBuild } from "../integration/sim";
import { build } from "../../tools/build";
import { readAbi } from "../../tools/abi";

const demo = () => simBuild("app/demo.ts", "wasm3");
const coreTest = () => simBuild("test/apps/core-test.ts", "wasm3");

function inspect(url: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, "inspect");
    const t = setTimeout(() => reject(new Error("no answer")), 3000);
    ws.once("open", () => ws.send(text));
    ws.once("message", (d: Buffer) => {
      clearTimeout(t);
      ws.close();
      resolve(d.toString());
    });
    ws.once("error", reject);
  });
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mote-image-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("the same binary runs another app's image given with --module", async () => {
  const bin = demo().binary;
  const before = fs.statSync(bin).mtimeMs;
  // the demo's own image: the demo page
  const a = await Sim.start({ engine: "wasm3" });
  expect(await (await fetch(a.url + "/")).text()).toContain("dumb-increment-protocol");
  expect(a.stderr).toMatch(/module image .*\/demo\/wasm3(-posix)?\/core\.wasm \(\d+ bytes\)/);
  await a.stop();
  // the test app's image in the demo's binary: its "inspect" protocol answers
  const b = await Sim.start({ engine: "wasm3", args: ["--module", coreTest().wasm] });
  expect(await inspect(b.wsUrl + "/", "abc")).toBe("3 first=1 final=1 remaining=0 binary=0");
  expect((await fetch(b.url + "/hello")).status).toBe(200);
  expect((await b.stop()).code).toBe(0);
  expect(fs.statSync(bin).mtimeMs).toBe(before);
});

test("without --module the binary runs the core.wasm next to it", async () => {
  const dir = path.join(tmp, "next-to");
  fs.mkdirSync(dir);
  fs.copyFileSync(demo().binary, path.join(dir, "mote-sim"));
  fs.chmodSync(path.join(dir, "mote-sim"), 0o755);
  fs.copyFileSync(coreTest().wasm, path.join(dir, "core.wasm"));
  const p = spawnSync(path.join(dir, "mote-sim"), ["--help"], { encoding: "utf8" });
  expect(p.stdout).toContain("--module FILE");
  // Sim.start runs the build's binary; run the copy by hand
  const { spawn } = await import("child_process");
  const port = await freePort();
  const proc = spawn(path.join(dir, "mote-sim"), ["--port", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no start: ${err}`)), 10000);
    proc.stdout!.on("data", (d) => d.toString().includes("listening on") && (clearTimeout(t), resolve()));
  });
  expect(err).toContain(`module image ${path.join(dir, "core.wasm")}`);
  expect(await inspect(`ws://127.0.0.1:${port}/`, "xy")).toBe("2 first=1 final=1 remaining=0 binary=0");
  const exited = new Promise((r) => proc.on("exit", (c) => r(c)));
  proc.kill("SIGTERM");
  expect(await exited).toBe(0);
});

/** A module in WebAssembly text, compiled with wabt's wat2wasm. */
function wat(name: string, text: string): string {
  const src = path.join(tmp, `${name}.wat`);
  const out = path.join(tmp, `${name}.wasm`);
  fs.writeFileSync(src, text);
  execFileSync("wat2wasm", [src, "-o", out]);
  return out;
}

/** A module with every export of src/abi/exports.ts (each returns 0) plus
 *  `extra` fields. */
function stubModule(extra: string, skip: string[] = []): string {
  const fns = readAbi().exports.filter((e) => !skip.includes(e.name)).map((e) => {
    const params = e.params.map(() => "(param i32)").join(" ");
    return e.ret === "void" ? `(func (export "${e.name}") ${params})` : `(func (export "${e.name}") ${params} (result i32) (i32.const 0))`;
  });
  return `(module ${extra} (memory 1) ${fns.join(" ")})`;
}

describe("an image that cannot run is refused at start-up with one clear line", () => {
  const cases: [string, () => string, RegExp][] = [
    ["a missing file", () => path.join(tmp, "nope.wasm"), /cannot read the module image .*nope\.wasm: No such file/],
    ["not WebAssembly", () => {
      const f = path.join(tmp, "text.wasm");
      fs.writeFileSync(f, "this is not a module, just text\n");
      return f;
    }, /the module image cannot be parsed/],
    ["a truncated image", () => {
      const f = path.join(tmp, "half.wasm");
      const b = fs.readFileSync(demo().wasm);
      fs.writeFileSync(f, b.subarray(0, b.length >> 1));
      return f;
    }, /the module image cannot be parsed/],
    ["an import this firmware lacks", () => wat("foreign", stubModule(`(import "env" "gpio_write" (func (param i32 i32)))`)),
      /the module imports env\.gpio_write, which this firmware does not provide/],
    ["an import of another type", () => wat("mistyped", stubModule(`(import "env" "sock_send" (func (param i32)))`)),
      /import env\.sock_send: the module's type differs from this firmware's i\(iii\)/],
    ["a missing export", () => wat("noinit", stubModule("", ["mote_init"])), /export mote_init is missing or has the wrong type/],
    ["an export of another type", () => wat("badtick", stubModule(`(func (export "mote_tick") (result i32) (i32.const 0))`, ["mote_tick"])),
      /export mote_tick is missing or has the wrong type/],
  ];
  test.each(cases)("%s", (_name, make, re) => {
    const r = spawnSync(demo().binary, ["--port", "0", "--module", make()], { encoding: "utf8", timeout: 10000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(re);
    expect(r.stdout).not.toContain("listening on");
  });

  test("a start function that traps", () => {
    const f = wat("starttrap", stubModule(`(func $s unreachable) (start $s)`));
    const r = spawnSync(demo().binary, ["--port", "0", "--module", f], { encoding: "utf8", timeout: 10000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/instantiate trapped: unreachable/);
  });
});

test("the wasm2c binary has its module built in and refuses --module", () => {
  const bin = build({ board: "linux", engine: "wasm2c", quiet: true }).binary; // the wasm2c project's build
  const r = spawnSync(bin, ["--module", demo().wasm], { encoding: "utf8", timeout: 10000 });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/option '--module' needs the wasm3 engine; this binary runs wasm2c/);
});

test("mote sim --engine wasm3 --module runs a prebuilt image", async () => {
  const { spawn } = await import("child_process");
  const port = await freePort();
  const p = spawn(process.execPath, [path.join(ROOT, "tools/bin/mote.js"), "sim", "--engine", "wasm3", "--port", String(port),
    "--module", coreTest().wasm], { stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no URL")), 60000);
    p.stdout!.on("data", (d) => d.toString().includes(`listening on http://127.0.0.1:${port}/`) && (clearTimeout(t), resolve()));
  });
  expect(await inspect(`ws://127.0.0.1:${port}/`, "q")).toBe("1 first=1 final=1 remaining=0 binary=0");
  const code = new Promise((resolve) => p.on("exit", (c) => resolve(c)));
  p.kill("SIGTERM");
  expect(await code).toBe(0);
}, 90000);
