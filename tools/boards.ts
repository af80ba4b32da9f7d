// Board files (boards/<name>.json): the single source of a target's limits.
import * as fs from "fs";
import * as path from "path";

/** A network stack's sizes (lwIP's names in comments). */
export interface BoardNetwork {
  stack: "lwip" | "esp-idf-lwip";
  maxSockets: number; // TCP PCBs (MEMP_NUM_TCP_PCB) / CONFIG_LWIP_MAX_SOCKETS, listeners excluded on lwIP raw
  listenBacklog: number; // TCP_LISTEN_BACKLOG
  tcpMss: number; // TCP_MSS
  tcpWnd: number; // TCP_WND: receive window per connection
  tcpSndBuf: number; // TCP_SND_BUF: unacknowledged output per connection
  rxPbufs?: number; // PBUF_POOL_SIZE: full-size receive buffers shared by every connection
  txHeapBytes?: number; // MEM_SIZE: lwIP heap for copied output (TCP_WRITE_FLAG_COPY)
  ip?: string; // static address (used unless dhcp)
  netmask?: string;
  gateway?: string;
  dhcp: boolean;
}

export interface Budget {
  flashBytes: number;
  ramBytes: number;
  measured?: { flashBytes: number; ramBytes: number; parts: Record<string, [number, number]> };
}

export interface Board {
  name: string;
  description: string;
  engine: string;
  /** Microcontroller boards: the CPU and its compiler flags. */
  cpu?: { core: string; clockHz: number; cflags?: string[] };
  /** Microcontroller boards: flash and RAM, the main stack and the C heap. */
  memory?: {
    flash: { origin?: string; bytes: number };
    ram: { origin?: string; bytes: number };
    stackBytes: number;
    heapBytes?: number; // newlib malloc arena (bounded _sbrk)
    freeHeapBytes?: number; // what the vendor SDK leaves free (ESP-IDF with Wi-Fi up)
  };
  /** Which platform/<dir> runs it ("qemu-mps2", "esp32"); absent for linux. */
  platform?: string;
  qemu?: { machine: string; devicePort: number };
  /** ESP32 boards: the IDF target (ESP-IDF's IDF_TARGET). */
  esp32?: { target: string };
  network?: BoardNetwork;
  /** WebAssembly linear memory backed by the firmware (multiple of 64 KiB), and
   *  wasm2c's call depth limit. */
  /** shrinkLevel: asc's --shrinkLevel for this board's module (0: -O3 for
   *  speed, the default; 1: -O3s, about a third smaller at ~8% (wasm2c) /
   *  ~14% (wasm3) more instructions per message: docs/engines.md). */
  wasm?: { memoryBytes: number; maxCallDepth?: number; shrinkLevel?: number };
  /** The app-image store of engines that run a module image (wasm3): two
   *  slots of slotBytes (the IMG_HDR_BYTES header included) in a flash
   *  region at origin (boards; the simulator keeps it in a file). */
  imageStore?: { origin?: string; slotBytes: number; eraseBytes: number };
  /** Microcontroller boards running wasm3: the C heap that replaces
   *  memory.heapBytes (wasm3 mallocs linear memory, compiled code and its
   *  runtime), and wasm3's value stack. */
  wasm3?: { heapBytes: number; valueStackBytes: number };
  /** Microcontroller boards built with TLS (`--tls`, platform/tls): C heap
   *  added for mbedTLS (its shared state and each TLS session, ~20 KB each:
   *  this bounds the TLS connections open at once). */
  tls?: { heapBytes: number };
  /** Overrides of platform/include/mote_opts.h: {"MAX_LISTENERS": 2} becomes
   *  `#define MOTE_MAX_LISTENERS 2` in the generated board_config.h. */
  opts?: Record<string, number>;
  limits: {
    maxConnections: number | "rlimit";
    maxConnectionsCap?: number;
    rxBufferBytes: number;
    httpHeaderPool: number;
    httpHeaderBytes: number;
    txBlocks: number;
    txBlockBytes: number;
    maxMessageBytes: number;
    /** Output one connection may queue before it is no longer read from
     *  (uWS maxBackpressure); absent: a quarter of the pool's shared part,
     *  or maxMessageBytes when the shared part holds a message that large. */
    txConnBytes?: number;
    /** WebSocket liveness in seconds, the default of every vhost (lws retry
     *  policy): ping after wsPingSeconds with nothing received (default 60),
     *  close 1001 after wsHangupSeconds with nothing received (default 120),
     *  close 1008 when a frame or message is still incomplete
     *  wsMessageSeconds after it began (default 60). 0: never. */
    wsPingSeconds?: number;
    wsHangupSeconds?: number;
    wsMessageSeconds?: number;
    /** Connections at once from one peer address (nginx limit_conn), the
     *  default of every vhost; absent or 0: no limit. */
    maxConnsPerPeer?: number;
  };
  /** Firmware size limits `mote size` figures are held to (test/qemu/size.test.ts),
   *  per engine, and the per-part figures [flash, RAM] measured when they were set. */
  budget?: Record<string, Budget>;
  /** Where the budget figures came from. */
  budgetNote?: string;
}

