// Builds the core with an app for unit tests (cached by the build's stamps).
import * as path from "path";
import { buildWasm } from "../../tools/build";
import { Host, HostOptions, Limits } from "./host";
import * as fs from "fs";

const ROOT = path.resolve(__dirname, "../..");
const cache = new Map<string, Buffer>();

/** app: "demo", or the name of a test app (test/apps/NAME.ts). */
export function coreWasm(app: string): Buffer {
  let w = cache.get(app);
  if (!w) {
    const file = app === "demo" ? "app/demo.ts" : `test/apps/${app}.ts`;
    const wasm = buildWasm({ board: "linux", app: file, quiet: true }, path.join(ROOT, "build/linux", app));
    w = fs.readFileSync(wasm);
    cache.set(app, w);
  }
  return w;
}

export function testHost(limits: Partial<Limits> = {}, app = "core-test", opts: HostOptions = {}): Promise<Host> {
  return Host.create(coreWasm(app), limits, opts);
}
