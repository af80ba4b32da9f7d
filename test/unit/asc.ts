// Compiles an AssemblyScript entry for a unit test and instantiates it.
// The output is cached under build/test/ keyed by the hash of the sources.
import * as fs from "fs";
import * as path from "path";
import * as crypto from "crypto";
import { execFileSync } from "child_process";

const ROOT = path.resolve(__dirname, "../..");

function srcHash(entry: string): string {
  const h = crypto.createHash("sha256");
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) h.update(p).update(fs.readFileSync(p));
    }
  };
  walk(path.join(ROOT, "src"));
  walk(path.join(ROOT, "app"));
  h.update(entry).update(fs.readFileSync(entry));
  return h.digest("hex").slice(0, 16);
}

/** Compiles `entry` (absolute, or relative to the repo root) with the core's
 *  flags and returns the wasm bytes. */
export function compileAs(entry: string, extraFlags: string[] = []): Buffer {
  const abs = path.resolve(ROOT, entry);
  const out = path.join(ROOT, "build/test", `${path.basename(abs, ".ts")}-${srcHash(abs)}.wasm`);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    execFileSync(path.join(ROOT, "node_modules/.bin/asc"), [abs, "-o", tmp, "--runtime", "stub", "-O3", "--noAssert", ...extraFlags], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    fs.renameSync(tmp, out);
  }
  return fs.readFileSync(out);
}
