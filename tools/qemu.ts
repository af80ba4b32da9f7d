// `mote qemu`: boot a board's firmware in QEMU with user networking, the
// device's HTTP port forwarded to 127.0.0.1:PORT.
//
// - The board's UART (QEMU's stdout with -nographic) is copied to stderr.
// - "listening on http://127.0.0.1:PORT/" goes to stdout once the board
//   answers an HTTP request on the forwarded port (slirp accepts the host
//   side of a connection before the guest does, so only an answer counts).
// - SIGINT/SIGTERM: a 'q' on the console asks the firmware for a graceful
//   shutdown (WebSocket peers get close 1001); it leaves QEMU through
//   semihosting with status 0. QEMU is killed when that takes too long.
import { spawn, ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as tls from "tls";
import { Board, isEsp32Board } from "./boards";
import { esp32Chain } from "./build-esp32";

export const QEMU = "qemu-system-arm";

/** The QEMU binary that boots a board: Espressif's for the ESP32 boards. */
export function qemuBinary(board: Board): string {
  if (!isEsp32Board(board)) return QEMU;
  const c = esp32Chain();
  return board.esp32?.target === "esp32c3" ? c.qemuRiscv : c.qemuXtensa;
}

/** The eFuse block of a blank chip as Espressif's QEMU expects it (the
 *  chip revision is all that is set: ESP32 rev 3, ESP32-C3 rev 0.3). */
export function blankEfuse(target: string): Buffer {
  if (target === "esp32c3") {
    const b = Buffer.alloc(1024);
    b[38] = 0x0c;
    return b;
  }
  const b = Buffer.alloc(124);
  b[13] = 0x80;
  b[22] = 0x10;
  return b;
}

/** Arguments that boot an ESP32 board from its flash image `flash` (which
 *  QEMU writes to: the board's flash, kept across boots). -no-reboot: a
 *  software restart (the firmware's after a console 'q') ends QEMU. */
function esp32QemuArgs(board: Board, flash: string, port: number, host: string, opts: QemuOptions): string[] {
  const target = board.esp32!.target;
  const efuse = path.join(path.dirname(path.resolve(flash)), `${target}-efuse.bin`);
  if (!fs.existsSync(efuse)) fs.writeFileSync(efuse, blankEfuse(target));
  const nic = [`user,model=open_eth,id=n0,hostfwd=tcp:${host}:${port}-:${board.qemu!.devicePort}`,
    ...Object.entries(opts.forwards || {}).map(([dev, h]) => `hostfwd=tcp:${host}:${h}-:${dev}`)].join(",");
  return [
    "-M", board.qemu!.machine, ...(target === "esp32" ? ["-m", "4M"] : []), "-nographic", "-no-reboot",
    "-drive", `file=${qarg(flash)},if=mtd,format=raw`,
    "-drive", `file=${qarg(efuse)},if=none,format=raw,id=efuse`,
    "-global", `driver=nvram.${target}.efuse,property=drive,value=efuse`,
    "-global", `driver=timer.${target}.timg,property=wdt_disable,value=true`,
    "-nic", nic,
  ];
}

export interface QemuOptions {
  /** wasm3 firmware: the app-image store file. QEMU loads it into the
   *  board's store region at power-on and the firmware writes every change
   *  through to it (platform/qemu-mps2/flash.c): it is the board's flash. */
  flash?: string;
  /** More words for the firmware's semihosting command line. */
  firmwareArgs?: string[];
  /** The firmware serves TLS (built with --tls, started with --tls): the
   *  readiness probe speaks TLS and the URL is https://. */
  tls?: boolean;
  /** More of the device's ports to forward: device port -> host port on
   *  the same address (vhosts on ports of their own). */
  forwards?: Record<number, number>;
}

/** QEMU's option syntax doubles commas inside a value. */
const qarg = (v: string) => v.replace(/,/g, ",,");

export function qemuArgs(board: Board, elf: string, port: number, host = "127.0.0.1", opts: QemuOptions = {}): string[] {
  if (!board.qemu) throw new Error(`board '${board.name}' does not run under QEMU`);
  if (isEsp32Board(board)) return esp32QemuArgs(board, elf, port, host, opts);
  const words = ["mote", ...(opts.firmwareArgs || [])];
  const extra: string[] = [];
  if (opts.flash) {
    if (!board.imageStore?.origin) throw new Error(`board '${board.name}' has no image store region`);
    if (/\s/.test(opts.flash)) throw new Error(`the flash file path must not contain spaces: ${opts.flash}`);
    extra.push("-device", `loader,file=${qarg(opts.flash)},addr=${board.imageStore.origin},force-raw=on`);
    words.push("--flash", opts.flash);
  }
  return [
    "-M", board.qemu.machine, "-nographic",
    "-semihosting-config", ["enable=on", "target=native", ...words.map((w) => `arg=${qarg(w)}`)].join(","),
    "-kernel", elf, ...extra,
    // the first -nic of mps2-an386 is its LAN9118
    "-nic", [`user,id=n0,hostfwd=tcp:${host}:${port}-:${board.qemu.devicePort}`,
      ...Object.entries(opts.forwards || {}).map(([dev, h]) => `hostfwd=tcp:${host}:${h}-:${dev}`)].join(","),
  ];
}

/** One HTTP GET of `/` on host:port: true when an HTTP status line comes back. */
export function httpAnswers(port: number, host = "127.0.0.1", timeoutMs = 2000, overTls = false): Promise<boolean> {
  return new Promise((resolve) => {
    // over TLS the probe only asks "does it serve?": the certificate is the
    // tests' business (they verify it against the test CA)
    const s = overTls ? tls.connect({ port, host, rejectUnauthorized: false, servername: "localhost" }) : net.connect(port, host);
    let got = "";
    const done = (ok: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.on(overTls ? "secureConnect" : "connect", () => s.write(`GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`));
    s.on("data", (d) => {
      got += d.toString("latin1");
      if (/^HTTP\/1\.[01] \d{3} /.test(got)) done(true);
    });
    s.on("error", () => done(false));
    s.on("close", () => done(/^HTTP\/1\.[01] \d{3} /.test(got)));
  });
}

/** Polls until the board answers HTTP (bounded); false when it never did. */
export async function waitForHttp(port: number, opts: { attempts?: number; intervalMs?: number; alive?: () => boolean; tls?: boolean; host?: string } = {}): Promise<boolean> {
  const attempts = opts.attempts ?? 40;
  for (let i = 0; i < attempts; i++) {
    if (opts.alive && !opts.alive()) return false;
    if (await httpAnswers(port, opts.host || "127.0.0.1", opts.tls ? 5000 : 2000, !!opts.tls)) return true;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
  return false;
}

/** Asks the firmware to shut down (console 'q'); kills QEMU after graceMs. */
export function stopQemu(proc: ChildProcess, graceMs = 6000): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const kill1 = setTimeout(() => proc.kill("SIGTERM"), graceMs);
    const kill2 = setTimeout(() => proc.kill("SIGKILL"), graceMs + 3000);
    proc.once("exit", () => {
      clearTimeout(kill1);
      clearTimeout(kill2);
      resolve();
    });
    try {
      proc.stdin?.write("q");
    } catch {
      proc.kill("SIGTERM");
    }
  });
}

