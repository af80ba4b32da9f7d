// `mote bench` keeps working: a short run against every server prints the
// table. No timing is asserted here (timed tests flake); the figures are for
// people, from `mote bench`.
import { spawnSync } from "child_process";
import * as path from "path";

test("mote bench --quick prints a row per server with a ratio against libwebsockets", () => {
  const mote = path.resolve(__dirname, "../../tools/bin/mote.js");
  const r = spawnSync(process.execPath, [mote, "bench", "--quick", "--messages", "20000"], { encoding: "utf8", timeout: 120000 });
  expect(r.status).toBe(0);
  for (const row of ["mote (wasm2c)", "libwebsockets 4.1.6", "ws (Node.js)"]) {
    expect(r.stdout).toMatch(new RegExp(`^${row.replace(/[()]/g, "\\$&")}\\s+\\d+ ns  x\\d+\\.\\d\\d`, "m"));
  }
  expect(r.stdout).toMatch(/^libwebsockets 4\.1\.6\s+\d+ ns  x1\.00/m);
}, 130000);
