// The Autobahn TestSuite's client cases: kosoku (PyPI, vendor/venv) runs as
// the fuzzingserver on 127.0.0.1, and the simulator's client role connects
// to it once per case (test/apps/core-test.ts: GET /autobahn/PORT/CASE makes
// its "autobahn-client" protocol connect to /runCase?case=CASE&agent=mote
// and echo every message), then to /updateReports. Every case of the suite
// runs; the client offers no extension, so the permessage-deflate groups
// (12, 13) are UNIMPLEMENTED, which Autobahn counts apart from failures.
// The report stays in test-artifacts/autobahn-client/ (-wasm3 for wasm3).
import { spawn, ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import WebSocket from "ws";
import { Sim, ROOT, ENGINE, artifactsDir, freePort, sleep, ON_BOARD } from "../integration/sim";

const KOSOKU = path.join(ROOT, "vendor/venv/bin/kosoku");
const OUT = artifactsDir("autobahn-client");
type Verdict = { behavior: string; behaviorClose: string };
const PASSING = new Set(["OK", "NON-STRICT", "INFORMATIONAL"]);
let cases: Record<string, Verdict> = {};
let caseCount = 0;

async function caseCountOf(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/getCaseCount`);
    const t = setTimeout(() => (ws.terminate(), reject(new Error("getCaseCount timed out"))), 10000);
    ws.once("message", (d) => (clearTimeout(t), ws.close(), resolve(parseInt(d.toString(), 10))));
    ws.once("error", (e) => (clearTimeout(t), reject(e)));
  });
}

if (!ON_BOARD) {
  beforeAll(async () => {
    if (!fs.existsSync(KOSOKU)) throw new Error(`${KOSOKU} is missing: run 'node tools/bootstrap.js test' (npm test does)`);
    fs.rmSync(OUT, { recursive: true, force: true });
    fs.mkdirSync(OUT, { recursive: true });
    const port = await freePort();
    const log: string[] = [];
    const kosoku: ChildProcess = spawn("timeout", ["900", KOSOKU, "-m", "fuzzingserver", "-o", OUT, `127.0.0.1:${port}`], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    kosoku.stdout!.on("data", (d) => log.push(d.toString()));
    kosoku.stderr!.on("data", (d) => log.push(d.toString()));
    const exited = new Promise<number | null>((r) => kosoku.on("exit", (c) => r(c)));
    const sim = await Sim.start({ app: "test/apps/core-test.ts", args: ["-d", "3"] });
    try {
      for (let i = 0; i < 200 && !/listening/.test(log.join("")); i++) await sleep(25);
      caseCount = await caseCountOf(port);
      const get = async (p: string) => (await fetch(`${sim.url}${p}`)).text();
      let done = parseInt(await get("/clientdone"), 10);
      for (let n = 1; n <= caseCount + 1; n++) {
        // each case: one connection; the next starts when it has finished
        expect(await get(`/autobahn/${port}/${n <= caseCount ? n : "report"}`)).toBe("connecting\n");
        const end = Date.now() + 60000;
        while (parseInt(await get("/clientdone"), 10) === done) {
          if (Date.now() > end) throw new Error(`case ${n} did not finish within 60 s`);
          await sleep(5);
        }
        done++;
      }
      // kosoku writes the report and exits after /updateReports
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 30000)))]);
      clearTimeout(timer);
    } finally {
      kosoku.kill("SIGKILL");
      fs.writeFileSync(path.join(OUT, "kosoku.log"), log.join(""));
      const r = await sim.stop();
      fs.writeFileSync(path.join(OUT, "client.log"), sim.stderr);
      if (r.code !== 0) throw new Error(`simulator exited with ${JSON.stringify(r)}`);
    }
    const index = path.join(OUT, "index.json");
    if (!fs.existsSync(index)) throw new Error(`kosoku wrote no index.json:\n${log.join("").slice(-2000)}`);
    cases = Object.values(JSON.parse(fs.readFileSync(index, "utf8")) as Record<string, Record<string, Verdict>>)[0];
    const count = (v: string) => Object.values(cases).filter((c) => c.behavior === v).length;
    const failed = Object.values(cases).filter((c) => !PASSING.has(c.behavior) && c.behavior !== "UNIMPLEMENTED").length;
    const line =
      `autobahn (kosoku fuzzingserver, client cases, ${ENGINE || "wasm2c"}): ${Object.keys(cases).length} cases, OK ${count("OK")}, ` +
      `NON-STRICT ${count("NON-STRICT")}, INFORMATIONAL ${count("INFORMATIONAL")}, UNIMPLEMENTED ${count("UNIMPLEMENTED")}, FAILED ${failed}`;
    fs.writeFileSync(path.join(OUT, "summary.txt"), line + "\n");
  }, 1000000);

  test("every case of the suite ran", () => {
    expect(Object.keys(cases).length).toBe(caseCount);
    expect(caseCount).toBeGreaterThanOrEqual(500);
  });

  test("no case failed: each is OK, NON-STRICT or INFORMATIONAL, or UNIMPLEMENTED (permessage-deflate, not offered)", () => {
    const bad = Object.entries(cases).filter(([id, c]) => !PASSING.has(c.behavior) && !(c.behavior === "UNIMPLEMENTED" && /^1[23]\./.test(id)));
    expect(bad.map(([id, c]) => `${id}: ${c.behavior} / ${c.behaviorClose}`)).toEqual([]);
  });
}
