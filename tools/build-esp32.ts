// `mote build --board <esp32 board>` and `mote gen`: ESP32 firmware through
// ESP-IDF 5.1 (platform/esp32: the component, platform/esp32/project: the
// firmware that starts it).
//
// `mote gen` writes what the component compiles besides mote's C sources:
// the ABI headers, board_config.h, the core as C (wasm2c) or the device key
// (wasm3), and mote-gen.cmake with the values the component's CMakeLists
// reads. `mote build` runs it, then configures the IDF project with CMake
// and Ninja (not idf.py: it wants a constraints file from Espressif's
// server) and merges bootloader, partition table and app into one flash
// image, plus the app-image partition for wasm3.
//
// The Espressif chain (ESP-IDF, the xtensa-esp32-elf and riscv32-esp-elf
// compilers, Espressif's QEMU, IDF's Python tools) is not installed by
// `npm test`: no registry serves it. esp32Chain() finds it in
// $MOTE_ESP32_HOME (default ~/.cache/mote-esp32) and says what is missing.
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { genHeader } from "./gen-header";
import { writeAbiHeaders } from "./abi";
import { Board } from "./boards";
import { DEFAULT_KEY_FILE, provisionStore, readKey } from "./image";
import { ensureWasm3Sources, WASM3_CFLAGS, WASM3_CONFIG, WASM3_DIR, WASM3_UNITS } from "./wasm3";
import { ROOT, BuildOptions, BuildResult, appName, boardConfig, buildWasm, listFiles, log, run, step } from "./build";

const WASM2C_RT = "/usr/src/wasm2c";

export type EspTarget = "esp32" | "esp32c3" | "esp32s3";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const chainJs = require("./esp32-chain.js") as {
  esp32Home(): string;
  esp32ChainParts(): Omit<Esp32Chain, "missing"> & { parts: [string, string, string, boolean][] };
  esp32Missing(target: string, boot?: boolean): string[];
};

/** Where each piece of the chain is, and which are missing. */
export interface Esp32Chain {
  home: string;
  idf: string;
  python: string;
  qemuXtensa: string;
  qemuRiscv: string;
  compilers: Record<EspTarget, string>; // the bin folder of each target's gcc
  missing: string[];
}

export const esp32Home = (): string => chainJs.esp32Home();

export function esp32Chain(): Esp32Chain {
  const c = chainJs.esp32ChainParts();
  return { home: c.home, idf: c.idf, python: c.python, qemuXtensa: c.qemuXtensa, qemuRiscv: c.qemuRiscv, compilers: c.compilers,
    missing: c.parts.filter(([, f]) => !fs.existsSync(f)).map(([w, f]) => `${w} (${f})`) };
}

/** Every piece of the chain and whether it is there. */
export const esp32ChainList = (): { what: string; file: string; ok: boolean }[] =>
  chainJs.esp32ChainParts().parts.map(([what, file]) => ({ what, file, ok: fs.existsSync(file) }));

/** What is missing for one target (and to boot it in QEMU). */
export const esp32Missing = (target: EspTarget, forQemu = false): string[] => chainJs.esp32Missing(target, forQemu);

export function esp32Target(board: Board): EspTarget {
  const t = board.esp32?.target;
  if (t !== "esp32" && t !== "esp32c3" && t !== "esp32s3") throw new Error(`board '${board.name}': esp32.target must be esp32, esp32c3 or esp32s3`);
  return t;
}

/** A missing chain, said as an error that names what to install. */
export function chainError(target: EspTarget, forQemu = false): Error | null {
  const missing = esp32Missing(target, forQemu);
  if (!missing.length) return null;
  return new Error(`the ESP32 chain for ${target} is not installed in ${esp32Home()} (set MOTE_ESP32_HOME to use another):\n  missing: ` +
    missing.join("\n  missing: ") + `\n  \`mote esp32 status\` lists it; docs/esp32.md says how to build it`);
}

/** board_config.h of an ESP32 board: the common limits plus the CPU. */
export function esp32BoardConfig(board: Board): string {
  const extra = [
    `#define MOTE_BOARD_CPU ${JSON.stringify(board.cpu!.core)}`,
    `#define MOTE_BOARD_CPU_HZ ${board.cpu!.clockHz}u`,
    `#define MOTE_BOARD_WASM_MEMORY_BYTES ${board.wasm!.memoryBytes}u`,
  ];
  const common = boardConfig(board).trimEnd().split("\n");
  const end = common.lastIndexOf("#endif");
  return [...common.slice(0, end), ...extra, ...common.slice(end), ""].join("\n");
}

