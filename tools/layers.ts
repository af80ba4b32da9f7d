// The layering rules of src/, read from the sources themselves (npm test runs
// them: test/tools/layers.test.ts):
//   - the import graph has no circle except the app's callback contract,
//     Conn (src/core/conn.ts) <-> Protocol (src/core/protocol.ts);
//   - one dispatcher (src/core/dispatch.ts) writes a connection's `state`
//     and `role`; no other file assigns either;
//   - src/core/ imports nothing of src/http/ or src/ws/, but for the start-up
//     wiring in src/core/config.ts.
import * as fs from "fs";
import * as path from "path";

export type Graph = Map<string, string[]>; // file (relative to the root) -> the files it imports

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out.sort();
}

/** Every `import ... from "./x"` and `export ... from "./x"` between the .ts
 *  files under root (comments ignored). */
export function importGraph(root: string): Graph {
  const g: Graph = new Map();
  for (const f of tsFiles(root)) {
    const src = fs.readFileSync(f, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    const deps = new Set<string>();
    for (const m of src.matchAll(/\b(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/g)) {
      if (!m[1].startsWith(".")) continue;
      let t = path.join(path.dirname(f), m[1]);
      if (!t.endsWith(".ts")) t += ".ts";
      if (fs.existsSync(t)) deps.add(path.relative(root, t));
    }
    g.set(path.relative(root, f), [...deps].sort());
  }
  return g;
}

/** The strongly connected components with more than one file (Tarjan): the
 *  import circles. */
export function circles(g: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), on = new Set<string>();
  const stack: string[] = [], out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) || []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** The circles other than the one allowed (the app callback contract). */
export const ALLOWED_CIRCLE = ["core/conn.ts", "core/protocol.ts"];
export function forbiddenCircles(g: Graph): string[][] {
  return circles(g).filter((c) => c.join(" ") !== ALLOWED_CIRCLE.join(" "));
}

/** Lines (file:line: text) that assign a connection's `state` or `role`
 *  outside `owner`: `x.state = ...`, `x.role |= ...` and the like. */
export function foreignStateWrites(root: string, owner = "core/dispatch.ts"): string[] {
  const out: string[] = [];
  for (const f of tsFiles(root)) {
    const rel = path.relative(root, f);
    if (rel === owner) continue;
    fs.readFileSync(f, "utf8").split("\n").forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, "");
      if (/\.(state|role)\s*(=(?!=)|[-+|&^]=|\+\+|--)/.test(code)) out.push(`${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  return out;
}

/** Imports from src/core/ into src/http/ or src/ws/ (the protocol layers sit
 *  above the core), but for the start-up wiring in `wiring`. */
export function upwardImports(g: Graph, wiring = "core/config.ts"): string[] {
  const out: string[] = [];
  for (const [f, deps] of g) {
    if (!f.startsWith("core/") || f === wiring) continue;
    for (const d of deps) if (d.startsWith("http/") || d.startsWith("ws/")) out.push(`${f} -> ${d}`);
  }
  return out;
}
