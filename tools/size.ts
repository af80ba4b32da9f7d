// `mote size --board B [--json]`: what the firmware costs in flash and RAM.
//
// Cortex-M boards (mps2-an386): the linked ELF's sections, attributed to the
// object that put each input section there through the linker map file
// (build-arm.ts links with -Wl,-Map=mote.map). Parts:
//   core    the core module as C (wasm2c's core.c); with wasm3 the module
//           is not in the firmware but in the app-image store (appImage)
//   engine  the engine: mote's wasm2c runtime and glue, or the wasm3
//           interpreter (vendor/wasm3) and its glue (platform/engines/*),
//           and the common driver, image store and SHA-256 (platform/common/)
//   lwip    lwIP itself (vendor/lwip)
//   port    the lwIP socket port (platform/lwip/) and the board's platform
//           folder (start-up, UART, Ethernet driver, newlib stubs)
//   libc    newlib-nano, libm and libgcc
//   reserved  the main stack and the C heap (linker script, from the board file)
// Flash = text + rodata + data (its load image); RAM = data + bss (zeroed
// sections: .bss, WebAssembly memory in .noinit, .heap, .stack).
//
// The per-connection cost adds the core's connection record (the size the
// core logs at start-up, read here by running mote_init on the module in
// Node with the board's limits), lwIP's tcp_pcb and the port's slot.
//
// Without --engine a board is reported for each engine it can run.
// linux: the simulator binary's sections per engine.
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { build, ROOT, ENGINES } from "./build";
import { loadBoard, isArmBoard, isEsp32Board, Board, Budget } from "./boards";
import { esp32Size, formatEsp32 } from "./size-esp32";

export const PARTS = ["core", "engine", "lwip", "port", "libc", "reserved", "other"] as const;
export type Part = (typeof PARTS)[number];

export interface PartSize {
  text: number; // code
  rodata: number;
  data: number; // initialised data (in flash and in RAM)
  bss: number; // zeroed RAM (.bss, .noinit, .heap, .stack)
  flash: number;
  ram: number;
}

export interface ArmSize {
  board: string;
  engine: string;
  elf: string;
  flashBytes: number;
  ramBytes: number;
  flashAvailable: number;
  ramAvailable: number;
  sections: Record<string, number>;
  parts: Record<Part, PartSize>;
  ram: {
    wasmMemoryBytes: number;
    stackBytes: number;
    heapBytes: number;
    lwipHeapBytes: number; // MEM_SIZE (ram_heap)
    lwipPoolBytes: number; // every memp pool together
    lwipPools: Record<string, number>;
    coreTablesBytes: number | null; // what mote_init takes from the linear memory
  };
  /** wasm3: the module image, kept in the app-image store (flash outside
   *  the firmware, two slots), not in the firmware. */
  appImage: { bytes: number; slotBytes: number; storeBytes: number } | null;
  perConnection: {
    coreRecordBytes: number | null;
    tcpPcbBytes: number | null;
    portSlotBytes: number | null;
    totalBytes: number | null;
  };
}

export interface LinuxSize {
  board: string;
  engines: Record<string, { binary: string; fileBytes: number; text: number; data: number; bss: number; sections: Record<string, number> }>;
}

const ALLOC_SECTIONS = [".text", ".ARM.exidx", ".init_array", ".data", ".bss", ".noinit", ".heap", ".stack"];

/** Which part an input file of the link belongs to. */
export function partOf(file: string): Part {
  const f = file.replace(/\\/g, "/");
  if (/\.a\(/.test(f) || /\/lib[^/]*\.a$/.test(f)) return "libc";
  const base = path.basename(f);
  if (/_gen_core\.o$/.test(base)) return "core";
  if (/^platform_engines_/.test(base) || /^platform_common_/.test(base) || /^vendor_wasm3_/.test(base)) return "engine";
  if (/^vendor_lwip_/.test(base)) return "lwip";
  if (/^platform_/.test(base)) return "port";
  return "other";
}

function empty(): PartSize {
  return { text: 0, rodata: 0, data: 0, bss: 0, flash: 0, ram: 0 };
}

/** Input sections of the allocated output sections, from a GNU ld map file. */
export function parseMap(text: string): { out: string; name: string; size: number; file: string }[] {
  const start = text.indexOf("Linker script and memory map");
  const lines = text.slice(start < 0 ? 0 : start).split("\n");
  const rows: { out: string; name: string; size: number; file: string }[] = [];
  let out = "";
  let pending = ""; // an input section name whose address/size/file is on the next line
  for (const line of lines) {
    const o = /^(\.[\w.]+)(\s+0x[0-9a-f]+\s+0x[0-9a-f]+)?/.exec(line);
    if (o) {
      out = o[1];
      pending = "";
      continue;
    }
    if (!ALLOC_SECTIONS.includes(out)) continue;
    let m = /^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$/.exec(line);
    if (m) {
      rows.push({ out, name: m[1], size: parseInt(m[3], 16), file: m[4].trim() });
      pending = "";
      continue;
    }
    m = /^ (\S+)\s*$/.exec(line);
    if (m && !m[1].startsWith("*")) {
      pending = m[1];
      continue;
    }
    m = /^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$/.exec(line);
    if (m && pending) {
      rows.push({ out, name: pending, size: parseInt(m[2], 16), file: m[3].trim() });
      pending = "";
      continue;
    }
    m = /^ \*fill\*\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)/.exec(line);
    if (m) rows.push({ out, name: "*fill*", size: parseInt(m[2], 16), file: "" });
  }
  return rows;
}