const writeIfChanged = (file: string, text: string | Buffer, mode?: number) => {
  if (fs.existsSync(file) && fs.readFileSync(file).equals(Buffer.from(text))) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, mode ? { mode } : undefined);
};

export interface GenResult {
  dir: string;
  wasm: string;
  engine: string;
}

/** `mote gen`: what the component needs from the mote tree, in `out`. */
export function genEsp32(opts: BuildOptions, board: Board, out: string): GenResult {
  const engine = opts.engine || board.engine;
  if (engine !== "wasm2c" && engine !== "wasm3") throw new Error(`unknown engine '${engine}'`);
  const interp = engine === "wasm3";
  if (interp && !(board.imageStore && board.wasm3)) throw new Error(`board '${board.name}' runs wasm3 only with an imageStore and a wasm3 section`);
  const inc = path.join(out, "include");
  const gen = path.join(out, "gen");
  fs.mkdirSync(inc, { recursive: true });
  writeIfChanged(path.join(inc, "mote_abi.h"), genHeader(path.join(ROOT, "src/abi/constants.ts")));
  writeAbiHeaders(inc);
  writeIfChanged(path.join(inc, "board_config.h"), esp32BoardConfig(board));
  const wasm = buildWasm(opts, path.join(ROOT, "build", board.name, appName(opts.app)));
  const inputs = [path.join(ROOT, "boards", `${board.name}.json`), path.resolve(ROOT, opts.app || "app/demo.ts")];
  const vars: Record<string, string> = {
    MOTE_GEN_ENGINE: engine,
    MOTE_GEN_MAX_CALL_DEPTH: String(board.wasm!.maxCallDepth || 200),
    MOTE_GEN_WASM_PAGES: String(Math.ceil(board.wasm!.memoryBytes / 65536)),
  };
  if (!interp) {
    fs.mkdirSync(gen, { recursive: true });
    step(path.join(gen, ".stamp"), [wasm], "wasm2c", [path.join(gen, "core.c")], () => {
      log(opts, "wasm2c core.wasm -> core.c");
      run("wasm2c", [wasm, "-n", "core", "-o", path.join(gen, "core.c")]);
    });
    // wabt's runtime headers, so that the folder is all the component needs
    for (const h of ["wasm-rt.h", "wasm-rt-impl.h"]) writeIfChanged(path.join(gen, h), fs.readFileSync(path.join(WASM2C_RT, h)));
  } else {
    ensureWasm3Sources();
    const key = readKey(path.resolve(opts.imageKey || DEFAULT_KEY_FILE));
    writeIfChanged(path.join(inc, "image_key.h"), `/* Generated by \`mote gen\` from the device key. Do not commit. */\n` +
      `#define MOTE_IMAGE_KEY { ${[...key].map((b) => `0x${b.toString(16).padStart(2, "0")}`).join(", ")} }\n`, 0o600);
    writeIfChanged(path.join(out, "moteimg.bin"), provisionStore(board, fs.readFileSync(wasm), key));
    vars.MOTE_GEN_WASM3_STACK_BYTES = String(board.wasm3!.valueStackBytes);
  }
  const cm = (v: string) => `"${v.replace(/\\/g, "/")}"`;
  const lines = [
    "# Generated by `mote gen` (tools/build-esp32.ts). Do not edit.",
    ...Object.entries(vars).map(([k, v]) => `set(${k} ${v})`),
    `set(MOTE_GEN_INPUTS ${inputs.map(cm).join(" ")})`,
    ...(interp
      ? [
          `set(MOTE_GEN_WASM3_SOURCES ${WASM3_UNITS.map((u) => cm(path.join(WASM3_DIR, u))).join(" ")})`,
          `set(MOTE_GEN_WASM3_INCLUDES ${cm(WASM3_DIR)})`,
          `set(MOTE_GEN_WASM3_CFLAGS "${[...WASM3_CFLAGS, "-w"].join(";")}")`,
          `set(MOTE_GEN_WASM3_CONFIG ${cm(WASM3_CONFIG)})`,
        ]
      : []),
    "",
  ];
  writeIfChanged(path.join(out, "mote-gen.cmake"), lines.join("\n"));
  return { dir: out, wasm, engine };
}

