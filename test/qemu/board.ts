// Boots the mps2-an386 firmware in QEMU for the board tests: a free host
// port forwarded to the device's port 80, the UART log collected, and a
// graceful stop (console 'q' -> semihosting exit 0).
//
// slirp listens on the forwarded port with a backlog of 1: bursts of
// simultaneous connects stall for seconds on SYN retries, so the helpers
// here connect one at a time (pace()).
import { spawn, ChildProcess } from "child_process";
import WebSocket from "ws";
import { build } from "../../tools/build";
import { loadBoard, Board } from "../../tools/boards";
import { QEMU, qemuArgs, waitForHttp, stopQemu } from "../../tools/qemu";
import { freePort } from "../integration/sim";

export const BOARD = "mps2-an386";

export function firmware(): string {
  return build({ board: BOARD, quiet: true }).binary;
}

export class QemuBoard {
  proc!: ChildProcess;
  board!: Board;
  port = 0;
  log = "";
  exited: Promise<{ code: number | null; signal: string | null }> = Promise.resolve({ code: null, signal: null });

  static async start(): Promise<QemuBoard> {
    const b = new QemuBoard();
    b.board = loadBoard(BOARD);
    const elf = firmware();
    b.port = await freePort();
    b.proc = spawn(QEMU, qemuArgs(b.board, elf, b.port), { stdio: ["pipe", "pipe", "pipe"] });
    b.proc.stdin!.on("error", () => {});
    b.exited = new Promise((resolve) => b.proc.on("exit", (code, signal) => resolve({ code, signal })));
    b.proc.stdout!.on("data", (d) => (b.log += d.toString()));
    b.proc.stderr!.on("data", (d) => (b.log += d.toString()));
    const alive = () => b.proc.exitCode === null && b.proc.signalCode === null;
    if (!(await waitForHttp(b.port, { attempts: 60, intervalMs: 200, alive }))) {
      b.proc.kill("SIGKILL");
      throw new Error(`the board did not answer HTTP on port ${b.port}:\n${b.log}`);
    }
    return b;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Graceful stop; resolves to QEMU's exit. */
  async stop(): Promise<{ code: number | null; signal: string | null }> {
    await stopQemu(this.proc, 6000);
    return this.exited;
  }

  async waitLog(re: RegExp, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!re.test(this.log)) {
      if (Date.now() > end) throw new Error(`log ${re} not seen in:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A short pause between connects (slirp's backlog is 1). */
export const pace = () => new Promise((r) => setTimeout(r, 30));

/** Opens a WebSocket (bounded); rejects on error or when the board closes it. */
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

export function nextMessage(ws: WebSocket, ms = 5000): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no message")), ms);
    ws.once("message", (data: Buffer, binary: boolean) => {
      clearTimeout(t);
      resolve({ data, binary });
    });
  });
}

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
