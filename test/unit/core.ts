// Builds the core with an app for unit tests (cached by the build's stamps).
import * as path from "path";
import { buildWasm } from "../../tools/build";
import { Host, Limits } from "./host";
import * as fs from "fs";

const ROOT = path.resolve(__dirname, "../..");
const cache = new Map<string, Buffer>();

export function coreWasm(app: "demo" | "core-test"): Buffer {
  let w = cache.get(app);
  if (!w) {
    const file = app === "demo" ? "app/demo.ts" : "test/apps/core-test.ts";
    const wasm = buildWasm({ board: "linux", app: file, quiet: true }, path.join(ROOT, "build/linux", app));
    w = fs.readFileSync(wasm);
    cache.set(app, w);
  }
  return w;
}

export function testHost(limits: Partial<Limits> = {}, app: "demo" | "core-test" = "core-test"): Promise<Host> {
  return Host.create(coreWasm(app), limits);
}
