// The Autobahn TestSuite's server cases, driven by kosoku (PyPI, installed by
// tools/bootstrap.js into vendor/venv), against the simulator's echo
// protocol (the demo's default), with permessage-deflate (RFC 7692) offered
// by the demo's vhost and done by the simulator's zlib codec (groups 12 and
// 13). Nothing is excluded. The HTML report stays
// in test-artifacts/autobahn/ (autobahn-wasm3/ for the wasm3 run; git-ignored);
// a one-line summary per engine is printed at the end of `npm test` by
// test/summary-reporter.js.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Sim, ROOT, ENGINE, artifactsDir } from "../integration/sim";

const KOSOKU = path.join(ROOT, "vendor/venv/bin/kosoku");
const OUT = artifactsDir("autobahn");

type Verdict = { behavior: string; behaviorClose: string };
let cases: Record<string, Verdict> = {};

const PASSING = new Set(["OK", "NON-STRICT", "INFORMATIONAL"]);
const group = (id: string) => parseInt(id.split(".")[0], 10);

beforeAll(async () => {
  if (!fs.existsSync(KOSOKU)) throw new Error(`${KOSOKU} is missing: run 'node tools/bootstrap.js test' (npm test does)`);
  const sim = await Sim.start({ args: ["-d", "3"] });
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  try {
    const log: string[] = [];
    const code = await new Promise<number | null>((resolve) => {
      // groups 12 and 13 echo ~11 GB through the codec: minutes, not seconds
      const p = spawn("timeout", ["1500", KOSOKU, "-o", OUT, "-p", "2", `127.0.0.1:${sim.port}`], { stdio: ["ignore", "pipe", "pipe"] });
      p.stdout.on("data", (d) => log.push(d.toString()));
      p.stderr.on("data", (d) => log.push(d.toString()));
      p.on("exit", (c) => resolve(c));
    });
    fs.writeFileSync(path.join(OUT, "kosoku.log"), log.join(""));
    const index = path.join(OUT, "index.json");
    if (!fs.existsSync(index)) throw new Error(`kosoku wrote no index.json (exit ${code}):\n${log.join("").slice(-2000)}`);
    const byAgent = JSON.parse(fs.readFileSync(index, "utf8")) as Record<string, Record<string, Verdict>>;
    cases = Object.values(byAgent)[0];
  } finally {
    const r = await sim.stop();
    fs.writeFileSync(path.join(OUT, "server.log"), sim.stderr);
    if (r.code !== 0) throw new Error(`simulator exited with ${JSON.stringify(r)}`);
  }
  // one line for the end of the run
  const count = (v: string) => Object.values(cases).filter((c) => c.behavior === v).length;
  const total = Object.keys(cases).length;
  const failed = Object.values(cases).filter((c) => !PASSING.has(c.behavior) && c.behavior !== "UNIMPLEMENTED").length;
  const secs = Object.values(cases).reduce((t, c) => t + ((c as any).duration || 0), 0) / 1000;
  const line =
    `autobahn (kosoku, server cases, ${ENGINE || "wasm2c"}): ${total} cases, OK ${count("OK")}, NON-STRICT ${count("NON-STRICT")}, ` +
    `INFORMATIONAL ${count("INFORMATIONAL")}, UNIMPLEMENTED ${count("UNIMPLEMENTED")}, FAILED ${failed} (cases' time ${secs.toFixed(0)} s)`;
  fs.writeFileSync(path.join(OUT, "summary.txt"), line + "\n");
}, 1600000);

test("every case of groups 1-7, 9 and 10 ran", () => {
  const ids = Object.keys(cases).filter((id) => [1, 2, 3, 4, 5, 6, 7, 9, 10].includes(group(id)));
  // Autobahn's server suite has 301 cases in these groups
  expect(ids.length).toBe(301);
});

test("groups 1-7, 9 and 10: every case OK, NON-STRICT or INFORMATIONAL, behaviour and close", () => {
  const short = Object.entries(cases)
    .filter(([id]) => group(id) <= 10)
    .filter(([, v]) => !PASSING.has(v.behavior) || !PASSING.has(v.behaviorClose))
    .map(([id, v]) => `${id}: behavior=${v.behavior} behaviorClose=${v.behaviorClose}`);
  expect(short).toEqual([]);
});

test("groups 12 and 13 (permessage-deflate, every offer variant): every case OK, NON-STRICT or INFORMATIONAL", () => {
  // The extension is negotiated in each (UNIMPLEMENTED would mean it was
  // not) and every compressed message comes back intact, closed cleanly.
  const deflate = Object.entries(cases).filter(([id]) => group(id) === 12 || group(id) === 13);
  expect(deflate.length).toBe(216);
  const short = deflate
    .filter(([, v]) => !PASSING.has(v.behavior) || !PASSING.has(v.behaviorClose))
    .map(([id, v]) => `${id}: behavior=${v.behavior} behaviorClose=${v.behaviorClose}`);
  expect(short).toEqual([]);
});

test("no case anywhere is UNIMPLEMENTED or FAILED", () => {
  expect(Object.keys(cases).length).toBe(517);
  const bad = Object.entries(cases).filter(([, v]) => !PASSING.has(v.behavior)).map(([id, v]) => `${id}: ${v.behavior}`);
  expect(bad).toEqual([]);
});