/** `size -A`: allocated sections with their sizes. */
function sectionSizes(tool: string, elf: string): Record<string, number> {
  const txt = execFileSync(tool, ["-A", elf], { encoding: "utf8" });
  const out: Record<string, number> = {};
  for (const line of txt.split("\n")) {
    const m = /^(\.\S+)\s+(\d+)\s+(\d+)/.exec(line);
    if (m && !/^\.(debug|comment|ARM\.attributes|note|gnu_debug)/.test(m[1])) out[m[1]] = parseInt(m[2], 10);
  }
  return out;
}

function symbolSizes(elf: string): { name: string; size: number; type: string }[] {
  const txt = execFileSync("arm-none-eabi-nm", ["-S", "--size-sort", "-t", "d", elf], { encoding: "utf8" });
  return txt
    .split("\n")
    .map((l) => /^\d+ (\d+) (\w) (\S+)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ name: m[3], size: parseInt(m[1], 10), type: m[2] }));
}

/** Runs mote_init on the module in Node with the board's limits and reads
 *  the core's start-up line: the connection record and the tables' size. */
export async function coreFigures(wasmFile: string, board: Board): Promise<{ recordBytes: number; tablesBytes: number } | null> {
  try {
    const consts = fs.readFileSync(path.join(ROOT, "src/abi/constants.ts"), "utf8");
    const c = (n: string) => {
      const m = new RegExp(`export const ${n} = (\\d+)`).exec(consts);
      if (!m) throw new Error(`constant ${n} missing`);
      return parseInt(m[1], 10);
    };
    let memory: WebAssembly.Memory | undefined;
    const lines: string[] = [];
    const env: Record<string, Function> = {
      log_emit: (_lvl: number, ptr: number, len: number) => lines.push(Buffer.from(memory!.buffer, ptr, len).toString("utf8")),
      sock_listen: () => 0,
      random_fill: (ptr: number, len: number) => new Uint8Array(memory!.buffer, ptr, len).fill(0),
      // no DEFLATE codec here (INIT_DEFLATE is not set): every z_* call answers Z_ERR_STATE (-3)
      z_open: () => -3,
      z_inflate: () => -3,
      z_deflate: () => -3,
      z_close: () => {},
    };
    const mod = await WebAssembly.compile(fs.readFileSync(wasmFile));
    const imports: Record<string, Record<string, any>> = {};
    for (const imp of WebAssembly.Module.imports(mod)) {
      imports[imp.module] = imports[imp.module] || {};
      if (imp.kind === "function") imports[imp.module][imp.name] = env[imp.name] || (() => 0);
    }
    const inst = await WebAssembly.instantiate(mod, imports);
    const ex = inst.exports as any;
    memory = ex.memory as WebAssembly.Memory;
    const l = board.limits;
    const blk = ex.mote_limits_ptr() as number;
    const dv = new DataView(memory.buffer);
    const put = (off: number, v: number) => dv.setUint32(blk + off, v, true);
    put(c("LIM_MAX_CONNS"), l.maxConnections as number);
    put(c("LIM_RX_BUF"), l.rxBufferBytes);
    put(c("LIM_HDR_POOL"), l.httpHeaderPool);
    put(c("LIM_HDR_BYTES"), l.httpHeaderBytes);
    put(c("LIM_TX_BLOCKS"), l.txBlocks);
    put(c("LIM_TX_BLOCK_BYTES"), l.txBlockBytes);
    put(c("LIM_LOG_LEVEL"), 7);
    put(c("LIM_MAX_MESSAGE"), l.maxMessageBytes);
    put(c("LIM_TX_CONN_BYTES"), l.txConnBytes ?? 0);
    ex.mote_init(0);
    const line = lines.find((s) => /mote core: \d+ connections x \d+ B/.test(s));
    if (!line) return null;
    const rec = parseInt(/connections x (\d+) B/.exec(line)![1], 10);
    const tables = /; tables (\d+) B;/.exec(line);
    return { recordBytes: rec, tablesBytes: tables ? parseInt(tables[1], 10) : 0 };
  } catch {
    return null;
  }
}

