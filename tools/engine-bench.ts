// What the interpreter costs: the same echo load against the Linux simulator
// on wasm2c and on wasm3, in the same run, and the size of both binaries.
//
//   npx tsx tools/engine-bench.ts [--messages N] [--size B] [--batch N] [--app FILE]
//       server CPU per echoed message. Both simulators run at once; the load
//       alternates between them in 10 rounds, so both see the same machine.
//       CPU is the server's own time on CPU (/proc/PID/task/*/schedstat, ns;
//       /proc/PID/stat's utime+stime has only 10 ms ticks), client excluded.
//       With 2 or more CPUs the servers run on CPU 1 and the client on CPU 0
//       (taskset): unpinned, where the scheduler happened to place each
//       server made one binary measured against itself differ by 30%;
//       pinned, by under 7%.
//   npx tsx tools/engine-bench.ts --callgrind [--size B]
//       instructions per echoed message under valgrind's callgrind: two runs
//       per engine (200 and 1200 messages, one at a time), the difference
//       divided by 1000, so start-up (and wasm3's compile) cancels out.
//       MOTE_CALLGRIND_KEEP=PREFIX keeps each run's profile as
//       PREFIX-<name>-<messages>.out (callgrind_annotate reads them).
//   --against DIR (either mode)
//       before/after in the same run: DIR is another checkout of mote (say a
//       worktree of the commit before a change) whose simulators are built
//       (`mote build` and `mote build --engine wasm3` there); its binaries
//       join the run as wasm2c@before and wasm3@before, alternating with
//       this tree's.
//
// The client is a raw WebSocket (masked binary frames, written in bursts of
// --batch); a burst's echoes all arrive before the next burst is written.
import { spawn, execFileSync, ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { build, ROOT } from "./build";
import { frame, cpuNs, freePort } from "./load";

interface Opts {
  messages: number;
  size: number;
  batch: number;
  app?: string;
  callgrind: boolean;
  against?: string;
}

function parse(argv: string[]): Opts {
  const o: Opts = { messages: 300000, size: 32, batch: 100, callgrind: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined || !/^\d+$/.test(x)) throw new Error(`${a} needs a number`);
      return parseInt(x, 10);
    };
    if (a === "--messages") o.messages = v();
    else if (a === "--size") o.size = v();
    else if (a === "--batch") o.batch = v();
    else if (a === "--app") o.app = argv[++i];
    else if (a === "--callgrind") o.callgrind = true;
    else if (a === "--against") {
      o.against = argv[++i];
      if (!o.against) throw new Error("--against needs the folder of another mote checkout");
    }
    else throw new Error(`unknown option ${a}`);
  }
  if (o.size >= 65536) throw new Error("--size must be below 65536");
  return o;
}



