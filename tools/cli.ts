// The `mote` command line. Each command validates its flags strictly: an
// unknown or malformed flag prints one line naming the problem, then usage.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_KEY_FILE, ensureStoreFile, readKey, uploadImage } from "./image";
import { build, BuildOptions, ROOT, ENGINES } from "./build";
import { boardNames, isEsp32Board, loadBoard } from "./boards";
import { esp32Chain, esp32ChainList, esp32Missing, esp32Target, esp32Settings, genEsp32, writeEsp32Settings } from "./build-esp32";
import { runQemu } from "./qemu";
import { checkPort, flash, FlashPart, monitor } from "./flash";
import { bench } from "./bench";
import { size } from "./size";
import { boardTlsWords } from "./tls";

const USAGE = `usage: mote <command> [options]

commands:
  build  [--board B] [--engine E] [--app FILE] [--dhcp] [--tls] [--portable]
                                                  build the firmware / simulator for board B (default linux)
  sim    [--port N] [--iface ADDR] [-d LEVEL] [--app FILE] [--engine E] [--max-conns N] [--poll] [--portable]
         [--module FILE] [--flash FILE [--image-key FILE]] [--daemon [--lock FILE]]
         [--syslog [--syslog-socket PATH] [--syslog-facility NAME]]
         [--ka-time S [--ka-probes N] [--ka-interval S]] [--ws-ping S] [--ws-hangup S] [--ws-message S]
         [--tls [--tls-cert FILE --tls-key FILE] [--tls-ciphers LIST] [--tls-version 1.2|1.3]
          [--tls-sni NAME=CERT,KEY] [--tls-client-ca FILE] [--tls-handshake-timeout MS]]
                                                  build, then run the Linux simulator; prints
                                                  "listening on http(s)://HOST:PORT/" when ready
  gen    --board B --out DIR [--engine E] [--app FILE]
                                                  write what the ESP-IDF component (platform/esp32) compiles
                                                  from the board file and app: ABI headers, board_config.h,
                                                  the core as C (wasm2c) or the device key (wasm3)
  esp32  status                                   where the ESP32 chain (ESP-IDF, compilers, QEMU) is and
                                                  what of it is missing
  flash  --board B --port SERIAL|socket://HOST:PORT [--engine E] [--app FILE] [--part all|app|store] [--baud N]
                                                  build, then write the ESP32 firmware with esptool: all parts
                                                  (bootloader, partition table, app; wasm3: the image store), or
                                                  only the app partition or the store
  monitor --port SERIAL|socket://HOST:PORT [--baud N] [--until REGEX]
                                                  the device's console on stdout (typing goes to it)
  upload [--host H] [--port N] [--app FILE | --module FILE] [--image-key FILE] [--version N]
                                                  build the app's module image and install it on a running
                                                  device (wasm3 with an image store) by PUT /.mote/image
  bench  [--messages N] [--quick]                 echo load against mote, libwebsockets and ws; prints
                                                  server CPU per message and the ratio against lws
  qemu   [--board B] [--port N] [--app FILE] [--engine E] [--dhcp] [--flash FILE [--image-key FILE]]
         [--ka-time S [--ka-probes N] [--ka-interval S]] [--ws-ping S] [--ws-hangup S] [--ws-message S]
         [--tls [--tls-ciphers LIST] [--tls-handshake-timeout MS]]
                                                  build, then boot the board in QEMU, device port 80 forwarded
                                                  to 127.0.0.1:N (default 7682); prints the URL once it answers
  size   [--board B] [--engine E] [--json]        flash and RAM of the firmware and of each part (core, engine,
                                                  lwIP, port, C library), RAM details, per-connection cost,
                                                  for each engine the board runs unless --engine names one;
                                                  linux: the simulator's sections per engine (default mps2-an386)
  test   [jest args...]                           build and run every test suite; ends with "N passed, N failed"
                                                  (jest args, e.g. a path pattern or --selectProjects wasm3,
                                                  narrow the run)
  help                                            this text

options:
  --board B      board file boards/B.json (known: ${boardNames().join(", ")})
  --engine E     wasm2c or wasm3 (default from the board file; linux: wasm2c)
  --module FILE  with wasm3: run this module image (a core.wasm from 'mote build --app ...')
                 instead of the app's; the simulator binary is not rebuilt for it
  --flash FILE   (sim, qemu; wasm3) the device's app-image store, kept in FILE across runs (a
                 power-cycle keeps what was uploaded); made from the built app when missing.
                 (qemu, ESP32 boards) the board's whole flash image, kept likewise
  --image-key FILE  the device key (64 hex digits) that tags images: HMAC-SHA256(key, image)
                 (default build/keys/image.key, made on first use; never commit a real one)
  --host H       (upload) the device's address (default 127.0.0.1)
  --version N    (upload) the image's version in its signed manifest: the device takes it only
                 above every version it holds (anti-rollback; a replay is refused). Default: the
                 time in seconds, so a newer build is a higher version
  --app FILE     AssemblyScript application exporting setup() (default app/demo.ts)
  --port N       (sim) the default vhost's port (the app's first; default: its own, 7681 in the
                 demo; 0: any free port), for it and the vhosts created on that port; other vhosts
                 keep theirs. (qemu, upload) the host port
  --iface ADDR   address to bind (default 127.0.0.1; use :: or 0.0.0.0 for all)
  -d LEVEL       log level bitmask as in lws: 1 err, 2 warn, 4 notice, 8 info, 16 debug (default 7)
  --max-conns N  cap the connection table below the rlimit-derived size
  --poll         use poll(2) instead of epoll
  --portable     (build, sim; linux) the socket port on POSIX calls and poll(2) only
                 (platform/posix/arch_posix.h: no epoll, accept4, TCP_USER_TIMEOUT), as ESP-IDF
                 runs it; built apart, in build/linux/<app>/<engine>-posix/
  --daemon       detach once listening (lws_daemonize); --lock FILE holds its pid (without
                 --lock: /tmp/mote-sim-PORT.lock, so --daemon then needs --port N, not 0)
                 (default /tmp/mote-sim-PORT.lock); stop it with kill $(cat FILE)
  --json         (size) print the figures as JSON
  --ka-time S    (sim, qemu) TCP keepalive on every connection, overriding the app's vhost options
                 (lws ka_time): probe after S s idle; --ka-probes N probes (default: the stack's),
                 --ka-interval S apart (default: the stack's); a peer silent for S + N * I s is closed
  --ws-ping S    (sim, qemu) ping a WebSocket from which nothing came for S s (lws secs_since_valid_ping);
                 --ws-hangup S: close it (1001) after S s with nothing received; --ws-message S: close
                 it (1008) when a frame or message is incomplete S s after it began. Defaults from the
                 board file (60, 120, 60); 0: never; a vhost's own settings win. On an ESP32 board
                 these six are written to the flash image's NVS (namespace mote), read at start
  --tls          (sim) https:// and wss:// (mbedTLS, docs/tls.md) with the test certificates setup made
                 (vendor/tls: ECDSA P-256 and RSA-2048 for localhost, CA vendor/tls/ca.crt), or
                 --tls-cert/--tls-key (PEM; mote-sim itself takes several pairs); --tls-ciphers: the
                 allowed suites, IANA names joined by ':' (lws ssl_cipher_list); --tls-version 1.3
                 (mbedTLS 3.4 serves one version); --tls-sni NAME=CERT,KEY: the certificate for
                 that SNI name; --tls-client-ca FILE: require client certificates from that CA;
                 every --tls-* flag implies --tls. (qemu, build) a board firmware with TLS
                 (mbedTLS, platform/tls/mote_mbedtls_config_board.h), built apart in
                 build/<board>/<app>/<engine>-tls/; qemu serves https with the test ECDSA certificate
  --dhcp         (build, qemu; lwIP boards) lease the address by DHCP instead of the board file's
                 static one; built apart, in build/<board>/<app>/<engine>-dhcp/
`;