/** The board's own sdkconfig settings, read after the project's
 *  sdkconfig.defaults (which PlatformIO reads alone): mote's Kconfig
 *  choices, QEMU's network, the board file's flash and socket sizes. The
 *  watchdogs are off: under QEMU's emulation a long request can starve
 *  the idle task. */
export function sdkconfigDefaults(board: Board, engine: string): string {
  const n = board.network!;
  const flashMb = Math.round(board.memory!.flash.bytes / 1048576);
  return [
    `# Generated by tools/build-esp32.ts from boards/${board.name}.json. Do not edit.`,
    `CONFIG_MOTE_BOARD="${board.name}"`,
    engine === "wasm3" ? "CONFIG_MOTE_ENGINE_WASM3=y" : "CONFIG_MOTE_ENGINE_WASM2C=y",
    "CONFIG_MOTE_NET_OPENETH=y",
    "CONFIG_ETH_USE_OPENETH=y",
    "CONFIG_ETH_USE_SPI_ETHERNET=n",
    "CONFIG_ETH_OPENETH_DMA_RX_BUFFER_NUM=10", // 4 drops frames under load (QEMU delivers bursts)
    `CONFIG_ESPTOOLPY_FLASHSIZE_${flashMb}MB=y`,
    `CONFIG_LWIP_MAX_SOCKETS=${n.maxSockets}`,
    `CONFIG_LWIP_TCP_MSS=${n.tcpMss}`,
    `CONFIG_LWIP_TCP_WND_DEFAULT=${n.tcpWnd}`,
    `CONFIG_LWIP_TCP_SND_BUF_DEFAULT=${n.tcpSndBuf}`,
    "CONFIG_ESP_TASK_WDT_EN=n",
    "CONFIG_ESP_INT_WDT=n",
    `CONFIG_MOTE_TASK_STACK=${board.memory!.stackBytes}`,
    "",
  ].join("\n");
}

function idfEnv(chain: Esp32Chain, target: EspTarget): NodeJS.ProcessEnv {
  return {
    ...process.env,
    IDF_PATH: chain.idf,
    IDF_TARGET: target,
    IDF_COMPONENT_MANAGER: "0",
    IDF_SKIP_CHECK_SUBMODULES: "1", // the chain brings only the submodules an Ethernet build needs
    IDF_MAINTAINER: "1", // IDF rejects a gcc version string that is not Espressif's otherwise
    PATH: [chain.compilers[target], path.dirname(chain.python), process.env.PATH].join(path.delimiter),
  };
}

function runIn(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, what: string) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const out = `${r.stdout || ""}${r.stderr || ""}`.trim().split("\n").slice(-60).join("\n");
    throw new Error(`${what} failed (${cmd} ${args.join(" ")}):\n${out}`);
  }
  return r.stdout;
}

/** Every source of mote's own that the firmware compiles (for the stamp). */
function moteSources(): string[] {
  return ["platform/esp32", "platform/common", "platform/posix", "platform/include", "platform/engines"].flatMap((d) =>
    listFiles(path.join(ROOT, d), "").filter((f) => /\.(c|h|txt|csv|yml)$|Kconfig$/.test(f)));
}

