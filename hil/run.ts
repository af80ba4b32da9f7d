// The hardware-in-the-loop harness: flash an ESP32 board, read its console
// for its address, run the board suites against it, collect the figures.
//
//   npx tsx hil/run.ts --board esp32-devkitc --port /dev/ttyUSB0 [--engine E] [--suites a,b]
//   npx tsx hil/run.ts --board esp32-c3-devkitm --qemu [--suites a,b]
//
// A real board: `mote flash` writes it through esptool (which resets it into
// its ROM bootloader and back through DTR/RTS), the harness then reads its
// console on the same port for "listening on http://ADDR:PORT/" and runs the
// suites against that address (the board on the test network, DHCP).
// --qemu proves the same path without hardware: Espressif's QEMU boots the
// chip in UART download mode with its UART on a TCP socket, esptool flashes
// it over socket://, then QEMU boots the written flash normally (its UART
// again on a socket, device port 80 forwarded to 127.0.0.1).
//
// The suites (jest project "hil", jest.config.js) attach to the running
// device (MOTE_DEVICE, test/integration/sim.ts) instead of booting one; the
// console goes to a log file they read (MOTE_DEVICE_LOG), and what they type
// on the console goes through a file the harness forwards (MOTE_DEVICE_INPUT).
// Results: test-artifacts/hil-<board>[-<engine>]/ (summary.txt, console.log,
// jest.log).
import { spawn, spawnSync, ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { build, ROOT } from "../tools/build";
import { isEsp32Board, loadBoard } from "../tools/boards";
import { qemuBinary, qemuArgs, stopQemu } from "../tools/qemu";
import { flash } from "../tools/flash";
import { freePort } from "../test/integration/sim";

/** Each suite and the app its firmware runs (the harness flashes each app in turn). */
const SUITES: Record<string, { file: string; app: string }> = {
  board: { file: "test/qemu/board.test.ts", app: "app/demo.ts" },
  ws: { file: "test/integration/ws.test.ts", app: "app/demo.ts" },
  autobahn: { file: "test/qemu/autobahn.test.ts", app: "app/demo.ts" },
  http: { file: "test/integration/http.test.ts", app: "test/apps/core-test.ts" },
};

function args(): { board: string; port?: string; engine?: string; qemu: boolean; suites: string[] } {
  const a = process.argv.slice(2);
  const o: Record<string, string | boolean> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i] === "--qemu") o.qemu = true;
    else if (/^--(board|port|engine|suites)$/.test(a[i]) && a[i + 1]) o[a[i].slice(2)] = a[++i];
    else throw new Error(`hil: unknown argument '${a[i]}' (usage: --board B (--port SERIAL | --qemu) [--engine E] [--suites ${Object.keys(SUITES).join(",")}])`);
  }
  if (!o.board || (!o.port && !o.qemu) || (o.port && o.qemu)) throw new Error("hil: needs --board B and either --port SERIAL|socket://HOST:PORT or --qemu");
  const suites = ((o.suites as string) || Object.keys(SUITES).join(",")).split(",");
  for (const x of suites) if (!SUITES[x]) throw new Error(`hil: unknown suite '${s}' (known: ${Object.keys(SUITES).join(", ")})`);
  return { board: o.board as string, port: o.port as string | undefined, engine: o.engine as string | undefined, qemu: !!o.qemu, suites };
}

/** Connects to QEMU's UART socket, retrying while QEMU starts. */
async function connectUart(port: number): Promise<net.Socket> {
  for (let i = 0; i < 100; i++) {
    const s = await new Promise<net.Socket | null>((resolve) => {
      const c = net.connect(port, "127.0.0.1");
      c.once("connect", () => resolve(c));
      c.once("error", () => resolve(null));
    });
    if (s) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`hil: QEMU's UART on 127.0.0.1:${port} never accepted`);
}

/** The console: a QEMU UART socket, or a serial device through pyserial. */
interface Console {
  write(d: string): void;
  close(): void;
}

