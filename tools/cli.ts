// The `mote` command line. Each command validates its flags strictly: an
// unknown or malformed flag prints one line naming the problem, then usage.
import { spawn } from "child_process";
import * as path from "path";
import { build, ROOT, ENGINES } from "./build";
import { boardNames, loadBoard } from "./boards";
import { runQemu } from "./qemu";
import { bench } from "./bench";
import { size } from "./size";

const USAGE = `usage: mote <command> [options]

commands:
  build  [--board B] [--engine E] [--app FILE]   build the firmware / simulator for board B (default linux)
  sim    [--port N] [--iface ADDR] [-d LEVEL] [--app FILE] [--engine E] [--max-conns N] [--poll]
         [--module FILE] [--daemon [--lock FILE]] build, then run the Linux simulator; prints
                                                  "listening on http://HOST:PORT/" when ready
  bench  [--messages N] [--quick]                 echo load against mote, libwebsockets and ws; prints
                                                  server CPU per message and the ratio against lws
  qemu   [--board B] [--port N] [--app FILE]      build, then boot the board in QEMU, device port 80 forwarded
                                                  to 127.0.0.1:N (default 7682); prints the URL once it answers
  size   [--board B] [--json]                     flash and RAM of the firmware and of each part (core, engine,
                                                  lwIP, port, C library), RAM details, per-connection cost;
                                                  linux: the simulator's sections per engine (default mps2-an386)
  test   [jest args...]                           build and run every test suite; ends with "N passed, N failed"
  help                                            this text

options:
  --board B      board file boards/B.json (known: ${boardNames().join(", ")})
  --engine E     wasm2c or wasm3 (default from the board file; linux: wasm2c)
  --module FILE  with wasm3: run this module image (a core.wasm from 'mote build --app ...')
                 instead of the app's; the simulator binary is not rebuilt for it
  --app FILE     AssemblyScript application exporting setup() (default app/demo.ts)
  --port N       TCP port to listen on (default 7681)
  --iface ADDR   address to bind (default 127.0.0.1; use :: or 0.0.0.0 for all)
  -d LEVEL       log level bitmask as in lws: 1 err, 2 warn, 4 notice, 8 info, 16 debug (default 7)
  --max-conns N  cap the connection table below the rlimit-derived size
  --poll         use poll(2) instead of epoll
  --daemon       detach once listening (lws_daemonize); --lock FILE holds its pid
                 (default /tmp/mote-sim-PORT.lock); stop it with kill $(cat FILE)
  --json         (size) print the figures as JSON
`;

class UsageError extends Error {}

type Spec = Record<string, "string" | "int" | "bool">;