export function buildEsp32(opts: BuildOptions, board: Board): BuildResult {
  const target = esp32Target(board);
  const engine = opts.engine || board.engine;
  if (opts.dhcp) throw new Error("ESP32 boards always lease their address by DHCP: drop --dhcp");
  if (opts.tls) throw new Error(`--tls is not built for ${board.name} yet`);
  const err = chainError(target);
  if (err) throw err;
  const chain = esp32Chain();
  const app = opts.app || "app/demo.ts";
  const dir = path.join(ROOT, "build", board.name, appName(app), engine);
  const g = genEsp32(opts, board, path.join(dir, "gen"));
  const flash = path.join(dir, "flash.bin");
  const elf = path.join(dir, "mote.elf");
  const result: BuildResult = { board, engine, dir, wasm: g.wasm, binary: elf, flash };
  const project = path.join(ROOT, "platform/esp32/project");
  const defaultsText = sdkconfigDefaults(board, engine);
  // nothing to do when the app's generated files, mote's sources and the configuration are as last built
  const inputs = [__filename, ...listFiles(g.dir, ""), ...moteSources(), ...listFiles(project, "").filter((f) => !f.endsWith("platformio.ini"))];
  step(path.join(dir, "firmware.stamp"), inputs, defaultsText + chain.idf, [flash, elf], () => {
    // One IDF build folder per board and engine, shared by every app: IDF itself is compiled once,
    // and a change of app recompiles only the mote component.
    const idfDir = path.join(ROOT, "build", board.name, `idf-${engine}`);
    const idfBuild = path.join(idfDir, "build");
    const defaults = path.join(idfDir, "sdkconfig.defaults");
    const env = idfEnv(chain, target);
    fs.mkdirSync(idfDir, { recursive: true });
    const configured = path.join(idfDir, "configured-for");
    const want = `${fs.readFileSync(path.join(project, "sdkconfig.defaults"), "utf8")}${defaultsText}\n${g.dir}\n${chain.idf}`;
    if (!fs.existsSync(path.join(idfBuild, "build.ninja")) || !fs.existsSync(configured) || fs.readFileSync(configured, "utf8") !== want) {
      const key = path.join(idfDir, "sdkconfig.key");
      const keyText = fs.readFileSync(path.join(project, "sdkconfig.defaults"), "utf8") + defaultsText;
      if (!fs.existsSync(key) || fs.readFileSync(key, "utf8") !== keyText) {
        // a changed sdkconfig.defaults (the project's or the board's) starts the configuration afresh
        fs.writeFileSync(defaults, defaultsText);
        fs.writeFileSync(key, keyText);
        fs.rmSync(path.join(idfDir, "sdkconfig"), { force: true });
        fs.rmSync(path.join(idfBuild, "CMakeCache.txt"), { force: true });
      }
      log(opts, `cmake (ESP-IDF, ${target}) for ${path.relative(ROOT, g.dir)}`);
      runIn("cmake", ["-G", "Ninja", "-S", project, "-B", idfBuild, `-DIDF_TARGET=${target}`, "-DPYTHON_DEPS_CHECKED=1",
        `-DPYTHON=${chain.python}`, `-DSDKCONFIG=${path.join(idfDir, "sdkconfig")}`, `-DSDKCONFIG_DEFAULTS=${path.join(project, "sdkconfig.defaults")};${defaults}`,
        `-DMOTE_GEN_DIR=${g.dir}`, "-DCCACHE_ENABLE=0"], project, env, "cmake");
      fs.writeFileSync(configured, want);
    }
    log(opts, `ninja ${path.relative(ROOT, idfBuild)}`);
    runIn("ninja", ["-C", idfBuild], project, env, "ninja");
    const size = `${Math.round(board.memory!.flash.bytes / 1048576)}MB`;
    runIn(chain.python, ["-m", "esptool", "--chip", target, "merge_bin", "--fill-flash-size", size, "-o", flash, "@flash_args"],
      idfBuild, env, "esptool merge_bin");
    if (engine === "wasm3") {
      // the provisioned store written into the moteimg partition of the flash image
      const img = fs.readFileSync(path.join(g.dir, "moteimg.bin"));
      const bin = fs.readFileSync(flash);
      img.copy(bin, partitionOffset(path.join(project, "partitions.csv"), "moteimg"));
      fs.writeFileSync(flash, bin);
    }
    // what `mote flash` writes, kept with the app (the IDF folder is shared by every app)
    const parts = path.join(dir, "parts");
    fs.mkdirSync(parts, { recursive: true });
    const fa = JSON.parse(fs.readFileSync(path.join(idfBuild, "flasher_args.json"), "utf8"));
    const layout: FlashLayout = { chip: target, settings: fa.write_flash_args, parts: [] };
    for (const name of ["bootloader", "partition-table", "app"] as const) {
      const e = fa[name] as { offset: string; file: string };
      fs.copyFileSync(path.join(idfBuild, e.file), path.join(parts, path.basename(e.file)));
      layout.parts.push({ name, offset: Number(e.offset), file: path.basename(e.file) });
    }
    if (engine === "wasm3") {
      fs.copyFileSync(path.join(g.dir, "moteimg.bin"), path.join(parts, "moteimg.bin"));
      layout.parts.push({ name: "store", offset: partitionOffset(path.join(project, "partitions.csv"), "moteimg"), file: "moteimg.bin" });
    }
    fs.writeFileSync(path.join(parts, "layout.json"), JSON.stringify(layout, null, 2) + "\n");
    fs.copyFileSync(path.join(idfBuild, "mote.elf"), elf);
    fs.copyFileSync(path.join(idfBuild, "mote.map"), path.join(dir, "mote.map"));
  });
  return result;
}