async function main(): Promise<number> {
  const o = args();
  const board = loadBoard(o.board);
  if (!isEsp32Board(board)) throw new Error(`hil: '${board.name}' is not an ESP32 board`);
  const engine = o.engine || board.engine;
  const out = path.join(ROOT, "test-artifacts", `hil-${board.name}${engine === "wasm2c" ? "" : `-${engine}`}`);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const apps = [...new Set(o.suites.map((x) => SUITES[x].app))];
  const lines: string[] = [];
  let status = 0;
  for (const [i, app] of apps.entries()) {
    const suites = o.suites.filter((x) => SUITES[x].app === app);
    const r = await runApp(o, board, engine, app, suites, out, i === 0 ? "all" : "app");
    lines.push(r.summary);
    if (r.status !== 0) status = r.status;
  }
  fs.writeFileSync(path.join(out, "summary.txt"), lines.join("\n") + "\n");
  return status;
}

async function runApp(o: ReturnType<typeof args>, board: ReturnType<typeof loadBoard>, engine: string, app: string, suites: string[],
                      out: string, part: "all" | "app"): Promise<{ status: number; summary: string }> {
  const r = build({ board: board.name, engine, app });
  const logFile = path.join(out, `console-${path.basename(app, ".ts")}.log`);
  const inputFile = path.join(out, "console.in");
  fs.writeFileSync(logFile, "");
  fs.writeFileSync(inputFile, "");
  const started = Date.now();
  let qemu: ChildProcess | null = null;
  let consoleIo: Console;
  let deviceUrl = "";
  const say = (m: string) => process.stderr.write(`hil: ${m}\n`);

  // 1. flash (the first app: every part; the next ones: the app partition)
  let port = o.port!;
  const flashFile = path.join(out, "flash.bin");
  if (o.qemu) {
    if (part === "all") fs.writeFileSync(flashFile, Buffer.alloc(board.memory!.flash.bytes, 0xff)); // an erased chip
    const uart = await freePort();
    const target = board.esp32!.target;
    const dl = [...qemuArgs(board, flashFile, 1, "127.0.0.1", {}).filter((a, i, all) => !(all[i - 1] === "-nic" || a === "-nic" || a === "-nographic" || a === "-no-reboot")),
      "-display", "none", "-monitor", "none", "-serial", `tcp:127.0.0.1:${uart},server=on,wait=off`,
      "-global", `driver=${target}.gpio,property=strap_mode,value=${target === "esp32c3" ? "0x02" : "0x0f"}`];
    say(`booting ${board.name} in UART download mode (QEMU), its UART on 127.0.0.1:${uart}`);
    qemu = spawn(qemuBinary(board), dl, { stdio: ["ignore", "ignore", "inherit"] });
    port = `socket://127.0.0.1:${uart}`;
    await new Promise((r) => setTimeout(r, 1000));
  }
  say(`flashing through ${port}`);
  const t0 = Date.now();
  const fc = flash(r, port, part, 460800);
  const flashSecs = (Date.now() - t0) / 1000;
  if (fc !== 0) {
    qemu?.kill("SIGKILL");
    return { status: fc, summary: `hil (${board.name}, ${app}): flashing failed` };
  }

  // 2. boot and read the console for the address
  let hostPort = 0;
  if (o.qemu) {
    qemu!.kill("SIGKILL");
    await new Promise((res) => qemu!.once("exit", res));
    const uart = await freePort();
    hostPort = await freePort();
    const run = [...qemuArgs(board, flashFile, hostPort, "127.0.0.1", {}).filter((a) => a !== "-nographic"),
      "-display", "none", "-monitor", "none", "-serial", `tcp:127.0.0.1:${uart},server=on,wait=on`];
    say(`booting the flashed chip (QEMU), device port 80 on 127.0.0.1:${hostPort}`);
    qemu = spawn(qemuBinary(board), run, { stdio: ["ignore", "ignore", "inherit"] });
    const sock = await connectUart(uart);
    sock.on("data", (d) => fs.appendFileSync(logFile, d));
    sock.on("error", () => {});
    consoleIo = { write: (d) => sock.write(d), close: () => sock.destroy() };
  } else {
    const py = spawnSync("python3", ["-c", "import serial"]).status === 0 ? "python3" : path.join(process.env.HOME || "", ".cache/mote-esp32/venv/bin/python");
    const p = spawn(py, ["-c", "import serial,sys,threading\n" +
      "s=serial.serial_for_url(sys.argv[1], 115200, timeout=0.1)\n" +
      "threading.Thread(target=lambda: [s.write(c) for c in iter(lambda: sys.stdin.buffer.read1(64), b'')], daemon=True).start()\n" +
      "while True:\n  d=s.read(256)\n  if d: sys.stdout.buffer.write(d); sys.stdout.buffer.flush()\n", port], { stdio: ["pipe", "pipe", "inherit"] });
    p.stdout!.on("data", (d) => fs.appendFileSync(logFile, d));
    consoleIo = { write: (d) => p.stdin!.write(d), close: () => p.kill() };
  }
  // what the suites type (MOTE_DEVICE_INPUT) goes to the console
  let sent = 0;
  const forward = setInterval(() => {
    const b = fs.readFileSync(inputFile);
    if (b.length > sent) consoleIo.write(b.subarray(sent).toString("latin1"));
    sent = b.length;
  }, 50);
  const bootDeadline = Date.now() + 60000;
  let m: RegExpExecArray | null = null;
  while (!(m = /listening on http:\/\/([\d.]+):(\d+)\//.exec(fs.readFileSync(logFile, "latin1")))) {
    if (Date.now() > bootDeadline) {
      say(`no "listening on http://ADDR:PORT/" on the console within 60 s:\n${fs.readFileSync(logFile, "latin1").slice(-2000)}`);
      clearInterval(forward);
      consoleIo.close();
      qemu?.kill("SIGKILL");
      return { status: 1, summary: `hil (${board.name}, ${app}): no address on the console` };
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  const bootSecs = (Date.now() - started) / 1000;
  // QEMU: the guest's address (slirp's 10.0.2.15) is reached through the forward
  deviceUrl = o.qemu ? `http://127.0.0.1:${hostPort}` : `http://${m[1]}:${m[2]}`;
  say(`the device says it listens on http://${m[1]}:${m[2]}/; testing ${deviceUrl}`);

  // 3. the suites, attached to the device
  const jest = path.join(ROOT, "node_modules/jest/bin/jest.js");
  const env = { ...process.env, MOTE_ROOT: ROOT, MOTE_BOARD: board.name, MOTE_ENGINE: r.engine, MOTE_DEVICE: deviceUrl,
    MOTE_DEVICE_LOG: logFile, MOTE_DEVICE_INPUT: inputFile, MOTE_DEVICE_APP: app };
  const j = spawnSync(process.execPath, [jest, "--config", path.join(ROOT, "jest.config.js"), "--selectProjects", "hil", "--runInBand",
    ...suites.map((x) => path.join(ROOT, SUITES[x].file))], { env, encoding: "utf8", cwd: ROOT, maxBuffer: 64 << 20 });
  const jestOut = `${j.stdout}${j.stderr}`;
  fs.writeFileSync(path.join(out, `jest-${path.basename(app, ".ts")}.log`), jestOut);
  clearInterval(forward);
  consoleIo.close();
  if (qemu) await stopQemu(qemu, 100);

  // 4. figures
  const log = fs.readFileSync(logFile, "latin1");
  const counts = /(\d+) passed, (\d+) failed(, \d+ skipped)?/.exec(jestOut);
  const heap = /mote: (\d+) connections, engine (\w+), (\d+) bytes of heap free/.exec(log);
  const ab = fs.existsSync(path.join(ROOT, "test-artifacts", `autobahn-${board.name}`, "summary.txt"))
    ? fs.readFileSync(path.join(ROOT, "test-artifacts", `autobahn-${board.name}`, "summary.txt"), "utf8").trim() : "";
  const summary = `hil (${board.name}, ${r.engine}, ${app}, ${o.qemu ? "QEMU flashed over socket:// in UART download mode" : port}): ` +
    `flashed (${part}) in ${flashSecs.toFixed(0)} s, serving after ${bootSecs.toFixed(0)} s, ` +
    `${heap ? `${heap[3]} B heap free with ${heap[1]} connections` : "no heap line"}; suites ${suites.join(",")}: ` +
    `${counts ? counts[0] : "no result line"}${ab && suites.includes("autobahn") ? `; ${ab}` : ""}`;
  process.stdout.write(summary + "\n");
  return { status: j.status === 0 && counts && counts[2] === "0" ? 0 : 1, summary };
}

main().then((c) => process.exit(c), (e) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(2);
});
