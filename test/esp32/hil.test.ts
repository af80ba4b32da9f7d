// hil/run.ts end to end without hardware: Espressif's QEMU boots the board's
// chip in UART download mode, `mote flash` writes it over socket:// with
// esptool, QEMU boots the written flash, the harness reads the address on
// the console and runs the board suite attached to the device. The same
// harness drives a real board on /dev/ttyUSB0 (--port instead of --qemu).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BOARD } from "../qemu/board";
import { ROOT } from "../integration/sim";

test("hil/run.ts --qemu: flashed over socket:// in download mode, booted, the board suite passes against it", () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, "node_modules/.bin/tsx"), path.join(ROOT, "hil/run.ts"),
    "--board", BOARD, "--qemu", "--suites", "board"], { cwd: ROOT, encoding: "utf8", timeout: 240000, maxBuffer: 64 << 20 });
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`hil/run.ts exited ${r.status}:\n${out.slice(-4000)}`);
  const summary = fs.readFileSync(path.join(ROOT, "test-artifacts", `hil-${BOARD}`, "summary.txt"), "utf8");
  expect(summary).toMatch(/QEMU flashed over socket:\/\/ in UART download mode/);
  expect(summary).toMatch(/flashed \(all\) in \d+ s/);
  expect(summary).toMatch(/suites board: [1-9]\d* passed, 0 failed/);
  // esptool wrote through the ROM loader and verified every part
  expect(out).toMatch(/Hash of data verified/);
  expect(fs.readFileSync(path.join(ROOT, "test-artifacts", `hil-${BOARD}`, "console-demo.log"), "latin1")).toMatch(/listening on http:\/\/10\.0\.2\.15:80\//);
}, 300000);