export function boardNames(): string[] {
  return fs.readdirSync(path.resolve(__dirname, "../boards")).filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, "")).sort();
}

export function loadBoard(name: string): Board {
  const file = path.resolve(__dirname, "../boards", `${name}.json`);
  if (!fs.existsSync(file)) throw new Error(`unknown board '${name}' (known: ${boardNames().join(", ")})`);
  const b = JSON.parse(fs.readFileSync(file, "utf8")) as Board;
  checkBoard(b, file);
  return b;
}

/** True for the ESP32 boards (ESP-IDF firmware, platform/esp32). */
export function isEsp32Board(b: Board): boolean {
  return b.platform === "esp32";
}

/** True for boards whose firmware is built with arm-none-eabi-gcc. */
export function isArmBoard(b: Board): boolean {
  return !!b.cpu && /^cortex-m/.test(b.cpu.core);
}

/** Consistency rules a board file must keep (checked at load). */
function checkBoard(b: Board, file: string): void {
  const bad = (msg: string) => {
    throw new Error(`${file}: ${msg}`);
  };
  const l = b.limits;
  if (!l) bad("no limits");
  const st = b.imageStore;
  if (st && (st.slotBytes % st.eraseBytes !== 0 || st.slotBytes < 4096))
    bad("imageStore.slotBytes must be a multiple of imageStore.eraseBytes and at least 4096");
  const n = b.network;
  if (n && typeof l.maxConnections === "number") {
    if (l.maxConnections > n.maxSockets - 1)
      bad(`limits.maxConnections ${l.maxConnections} must stay below network.maxSockets ${n.maxSockets} (one socket is kept to refuse with)`);
    if (n.tcpWnd < n.tcpMss || n.tcpSndBuf < n.tcpMss) bad("network.tcpWnd and tcpSndBuf must be at least tcpMss");
    if (n.stack === "lwip" && (!n.rxPbufs || !n.txHeapBytes)) bad("lwip boards need network.rxPbufs and network.txHeapBytes");
    if (!n.dhcp && n.stack === "lwip" && !(n.ip && n.netmask && n.gateway)) bad("a static address needs network.ip, netmask and gateway");
  }
  if (b.wasm && (b.wasm.memoryBytes <= 0 || b.wasm.memoryBytes % 65536 !== 0)) bad("wasm.memoryBytes must be a positive multiple of 65536");
  if (b.opts) {
    const known = optionNames();
    for (const [k, v] of Object.entries(b.opts)) {
      if (!known.has(k)) bad(`opts.${k}: not an option of platform/include/mote_opts.h (known: ${[...known].join(", ")})`);
      if (!Number.isInteger(v) || v < 0) bad(`opts.${k}: ${JSON.stringify(v)} is not a non-negative integer`);
    }
  }
}

/** The options platform/include/mote_opts.h defines (`#ifndef MOTE_X`), without MOTE_. */
export function optionNames(): Set<string> {
  const h = fs.readFileSync(path.join(__dirname, "..", "platform", "include", "mote_opts.h"), "utf8");
  return new Set([...h.matchAll(/^#ifndef MOTE_(\w+)$/gm)].map((m) => m[1]).filter((n) => n !== "OPTS_H"));
}
