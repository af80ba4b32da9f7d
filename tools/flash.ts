// `mote flash` and `mote monitor`: put a built ESP32 firmware on a device
// through esptool (PyPI), and read its console, over a serial port
// (/dev/ttyUSB0: esptool resets the chip into its ROM bootloader through
// DTR/RTS and back afterwards) or a serial server (socket://HOST:PORT:
// Espressif's QEMU booted in UART download mode, or a serial-over-TCP
// bridge; no reset lines, so the device must already be in download mode).
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as net from "net";
import { BuildResult } from "./build";
import { esptoolPython, FlashLayout } from "./build-esp32";

export type FlashPart = "all" | "app" | "store";

export function readLayout(r: BuildResult): FlashLayout {
  const f = path.join(r.dir, "parts", "layout.json");
  if (!fs.existsSync(f)) throw new Error(`${f} is missing: rebuild with 'mote build --board ${r.board.name}'`);
  return JSON.parse(fs.readFileSync(f, "utf8"));
}

function needEsptool(): string {
  const py = esptoolPython();
  if (!py) throw new Error("esptool is not installed: 'pip install esptool' (or install ESP-IDF and run its export.sh)");
  return py;
}

/** A port esptool can open: a device file that exists, or socket://HOST:PORT. */
export function checkPort(port: string): void {
  if (/^socket:\/\/[^:/]+:\d+$/.test(port) || /^rfc2217:\/\//.test(port)) return;
  if (!fs.existsSync(port))
    throw new Error(`no device at ${port}: plug the board in (ls /dev/ttyUSB* /dev/ttyACM*), or give socket://HOST:PORT for a serial server`);
}

/** esptool's arguments for writing `part` of a build. */
export function flashArgs(r: BuildResult, port: string, part: FlashPart, baud: number): string[] {
  const layout = readLayout(r);
  const want = layout.parts.filter((p) => (part === "all" ? true : part === "app" ? p.name === "app" : p.name === "store"));
  const socket = port.startsWith("socket://") || port.startsWith("rfc2217://");
  if (!want.length) throw new Error(part === "store" ? `this build runs ${r.engine}: it has no app-image store to write (--engine wasm3)` : `nothing to write for --part ${part}`);
  return [
    // over a socket the baud rate means nothing, and changing it upsets Espressif's QEMU
    "-m", "esptool", "--chip", layout.chip, "--port", port, ...(socket ? [] : ["--baud", String(baud)]),
    // over a socket there are no DTR/RTS lines: the chip must already wait in download mode
    // (and the flasher stub's large blocks stall Espressif's QEMU UART: the ROM loader writes there)
    ...(socket ? ["--before", "no_reset", "--after", "no_reset", "--no-stub"] : ["--before", "default_reset", "--after", "hard_reset"]),
    "write_flash", ...layout.settings,
    ...want.flatMap((p) => [`0x${p.offset.toString(16)}`, path.join(r.dir, "parts", p.file)]),
  ];
}

export function flash(r: BuildResult, port: string, part: FlashPart, baud: number): number {
  checkPort(port);
  const py = needEsptool();
  const args = flashArgs(r, port, part, baud);
  process.stderr.write(`mote flash: ${py} ${args.join(" ")}\n`);
  const res = spawnSync(py, args, { stdio: ["ignore", "inherit", "inherit"] });
  if (res.status !== 0) process.stderr.write(`mote flash: esptool failed (exit ${res.status}): is the board in download mode, and ${port} the right port?\n`);
  return res.status === null ? 1 : res.status;
}

/** Copies the device's console to stdout (and stdin to the device) until
 *  the port closes or we are stopped; `until` ends it early once a line
 *  matches. */
export function monitor(port: string, baud: number, opts: { until?: RegExp; timeoutMs?: number } = {}): Promise<number> {
  checkPort(port);
  return new Promise((resolve) => {
    let buf = "";
    const done = (code: number) => {
      clearTimeout(timer);
      resolve(code);
    };
    const timer = opts.timeoutMs ? setTimeout(() => done(1), opts.timeoutMs) : undefined;
    const out = (d: Buffer) => {
      process.stdout.write(d);
      buf = (buf + d.toString("latin1")).slice(-4096);
      if (opts.until && opts.until.test(buf)) done(0);
    };
    const m = /^socket:\/\/([^:/]+):(\d+)$/.exec(port);
    if (m) {
      const s = net.connect(Number(m[2]), m[1]);
      s.on("data", out);
      s.on("error", (e) => {
        process.stderr.write(`mote monitor: ${port}: ${e.message}\n`);
        done(1);
      });
      s.on("close", () => done(0));
      process.stdin.on("data", (d) => s.write(d));
      return;
    }
    // a serial device: pyserial (esptool's dependency) opens it at the baud rate
    const py = needEsptool();
    const p = spawn(py, ["-c", "import serial,sys,threading\n" +
      "s=serial.serial_for_url(sys.argv[1], int(sys.argv[2]), timeout=0.1)\n" +
      "threading.Thread(target=lambda: [s.write(c) for c in iter(lambda: sys.stdin.buffer.read1(64), b'')], daemon=True).start()\n" +
      "while True:\n  d=s.read(256)\n  if d: sys.stdout.buffer.write(d); sys.stdout.buffer.flush()\n", port, String(baud)],
    { stdio: ["pipe", "pipe", "inherit"] });
    p.stdout!.on("data", out);
    process.stdin.pipe(p.stdin!);
    p.on("exit", (c) => done(c ?? 1));
  });
}
