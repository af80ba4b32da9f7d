// `mote size --board <esp32 board>`: the ESP-IDF firmware's flash and static
// RAM, per part, from the link map (esp-idf-size, IDF's own tool, per object
// file), and what the chip leaves for the heap.
//
// Parts:
//   core    the core module as C (wasm2c's core.c); wasm3: the module is in
//           the moteimg partition, not in the firmware (appImage)
//   engine  the wasm2c runtime and glue or the wasm3 interpreter, the common
//           driver, image store, SHA-256 (platform/engines, platform/common)
//   port    the BSD-socket port (platform/posix) and platform/esp32 (task,
//           network bring-up, flash partition, the DP83848 driver for QEMU)
//   lwip    ESP-IDF's lwIP
//   idf     the rest of ESP-IDF: FreeRTOS, drivers, esp_netif, Ethernet,
//           NVS, partitions, the start-up code and bootloader support
//   libc    newlib, libgcc, libstdc++
// Flash: what each part puts in the app image (text, rodata, initialised
// data); the .noinit WebAssembly memory is RAM only (esp-idf-size counts
// it on both sides; it is taken out of flash here). RAM: static D/IRAM
// (data, bss, noinit, IRAM code).
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { build, ROOT } from "./build";
import { Board } from "./boards";
import { esp32Chain } from "./build-esp32";

export const ESP32_PARTS = ["core", "engine", "port", "lwip", "idf", "libc"] as const;
export type Esp32Part = (typeof ESP32_PARTS)[number];

export interface Esp32Size {
  board: string;
  engine: string;
  target: string;
  elf: string;
  imageBytes: number; // the app partition's image (mote.bin)
  flashBytes: number; // the parts' sum (code, rodata, initialised data)
  ramBytes: number; // static D/IRAM
  parts: Record<Esp32Part, { flash: number; ram: number }>;
  wasmMemoryBytes: number;
  appImage: { bytes: number; slotBytes: number } | null;
}

export function esp32PartOf(key: string): Esp32Part {
  const [lib, obj = ""] = key.split(":");
  if (lib === "libesp32.a") {
    if (/^core\.c\./.test(obj)) return "core";
    if (/^(engine_|wasm-rt-|driver\.c|image_store|sha256|wasm_check|zcodec|m3_)/.test(obj)) return "engine";
    return "port";
  }
  if (lib === "liblwip.a") return "lwip";
  if (/^lib(c|m|gcc|stdc\+\+|supc\+\+|g|nosys)\.a$/.test(lib)) return "libc";
  return "idf";
}

export function esp32Size(board: Board, engine = board.engine): Esp32Size {
  const r = build({ board: board.name, engine, quiet: true });
  const map = path.join(r.dir, "mote.map");
  const c = esp32Chain();
  const j = spawnSync(c.python, ["-m", "esp_idf_size", "--files", "--format", "json", map], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (j.status !== 0) throw new Error(`esp_idf_size failed on ${map}:\n${j.stderr}`);
  const files = JSON.parse(j.stdout) as Record<string, Record<string, number>>;
  const parts = Object.fromEntries(ESP32_PARTS.map((p) => [p, { flash: 0, ram: 0 }])) as Esp32Size["parts"];
  let wasmMemory = 0;
  for (const [key, v] of Object.entries(files)) {
    const p = parts[esp32PartOf(key)];
    const noinit = v[".noinit"] || 0;
    if (/wasm-rt-baremetal/.test(key)) wasmMemory += noinit;
    p.flash += (v.flash_total || 0) - noinit;
    p.ram += v.ram_st_total || 0;
  }
  const sum = (k: "flash" | "ram") => Object.values(parts).reduce((a, p) => a + p[k], 0);
  return {
    board: board.name,
    engine: r.engine,
    target: board.esp32!.target,
    elf: path.relative(ROOT, r.binary),
    imageBytes: fs.statSync(path.join(r.dir, "parts", "mote.bin")).size,
    flashBytes: sum("flash"),
    ramBytes: sum("ram"),
    parts,
    wasmMemoryBytes: wasmMemory,
    appImage: r.engine === "wasm3" && board.imageStore ? { bytes: fs.statSync(r.wasm).size, slotBytes: board.imageStore.slotBytes } : null,
  };
}

export function formatEsp32(s: Esp32Size): string {
  const pad = (v: string | number, n: number) => String(v).padStart(n);
  const lines = [
    `${s.board} (${s.target}), engine ${s.engine}: app image ${s.imageBytes} B; flash ${s.flashBytes} B, static RAM ${s.ramBytes} B`,
    `  ${"part".padEnd(8)}${pad("flash", 9)}${pad("RAM", 9)}`,
    ...ESP32_PARTS.map((p) => `  ${p.padEnd(8)}${pad(s.parts[p].flash, 9)}${pad(s.parts[p].ram, 9)}`),
    `  RAM includes the WebAssembly memory, ${s.wasmMemoryBytes} B` + (s.appImage ? `; the module (${s.appImage.bytes} B) is in the moteimg partition (${s.appImage.slotBytes} B slots)` : ""),
  ];
  return lines.join("\n") + "\n";
}
