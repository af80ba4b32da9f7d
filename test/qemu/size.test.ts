// The firmware size budget: `mote size --board mps2-an386 --json` against
// boards/mps2-an386.json's "budget" (flash and RAM, ~10% above the figures
// measured when it was set). A failure names the parts that grew; raise the
// budget (and its "measured" figures) in the board file only on purpose.
import { execFileSync } from "child_process";
import * as path from "path";
import { loadBoard } from "../../tools/boards";
import { checkBudget, ArmSize, PARTS } from "../../tools/size";

const ROOT = path.resolve(__dirname, "../..");
const board = loadBoard("mps2-an386");

let s: ArmSize;

beforeAll(() => {
  const out = execFileSync(process.execPath, [path.join(ROOT, "tools/bin/mote.js"), "size", "--board", "mps2-an386", "--json"], {
    encoding: "utf8",
    cwd: ROOT,
  });
  s = JSON.parse(out);
}, 120000);

test("mote size reports flash, RAM, each part and the per-connection cost", () => {
  expect(s.flashBytes).toBeGreaterThan(0);
  expect(s.ramBytes).toBeGreaterThan(s.ram.wasmMemoryBytes);
  for (const p of PARTS) expect(s.parts[p]).toBeDefined();
  // the parts add up to the totals
  const sum = (k: "flash" | "ram") => Object.values(s.parts).reduce((a, p) => a + p[k], 0);
  expect(sum("flash")).toBe(s.flashBytes);
  expect(sum("ram")).toBe(s.ramBytes);
  expect(s.parts.core.flash).toBeGreaterThan(s.parts.lwip.flash);
  expect(s.ram.wasmMemoryBytes).toBe(board.wasm!.memoryBytes);
  expect(s.ram.stackBytes).toBe(board.memory!.stackBytes);
  expect(s.perConnection.coreRecordBytes).toBeGreaterThan(0);
  expect(s.perConnection.tcpPcbBytes).toBeGreaterThan(0);
  expect(s.perConnection.portSlotBytes).toBeGreaterThan(0);
});

test("flash and RAM stay within the board's budget", () => {
  expect(board.budget).toBeDefined();
  const over = checkBudget(s, board.budget!);
  if (over.length) throw new Error(`mps2-an386 firmware over budget (boards/mps2-an386.json "budget"):\n${over.join("\n")}`);
});

test("an overrun names the part that grew", () => {
  const grown = JSON.parse(JSON.stringify(s)) as ArmSize;
  grown.parts.lwip.flash += 20000;
  grown.flashBytes += 20000;
  const over = checkBudget(grown, { ...board.budget!, flashBytes: s.flashBytes + 100 });
  expect(over).toHaveLength(1);
  expect(over[0]).toMatch(/^flash \d+ B exceeds the budget/);
  expect(over[0]).toMatch(/grew: lwip /);
});
