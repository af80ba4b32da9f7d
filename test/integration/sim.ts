// Starts the real simulator binary for integration tests, on 127.0.0.1 and a
// free port, and waits for its "listening on" line.
import { spawn, ChildProcess } from "child_process";
import * as net from "net";
import * as path from "path";
import { build } from "../../tools/build";
import { loadBoard, Board } from "../../tools/boards";
import { QEMU, qemuArgs, waitForHttp, stopQemu } from "../../tools/qemu";

export const ROOT = path.resolve(__dirname, "../..");

/** The engine the suites run the simulator on: MOTE_ENGINE (set by the
 *  jest project of each engine, see jest.config.js), else the board's. */
export const ENGINE: string | undefined = process.env.MOTE_ENGINE || undefined;

/** test-artifacts/<name>, with "-<engine>" appended when the suites run on
 *  an engine other than the board's default, so both runs keep their files. */
export function artifactsDir(name: string): string {
  return path.join(ROOT, "test-artifacts", ENGINE && ENGINE !== "wasm2c" ? `${name}-${ENGINE}` : name);
}

/** The board the suites run against: MOTE_BOARD (set by the "mps2" jest
 *  project, see test/board-mps2.js), else the Linux simulator. With a QEMU
 *  board, Sim.start() boots its firmware (built for the same app) and talks
 *  to it through slirp's port forward on 127.0.0.1. */
export const BOARD: string = process.env.MOTE_BOARD || "linux";
export const ON_BOARD = BOARD !== "linux";

/** The limits of the board the suites run against (boards/<BOARD>.json). */
export function boardLimits(): Board["limits"] {
  return loadBoard(BOARD).limits;
}

/** Pause between connects on a QEMU board: slirp's listen backlog is 1, so
 *  a connect racing the previous one's accept stalls on SYN retries. */
export const pace = (): Promise<void> => new Promise((r) => setTimeout(r, ON_BOARD ? 30 : 0));

export function simBinary(app = "app/demo.ts", engine = ENGINE): string {
  return build({ board: "linux", app, engine, quiet: true }).binary;
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

export class Sim {
  proc!: ChildProcess;
  port = 0;
  host = "127.0.0.1";
  stdout = "";
  stderr = "";
  exited: Promise<{ code: number | null; signal: string | null }> = Promise.resolve({ code: null, signal: null });

  static async start(opts: { app?: string; args?: string[]; iface?: string; shell?: string; engine?: string } = {}): Promise<Sim> {
    if (ON_BOARD) return Sim.startBoard(opts);
    const s = new Sim();
    const bin = simBinary(opts.app, opts.engine || ENGINE);
    s.port = await freePort();
    s.host = opts.iface || "127.0.0.1";
    const args = ["--port", String(s.port), "--iface", s.host, ...(opts.args || [])];
    s.proc = opts.shell
      ? spawn("bash", ["-c", `${opts.shell}; exec "$0" "$@"`, bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })
      : spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    s.exited = new Promise((resolve) => s.proc.on("exit", (code, signal) => resolve({ code, signal })));
    s.proc.stderr!.on("data", (d) => (s.stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`simulator did not start: ${s.stderr}`)), 10000);
      s.proc.stdout!.on("data", (d) => {
        s.stdout += d.toString();
        if (/listening on http:\/\//.test(s.stdout)) {
          clearTimeout(timer);
          resolve();
        }
      });
      s.proc.on("exit", () => {
        clearTimeout(timer);
        reject(new Error(`simulator exited early: ${s.stderr}`));
      });
    });
    return s;
  }

  /** Boots the QEMU board's firmware built for opts.app; the UART log and
   *  QEMU's messages go to .stderr. */
  static async startBoard(opts: { app?: string; args?: string[]; iface?: string; shell?: string; engine?: string }): Promise<Sim> {
    if (opts.args || opts.iface || opts.shell || opts.engine)
      throw new Error(`Sim.start on board ${BOARD}: args/iface/shell/engine are simulator-only`);
    const board = loadBoard(BOARD);
    const elf = build({ board: BOARD, app: opts.app, quiet: true }).binary;
    const s = new Sim();
    s.port = await freePort();
    s.proc = spawn(QEMU, qemuArgs(board, elf, s.port), { stdio: ["pipe", "pipe", "pipe"] });
    s.proc.stdin!.on("error", () => {});
    s.exited = new Promise((resolve) => s.proc.on("exit", (code, signal) => resolve({ code, signal })));
    s.proc.stdout!.on("data", (d) => (s.stderr += d.toString()));
    s.proc.stderr!.on("data", (d) => (s.stderr += d.toString()));
    const alive = () => s.proc.exitCode === null && s.proc.signalCode === null;
    if (!(await waitForHttp(s.port, { attempts: 60, intervalMs: 200, alive }))) {
      s.proc.kill("SIGKILL");
      throw new Error(`board ${BOARD} did not answer HTTP on port ${s.port}:\n${s.stderr}`);
    }
    s.stdout = `listening on ${s.url}/\n`;
    return s;
  }

  get url(): string {
    const h = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `http://${h}:${this.port}`;
  }
  get wsUrl(): string {
    return this.url.replace(/^http/, "ws");
  }

  /** Sends SIGTERM (a QEMU board: console 'q') and waits for the exit. */
  async stop(): Promise<{ code: number | null; signal: string | null }> {
    if (ON_BOARD) {
      // console 'q': graceful shutdown, semihosting exit 0
      await stopQemu(this.proc, 6000);
      return this.exited;
    }
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 8000);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }

  /** Waits until stderr matches re (bounded). */
  async waitLog(re: RegExp, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!re.test(this.stderr)) {
      if (Date.now() > end) throw new Error(`log ${re} not seen in:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
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