/** utime + stime of a process in ms, from /proc/PID/stat (10 ms ticks). */
function statMs(pid: number): number {
  const st = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = st.slice(st.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on
  const hz = 100; // USER_HZ on Linux
  return ((Number(f[11]) + Number(f[12])) * 1000) / hz;
}


/** CPU pinning for the CPU runs (see the header): the server's CPU, or -1. */
let serverCpu = -1;
function pinCpus() {
  if (os.cpus().length < 2) return;
  try {
    execFileSync("taskset", ["-c", "1", "true"], { stdio: "ignore" }); // CPU 1 is ours to use
    execFileSync("taskset", ["-a", "-cp", "0", String(process.pid)], { stdio: "ignore" }); // every thread of Node
    serverCpu = 1;
  } catch {
    process.stderr.write("engine-bench: taskset failed; servers and client unpinned (expect more noise)\n");
  }
}

async function startSim(cmd: string[], port: number): Promise<ChildProcess> {
  const argv = [...cmd, "--port", String(port), "-d", "1"];
  const pinned = serverCpu >= 0 ? ["taskset", "-c", String(serverCpu), ...argv] : argv;
  const proc = spawn(pinned[0], pinned.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${cmd.join(" ")} did not start:\n${err}`)), 120000);
    proc.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("listening on")) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.on("exit", (c) => reject(new Error(`${cmd.join(" ")} exited (${c}):\n${err}`)));
  });
  return proc;
}

/** A WebSocket to the echo protocol that sends bursts and waits for their echoes. */
class Client {
  private sock!: net.Socket;
  private want = 0;
  private got = 0;
  private wake: (() => void) | null = null;

  static async open(port: number): Promise<Client> {
    const c = new Client();
    c.sock = net.connect(port, "127.0.0.1");
    c.sock.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      let head = "";
      c.sock.once("error", reject);
      c.sock.on("connect", () =>
        c.sock.write(
          "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        ),
      );
      const onHead = (d: Buffer) => {
        head += d.toString("latin1");
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        if (!head.startsWith("HTTP/1.1 101")) return reject(new Error(`no upgrade: ${head.slice(0, 80)}`));
        c.sock.off("data", onHead);
        c.got = head.length - end - 4; // echo bytes that came with the head (none expected)
        c.sock.on("data", (x: Buffer) => {
          c.got += x.length;
          if (c.wake && c.got >= c.want) {
            const w = c.wake;
            c.wake = null;
            w();
          }
        });
        resolve();
      };
      c.sock.on("data", onHead);
    });
    return c;
  }

  /** Writes `burst` (n frames) and waits until `echoBytes` more bytes came back. */
  async round(burst: Buffer, echoBytes: number): Promise<void> {
    this.want += echoBytes;
    const done = new Promise<void>((resolve) => {
      if (this.got >= this.want) resolve();
      else this.wake = resolve;
    });
    this.sock.write(burst);
    await done;
  }

  close() {
    this.sock.destroy();
  }
}

function echoFrameBytes(size: number): number {
  return (size < 126 ? 2 : 4) + size;
}

async function load(client: Client, messages: number, size: number, batch: number): Promise<void> {
  const one = frame(size);
  const full = Buffer.concat(Array(batch).fill(one));
  for (let sent = 0; sent < messages; ) {
    const n = Math.min(batch, messages - sent);
    await client.round(n === batch ? full : Buffer.concat(Array(n).fill(one)), n * echoFrameBytes(size));
    sent += n;
  }
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const exited = new Promise<void>((r) => p.on("exit", () => r()));
  p.kill("SIGTERM");
  await exited;
}

function sizes(bin: string): string {
  const out = execFileSync("size", [bin], { encoding: "utf8" }).trim().split("\n")[1].trim().split(/\s+/);
  const stripped = path.join(os.tmpdir(), `mote-size-${process.pid}`);
  execFileSync("strip", ["-o", stripped, bin]);
  const st = fs.statSync(stripped).size;
  fs.unlinkSync(stripped);
  return `text ${out[0]}, data ${out[1]}, bss ${out[2]}; stripped file ${st} bytes`;
}

async function cpuRun(o: Opts, bins: Record<string, string>) {
  const names = Object.keys(bins);
  const procs: Record<string, ChildProcess> = {};
  const clients: Record<string, Client> = {};
  const ns: Record<string, number> = {};
  const stat: Record<string, number> = {};
  const wall: Record<string, number> = {};
  try {
    for (const n of names) {
      const port = await freePort();
      procs[n] = await startSim([bins[n]], port);
      clients[n] = await Client.open(port);
      await load(clients[n], Math.min(2000, o.messages), o.size, o.batch); // warm-up
      ns[n] = 0;
      stat[n] = 0;
      wall[n] = 0;
    }
    const rounds = 10;
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...names].reverse() : names;
      for (const n of order) {
        const per = Math.floor(o.messages / rounds) + (r < o.messages % rounds ? 1 : 0);
        const c0 = cpuNs(procs[n].pid!);
        const s0 = statMs(procs[n].pid!);
        const t0 = process.hrtime.bigint();
        await load(clients[n], per, o.size, o.batch);
        wall[n] += Number(process.hrtime.bigint() - t0);
        ns[n] += cpuNs(procs[n].pid!) - c0;
        stat[n] += statMs(procs[n].pid!) - s0;
      }
    }
  } finally {
    for (const n of names) {
      clients[n]?.close();
      if (procs[n]) await stop(procs[n]);
    }
  }
  console.log(`echo: ${o.messages} binary messages of ${o.size} bytes in bursts of ${o.batch}, 10 alternating rounds`);
  for (const n of names) {
    console.log(
      `  ${n.padEnd(13)} server CPU ${(ns[n] / o.messages).toFixed(0).padStart(6)} ns/message` +
        `  (${(ns[n] / 1e6).toFixed(0)} ms CPU; /proc/PID/stat utime+stime ${stat[n].toFixed(0)} ms;` +
        ` ${((o.messages * 1e9) / wall[n] / 1000).toFixed(0)}k messages/s wall)`,
    );
  }
  if (ns.wasm2c && ns.wasm3) console.log(`  wasm3 / wasm2c: x${(ns.wasm3 / ns.wasm2c).toFixed(1)}`);
  for (const e of ["wasm2c", "wasm3"])
    if (ns[`${e}@before`]) console.log(`  ${e} after / before: x${(ns[e] / ns[`${e}@before`]).toFixed(3)}`);
}

async function callgrindTotal(name: string, bin: string, messages: number, size: number): Promise<number> {
  const out = path.join(os.tmpdir(), `mote-callgrind-${process.pid}-${messages}.out`);
  const port = await freePort();
  const p = await startSim(["valgrind", "--tool=callgrind", `--callgrind-out-file=${out}`, bin], port);
  const c = await Client.open(port);
  await load(c, messages, size, 1);
  c.close();
  await new Promise((r) => setTimeout(r, 200));
  await stop(p);
  const text = fs.readFileSync(out, "utf8");
  const keep = process.env.MOTE_CALLGRIND_KEEP;
  if (keep) fs.renameSync(out, `${keep}-${name}-${messages}.out`);
  else fs.unlinkSync(out);
  const m = /^(?:summary|totals): (\d+)/m.exec(text);
  if (!m) throw new Error(`no totals in ${out}`);
  return Number(m[1]);
}

async function callgrindRun(o: Opts, bins: Record<string, string>) {
  const size = o.size === 32 ? 1024 : o.size;
  console.log(`callgrind: instructions per echoed ${size}-byte binary message (one at a time; (I(1200) - I(200)) / 1000)`);
  const per: Record<string, number> = {};
  for (const [n, bin] of Object.entries(bins)) {
    const a = await callgrindTotal(n, bin, 200, size);
    const b = await callgrindTotal(n, bin, 1200, size);
    per[n] = (b - a) / 1000;
    console.log(`  ${n.padEnd(13)} ${per[n].toFixed(0).padStart(8)} instructions/message`);
  }
  if (per.wasm2c && per.wasm3) console.log(`  wasm3 / wasm2c: x${(per.wasm3 / per.wasm2c).toFixed(1)}`);
  for (const e of ["wasm2c", "wasm3"])
    if (per[`${e}@before`]) console.log(`  ${e} after / before: x${(per[e] / per[`${e}@before`]).toFixed(3)}`);
}

async function main() {
  const o = parse(process.argv.slice(2));
  const bins: Record<string, string> = {};
  for (const engine of ["wasm2c", "wasm3"]) bins[engine] = build({ board: "linux", engine, app: o.app, quiet: true }).binary;
  if (o.against) {
    for (const engine of ["wasm2c", "wasm3"]) {
      const rel = path.relative(ROOT, bins[engine]);
      const other = path.resolve(o.against, rel);
      if (!fs.existsSync(other)) throw new Error(`--against: ${other} is not built (run 'mote build --engine ${engine}' in ${o.against})`);
      bins[`${engine}@before`] = other;
    }
  }
  console.log("binaries (gcc -O2 -g, x86-64):");
  for (const [n, b] of Object.entries(bins)) console.log(`  ${n.padEnd(13)} ${path.relative(ROOT, b)}: ${sizes(b)}`);
  const wasm = build({ board: "linux", engine: "wasm3", app: o.app, quiet: true }).wasm;
  console.log(`  module image ${path.relative(ROOT, wasm)}: ${fs.statSync(wasm).size} bytes (wasm3 reads it at start-up)`);
  if (o.callgrind) await callgrindRun(o, bins);
  else {
    pinCpus();
    await cpuRun(o, bins);
  }
}

main().catch((e) => {
  console.error(`engine-bench: ${e.message}`);
  process.exit(1);
});