/** What `mote flash` writes: each part at its offset, with esptool's flash settings. */
export interface FlashLayout {
  chip: string;
  settings: string[]; // --flash_mode dio --flash_size 4MB --flash_freq 80m
  parts: { name: "bootloader" | "partition-table" | "app" | "store"; offset: number; file: string }[];
}

/** The Python that runs esptool: the chain's, IDF's (IDF_PYTHON_ENV_PATH), or
 *  python3 when it has esptool (`pip install esptool`); null when none has. */
export function esptoolPython(): string | null {
  const c = esp32Chain();
  for (const py of [c.python, "python3"]) {
    const r = spawnSync(py, ["-c", "import esptool, serial"], { stdio: "ignore" });
    if (r.status === 0) return py;
  }
  return null;
}

/** A partition's offset in partitions.csv (hex or decimal). */
/** The device settings an ESP32 firmware reads from NVS at start (namespace
 *  "mote", u32 values; platform/esp32/esp32_port.c), by the firmware word the
 *  other boards take on their command line for the same setting. */
export const ESP32_NVS_SETTINGS: Record<string, string> = {
  "--ka-time": "ka_time", "--ka-probes": "ka_probes", "--ka-interval": "ka_interval",
  "--ws-ping": "ws_ping", "--ws-hangup": "ws_hangup", "--ws-message": "ws_message",
};

/** Firmware words (`--ka-time 2 --ka-probes 2 ...`) as NVS settings; a word
 *  the ESP32 firmware cannot take is an error that names it. */
export function esp32Settings(words: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < words.length; i += 2) {
    const key = ESP32_NVS_SETTINGS[words[i]];
    const v = Number(words[i + 1]);
    if (!key) throw new Error(`${words[i]}: an ESP32 board takes ${Object.keys(ESP32_NVS_SETTINGS).join(", ")} (kept in NVS); TLS is not built for it yet`);
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`${words[i]}: ${words[i + 1]} is not a number of seconds`);
    out[key] = v;
  }
  return out;
}

/** Writes `settings` as the NVS partition of the flash image `flash`
 *  (IDF's nvs_partition_gen.py; the partition's offset and size from the
 *  firmware project's partitions.csv). An empty set writes an empty NVS. */
export function writeEsp32Settings(flash: string, settings: Record<string, number>): void {
  const chain = esp32Chain();
  const csvFile = path.join(ROOT, "platform/esp32/project/partitions.csv");
  const offset = partitionOffset(csvFile, "nvs"), size = partitionSize(csvFile, "nvs");
  const dir = fs.mkdtempSync(path.join(path.dirname(path.resolve(flash)), ".nvs-"));
  try {
    const rows = ["key,type,encoding,value", "mote,namespace,,", ...Object.entries(settings).map(([k, v]) => `${k},data,u32,${v}`)];
    fs.writeFileSync(path.join(dir, "nvs.csv"), rows.join("\n") + "\n");
    const gen = path.join(chain.idf, "components/nvs_flash/nvs_partition_generator/nvs_partition_gen.py");
    runIn(chain.python, [gen, "generate", "nvs.csv", "nvs.bin", `0x${size.toString(16)}`], dir, process.env, "nvs_partition_gen.py");
    const image = fs.readFileSync(path.join(dir, "nvs.bin"));
    if (image.length !== size) throw new Error(`nvs_partition_gen.py made ${image.length} bytes, not the partition's ${size}`);
    const fd = fs.openSync(flash, "r+");
    try {
      fs.writeSync(fd, image, 0, image.length, offset);
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function partitionField(csv: string, name: string, field: number): number {
  for (const line of fs.readFileSync(csv, "utf8").split("\n")) {
    const f = line.split("#")[0].split(",").map((s) => s.trim());
    if (f[0] === name) return Number(f[field]);
  }
  throw new Error(`${csv} has no partition named ${name}`);
}

export const partitionSize = (csv: string, name: string): number => partitionField(csv, name, 4);

export function partitionOffset(csv: string, name: string): number {
  return partitionField(csv, name, 3);
}