/** The engines a board's firmware can be built for. */
export function boardEngines(board: Board): string[] {
  return ENGINES.filter((e) => e === "wasm2c" || (board.wasm3 && board.imageStore?.origin));
}

export async function armSize(board: Board, engine = board.engine): Promise<ArmSize> {
  const r = build({ board: board.name, engine, quiet: true });
  const elf = r.binary;
  const mapFile = path.join(path.dirname(elf), "mote.map");
  if (!fs.existsSync(mapFile)) throw new Error(`${mapFile} is missing: the link writes it (tools/build-arm.ts)`);
  const sections = sectionSizes("arm-none-eabi-size", elf);
  const parts = Object.fromEntries(PARTS.map((p) => [p, empty()])) as Record<Part, PartSize>;
  let last: Part = "other";
  for (const row of parseMap(fs.readFileSync(mapFile, "utf8"))) {
    // padding belongs to the part whose section follows it; attribute it to the previous one (close enough)
    const part: Part = row.file ? partOf(row.file) : last;
    if (row.file) last = part;
    const p = parts[part];
    if (row.out === ".data") p.data += row.size;
    else if (row.out === ".bss" || row.out === ".noinit") p.bss += row.size;
    else if (row.out === ".heap" || row.out === ".stack") parts.reserved.bss += row.size;
    else if (/^\.rodata/.test(row.name)) p.rodata += row.size;
    else p.text += row.size;
  }
  const sec = (n: string) => sections[n] || 0;
  // .heap and .stack have no input sections: the linker script reserves them
  parts.reserved.bss = sec(".heap") + sec(".stack");
  const flashBytes = sec(".text") + sec(".ARM.exidx") + sec(".init_array") + sec(".data");
  const ramBytes = sec(".data") + sec(".bss") + sec(".noinit") + sec(".heap") + sec(".stack");
  // what the map did not explain (alignment between output sections) goes to "other"
  let flashSum = 0;
  let ramSum = 0;
  for (const p of Object.values(parts)) {
    p.flash = p.text + p.rodata + p.data;
    p.ram = p.data + p.bss;
    flashSum += p.flash;
    ramSum += p.ram;
  }
  parts.other.text += flashBytes - flashSum;
  parts.other.flash += flashBytes - flashSum;
  parts.other.bss += ramBytes - ramSum;
  parts.other.ram += ramBytes - ramSum;

  const syms = symbolSizes(elf);
  const sym = (name: string) => syms.find((s) => s.name === name)?.size ?? 0;
  const pools: Record<string, number> = {};
  for (const s of syms) {
    const m = /^memp_memory_(\w+)_base$/.exec(s.name);
    if (m) pools[m[1]] = s.size;
  }
  const net = board.network!;
  const maxConns = board.limits.maxConnections as number;
  // memp pools: LWIP_MEM_ALIGN_BUFFER adds MEM_ALIGNMENT-1 (4 on these boards) to n * element
  const pcbPool = pools["TCP_PCB"];
  const tcpPcbBytes = pcbPool ? Math.floor((pcbPool - 3) / net.maxSockets) : null;
  const slots = sym("slots");
  const portSlotBytes = slots ? Math.floor(slots / maxConns) : null;
  const core = await coreFigures(r.wasm, board);
  const per = [core?.recordBytes ?? null, tcpPcbBytes, portSlotBytes];
  return {
    board: board.name,
    engine: r.engine,
    elf: path.relative(ROOT, elf),
    flashBytes,
    ramBytes,
    flashAvailable: board.memory!.flash.bytes,
    ramAvailable: board.memory!.ram.bytes,
    sections,
    parts,
    appImage: r.engine === "wasm3" && board.imageStore
      ? { bytes: fs.statSync(r.wasm).size, slotBytes: board.imageStore.slotBytes, storeBytes: 2 * board.imageStore.slotBytes }
      : null,
    ram: {
      wasmMemoryBytes: sym("wasm_memory") || board.wasm!.memoryBytes,
      stackBytes: sec(".stack"),
      heapBytes: sec(".heap"),
      lwipHeapBytes: sym("ram_heap"),
      lwipPoolBytes: Object.values(pools).reduce((a, b) => a + b, 0),
      lwipPools: pools,
      coreTablesBytes: core ? core.tablesBytes : null,
    },
    perConnection: {
      coreRecordBytes: per[0],
      tcpPcbBytes,
      portSlotBytes,
      totalBytes: per.every((x) => x !== null) ? (per as number[]).reduce((a, b) => a + b, 0) : null,
    },
  };
}