class UsageError extends Error {}

// TCP keepalive and WebSocket liveness, passed on to mote-sim's command line
// or the firmware's semihosting one (the limits block's LIM_KA_*, which
// override the vhosts', and LIM_WS_*, the default of vhosts that set none).
const LIVENESS_FLAGS = {
  "--ka-time": "int", "--ka-probes": "int", "--ka-interval": "int", "--ws-ping": "int", "--ws-hangup": "int", "--ws-message": "int",
} as const;

function livenessArgs(f: Record<string, string | number | boolean>): string[] {
  const t = f["--ka-time"] as number | undefined;
  const ws: string[] = [];
  for (const k of ["--ws-ping", "--ws-hangup", "--ws-message"]) {
    if (f[k] === undefined) continue;
    if ((f[k] as number) > 86400) throw new UsageError(`${k} must be 0..86400 seconds, got ${f[k]}`);
    ws.push(k, String(f[k]));
  }
  if (t === undefined || t === 0) {
    if (f["--ka-probes"] !== undefined || f["--ka-interval"] !== undefined) throw new UsageError("--ka-probes and --ka-interval need --ka-time");
    return ws;
  }
  if (t > 32767) throw new UsageError(`--ka-time must be 0..32767, got ${t}`);
  if (((f["--ka-probes"] as number) ?? 0) > 127) throw new UsageError(`--ka-probes must be 0..127, got ${f["--ka-probes"]}`);
  if (((f["--ka-interval"] as number) ?? 0) > 32767) throw new UsageError(`--ka-interval must be 0..32767, got ${f["--ka-interval"]}`);
  const out = [...ws, "--ka-time", String(t)];
  if (f["--ka-probes"] !== undefined) out.push("--ka-probes", String(f["--ka-probes"]));
  if (f["--ka-interval"] !== undefined) out.push("--ka-interval", String(f["--ka-interval"]));
  return out;
}

