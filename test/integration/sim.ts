// The one launcher of the integration and board suites: starts the target
// the tests talk to and waits until it serves, on 127.0.0.1 and a free port.
//
//   the Linux simulator   the real binary of `mote build --board linux`;
//                         ready when it prints "listening on http://..."
//   a QEMU board          its firmware (`mote build --board B`) booted in
//                         QEMU, device port 80 forwarded by slirp; ready
//                         when it answers HTTP (slirp accepts the host side
//                         before the guest does, so only an answer counts)
//
// Sim.start() picks the board from MOTE_BOARD (set by the "mps2" jest
// project's target, test/target.js), else the simulator; start({ board }) names
// one (test/qemu/board.ts: QemuBoard.start()). stop() is SIGTERM for the
// simulator and console 'q' for a board (graceful shutdown, semihosting
// exit 0); both end in the process's exit status, bounded.
//
// New suites for either target: `const t = await Sim.start({ app })`, then
// t.url / t.wsUrl / t.port, t.stderr (the simulator's log, or the board's
// console and QEMU's messages), t.waitLog(re), t.stop(). On a board, pace
// connects (pace(), or sleep(PACE_MS)): slirp's listen backlog is 1.
import { spawn, ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import WebSocket from "ws";
import { build } from "../../tools/build";
import { boardTlsWords } from "../../tools/tls";
import { loadBoard, Board, isEsp32Board } from "../../tools/boards";
import { qemuArgs, qemuBinary, waitForHttp, stopQemu } from "../../tools/qemu";
import { DEFAULT_KEY_FILE, ensureStoreFile, readKey } from "../../tools/image";
import { esp32Settings, writeEsp32Settings } from "../../tools/build-esp32";

export const ROOT = path.resolve(__dirname, "../..");

/** The engine the suites run the simulator on: MOTE_ENGINE (set from the
 *  jest project's target, see jest.config.js and test/target.js), else the
 *  board's. */
export const ENGINE: string | undefined = process.env.MOTE_ENGINE || undefined;

/** The simulator is the portable build (MOTE_PORTABLE=1): the BSD-socket
 *  port on POSIX calls and poll(2) only, no epoll, accept4 or
 *  TCP_USER_TIMEOUT (platform/posix/arch_posix.h), the configuration
 *  ESP-IDF's lwIP sockets get. */
export const PORTABLE: boolean = process.env.MOTE_PORTABLE === "1";

/** test-artifacts/<name>, with "-<engine>" appended when the suites run on
 *  an engine other than the board's default, so both runs keep their files. */
export function artifactsDir(name: string): string {
  return path.join(ROOT, "test-artifacts", ENGINE && ENGINE !== "wasm2c" ? `${name}-${ENGINE}` : name);
}


/** The board the suites run against: MOTE_BOARD (set by the "mps2" jest
 *  project's target, see test/target.js), else the Linux simulator. With a QEMU
 *  board, Sim.start() boots its firmware (built for the same app) and talks
 *  to it through slirp's port forward on 127.0.0.1. */
export const BOARD: string = process.env.MOTE_BOARD || "linux";
export const ON_BOARD = BOARD !== "linux";

/** The limits of the board the suites run against (boards/<BOARD>.json). */
export function boardLimits(): Board["limits"] {
  return loadBoard(BOARD).limits;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pause between connects to a QEMU board: slirp's listen backlog is 1, so
 *  a connect racing the previous one's accept stalls on SYN retries. */
export const PACE_MS = 30;
/** pace() between connects: PACE_MS on a QEMU board, nothing on the simulator. */
export const pace = (): Promise<void> => sleep(ON_BOARD ? PACE_MS : 0);

/** The simulator build the suites run (their engine and PORTABLE). */
export function simBuild(app = "app/demo.ts", engine = ENGINE) {
  return build({ board: "linux", app, engine, portable: PORTABLE, quiet: true });
}

export function simBinary(app = "app/demo.ts", engine = ENGINE): string {
  return simBuild(app, engine).binary;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on("error", reject);
  });
}

