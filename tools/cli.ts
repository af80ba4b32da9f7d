// The `mote` command line. Each command validates its flags strictly: an
// unknown or malformed flag prints one line naming the problem, then usage.
import { spawn } from "child_process";
import * as path from "path";
import { build, ROOT } from "./build";
import { boardNames } from "./boards";

const USAGE = `usage: mote <command> [options]

commands:
  build  [--board B] [--engine E] [--app FILE]   build the firmware / simulator for board B (default linux)
  sim    [--port N] [--iface ADDR] [-d LEVEL] [--app FILE] [--engine E] [--max-conns N] [--poll]
                                                  build, then run the Linux simulator; prints
                                                  "listening on http://HOST:PORT/" when ready
  test   [jest args...]                           build and run every test suite; ends with "N passed, N failed"
  help                                            this text

options:
  --board B      board file boards/B.json (known: ${boardNames().join(", ")})
  --engine E     wasm2c (default from the board file)
  --app FILE     AssemblyScript application exporting setup() (default app/demo.ts)
  --port N       TCP port to listen on (default 7681)
  --iface ADDR   address to bind (default 127.0.0.1; use :: or 0.0.0.0 for all)
  -d LEVEL       log level bitmask as in lws: 1 err, 2 warn, 4 notice, 8 info, 16 debug (default 7)
  --max-conns N  cap the connection table below the rlimit-derived size
  --poll         use poll(2) instead of epoll
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

async function cmdBuild(args: string[]): Promise<number> {
  const f = parseFlags(args, { "--board": "string", "--engine": "string", "--app": "string" });
  const r = build({ board: (f["--board"] as string) || "linux", engine: f["--engine"] as string, app: f["--app"] as string });
  console.log(path.relative(process.cwd(), r.binary));
  return 0;
}

async function cmdSim(args: string[]): Promise<number> {
  const f = parseFlags(args, {
    "--port": "int", "--iface": "string", "-d": "int", "--app": "string", "--engine": "string",
    "--max-conns": "int", "--poll": "bool", "--board": "string",
  });
  if (f["--board"] && f["--board"] !== "linux") throw new UsageError(`'mote sim' runs the linux board only; use 'mote qemu --board ${f["--board"]}'`);
  const port = f["--port"] === undefined ? 7681 : (f["--port"] as number);
  if (port < 1 || port > 65535) throw new UsageError(`--port must be 1..65535, got ${port}`);
  const r = build({ board: "linux", engine: f["--engine"] as string, app: f["--app"] as string });
  const simArgs = ["--port", String(port), "--iface", (f["--iface"] as string) || "127.0.0.1"];
  if (f["-d"] !== undefined) simArgs.push("-d", String(f["-d"]));
  if (f["--max-conns"] !== undefined) simArgs.push("--max-conns", String(f["--max-conns"]));
  if (f["--poll"]) simArgs.push("--poll");
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

async function cmdTest(args: string[]): Promise<number> {
  // Build everything the suites use once, before jest's workers start in
  // parallel (they would otherwise race on the same outputs).
  build({ board: "linux" });
  build({ board: "linux", app: "test/apps/core-test.ts" });
  const jest = path.join(ROOT, "node_modules/jest/bin/jest.js");
  return runChild(process.execPath, [jest, "--config", path.join(ROOT, "jest.config.js"), ...args], { ...process.env, MOTE_ROOT: ROOT });
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "build": return await cmdBuild(rest);
      case "sim": return await cmdSim(rest);
      case "test": return await cmdTest(rest);
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
