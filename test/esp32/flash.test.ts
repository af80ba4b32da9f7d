// mote flash / mote monitor: what esptool is asked to write, and the
// errors that name what is missing.
import { spawnSync } from "child_process";
import * as path from "path";
import { build } from "../../tools/build";
import { flashArgs, readLayout } from "../../tools/flash";
import { BOARD } from "../qemu/board";
import { ROOT } from "../integration/sim";

const mote = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, "tools/bin/mote.js"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 60000 });

test("each part at the offset IDF's build gives it; over socket:// no reset lines and the ROM loader", () => {
  const r = build({ board: BOARD, quiet: true });
  const layout = readLayout(r);
  expect(layout.parts.map((p) => [p.name, p.offset])).toEqual([["bootloader", BOARD === "esp32-devkitc" ? 0x1000 : 0], ["partition-table", 0x8000], ["app", 0x10000]]);
  const all = flashArgs(r, "socket://127.0.0.1:5555", "all", 460800);
  expect(all).toEqual(expect.arrayContaining(["--before", "no_reset", "--after", "no_reset", "--no-stub", "write_flash", "0x10000"]));
  expect(all).not.toContain("--baud");
  const app = flashArgs(r, "/dev/ttyUSB0", "app", 921600);
  expect(app).toEqual(expect.arrayContaining(["--baud", "921600", "--before", "default_reset", "--after", "hard_reset"]));
  expect(app.filter((a) => /^0x[0-9a-f]+$/.test(a))).toEqual(["0x10000"]);
  expect(() => flashArgs(r, "/dev/ttyUSB0", "store", 921600)).toThrow(/no app-image store.*--engine wasm3/);
});

test("a missing device, a bad part and a board that is not an ESP32 are refused with one line naming the fix", () => {
  let r = mote("flash", "--board", BOARD, "--port", "/dev/ttyUSB97");
  expect(r.status).toBe(2);
  expect(r.stderr.split("\n")[0]).toMatch(/no device at \/dev\/ttyUSB97: plug the board in/);
  r = mote("flash", "--board", BOARD, "--port", "socket://127.0.0.1:1", "--part", "fs");
  expect(r.stderr.split("\n")[0]).toMatch(/--part must be all, app or store/);
  r = mote("flash", "--board", "mps2-an386", "--port", "socket://127.0.0.1:1");
  expect(r.stderr.split("\n")[0]).toMatch(/flash writes ESP32 boards; 'mps2-an386' is not one/);
  r = mote("monitor", "--port", "/dev/ttyUSB97");
  expect(r.stderr.split("\n")[0]).toMatch(/no device at \/dev\/ttyUSB97/);
  // nothing listens there: esptool's failure is reported, with the likely cause
  r = mote("flash", "--board", BOARD, "--port", "socket://127.0.0.1:1");
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/esptool failed \(exit \d+\): is the board in download mode/);
});
