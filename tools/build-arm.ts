// `mote build --board <cortex-m board>`: the firmware ELF for a Cortex-M
// board (today mps2-an386 under QEMU): the core module translated by wasm2c,
// mote's bare-metal wasm2c runtime, the common driver, the lwIP port, the
// board's platform folder and lwIP itself, linked with arm-none-eabi-gcc.
// Steps and stamps are build.ts's: nothing is redone when its inputs match.
import * as fs from "fs";
import * as path from "path";
import { execFileSync, spawnSync } from "child_process";
import { genHeader } from "./gen-header";
import { writeAbiHeaders } from "./abi";
import { Board } from "./boards";
import { DEFAULT_KEY_FILE, provisionStore, readKey } from "./image";
import { ensureWasm3Sources, wasm3Headers, wasm3IncludeFlags, WASM3_CFLAGS, WASM3_DIR, WASM3_UNITS } from "./wasm3";
import { ensureTls, mbedtlsUnits, tlsHeaders, tlsIncludeFlags, MBEDTLS_DIR, TLS_DIR } from "./tls";
import { ROOT, BuildOptions, BuildResult, Unit, appName, boardConfig, buildWasm, compileAndLink, listFiles, log, run, step } from "./build";

const WASM2C_RT = "/usr/src/wasm2c";
const CC = "arm-none-eabi-gcc";
// build.ts imports this file: ROOT is read at call time, not at load time
const lwipDir = () => path.join(ROOT, "vendor/lwip/src");

// lwIP 2.1 files for NO_SYS=1 with IPv4 (src/Filelists.mk: COREFILES,
// CORE4FILES, and the Ethernet layer). Features switched off in lwipopts.h
// compile to nothing.
const LWIP_FILES = [
  "core/init.c", "core/def.c", "core/inet_chksum.c", "core/ip.c", "core/mem.c", "core/memp.c", "core/netif.c",
  "core/pbuf.c", "core/stats.c", "core/sys.c", "core/tcp.c", "core/tcp_in.c", "core/tcp_out.c", "core/timeouts.c",
  "core/udp.c", "core/ipv4/dhcp.c", "core/ipv4/etharp.c", "core/ipv4/icmp.c", "core/ipv4/ip4.c", "core/ipv4/ip4_addr.c",
  "core/ipv4/ip4_frag.c", "api/err.c", "netif/ethernet.c",
];

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** The toolchain, QEMU and lwIP's source, installed by the setup script
 *  when missing (a plain `npm start` does not fetch them). */