export async function runQemu(board: Board, elf: string, port: number, opts: QemuOptions = {}): Promise<number> {
  // Its own process group: a Ctrl-C in the terminal reaches only us, and we
  // ask the firmware to stop instead of QEMU dying at once.
  const proc = spawn(qemuBinary(board), qemuArgs(board, elf, port, "127.0.0.1", opts), { stdio: ["pipe", "pipe", "pipe"], detached: true });
  const reap = () => proc.kill("SIGKILL");
  process.on("exit", reap);
  proc.stdin!.on("error", () => {}); // QEMU gone: nothing to ask
  // the board's console, and QEMU's own messages, go to our stderr
  proc.stdout!.on("data", (d) => process.stderr.write(d));
  proc.stderr!.on("data", (d) => process.stderr.write(d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    proc.on("exit", (code, signal) => resolve({ code, signal })),
  );
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    void stopQemu(proc);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const up = await waitForHttp(port, { alive: () => proc.exitCode === null && proc.signalCode === null, tls: opts.tls });
    if (up && !stopping) {
      process.stdout.write(`listening on ${opts.tls ? "https" : "http"}://127.0.0.1:${port}/\n`);
    } else if (!up && !stopping) {
      process.stderr.write(`mote qemu: the board did not answer HTTP on 127.0.0.1:${port}; stopping it\n`);
      await stopQemu(proc, 2000);
      await exited;
      return 1;
    }
    const r = await exited;
    // exit 0 after a requested stop, whether the firmware left through
    // semihosting (status 0) or QEMU had to be terminated
    if (stopping) return r.code === 0 || r.signal === "SIGTERM" || r.signal === "SIGKILL" || r.code === null ? 0 : r.code;
    return r.code === null ? 1 : r.code;
  } finally {
    process.off("exit", reap);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