export type Exit = { code: number | null; signal: string | null };

export interface StartOptions {
  /** AssemblyScript app the target is built for (default app/demo.ts). */
  app?: string;
  /** boards/<board>.json; default BOARD (MOTE_BOARD, else linux). */
  board?: string;
  /** lwIP boards: the firmware variant that leases its address by DHCP
   *  (`mote build --board B --dhcp`) instead of the board file's static one. */
  dhcp?: boolean;
  engine?: string; // wasm2c or wasm3 (default ENGINE, else the board's)
  // a QEMU board only:
  firmwareArgs?: string[]; // more words on the firmware's semihosting command line
  qemuArgs?: string[]; // more QEMU options, e.g. ["-monitor", "unix:PATH,server=on,wait=off"]
  // the simulator only:
  args?: string[]; // extra command-line flags
  iface?: string; // address to bind (default 127.0.0.1)
  port?: number; // port to listen on (default: a free one)
  shell?: string; // bash run before exec, e.g. "ulimit -n 24"
  prefix?: string[]; // a command the binary runs under, e.g. ["ip", "netns", "exec", NS]
  /** wasm3: the app-image store file, the device's flash (provisioned from
   *  the app's build when missing; it persists across starts: a restart is
   *  a power cycle). Default: the simulator loads the module file; a board
   *  gets a fresh copy of the build's store. */
  flash?: string;
  /** TLS on the listener (`mote-sim --tls`): true for the test certificates,
   *  or the simulator's --tls-* flags (they imply --tls); url/wsUrl are then
   *  https:// and wss://. On a QEMU board: the firmware built with --tls,
   *  started with the test ECDSA certificate (true), or with these firmware
   *  words (a string[]: boardTlsWords() from tools/tls.ts and more). [] on
   *  either: TLS built in, none asked for on the command line (the app's
   *  vhost asks, Vhost.setTls). */
  tls?: boolean | string[];
  /** Ports of vhosts other than the default one that the test reaches
   *  (hostPort(p) then names where): the simulator binds each to a free
   *  port (--port-map P=0); a QEMU board gets a forward from a free host
   *  port. */
  ports?: number[];
}

export class Sim {
  proc!: ChildProcess;
  board!: Board;
  port = 0;
  host = "127.0.0.1";
  /** The listener speaks TLS (StartOptions.tls). */
  tls = false;
  /** StartOptions.ports: a vhost's port -> the host port that reaches it. */
  private hostPorts = new Map<number, number>();
  /** The simulator's stdout; on a board, the "listening on" line once it answered. */
  stdout = "";
  /** The simulator's log; on a board, its console (UART) and QEMU's messages. */
  stderr = "";
  exited: Promise<Exit> = Promise.resolve({ code: null, signal: null });

  /** The target's log (test/qemu's name for .stderr). */
  get log(): string {
    return this.stderr;
  }
  get onBoard(): boolean {
    return !!this.board.qemu;
  }
  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** A device that runs already (hil/run.ts: MOTE_DEVICE is its URL): the
   *  suites attach to it instead of booting one. Its console is the log
   *  file the harness writes (MOTE_DEVICE_LOG), followed by `tail`, whose
   *  process stands for the attachment; console() appends to the file the
   *  harness forwards (MOTE_DEVICE_INPUT); stop() detaches. */
  attached = false;

  private static attach(): Sim {
    const s = new Sim();
    const u = new URL(process.env.MOTE_DEVICE!);
    s.board = loadBoard(BOARD);
    s.host = u.hostname;
    s.port = Number(u.port || 80);
    s.attached = true;
    s.launch("tail", ["-c", "+1", "-f", process.env.MOTE_DEVICE_LOG || "/dev/null"], true);
    return s;
  }