function ensureTools(opts: BuildOptions) {
  if (have(CC) && fs.existsSync(path.join(lwipDir(), "core/tcp.c"))) return;
  log(opts, "arm toolchain or lwIP source missing: running tools/bootstrap.js build-arm");
  const r = spawnSync(process.execPath, [path.join(ROOT, "tools/bootstrap.js"), "build-arm"], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error("setup for arm boards failed (tools/bootstrap.js build-arm)");
}

/** board_config.h for a Cortex-M board: the common limits plus the CPU,
 *  memory and network sizes (MOTE_BOARD_NET_* feed lwipopts.h). */
export function armBoardConfig(board: Board): string {
  const net = board.network!;
  const q = (s: string) => JSON.stringify(s);
  const extra = [
    `#define MOTE_BOARD_CPU ${q(board.cpu!.core)}`,
    `#define MOTE_BOARD_CPU_HZ ${board.cpu!.clockHz}u`,
    `#define MOTE_BOARD_WASM_MEMORY_BYTES ${board.wasm!.memoryBytes}u`,
    `#define MOTE_BOARD_LISTEN_PORT ${board.qemu ? board.qemu.devicePort : 80}`,
    `#define MOTE_BOARD_NET_MAX_SOCKETS ${net.maxSockets}`,
    `#define MOTE_BOARD_NET_LISTEN_BACKLOG ${net.listenBacklog}`,
    `#define MOTE_BOARD_NET_TCP_MSS ${net.tcpMss}`,
    `#define MOTE_BOARD_NET_TCP_WND ${net.tcpWnd}`,
    `#define MOTE_BOARD_NET_TCP_SND_BUF ${net.tcpSndBuf}`,
    `#define MOTE_BOARD_NET_RX_PBUFS ${net.rxPbufs}`,
    `#define MOTE_BOARD_NET_TX_HEAP_BYTES ${net.txHeapBytes}`,
    `#define MOTE_BOARD_NET_DHCP ${net.dhcp ? 1 : 0}`,
    `#define MOTE_BOARD_NET_IP ${q(net.ip || "0.0.0.0")}`,
    `#define MOTE_BOARD_NET_NETMASK ${q(net.netmask || "0.0.0.0")}`,
    `#define MOTE_BOARD_NET_GATEWAY ${q(net.gateway || "0.0.0.0")}`,
  ];
  const common = boardConfig(board).trimEnd().split("\n");
  const end = common.lastIndexOf("#endif");
  return [...common.slice(0, end), ...extra, ...common.slice(end), ""].join("\n");
}

/** The linker script: platform/<p>/<p>.ld with the board's memory sizes. */
function linkerScript(board: Board, template: string, engine: string, tls = false): string {
  const m = board.memory!;
  const flashOrigin = parseInt(m.flash.origin || "0x00000000", 16);
  // the app-image store (wasm3) sits at the top of flash, outside the firmware
  const flashBytes = engine === "wasm3" && board.imageStore?.origin ? parseInt(board.imageStore.origin, 16) - flashOrigin : m.flash.bytes;
  const heapBytes = (engine === "wasm3" ? board.wasm3!.heapBytes : m.heapBytes || 0) + (tls ? board.tls!.heapBytes : 0);
  const vals: Record<string, string> = {
    MOTE_FLASH_ORIGIN: m.flash.origin || "0x00000000",
    MOTE_FLASH_BYTES: String(flashBytes),
    MOTE_RAM_ORIGIN: m.ram.origin || "0x20000000",
    MOTE_RAM_BYTES: String(m.ram.bytes),
    MOTE_STACK_BYTES: String(m.stackBytes),
    MOTE_HEAP_BYTES: String(heapBytes),
  };
  const text = fs.readFileSync(template, "utf8").replace(/\bMOTE_[A-Z_]+\b/g, (k) => vals[k] ?? k);
  return `/* Generated from ${path.relative(ROOT, template)} and boards/${board.name}.json by tools/build-arm.ts. */\n${text}`;
}

export function buildArm(opts: BuildOptions, fileBoard: Board): BuildResult {
  // --dhcp: the board file with network.dhcp on, built in a folder of its own
  const board: Board = opts.dhcp && fileBoard.network ? { ...fileBoard, network: { ...fileBoard.network, dhcp: true } } : fileBoard;
  const engine = opts.engine || board.engine;
  if (engine !== "wasm2c" && engine !== "wasm3") throw new Error(`unknown engine '${engine}'`);
  const interp = engine === "wasm3";
  if (interp && !(board.imageStore && board.imageStore.origin && board.wasm3))
    throw new Error(`board '${board.name}' runs wasm3 only with an imageStore (with origin) and a wasm3 section`);
  if (!board.platform || !fs.existsSync(path.join(ROOT, "platform", board.platform)))
    throw new Error(`board '${board.name}': platform/${board.platform} does not exist`);
  if (!board.network || board.network.stack !== "lwip" || !board.memory || !board.wasm || !board.cpu)
    throw new Error(`board '${board.name}' lacks cpu, memory, wasm or an lwip network section`);
  ensureTools(opts);
  const LWIP = lwipDir();
  if (opts.tls) {
    if (!board.tls) throw new Error(`board '${board.name}' has no tls section (the C heap TLS needs)`);
    ensureTls();
  }

  const appDir = path.join(ROOT, "build", board.name, appName(opts.app));
  const dir = path.join(appDir, `${engine}${opts.dhcp ? "-dhcp" : ""}${opts.tls ? "-tls" : ""}`);
  const inc = path.join(dir, "include");
  fs.mkdirSync(inc, { recursive: true });
  const boardFile = path.join(ROOT, "boards", `${board.name}.json`);

  // 1. generated headers: ABI constants, board configuration
  const hdr = path.join(inc, "mote_abi.h");
  const constants = path.join(ROOT, "src/abi/constants.ts");
  step(path.join(inc, ".stamp"), [constants, path.join(ROOT, "tools/gen-header.ts")], "", [hdr], () =>
    fs.writeFileSync(hdr, genHeader(constants)),
  );
  const abiHeaders = writeAbiHeaders(inc); // the calls (tools/abi.ts)
  const cfg = path.join(inc, "board_config.h");
  const cfgText = armBoardConfig(board); // the text itself keys the stamp: overrides such as --dhcp count
  step(path.join(inc, ".board.stamp"), [boardFile, __filename, path.join(ROOT, "tools/build.ts")], cfgText, [cfg], () =>
    fs.writeFileSync(cfg, cfgText),
  );
  const plat = path.join(ROOT, "platform", board.platform);
  const ldTemplate = path.join(plat, `${board.platform.replace(/^qemu-/, "")}.ld`);
  const ld = path.join(dir, "mote.ld");
  const ldText = linkerScript(board, ldTemplate, engine, !!opts.tls);
  step(ld + ".stamp", [boardFile, ldTemplate, __filename], ldText, [ld], () => fs.writeFileSync(ld, ldText));

  // 2. the module, 3. wasm2c (wasm3 runs the module from the image store)
  const wasm = buildWasm(opts, appDir);
  const gen = path.join(dir, "gen");
  const coreC = path.join(gen, "core.c");
  if (!interp) {
    fs.mkdirSync(gen, { recursive: true });
    step(path.join(gen, ".stamp"), [wasm], "wasm2c", [coreC], () => {
      log(opts, "wasm2c core.wasm -> core.c");
      run("wasm2c", [wasm, "-n", "core", "-o", coreC]);
    });
  }
  // wasm3: the device key compiled in (the QEMU board has no key storage;
  // an ESP32 reads its key from an eFuse block instead), and the store as
  // a factory writes it: the app's image in slot 0
  const keyFile = path.resolve(opts.imageKey || DEFAULT_KEY_FILE);
  const keyH = path.join(inc, "image_key.h");
  const flashBin = path.join(dir, "flash.bin");
  if (interp) {
    const key = readKey(keyFile);
    const keyText = `/* Generated by tools/build-arm.ts from the device key ${path.relative(ROOT, keyFile)}. Do not commit. */\n` +
      `#define MOTE_IMAGE_KEY { ${[...key].map((b) => `0x${b.toString(16).padStart(2, "0")}`).join(", ")} }\n`;
    step(keyH + ".stamp", [keyFile], keyText, [keyH], () => fs.writeFileSync(keyH, keyText, { mode: 0o600 }));
    step(flashBin + ".stamp", [wasm, keyFile, boardFile], "", [flashBin], () =>
      fs.writeFileSync(flashBin, provisionStore(board, fs.readFileSync(wasm), key)),
    );
  }

  // 4. compile and link
  const cpu = board.cpu.cflags || [];
  const base = [
    ...cpu, "-std=gnu11", "-g", "-ffunction-sections", "-fdata-sections",
    `-DMOTE_BOARD_${board.platform.replace(/\W/g, "_").toUpperCase()}=1`,
    `-I${inc}`, `-I${path.join(ROOT, "platform/include")}`, `-I${plat}`, `-I${path.join(plat, "include")}`,
    `-I${path.join(LWIP, "include")}`,
  ];
  const engineFlags = interp
    ? [
        ...wasm3IncludeFlags(), "-DMOTE_IMAGE_STORE=1",
        `-DMOTE_WASM3_MAX_PAGES=${Math.ceil(board.wasm.memoryBytes / 65536)}`,
        `-DMOTE_WASM3_STACK_BYTES=${board.wasm3!.valueStackBytes}`,
      ]
    : [
        "-fno-optimize-sibling-calls", "-frounding-math", // required by wasm2c output at -O2
        "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0", "-DWASM_RT_USE_STACK_DEPTH_COUNT=1",
        `-DWASM_RT_MAX_CALL_STACK_DEPTH=${board.wasm.maxCallDepth || 200}`,
        "-DMOTE_WASM_RT_BAREMETAL=1", `-I${WASM2C_RT}`, `-I${gen}`,
      ];
  const warn = ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror"]; // mote's own units: a warning stops the build
  // --tls: platform/tls on mbedTLS with the boards' configuration
  const tlsFlags = opts.tls
    ? ["-DMOTE_TLS=1", ...tlsIncludeFlags("mote_mbedtls_config_board.h")]
    : [];
  const headers = [
    ...listFiles(path.join(ROOT, "platform/include"), ".h"),
    ...listFiles(path.join(ROOT, "platform/common"), ".h"),
    ...listFiles(path.join(ROOT, "platform/lwip"), ".h"),
    ...listFiles(plat, ".h"),
    ...listFiles(path.join(ROOT, "platform/engines", engine), ".h"),
    hdr, cfg, ...abiHeaders,
    ...(interp ? [keyH, ...wasm3Headers()] : [path.join(gen, "core.h")]),
  ];
  const ours = [
    ...listFiles(path.join(ROOT, "platform/common"), ".c"),
    ...listFiles(path.join(ROOT, "platform/engines", engine), ".c"),
    ...listFiles(path.join(ROOT, "platform/lwip"), ".c"),
    ...listFiles(plat, ".c"),
    ...(opts.tls ? [path.join(TLS_DIR, "tls.c")] : []),
  ];
  if (interp) ensureWasm3Sources();
  const units: [string, string[]][] = [
    ...ours.map((f): [string, string[]] => [f, [...base, ...engineFlags, ...tlsFlags, ...warn, "-Os"]]),
    // mbedTLS: third-party (no -W), no app- or engine-specific flags: one set of objects per board
    ...(opts.tls
      ? mbedtlsUnits().map((u): [string, string[]] => [u, [...cpu, "-std=gnu11", "-g", "-ffunction-sections", "-fdata-sections", "-Os", ...tlsIncludeFlags("mote_mbedtls_config_board.h")]])
      : []),
    ...(interp
      ? // wasm3's interpreter: speed over size, sibling calls on (tools/wasm3.ts); third-party: no -W
        // (no app-specific include paths: one set of objects per board, shared by every app)
        WASM3_UNITS.map((u): [string, string[]] => [path.join(WASM3_DIR, u), [
          ...cpu, "-std=gnu11", "-g", "-ffunction-sections", "-fdata-sections", ...wasm3IncludeFlags(),
          `-DMOTE_WASM3_MAX_PAGES=${Math.ceil(board.wasm!.memoryBytes / 65536)}`, `-DMOTE_WASM3_STACK_BYTES=${board.wasm3!.valueStackBytes}`,
          ...WASM3_CFLAGS,
        ]])
      : [[coreC, [...base, ...engineFlags, "-O2"]] as [string, string[]]]), // the module: speed over size
    ...LWIP_FILES.map((f): [string, string[]] => [path.join(LWIP, f), [...base, "-Os", "-Wno-address"]]),
  ];
  const plan = units.map(([src, flags]): Unit => ({
    src, flags,
    deps: src.startsWith(LWIP) ? [src, ...listFiles(path.join(plat, "include"), ".h"), cfg]
      : src.startsWith(WASM3_DIR) ? [src, ...wasm3Headers()]
      : src.startsWith(MBEDTLS_DIR) ? [src, ...tlsHeaders(true)] : [src, ...headers, ...(opts.tls ? tlsHeaders() : [])],
  }));
  const elf = path.join(dir, "mote.elf");
  const ldflags = [...cpu, "-nostartfiles", "--specs=nano.specs", `-T${ld}`, "-Wl,--gc-sections", `-Wl,-Map=${path.join(dir, "mote.map")}`];
  if (compileAndLink(opts, board.name, dir, CC, plan, elf, ldflags, ["-lm"], [ld]))
    log(opts, execFileSync("arm-none-eabi-size", [elf], { encoding: "utf8" }).trimEnd());
  return { board, engine, dir, wasm, binary: elf, ...(interp ? { flash: flashBin } : {}) };
}
