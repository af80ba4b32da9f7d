// The firmware size budget, per engine: `mote size --board mps2-an386
// --json` (both engines) against boards/mps2-an386.json's "budget" (flash
// and RAM, ~10% above the figures measured when it was set). A failure names
// the parts that grew; raise the budget (and its "measured" figures) in the
// board file only on purpose.
import { execFileSync } from "child_process";
import * as path from "path";
import { loadBoard } from "../../tools/boards";
import { checkBudget, ArmSize, PARTS } from "../../tools/size";

const ROOT = path.resolve(__dirname, "../..");
const board = loadBoard("mps2-an386");

let sizes: Record<string, ArmSize>;

beforeAll(() => {
  const out = execFileSync(process.execPath, [path.join(ROOT, "tools/bin/mote.js"), "size", "--board", "mps2-an386", "--json"], {
    encoding: "utf8",
    cwd: ROOT,
  });
  const j = JSON.parse(out);
  expect(j.board).toBe("mps2-an386");
  sizes = j.engines;
}, 240000);

test("mote size reports both engines", () => {
  expect(Object.keys(sizes).sort()).toEqual(["wasm2c", "wasm3"]);
});

describe.each(["wasm2c", "wasm3"])("%s firmware", (engine) => {
  const s = () => sizes[engine];

  test("flash, RAM, each part and the per-connection cost", () => {
    expect(s().engine).toBe(engine);
    expect(s().flashBytes).toBeGreaterThan(0);
    expect(s().ramBytes).toBeGreaterThan(s().ram.wasmMemoryBytes);
    for (const p of PARTS) expect(s().parts[p]).toBeDefined();
    // the parts add up to the totals
    const sum = (k: "flash" | "ram") => Object.values(s().parts).reduce((a, p) => a + p[k], 0);
    expect(sum("flash")).toBe(s().flashBytes);
    expect(sum("ram")).toBe(s().ramBytes);
    expect(s().ram.wasmMemoryBytes).toBe(board.wasm!.memoryBytes);
    expect(s().ram.stackBytes).toBe(board.memory!.stackBytes);
    expect(s().perConnection.coreRecordBytes).toBeGreaterThan(0);
    expect(s().perConnection.tcpPcbBytes).toBeGreaterThan(0);
    expect(s().perConnection.portSlotBytes).toBeGreaterThan(0);
    if (engine === "wasm2c") {
      // the module is compiled in; no store
      expect(s().parts.core.flash).toBeGreaterThan(s().parts.lwip.flash);
      expect(s().appImage).toBeNull();
    } else {
      // the module lives in the image store, outside the firmware; the
      // interpreter is the engine part; linear memory comes from the C heap
      expect(s().parts.core.flash).toBe(0);
      expect(s().appImage!.bytes).toBeGreaterThan(10000);
      expect(s().appImage!.bytes).toBeLessThanOrEqual(board.imageStore!.slotBytes - 256);
      expect(s().parts.engine.flash).toBeGreaterThan(s().parts.lwip.flash);
      expect(s().ram.heapBytes).toBe(board.wasm3!.heapBytes);
    }
  });

  test("flash and RAM stay within the board's budget", () => {
    const budget = board.budget?.[engine];
    expect(budget).toBeDefined();
    const over = checkBudget(s(), budget!);
    if (over.length) throw new Error(`mps2-an386 ${engine} firmware over budget (boards/mps2-an386.json "budget"):\n${over.join("\n")}`);
  });
});

test("an overrun names the part that grew", () => {
  const grown = JSON.parse(JSON.stringify(sizes.wasm2c)) as ArmSize;
  grown.parts.lwip.flash += 20000;
  grown.flashBytes += 20000;
  const over = checkBudget(grown, { ...board.budget!.wasm2c, flashBytes: sizes.wasm2c.flashBytes + 100 });
  expect(over).toHaveLength(1);
  expect(over[0]).toMatch(/^flash \d+ B exceeds the budget/);
  expect(over[0]).toMatch(/grew: lwip /);
});

// Linear memory: the module's static data plus the tables init takes from the
// board's limits must fit boards/mps2-an386.json's wasm.memoryBytes (one
// 64 KiB page); the board traps in mote_init otherwise. Measured in Node on
// the board's own module build, with the board's limits, and with 1 KiB
// kept free so that a small addition fails here, not on the board.
describe.each(["app/demo.ts", "test/apps/core-test.ts"])("%s on the board's linear memory", (app) => {
  test("static data + tables fit wasm.memoryBytes with 1 KiB to spare", async () => {
    const { Host } = await import("../unit/host");
    const { buildWasm, appName } = await import("../../tools/build");
    const fs = await import("fs");
    const wasm = buildWasm({ board: "mps2-an386", app, quiet: true } as any, path.join(ROOT, "build/mps2-an386", appName(app)));
    const l = board.limits;
    const h = await Host.create(fs.readFileSync(wasm), {
      maxConns: l.maxConnections as number, rxBuf: l.rxBufferBytes, hdrPool: l.httpHeaderPool, hdrBytes: l.httpHeaderBytes,
      txBlocks: l.txBlocks, txBlockBytes: l.txBlockBytes, maxMessage: l.maxMessageBytes,
    });
    const top = h.heapProbe();
    const cap = board.wasm!.memoryBytes;
    console.log(`linear memory (mps2-an386, ${app}): ${top} B in use after init of ${cap} B (${cap - top} B free)`);
    expect(top + 1024).toBeLessThanOrEqual(cap);
  });
});
