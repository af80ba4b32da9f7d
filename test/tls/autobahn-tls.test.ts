// The Autobahn TestSuite's server cases 1-7 and 10 over wss:// against the
// simulator with --tls. kosoku (the runner) speaks no wss:// ("invalid url
// scheme"), so it talks plaintext to a local relay (./relay.ts) that opens a
// verified TLS session to the simulator for each case and copies bytes both
// ways, half-closes and resets included: every frame of every case crosses
// mote's TLS layer (platform/tls), which is what this suite tests; the
// WebSocket verdicts are the same rules as test/conformance/autobahn.test.ts.
// Group 9 (performance, up to 16 MiB messages) is left out as in the issue.
// Report in test-artifacts/autobahn-tls/ (autobahn-tls-wasm3/ on wasm3).
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Sim, ROOT, ENGINE, artifactsDir } from "../integration/sim";
import { CA } from "./tls-helpers";
import { startRelay, Relay } from "./relay";

const KOSOKU = path.join(ROOT, "vendor/venv/bin/kosoku");
const OUT = artifactsDir("autobahn-tls");
const GROUPS = [1, 2, 3, 4, 5, 6, 7, 10];

type Verdict = { behavior: string; behaviorClose: string };
let cases: Record<string, Verdict> = {};
let relay: Relay | undefined;
let handshakes = 0;

const PASSING = new Set(["OK", "NON-STRICT", "INFORMATIONAL"]);
const group = (id: string) => parseInt(id.split(".")[0], 10);

beforeAll(async () => {
  if (!fs.existsSync(KOSOKU)) throw new Error(`${KOSOKU} is missing: run 'node tools/bootstrap.js test' (npm test does)`);
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  const sim = await Sim.start({ tls: true, args: ["-d", "11"] }); // info: one line per TLS handshake
  const started = Date.now();
  try {
    relay = await startRelay(sim.port, CA);
    const log: string[] = [];
    const include = GROUPS.flatMap((g) => ["-i", `${g}.*`]);
    const code = await new Promise<number | null>((resolve) => {
      const p = spawn("timeout", ["200", KOSOKU, "-o", OUT, "-p", "2", ...include, `127.0.0.1:${relay!.port}`], { stdio: ["ignore", "pipe", "pipe"] });
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
    if (relay) await relay.close();
    const r = await sim.stop();
    fs.writeFileSync(path.join(OUT, "server.log"), sim.stderr);
    handshakes = (sim.stderr.match(/TLS handshake done/g) || []).length;
    if (r.code !== 0) throw new Error(`simulator exited with ${JSON.stringify(r)}`);
  }
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  const count = (v: string) => Object.values(cases).filter((c) => c.behavior === v).length;
  const failed = Object.values(cases).filter((c) => !PASSING.has(c.behavior) || !PASSING.has(c.behaviorClose)).length;
  const line =
    `autobahn over wss:// (kosoku via a TLS relay, server cases 1-7 and 10, ${ENGINE || "wasm2c"}): ${Object.keys(cases).length} cases, ` +
    `OK ${count("OK")}, NON-STRICT ${count("NON-STRICT")}, INFORMATIONAL ${count("INFORMATIONAL")}, FAILED ${failed}; ` +
    `${handshakes} TLS handshakes (${secs} s)`;
  fs.writeFileSync(path.join(OUT, "summary.txt"), line + "\n");
}, 300000);

test("every case of groups 1-7 and 10 ran, each over its own TLS session", () => {
  const ids = Object.keys(cases);
  expect(ids.filter((id) => GROUPS.includes(group(id))).length).toBe(247);
  expect(ids.filter((id) => !GROUPS.includes(group(id)))).toEqual([]);
  // kosoku opens one connection per case (plus its own for reports, if any)
  expect(relay!.sessions).toBeGreaterThanOrEqual(247);
  expect(handshakes).toBeGreaterThanOrEqual(247);
});

test("groups 1-7 and 10 over TLS: every case OK, NON-STRICT or INFORMATIONAL, behaviour and close", () => {
  const short = Object.entries(cases)
    .filter(([, v]) => !PASSING.has(v.behavior) || !PASSING.has(v.behaviorClose))
    .map(([id, v]) => `${id}: behavior=${v.behavior} behaviorClose=${v.behaviorClose}`);
  expect(short).toEqual([]);
});