  static async start(opts: StartOptions = {}): Promise<Sim> {
    if (process.env.MOTE_DEVICE) {
      const flashed = process.env.MOTE_DEVICE_APP || "app/demo.ts";
      if ((opts.app || "app/demo.ts") !== flashed)
        throw new Error(`Sim.start: the attached device runs ${flashed}, not ${opts.app || "app/demo.ts"}`);
      const s = Sim.attach();
      if (!(await waitForHttp(s.port, { attempts: 50, intervalMs: 200, host: s.host })))
        return s.fail(`the device at ${process.env.MOTE_DEVICE} does not answer HTTP`);
      return s;
    }
    const s = new Sim();
    s.board = loadBoard(opts.board || BOARD);
    s.port = opts.port || (await freePort());
    if (s.board.qemu) {
      const simOnly = (["args", "iface", "port", "shell", "prefix"] as const).filter((k) => opts[k] !== undefined);
      if (simOnly.length) throw new Error(`Sim.start on board ${s.board.name}: ${simOnly.join("/")} are simulator-only`);
      // tls: the firmware built with TLS, given the test certificate (and any
      // more firmware words, e.g. ["--tls-ciphers", LIST])
      s.tls = !!opts.tls;
      const r = build({ board: s.board.name, app: opts.app, dhcp: opts.dhcp, engine: opts.engine || ENGINE, quiet: true, tls: s.tls });
      const esp = isEsp32Board(s.board);
      if (esp && opts.flash) throw new Error(`Sim.start: flash is not supported on ${s.board.name} yet`);
      let flash: string | undefined;
      if (r.flash) {
        flash = opts.flash || path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mote-flash-")), "flash.bin");
        if (!opts.flash) fs.copyFileSync(r.flash, flash);
        else ensureStoreFile(flash, s.board, fs.readFileSync(r.wasm), readKey());
      } else if (opts.flash) throw new Error(`Sim.start: flash needs the wasm3 engine (this build runs ${r.engine})`);
      const fw = [...(opts.firmwareArgs || []), ...(opts.tls === true ? boardTlsWords() : opts.tls || [])];
      // an ESP32 reads these settings from NVS at start (tools/build-esp32.ts)
      if (esp && fw.length) writeEsp32Settings(flash!, esp32Settings(fw));
      const forwards: Record<number, number> = {};
      for (const p of opts.ports || []) forwards[p] = await freePort();
      // an ESP32 boots from a copy of its whole flash image (QEMU writes to it)
      const qargs = esp
        ? qemuArgs(s.board, flash!, s.port, "127.0.0.1", { forwards })
        : qemuArgs(s.board, r.binary, s.port, "127.0.0.1", { flash, firmwareArgs: fw.length ? fw : undefined, forwards });
      for (const [p, h] of Object.entries(forwards)) s.hostPorts.set(+p, h);
      s.launch(qemuBinary(s.board), [...qargs, ...(opts.qemuArgs || [])], true);
      // a throw-away copy of the store goes with the board's process
      if (flash && !opts.flash) s.exited.then(() => fs.rmSync(path.dirname(flash!), { recursive: true, force: true }));
      // an ESP32 in Espressif's QEMU: the boot, the PHY and DHCP take seconds
      if (!(await waitForHttp(s.port, { attempts: esp ? 150 : 60, intervalMs: 200, alive: () => s.alive, tls: s.tls })))
        return s.fail(`board ${s.board.name} did not answer HTTP on port ${s.port}`);
      // the board, not something else on the port, is answering
      if (!new RegExp(`mote on ${s.board.name} `).test(s.stderr)) return s.fail(`no "mote on ${s.board.name}" on the console`);
      s.stdout = `listening on ${s.url}/\n`;
    } else {
      if (opts.dhcp || opts.firmwareArgs || opts.qemuArgs) throw new Error("Sim.start: dhcp/firmwareArgs/qemuArgs are for QEMU boards");
      const bin = simBinary(opts.app, opts.engine || ENGINE);
      s.host = opts.iface || "127.0.0.1";
      const args = ["--port", String(s.port), "--iface", s.host, ...(opts.ports || []).flatMap((p) => ["--port-map", `${p}=0`]),
        ...(opts.args || [])];
      if (opts.tls) {
        s.tls = true;
        args.push(...(opts.tls === true ? ["--tls"] : opts.tls));
      }
      if (opts.flash) {
        const r = simBuild(opts.app, opts.engine || ENGINE);
        if (r.engine !== "wasm3") throw new Error(`Sim.start: flash needs the wasm3 engine (this build runs ${r.engine})`);
        ensureStoreFile(opts.flash, s.board, fs.readFileSync(r.wasm), readKey());
        args.push("--flash", opts.flash, "--image-key", DEFAULT_KEY_FILE);
      }
      const cmd = opts.shell ? ["bash", "-c", `${opts.shell}; exec "$0" "$@"`, bin, ...args] : [bin, ...args];
      if (opts.prefix) cmd.unshift(...opts.prefix);
      s.launch(cmd[0], cmd.slice(1), false);
      const end = Date.now() + 10000;
      while (!/listening on https?:\/\//.test(s.stdout)) {
        if (!s.alive) return s.fail("simulator exited early");
        if (Date.now() > end) return s.fail("simulator did not start");
        await sleep(20);
      }
      // where the mapped vhost ports were bound (the log names each; stderr
      // may come in after stdout's announcement)
      for (;;) {
        for (const m of s.stderr.matchAll(/listening on \S+ port (\d+) \(listener \d+, asked for (\d+)/g)) s.hostPorts.set(+m[2], +m[1]);
        if ((opts.ports || []).every((p) => s.hostPorts.has(p))) break;
        if (Date.now() > end) return s.fail(`no listener for vhost ports ${opts.ports}`);
        await sleep(20);
      }
    }
    return s;
  }

  /** Spawns the target; its output goes to .stdout/.stderr (a board's
   *  console, on QEMU's stdout, to .stderr with QEMU's own messages). */
  private launch(cmd: string, args: string[], board: boolean): void {
    this.proc = spawn(cmd, args, { stdio: [board ? "pipe" : "ignore", "pipe", "pipe"] });
    this.proc.stdin?.on("error", () => {}); // the board gone: nothing to ask
    this.exited = new Promise((resolve) => this.proc.on("exit", (code, signal) => resolve({ code, signal })));
    this.proc.stdout!.on("data", (d) => (board ? (this.stderr += d.toString()) : (this.stdout += d.toString())));
    this.proc.stderr!.on("data", (d) => (this.stderr += d.toString()));
  }

  private async fail(why: string): Promise<never> {
    this.proc.kill("SIGKILL");
    await this.exited;
    throw new Error(`${why}:\n${this.stderr}`);
  }

  /** The host port that reaches vhost port p (StartOptions.ports). */
  hostPort(p: number): number {
    const h = this.hostPorts.get(p);
    if (h === undefined) throw new Error(`Sim: no host port for vhost port ${p} (StartOptions.ports)`);
    return h;
  }

  /** The process id of the simulator (of QEMU on a board). */
  get pid(): number {
    return this.proc.pid || 0;
  }

  get url(): string {
    const h = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `${this.tls ? "https" : "http"}://${h}:${this.port}`;
  }
  get wsUrl(): string {
    return this.url.replace(/^http/, "ws");
  }

  /** Sends SIGTERM (a QEMU board: console 'q') and waits for the exit,
   *  killing the process when it takes too long. */
  async stop(): Promise<Exit> {
    if (this.attached) {
      this.proc.kill("SIGTERM");
      await this.exited;
      return { code: 0, signal: null }; // the device goes on serving
    }
    if (this.onBoard) {
      await stopQemu(this.proc, 6000);
      return this.exited;
    }
    if (this.alive) this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 8000);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }

  /** Types on a board's console (its commands: 'q' stop, 'm' memory, 'f' fault injection). */
  console(text: string): void {
    if (!this.onBoard) throw new Error("console: a QEMU board only");
    if (this.attached) fs.appendFileSync(process.env.MOTE_DEVICE_INPUT!, text);
    else this.proc.stdin!.write(text);
  }

  /** Waits until the log matches re (bounded); resolves to the time it did. */
  async waitLog(re: RegExp, ms = 5000): Promise<number> {
    const end = Date.now() + ms;
    while (!re.test(this.stderr)) {
      if (Date.now() > end) throw new Error(`log ${re} not seen within ${ms} ms in:\n${this.stderr}`);
      await sleep(10);
    }
    return Date.now();
  }
}

/** One target for a whole test file: started by beforeAll, stopped by
 *  afterAll (both bounded); `got` receives it once it serves. */
export function perFile<T extends Sim>(start: () => Promise<T>, got: (t: T) => void): void {
  let t: T | undefined;
  beforeAll(async () => got((t = await start())), 60000);
  afterAll(async () => {
    if (t) await t.stop();
  }, 15000);
}

/** Opens a WebSocket (bounded); rejects on error or when the peer closes it first. */
export function wsOpen(url: string, protocol?: string, ms = 8000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocol);
    const t = setTimeout(() => {
      ws.terminate();
      reject(new Error("WebSocket open timed out"));
    }, ms);
    ws.once("open", () => {
      clearTimeout(t);
      resolve(ws);
    });
    ws.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
    ws.once("close", (code) => {
      clearTimeout(t);
      reject(new Error(`closed before open (${code})`));
    });
  });
}

