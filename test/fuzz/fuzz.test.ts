// Fuzzing (issue #12): every parser of the core under libFuzzer with ASan
// and UBSan (test/fuzz/fuzz.c, tools/fuzz.ts), a bounded run per target:
// request heads and bodies, WebSocket frames in both roles, permessage-
// deflate negotiation and payloads, mount paths, the image upload manifest.
// The invariant: parse or answer with a protocol error; no trap, no
// sanitizer report, no hang. The corpus starts from test/vectors/ and a few
// hand-made inputs; a long run: `npx tsx tools/fuzz.ts --seconds 3600`.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildFuzzers, runFuzzer, TARGETS, Target } from "../../tools/fuzz";

const SECONDS = 3;
let bins: Record<Target, string>;
let corpus: string;

beforeAll(() => {
  bins = buildFuzzers();
  corpus = fs.mkdtempSync(path.join(os.tmpdir(), "mote-fuzz-"));
}, 300000);
afterAll(() => corpus && fs.rmSync(corpus, { recursive: true, force: true }));

test.each([...TARGETS])(`%s: ${SECONDS} s of libFuzzer find nothing`, (t) => {
  const r = runFuzzer(bins[t], t, SECONDS, path.join(corpus, t));
  console.log(`fuzz ${t}: ${r.runs} runs in ${r.seconds.toFixed(1)} s, ${r.finding ? `FINDING ${r.finding}` : "nothing found"}`);
  if (r.finding) throw new Error(`fuzz target ${t} found an input that breaks the invariant (${r.finding}):\n${r.output.slice(-4000)}`);
  expect(r.runs).toBeGreaterThan(1000); // it ran for real
}, 120000);

test("a trap is a finding: with every 200th import call failing its pointer check, the harness stops on the first input", () => {
  const r = runFuzzer(bins.http, "http", 5, path.join(corpus, "faulty"), { ...process.env, FUZZ_DEBUG_FAULT: "200" });
  expect(r.finding).not.toBeNull();
  expect(r.output).toMatch(/the core trapped in \w+: bad-pointer|the core trapped in \w+: status/);
}, 120000);