function parseFlags(args: string[], spec: Spec): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    let name = a;
    let value: string | undefined;
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0) {
      name = a.slice(0, eq);
      value = a.slice(eq + 1);
    }
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option '${a}'`);
    if (kind === "bool") {
      if (value !== undefined) throw new UsageError(`option '${name}' takes no value`);
      out[name] = true;
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= args.length) throw new UsageError(`option '${name}' needs a value`);
      value = args[++i];
    }
    if (kind === "int") {
      if (!/^\d+$/.test(value)) throw new UsageError(`option '${name}' needs a non-negative integer, got '${value}'`);
      out[name] = parseInt(value, 10);
    } else out[name] = value;
  }
  return out;
}

function checkEngine(e: unknown): void {
  if (e !== undefined && !ENGINES.includes(e as string)) throw new UsageError(`--engine must be one of ${ENGINES.join(", ")}, got '${e}'`);
}

async function cmdBuild(args: string[]): Promise<number> {
  const f = parseFlags(args, { "--board": "string", "--engine": "string", "--app": "string" });
  checkEngine(f["--engine"]);
  const r = build({ board: (f["--board"] as string) || "linux", engine: f["--engine"] as string, app: f["--app"] as string });
  console.log(path.relative(process.cwd(), r.binary));
  return 0;
}

async function cmdSim(args: string[]): Promise<number> {
  const f = parseFlags(args, {
    "--port": "int", "--iface": "string", "-d": "int", "--app": "string", "--engine": "string",
    "--max-conns": "int", "--poll": "bool", "--daemon": "bool", "--lock": "string", "--board": "string", "--module": "string",
  });
  checkEngine(f["--engine"]);
  if (f["--board"] && f["--board"] !== "linux") throw new UsageError(`'mote sim' runs the linux board only; use 'mote qemu --board ${f["--board"]}'`);
  const port = f["--port"] === undefined ? 7681 : (f["--port"] as number);
  if (port < 1 || port > 65535) throw new UsageError(`--port must be 1..65535, got ${port}`);
  const r = build({ board: "linux", engine: f["--engine"] as string, app: f["--app"] as string });
  const simArgs = ["--port", String(port), "--iface", (f["--iface"] as string) || "127.0.0.1"];
  if (f["-d"] !== undefined) simArgs.push("-d", String(f["-d"]));
  if (f["--max-conns"] !== undefined) simArgs.push("--max-conns", String(f["--max-conns"]));
  if (f["--poll"]) simArgs.push("--poll");
  if (f["--daemon"]) simArgs.push("--daemon");
  if (f["--lock"] !== undefined) simArgs.push("--lock", f["--lock"] as string);
  if (f["--module"] !== undefined) {
    if (r.engine !== "wasm3") throw new UsageError(`--module needs --engine wasm3 (engine ${r.engine} has the module built in)`);
    simArgs.push("--module", path.resolve(f["--module"] as string));
  }
  return runChild(r.binary, simArgs);
}

/** Runs a child with our stdio, forwarding SIGINT/SIGTERM; resolves to its exit code. */
function runChild(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: "inherit", env: env || process.env });
    const fwd = (sig: NodeJS.Signals) => () => child.kill(sig);
    const onInt = fwd("SIGINT");
    const onTerm = fwd("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    child.on("exit", (code, signal) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve(code === null ? (signal === "SIGTERM" || signal === "SIGINT" ? 0 : 1) : code);
    });
  });
}

async function cmdQemu(args: string[]): Promise<number> {
  const f = parseFlags(args, { "--board": "string", "--port": "int", "--app": "string", "--engine": "string" });
  const board = loadBoard((f["--board"] as string) || "mps2-an386");
  if (!board.qemu) throw new UsageError(`board '${board.name}' does not run under QEMU (use 'mote sim' for linux)`);
  const port = f["--port"] === undefined ? 7682 : (f["--port"] as number);
  if (port < 1 || port > 65535) throw new UsageError(`--port must be 1..65535, got ${port}`);
  const r = build({ board: board.name, engine: f["--engine"] as string, app: f["--app"] as string });
  return runQemu(board, r.binary, port);
}

async function cmdTest(args: string[]): Promise<number> {
  // Build everything the suites use once, before jest's workers start in
  // parallel (they would otherwise race on the same outputs).
  // Both engines: the suites that run the simulator run on each (jest.config.js).
  for (const engine of ENGINES) {
    build({ board: "linux", engine });
    build({ board: "linux", engine, app: "test/apps/core-test.ts" });
  }
  build({ board: "mps2-an386" }); // test/qemu boots this firmware
  build({ board: "mps2-an386", app: "test/apps/core-test.ts" }); // the "mps2" jest project boots this one
  const jest = path.join(ROOT, "node_modules/jest/bin/jest.js");
  return runChild(process.execPath, [jest, "--config", path.join(ROOT, "jest.config.js"), ...args], { ...process.env, MOTE_ROOT: ROOT });
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "build": return await cmdBuild(rest);
      case "sim": return await cmdSim(rest);
      case "qemu": return await cmdQemu(rest);
      case "test": return await cmdTest(rest);
      case "size": {
        const f = parseFlags(rest, { "--board": "string", "--json": "bool" });
        return await size((f["--board"] as string) || "mps2-an386", !!f["--json"]);
      }
      case "bench": {
        const f = parseFlags(rest, { "--messages": "int", "--quick": "bool" });
        return await bench({ messages: (f["--messages"] as number) || 1000000, quick: !!f["--quick"] });
      }
      case undefined: case "help": case "--help": case "-h":
        process.stdout.write(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`mote: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}