export function linuxSize(board: Board): LinuxSize {
  const engines: LinuxSize["engines"] = {};
  for (const engine of ENGINES) {
    const r = build({ board: board.name, engine, quiet: true });
    const sections = sectionSizes("size", r.binary);
    const txt = execFileSync("size", [r.binary], { encoding: "utf8" }).split("\n")[1].trim().split(/\s+/).map(Number);
    engines[engine] = { binary: path.relative(ROOT, r.binary), fileBytes: fs.statSync(r.binary).size, text: txt[0], data: txt[1], bss: txt[2], sections };
  }
  return { board: board.name, engines };
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const pad = (s: string, n: number) => s.padEnd(n);
const num = (n: number) => String(n).padStart(8);

const PART_LABEL: Record<Part, string> = {
  core: "core module (wasm2c core.c)",
  engine: "engine (runtime/interpreter, glue, driver)",
  lwip: "lwIP",
  port: "port + board (platform/lwip, qemu-mps2)",
  libc: "C library (newlib-nano, libm, libgcc)",
  reserved: "stack + C heap (board file)",
  other: "other (padding, merged strings)",
};

export function formatArm(s: ArmSize): string {
  const out: string[] = [];
  out.push(`${s.board} (${s.engine}), ${s.elf}`);
  out.push(`flash ${s.flashBytes} B (${kb(s.flashBytes)}) of ${kb(s.flashAvailable)}: text+rodata+data`);
  out.push(`RAM   ${s.ramBytes} B (${kb(s.ramBytes)}) of ${kb(s.ramAvailable)}: data+bss (WebAssembly memory, stack and heap included)`);
  if (s.appImage)
    out.push(`app image ${s.appImage.bytes} B in the image store (${s.appImage.storeBytes} B of flash outside the firmware: 2 slots of ${s.appImage.slotBytes} B)`);
  out.push("");
  out.push(`${pad("part", 42)}${"text".padStart(8)}${"rodata".padStart(8)}${"data".padStart(8)}${"bss".padStart(8)}${"flash".padStart(8)}${"RAM".padStart(8)}`);
  for (const p of PARTS) {
    const v = s.parts[p];
    if (p === "other" && v.flash === 0 && v.ram === 0) continue;
    out.push(`${pad(PART_LABEL[p], 42)}${num(v.text)}${num(v.rodata)}${num(v.data)}${num(v.bss)}${num(v.flash)}${num(v.ram)}`);
  }
  out.push("");
  out.push("RAM details:");
  out.push(`  WebAssembly linear memory  ${s.ram.wasmMemoryBytes} B` + (s.engine === "wasm3" ? " (wasm3: allocated from the C heap)" : "") + (s.ram.coreTablesBytes !== null ? ` (core tables at init: ${s.ram.coreTablesBytes} B)` : ""));
  out.push(`  stack                      ${s.ram.stackBytes} B`);
  out.push(`  C heap (newlib)            ${s.ram.heapBytes} B` +
    (s.engine === "wasm3" ? " (wasm3: linear memory, compiled code, runtime; use measured by test/qemu/memory.test.ts)" : ""));
  out.push(`  lwIP heap (MEM_SIZE)       ${s.ram.lwipHeapBytes} B`);
  out.push(`  lwIP pools                 ${s.ram.lwipPoolBytes} B (${Object.entries(s.ram.lwipPools).map(([k, v]) => `${k} ${v}`).join(", ")})`);
  const pc = s.perConnection;
  const f = (n: number | null) => (n === null ? "?" : String(n));
  out.push(`per connection: ${f(pc.totalBytes)} B = core record ${f(pc.coreRecordBytes)} + lwIP tcp_pcb ${f(pc.tcpPcbBytes)} + port slot ${f(pc.portSlotBytes)} (static; pbufs in flight come from the shared pools)`);
  out.push(`measured per idle WebSocket on the running board: test/qemu/memory.test.ts (summary in test-artifacts/memory-mps2-an386/summary.txt)`);
  return out.join("\n") + "\n";
}

export function formatLinux(s: LinuxSize): string {
  const out: string[] = [`${s.board}: the simulator binary per engine`];
  for (const [engine, e] of Object.entries(s.engines)) {
    out.push(`${engine}: ${e.binary}, file ${e.fileBytes} B; text ${e.text} B, data ${e.data} B, bss ${e.bss} B`);
    for (const [name, size] of Object.entries(e.sections)) if (size > 0) out.push(`  ${pad(name, 20)}${num(size)}`);
  }
  return out.join("\n") + "\n";
}

/** Both engines side by side: the totals and what moves between them. */
export function formatCompare(sizes: ArmSize[]): string {
  const out = ["", `engines compared (${sizes[0].board}):`];
  for (const s of sizes) {
    const fw = s.flashBytes;
    const img = s.appImage ? s.appImage.bytes : 0;
    out.push(`  ${pad(s.engine, 8)} firmware flash ${num(fw)} B` + (img ? ` + app image ${img} B in the store` : " (app compiled in)") +
      `; RAM ${num(s.ramBytes)} B (C heap ${s.ram.heapBytes} B)`);
  }
  return out.join("\n") + "\n";
}

export async function size(boardName: string, json: boolean, engine?: string): Promise<number> {
  const board = loadBoard(boardName);
  if (isArmBoard(board)) {
    if (!board.platform) throw new Error(`board '${board.name}' has no firmware build yet`);
    if (engine && !boardEngines(board).includes(engine)) throw new Error(`board '${board.name}' does not run engine '${engine}' (it runs ${boardEngines(board).join(", ")})`);
    if (engine) {
      const s = await armSize(board, engine);
      process.stdout.write(json ? JSON.stringify(s, null, 2) + "\n" : formatArm(s));
      return 0;
    }
    const all: ArmSize[] = [];
    for (const e of boardEngines(board)) all.push(await armSize(board, e));
    if (json) process.stdout.write(JSON.stringify({ board: board.name, engines: Object.fromEntries(all.map((s) => [s.engine, s])) }, null, 2) + "\n");
    else process.stdout.write(all.map(formatArm).join("\n") + (all.length > 1 ? formatCompare(all) : ""));
    return 0;
  }
  if (isEsp32Board(board)) {
    const engines = engine ? [engine] : ["wasm2c", ...(board.wasm3 && board.imageStore ? ["wasm3"] : [])];
    const all = engines.map((e) => esp32Size(board, e));
    process.stdout.write(json ? JSON.stringify(all.length === 1 ? all[0] : { board: board.name, engines: Object.fromEntries(all.map((x) => [x.engine, x])) }, null, 2) + "\n"
      : all.map(formatEsp32).join("\n"));
    return 0;
  }
  if (board.name === "linux") {
    const s = linuxSize(board);
    process.stdout.write(json ? JSON.stringify(s, null, 2) + "\n" : formatLinux(s));
    return 0;
  }
  throw new Error(`board '${board.name}' cannot be built yet, so it has no size`);
}

/** Checks `mote size` figures against a board's budget: one line per total
 *  over its limit, naming the parts that grew since the budget's measured
 *  figures (largest growth first). Empty when within budget. */
export function checkBudget(s: { flashBytes: number; ramBytes: number; parts: Record<string, { flash: number; ram: number }> }, budget: Budget): string[] {
  const out: string[] = [];
  const measured = budget.measured?.parts || {};
  for (const [kind, total, limit, idx] of [
    ["flash", s.flashBytes, budget.flashBytes, 0],
    ["RAM", s.ramBytes, budget.ramBytes, 1],
  ] as [string, number, number, 0 | 1][]) {
    if (total <= limit) continue;
    const grew = Object.entries(s.parts)
      .map(([name, p]) => {
        const now = idx === 0 ? p.flash : p.ram;
        const was = measured[name] ? measured[name][idx] : 0;
        return { name, now, was, delta: now - was };
      })
      .filter((g) => g.delta > 0)
      .sort((a, b) => b.delta - a.delta)
      .map((g) => `${g.name} ${g.was} -> ${g.now} B (+${g.delta})`);
    out.push(`${kind} ${total} B exceeds the budget of ${limit} B by ${total - limit} B; grew: ${grew.length ? grew.join(", ") : "no single part (padding)"}`);
  }
  return out;
}