/** The next message on ws (bounded). */
export function nextMessage(ws: WebSocket, ms = 5000): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no message")), ms);
    ws.once("message", (data: Buffer, binary: boolean) => {
      clearTimeout(t);
      resolve({ data, binary });
    });
  });
}

/** Sends text and resolves to the next message as text (bounded). */
export async function echoOnce(ws: WebSocket, text: string, ms = 3000): Promise<string> {
  const m = nextMessage(ws, ms);
  ws.send(text);
  return (await m).data.toString();
}

/** Closes every socket (an opening one is dropped) and waits until each is
 *  closed, terminating those that take longer than ms. */
export async function closeAll(sockets: WebSocket[], ms = 2000): Promise<void> {
  await Promise.all(
    sockets.map((ws) => {
      if (ws.readyState === WebSocket.CLOSED) return;
      return new Promise<void>((resolve) => {
        const t = setTimeout(() => ws.terminate(), ms);
        ws.once("close", () => {
          clearTimeout(t);
          resolve();
        });
        if (ws.readyState === WebSocket.OPEN) ws.close();
        else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      });
    }),
  );
}

/** Resolves to the close code (1006 when already closed), bounded. */
export function closed(ws: WebSocket, ms = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve(1006);
    const t = setTimeout(() => reject(new Error("no close")), ms);
    ws.once("close", (code: number) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

/** Raw TCP exchange: writes `data` (optionally in pieces with pauses) and
 *  collects everything until the server closes or `ms` pass. */
export function rawExchange(port: number, data: (string | Buffer)[] | string, ms = 3000, host = "127.0.0.1"): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ data: Buffer.concat(chunks), closed });
    }, ms);
    sock.on("data", (d) => chunks.push(d));
    sock.on("end", () => {
      closed = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(chunks), closed });
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      if ((e as any).code === "ECONNRESET") resolve({ data: Buffer.concat(chunks), closed: true });
      else reject(e);
    });
    sock.on("connect", async () => {
      const parts = typeof data === "string" ? [data] : data;
      for (const p of parts) {
        sock.write(p);
        if (parts.length > 1) await new Promise((r) => setTimeout(r, 5));
      }
    });
  });
}