// TLS, passed on to mote-sim (files resolved against the current directory).
const TLS_FLAGS = {
  "--tls": "bool", "--tls-cert": "string", "--tls-key": "string", "--tls-ciphers": "string", "--tls-version": "string",
  "--tls-sni": "string", "--tls-client-ca": "string", "--tls-handshake-timeout": "int",
} as const;

function tlsArgs(f: Record<string, string | number | boolean>): string[] {
  const out: string[] = [];
  if (f["--tls"]) out.push("--tls");
  if ((f["--tls-cert"] === undefined) !== (f["--tls-key"] === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
  if (f["--tls-cert"] !== undefined) out.push("--tls-cert", path.resolve(f["--tls-cert"] as string), "--tls-key", path.resolve(f["--tls-key"] as string));
  if (f["--tls-ciphers"] !== undefined) out.push("--tls-ciphers", f["--tls-ciphers"] as string);
  if (f["--tls-version"] !== undefined) {
    if (!["1.2", "1.3"].includes(f["--tls-version"] as string)) throw new UsageError(`--tls-version must be 1.2 or 1.3, got '${f["--tls-version"]}'`);
    out.push("--tls-version", f["--tls-version"] as string);
  }
  if (f["--tls-sni"] !== undefined) {
    const m = /^([^=]+)=([^,]+),(.+)$/.exec(f["--tls-sni"] as string);
    if (!m) throw new UsageError(`--tls-sni needs NAME=CERT,KEY, got '${f["--tls-sni"]}'`);
    out.push("--tls-sni", `${m[1]}=${path.resolve(m[2])},${path.resolve(m[3])}`);
  }
  if (f["--tls-client-ca"] !== undefined) out.push("--tls-client-ca", path.resolve(f["--tls-client-ca"] as string));
  if (f["--tls-handshake-timeout"] !== undefined) {
    if ((f["--tls-handshake-timeout"] as number) < 1) throw new UsageError("--tls-handshake-timeout must be at least 1 ms");
    out.push("--tls-handshake-timeout", String(f["--tls-handshake-timeout"]));
  }
  return out;
}

/** The firmware's TLS words for `mote qemu --tls` (tools/tls.ts). */
function boardTlsArgs(f: Record<string, string | number | boolean>): string[] {
  const out = boardTlsWords();
  if (f["--tls-ciphers"] !== undefined) out.push("--tls-ciphers", f["--tls-ciphers"] as string);
  if (f["--tls-handshake-timeout"] !== undefined) out.push("--tls-handshake-timeout", String(f["--tls-handshake-timeout"]));
  return out;
}

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
  const f = parseFlags(args, { "--board": "string", "--engine": "string", "--app": "string", "--dhcp": "bool", "--tls": "bool", "--portable": "bool" });
  checkEngine(f["--engine"]);
  const board = (f["--board"] as string) || "linux";
  if (f["--dhcp"] && !loadBoard(board).network) throw new UsageError(`--dhcp is for lwIP boards; '${board}' has no network section`);
  if (f["--portable"] && board !== "linux") throw new UsageError(`--portable is for the linux board (the BSD-socket port); '${board}' has its own port`);
  const r = build({ board, engine: f["--engine"] as string, app: f["--app"] as string, dhcp: !!f["--dhcp"], tls: !!f["--tls"], portable: !!f["--portable"] });
  console.log(path.relative(process.cwd(), r.binary));
  return 0;
}

async function cmdGen(args: string[]): Promise<number> {
  const f = parseFlags(args, { "--board": "string", "--engine": "string", "--app": "string", "--out": "string" });
  checkEngine(f["--engine"]);
  if (!f["--board"] || !f["--out"]) throw new UsageError("gen needs --board B and --out DIR");
  const board = loadBoard(f["--board"] as string);
  if (!isEsp32Board(board)) throw new UsageError(`gen is for the ESP-IDF component; board '${board.name}' is not an ESP32 board (use 'mote build')`);
  const r = genEsp32({ board: board.name, engine: f["--engine"] as string, app: f["--app"] as string }, board, path.resolve(f["--out"] as string));
  console.log(`${path.relative(process.cwd(), r.dir) || "."} (${r.engine})`);
  return 0;
}

async function cmdEsp32(args: string[]): Promise<number> {
  if (args[0] !== "status" || args.length > 1) throw new UsageError("esp32 takes one subcommand: status");
  const c = esp32Chain();
  console.log(`ESP32 chain in ${c.home} (MOTE_ESP32_HOME)`);
  for (const m of esp32ChainList()) console.log(`  ${m.ok ? "ok     " : "missing"} ${m.what}: ${m.file}`);
  let ready = 0;
  for (const b of boardNames().map(loadBoard).filter(isEsp32Board)) {
    const t = esp32Target(b);
    const missing = esp32Missing(t, true);
    if (!missing.length) ready++;
    console.log(`${b.name} (${t}): ${missing.length ? `cannot be built and booted: ${missing.length} missing` : "builds and boots"}`);
  }
  if (!ready) console.log("docs/esp32.md says how to build the chain from public snapshots");
  return ready ? 0 : 1;
}

async function cmdFlash(args: string[]): Promise<number> {
  const f = parseFlags(args, { "--board": "string", "--port": "string", "--engine": "string", "--app": "string", "--part": "string", "--baud": "int" });
  checkEngine(f["--engine"]);
  if (!f["--board"] || !f["--port"]) throw new UsageError("flash needs --board B and --port SERIAL or socket://HOST:PORT");
  const board = loadBoard(f["--board"] as string);
  if (!isEsp32Board(board)) throw new UsageError(`flash writes ESP32 boards; '${board.name}' is not one (mps2-an386 runs in QEMU: 'mote qemu')`);
  const part = ((f["--part"] as string) || "all") as FlashPart;
  if (!["all", "app", "store"].includes(part)) throw new UsageError(`--part must be all, app or store, got '${part}'`);
  try {
    checkPort(f["--port"] as string);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const r = build({ board: board.name, engine: f["--engine"] as string, app: f["--app"] as string });
  return flash(r, f["--port"] as string, part, (f["--baud"] as number) || 460800);
}

async function cmdMonitor(args: string[]): Promise<number> {
  const f = parseFlags(args, { "--port": "string", "--baud": "int", "--until": "string" });
  if (!f["--port"]) throw new UsageError("monitor needs --port SERIAL or socket://HOST:PORT");
  try {
    checkPort(f["--port"] as string);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const until = f["--until"] !== undefined ? new RegExp(f["--until"] as string) : undefined;
  return monitor(f["--port"] as string, (f["--baud"] as number) || 115200, { until });
}

async function cmdSim(args: string[]): Promise<number> {
  const f = parseFlags(args, {
    "--port": "int", "--iface": "string", "-d": "int", "--app": "string", "--engine": "string",
    "--max-conns": "int", "--poll": "bool", "--portable": "bool", "--daemon": "bool", "--lock": "string", "--board": "string", "--module": "string",
    "--flash": "string", "--image-key": "string", "--syslog": "bool", "--syslog-socket": "string", "--syslog-facility": "string",
    ...LIVENESS_FLAGS, ...TLS_FLAGS,
  });
  checkEngine(f["--engine"]);
  const tls = tlsArgs(f);
  if (f["--board"] && f["--board"] !== "linux") throw new UsageError(`'mote sim' runs the linux board only; use 'mote qemu --board ${f["--board"]}'`);
  const port = f["--port"] as number | undefined; // none: the app's own
  if (port !== undefined && port > 65535) throw new UsageError(`--port must be 0..65535 (0: any free port), got ${port}`);
  const r = build({ board: "linux", engine: f["--engine"] as string, app: f["--app"] as string, portable: !!f["--portable"] });
  const simArgs = [...(port !== undefined ? ["--port", String(port)] : []), "--iface", (f["--iface"] as string) || "127.0.0.1"];
  if (f["-d"] !== undefined) simArgs.push("-d", String(f["-d"]));
  if (f["--max-conns"] !== undefined) simArgs.push("--max-conns", String(f["--max-conns"]));
  if (f["--poll"]) simArgs.push("--poll");
  if (f["--daemon"]) simArgs.push("--daemon");
  if (f["--lock"] !== undefined) simArgs.push("--lock", f["--lock"] as string);
  if (f["--syslog"]) simArgs.push("--syslog");
  if (f["--syslog-socket"] !== undefined) simArgs.push("--syslog-socket", path.resolve(f["--syslog-socket"] as string));
  if (f["--syslog-facility"] !== undefined) simArgs.push("--syslog-facility", f["--syslog-facility"] as string);
  simArgs.push(...livenessArgs(f));
  simArgs.push(...tls);
  if (f["--module"] !== undefined) {
    if (r.engine !== "wasm3") throw new UsageError(`--module needs --engine wasm3 (engine ${r.engine} has the module built in)`);
    simArgs.push("--module", path.resolve(f["--module"] as string));
  }
  if (f["--image-key"] !== undefined && f["--flash"] === undefined) throw new UsageError("--image-key goes with --flash");
  if (f["--flash"] !== undefined) {
    if (r.engine !== "wasm3") throw new UsageError(`--flash needs --engine wasm3 (engine ${r.engine} has the module built in)`);
    if (f["--module"] !== undefined) throw new UsageError("--flash and --module exclude each other: the store holds the module");
    const keyFile = path.resolve((f["--image-key"] as string) || DEFAULT_KEY_FILE);
    const flash = path.resolve(f["--flash"] as string);
    if (ensureStoreFile(flash, r.board, fs.readFileSync(r.wasm), readKey(keyFile)))
      process.stderr.write(`mote: provisioned the image store ${flash} with ${path.relative(ROOT, r.wasm)}\n`);
    simArgs.push("--flash", flash, "--image-key", keyFile);
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
  const f = parseFlags(args, {
    "--board": "string", "--port": "int", "--app": "string", "--engine": "string", "--dhcp": "bool",
    "--flash": "string", "--image-key": "string", ...LIVENESS_FLAGS,
    "--tls": "bool", "--tls-ciphers": "string", "--tls-handshake-timeout": "int",
  });
  checkEngine(f["--engine"]);
  const board = loadBoard((f["--board"] as string) || "mps2-an386");
  const tlsOn = !!(f["--tls"] || f["--tls-ciphers"] !== undefined || f["--tls-handshake-timeout"] !== undefined);
  const fwArgs = [...livenessArgs(f), ...(tlsOn ? boardTlsArgs(f) : [])];
  if (!board.qemu) throw new UsageError(`board '${board.name}' does not run under QEMU (use 'mote sim' for linux)`);
  const port = f["--port"] === undefined ? 7682 : (f["--port"] as number);
  if (port < 1 || port > 65535) throw new UsageError(`--port must be 1..65535, got ${port}`);
  const imageKey = f["--image-key"] !== undefined ? path.resolve(f["--image-key"] as string) : undefined;
  const r = build({ board: board.name, engine: f["--engine"] as string, app: f["--app"] as string, dhcp: !!f["--dhcp"], imageKey, tls: tlsOn });
  if (isEsp32Board(board)) {
    // an ESP32 boots from its whole flash image, which QEMU writes to: --flash FILE keeps it across
    // runs (made from the build when missing); without it, each run starts from the build's
    // the liveness flags become its NVS settings (read at start), written into the image
    if (tlsOn) throw new UsageError(`board '${board.name}': TLS is not built for the ESP32 boards yet (docs/esp32.md)`);
    let settings: Record<string, number>;
    try {
      settings = esp32Settings(fwArgs);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const flash = f["--flash"] !== undefined ? path.resolve(f["--flash"] as string) : path.join(r.dir, "flash-run.bin");
    if (f["--flash"] === undefined || !fs.existsSync(flash)) fs.copyFileSync(r.flash!, flash);
    if (Object.keys(settings).length) writeEsp32Settings(flash, settings);
    return runQemu(board, flash, port, {});
  }
  if (!r.flash) {
    if (f["--flash"] !== undefined || imageKey) throw new UsageError(`--flash and --image-key need --engine wasm3 (engine ${r.engine} has the module built in)`);
    return runQemu(board, r.binary, port, { firmwareArgs: fwArgs, tls: tlsOn });
  }
  // wasm3: the board's flash. --flash FILE persists across runs (made from
  // the build when missing); without it, each run starts from the build's.
  let flash = f["--flash"] !== undefined ? path.resolve(f["--flash"] as string) : path.join(r.dir, "flash-run.bin");
  if (f["--flash"] === undefined) fs.copyFileSync(r.flash, flash);
  else if (ensureStoreFile(flash, board, fs.readFileSync(r.wasm), readKey(imageKey || DEFAULT_KEY_FILE)))
    process.stderr.write(`mote: provisioned the board's image store ${flash} with ${path.relative(ROOT, r.wasm)}\n`);
  return runQemu(board, r.binary, port, { flash, firmwareArgs: fwArgs, tls: tlsOn });
}

async function cmdUpload(args: string[]): Promise<number> {
  const f = parseFlags(args, {
    "--host": "string", "--port": "int", "--app": "string", "--module": "string", "--image-key": "string", "--board": "string",
    "--version": "int",
  });
  if (f["--app"] !== undefined && f["--module"] !== undefined) throw new UsageError("--app and --module exclude each other");
  const port = f["--port"] === undefined ? 7681 : (f["--port"] as number);
  if (port < 1 || port > 65535) throw new UsageError(`--port must be 1..65535, got ${port}`);
  const wasm = f["--module"] !== undefined
    ? path.resolve(f["--module"] as string)
    : build({ board: (f["--board"] as string) || "linux", engine: "wasm3", app: f["--app"] as string }).wasm;
  const key = readKey(path.resolve((f["--image-key"] as string) || DEFAULT_KEY_FILE));
  const host = (f["--host"] as string) || "127.0.0.1";
  const version = f["--version"] as number | undefined;
  if (version !== undefined && (version < 1 || version > 0xfffffffe)) throw new UsageError(`--version must be 1..4294967294, got ${version}`);
  const r = await uploadImage(host, port, fs.readFileSync(wasm), key, { version });
  process.stdout.write(`${r.status} ${r.body.trim()}\n`);
  return r.status === 200 ? 0 : 1;
}

/** The builds the jest projects' suites use (jest.config.js: each project's
 *  globals.MOTE_BUILDS), once each, in order. */
export function testBuilds(): BuildOptions[] {
  const cfg = require(path.join(ROOT, "jest.config.js")) as { projects: { globals?: { MOTE_BUILDS?: BuildOptions[] } }[] };
  const seen = new Set<string>();
  const out: BuildOptions[] = [];
  for (const p of cfg.projects) {
    for (const b of p.globals?.MOTE_BUILDS || []) {
      const k = JSON.stringify(b, Object.keys(b).sort());
      if (!seen.has(k)) {
        seen.add(k);
        out.push(b);
      }
    }
  }
  return out;
}

async function cmdTest(args: string[]): Promise<number> {
  // Build everything the suites use once, before jest's workers start in
  // parallel (they would otherwise race on the same outputs).
  for (const b of testBuilds()) build(b);
  const jest = path.join(ROOT, "node_modules/jest/bin/jest.js");
  return runChild(process.execPath, [jest, "--config", path.join(ROOT, "jest.config.js"), ...args], { ...process.env, MOTE_ROOT: ROOT });
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  // `mote <command> --help` prints the usage and does nothing else (for
  // `test` too: jest's own flags are listed by `npx jest --help`).
  if (cmd !== undefined && (rest.includes("--help") || rest.includes("-h"))) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    switch (cmd) {
      case "build": return await cmdBuild(rest);
      case "sim": return await cmdSim(rest);
      case "gen": return await cmdGen(rest);
      case "esp32": return await cmdEsp32(rest);
      case "flash": return await cmdFlash(rest);
      case "monitor": return await cmdMonitor(rest);
      case "qemu": return await cmdQemu(rest);
      case "upload": return await cmdUpload(rest);
      case "test": return await cmdTest(rest);
      case "size": {
        const f = parseFlags(rest, { "--board": "string", "--json": "bool", "--engine": "string" });
        checkEngine(f["--engine"]);
        return await size((f["--board"] as string) || "mps2-an386", !!f["--json"], f["--engine"] as string | undefined);
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
