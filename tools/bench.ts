// `mote bench`: echo load against mote and its anchors, measured in the same
// run on the same machine, printed as ratios against libwebsockets.
//
// The load client (this process) opens one WebSocket to each server and
// sends masked binary frames in bursts; a round is 10 bursts, and the next
// round starts when every echo of the last one has arrived (bounded memory
// on both sides). The figure is the server's own CPU time (time on CPU
// of all its threads, from /proc/PID/task/*/schedstat) per echoed message, so the client's cost does not
// count; wall time is shown too.
import { spawn, ChildProcess, execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { build, ROOT } from "./build";
import { frame, cpuNs, freePort } from "./load";

export interface BenchOptions {
  messages: number;
  quick: boolean;
}

interface Server {
  name: string;
  cmd: string;
  args: (port: number) => string[];
}

interface Scenario {
  size: number;
  batch: number;
}




async function startServer(s: Server): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const proc = spawn(s.cmd, s.args(port), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${s.name} did not start`)), 10000);
    proc.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("listening on")) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.on("exit", (c) => reject(new Error(`${s.name} exited (${c})`)));
  });
  return { proc, port };
}

/** One scenario against one running server: ns of server CPU per message. */
function load(port: number, pid: number, total: number, sc: Scenario): Promise<{ cpuNs: number; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const burst = Buffer.concat(Array.from({ length: sc.batch }, () => frame(sc.size)));
    const echoLen = sc.size + (sc.size < 126 ? 2 : 4);
    let got = 0;
    let sent = 0;
    let open = false;
    let c0 = 0;
    let t0 = 0;
    const deadline = setTimeout(() => {
      sock.destroy();
      reject(new Error(`timed out after ${sent} messages sent, ${Math.floor(got / echoLen)} echoed`));
    }, 60000);
    const round = () => {
      for (let i = 0; i < 10 && sent < total; i++) {
        sock.write(burst);
        sent += sc.batch;
      }
    };
    sock.on("connect", () => {
      sock.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: echo\r\n\r\n`,
      );
    });
    sock.on("data", (d: Buffer) => {
      if (!open) {
        const i = d.indexOf("\r\n\r\n");
        if (i < 0) return;
        if (!/^HTTP\/1\.1 101/.test(d.toString("latin1", 0, 12))) return reject(new Error(`handshake: ${d.toString("latin1", 0, 40)}`));
        open = true;
        d = d.subarray(i + 4);
        c0 = cpuNs(pid) / 1e6;
        t0 = Date.now();
        round();
      }
      got += d.length;
      if (got >= echoLen * sent && sent < total) round();
      if (got >= echoLen * total) {
        clearTimeout(deadline);
        const cpu = cpuNs(pid) / 1e6 - c0;
        sock.destroy();
        resolve({ cpuNs: (cpu * 1e6) / total, wallMs: Date.now() - t0 });
      }
    });
    sock.on("error", reject);
  });
}

export async function bench(opts: BenchOptions): Promise<number> {
  const servers: Server[] = [];
  const sim = build({ board: "linux", quiet: true }).binary;
  servers.push({ name: "mote (wasm2c)", cmd: sim, args: (p) => ["--port", String(p), "-d", "1"] });
  try {
    const w3 = build({ board: "linux", engine: "wasm3", quiet: true }).binary;
    servers.push({ name: "mote (wasm3)", cmd: w3, args: (p) => ["--port", String(p), "-d", "1"] });
  } catch (e: any) {
    process.stderr.write(`[bench] skipping mote (wasm3): ${e.message.split("\n")[0]}\n`);
  }
  const lwsBin = path.join(ROOT, "build/bench/lws-echo");
  fs.mkdirSync(path.dirname(lwsBin), { recursive: true });
  execFileSync("gcc", ["-O2", "-o", lwsBin, path.join(ROOT, "bench/lws-echo.c"), "-lwebsockets"], { stdio: "inherit" });
  servers.push({ name: "libwebsockets 4.1.6", cmd: lwsBin, args: (p) => [String(p)] });
  servers.push({ name: "ws (Node.js)", cmd: process.execPath, args: (p) => [path.join(ROOT, "bench/ws-echo.js"), String(p)] });

  const scenarios: Scenario[] = opts.quick
    ? [{ size: 32, batch: 100 }]
    : [{ size: 32, batch: 1 }, { size: 32, batch: 100 }, { size: 1024, batch: 10 }];
  const results: Record<string, Record<string, { cpuNs: number; wallMs: number }>> = {};
  for (const s of servers) {
    const { proc, port } = await startServer(s);
    results[s.name] = {};
    try {
      for (const sc of scenarios) {
        const n = sc.batch === 1 ? Math.min(opts.messages, 100000) : opts.messages;
        await load(port, proc.pid!, Math.min(5000, n), sc); // warm-up
        results[s.name][`${sc.size}x${sc.batch}`] = await load(port, proc.pid!, n, sc);
      }
    } finally {
      proc.kill("SIGTERM");
    }
  }
  const anchor = results["libwebsockets 4.1.6"];
  console.log(`\nserver CPU per echoed message (ns; lower is better), ratio = libwebsockets / server (>1: faster than lws)`);
  const cols = scenarios.map((sc) => `${sc.size} B, ${sc.batch}/burst`);
  console.log(["server".padEnd(22), ...cols.map((c) => c.padStart(26))].join(""));
  for (const s of servers) {
    const row = scenarios.map((sc) => {
      const k = `${sc.size}x${sc.batch}`;
      const r = results[s.name][k];
      const ratio = anchor[k].cpuNs / r.cpuNs;
      return `${r.cpuNs.toFixed(0)} ns  x${ratio.toFixed(2)}`.padStart(26);
    });
    console.log([s.name.padEnd(22), ...row].join(""));
  }
  return 0;
}
