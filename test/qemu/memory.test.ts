// RAM per idle WebSocket on the emulated board, measured (issue 4): the
// firmware prints its memory in use when its console receives 'm'
// (platform/qemu-mps2/main.c, platform/lwip/sock.c mote_lwip_mem_format).
// Read once with no connection, open N idle echo WebSockets (the board's
// limit minus one, paced: slirp's backlog is 1), let them settle, read again:
//
//   per connection = dynamic / N + fixed
//   dynamic = what grew between the two readings: lwIP's heap (bytes in use),
//             lwIP's memp pools (elements in use x element size: tcp_pcb,
//             segments, pbufs), the C heap (sbrk) and the core's heap top
//             (less the 16 B each probe takes); TIME_WAIT pcbs are left out
//             (they belong to connections already closed)
//   fixed   = what each slot reserves whether used or not: the core's
//             connection record (from its start-up line) and the port's slot
//
// The figure goes to the jest log and to
// test-artifacts/memory-mps2-an386/summary.txt (printed at the end of the
// run by test/summary-reporter.js).
import * as fs from "fs";
import * as path from "path";
import WebSocket from "ws";
import { QemuBoard, wsOpen, pace, BOARD } from "./board";
import { isEsp32Board, loadBoard } from "../../tools/boards";
import { perFile, closeAll, artifactsDir, ENGINE, echoOnce } from "../integration/sim";

jest.setTimeout(60000);

const LIMIT = 1536;
// memory-<board>, or memory-<board>-wasm3 in the wasm3 projects
const OUT = artifactsDir(`memory-${BOARD}`);
const ENGINE_NAME = ENGINE || "wasm2c";

let board: QemuBoard;
perFile(() => QemuBoard.start(), (b) => (board = b));

type Mem = { n: Record<string, number>; pools: Record<string, { used: number; num: number; size: number }>; line: string };

/** Sends 'm' to the console and parses the next "mem:" line. */
async function readMem(): Promise<Mem> {
  const from = board.log.length;
  board.console("m");
  const end = Date.now() + 5000;
  let m: RegExpExecArray | null = null;
  while (!(m = /mem: ([^\r\n]*)\r?\n/.exec(board.log.slice(from)))) {
    if (Date.now() > end) throw new Error(`no mem: line after 'm':\n${board.log.slice(from)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const mem: Mem = { n: {}, pools: {}, line: m[1] };
  for (const kv of m[1].trim().split(/\s+/)) {
    const [k, v] = kv.split("=");
    const p = /^(\d+)\/(\d+)\*(\d+)$/.exec(v);
    if (p) mem.pools[k] = { used: +p[1], num: +p[2], size: +p[3] };
    else mem.n[k] = Number(v);
  }
  return mem;
}

test("RAM per idle WebSocket, measured on the board, is under 1.5 kB", async () => {
  const max = board.board.limits.maxConnections as number;
  const N = max - 1;
  await board.waitLog(/mote core: \d+ connections x \d+ B/);
  const record = Number(/mote core: \d+ connections x (\d+) B/.exec(board.log)![1]);

  // warm-up: one WebSocket echo first, so that code the engine prepares on
  // first use (wasm3 compiles each function when it is first called) is
  // not counted as a connection's cost
  await pace();
  const warm = await wsOpen(board.wsUrl + "/", "echo");
  expect(await echoOnce(warm, "warm-up")).toBe("warm-up");
  await closeAll([warm]);
  await new Promise((r) => setTimeout(r, 500));
  const before = await readMem();
  const open: WebSocket[] = [];
  let after: Mem;
  try {
    for (let i = 0; i < N; i++) {
      await pace();
      open.push(await wsOpen(board.wsUrl + "/", "echo"));
    }
    // settle: handshakes answered and acknowledged, header buffers returned
    await new Promise((r) => setTimeout(r, 1000));
    after = await readMem();
  } finally {
    await closeAll(open);
  }
  expect(after.n.port_open).toBe(N);
  expect(before.n.port_open).toBe(0);
  if (isEsp32Board(loadBoard(BOARD))) return esp32Figures(before, after!, N, record);

  const pcbSize = after.pools.TCP_PCB.size;
  const poolsLive = (m: Mem) => m.n.lwip_pools_used - m.n.tcp_tw * pcbSize;
  const parts = {
    lwipHeap: after.n.lwip_heap_used - before.n.lwip_heap_used,
    lwipPools: poolsLive(after) - poolsLive(before),
    cHeap: after.n.c_heap_sbrk - before.n.c_heap_sbrk,
    coreHeap: after.n.core_heap_top - before.n.core_heap_top - 16, // the second probe's own 16 B
  };
  const dynamic = parts.lwipHeap + parts.lwipPools + parts.cHeap + parts.coreHeap;
  const fixed = record + after.n.port_slot;
  const perConn = Math.round(dynamic / N + fixed);
  const poolDelta = Object.entries(after.pools)
    .map(([k, p]) => [k, (p.used - before.pools[k].used) * p.size - (k === "TCP_PCB" ? (after.n.tcp_tw - before.n.tcp_tw) * pcbSize : 0)] as [string, number])
    .filter(([, d]) => d !== 0)
    .map(([k, d]) => `${k} ${d}`)
    .join(", ");
  const summary =
    `memory (mps2-an386, ${ENGINE_NAME}, ${N} idle WebSockets): ${perConn} B per idle connection (limit ${LIMIT}) = ` +
    `dynamic ${(dynamic / N).toFixed(1)} B [lwIP heap ${parts.lwipHeap}, lwIP pools ${parts.lwipPools} (${poolDelta || "none"}), ` +
    `C heap ${parts.cHeap}, core heap ${parts.coreHeap}; total / ${N}] + fixed per slot ${fixed} B [core record ${record}, port slot ${after.n.port_slot}]` +
    `; C heap in use ${after.n.c_heap_sbrk} B` + (ENGINE_NAME === "wasm3" ? " (wasm3: linear memory, compiled code, runtime)" : "");
  const detail = `${summary}\n\nwith 0: mem: ${before.line}\nwith ${N}: mem: ${after!.line}\n`;
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, "summary.txt"), summary + "\n");
  fs.writeFileSync(path.join(OUT, "detail.txt"), detail);
  console.log(detail);

  expect(parts.coreHeap).toBe(0); // the core allocates nothing per connection
  expect(parts.cHeap).toBe(0);
  expect(after.n.pcb_used - after.n.tcp_tw - (before.n.pcb_used - before.n.tcp_tw)).toBe(N);
  expect(perConn).toBeLessThan(LIMIT);
});

/** ESP-IDF: lwIP allocates its PCBs, sockets and buffers from the one heap,
 *  so a connection's dynamic cost is what the free heap lost, over N. */
function esp32Figures(before: Mem, after: Mem, N: number, record: number): void {
  const dynamic = before.n.heap_free - after.n.heap_free;
  const fixed = record + after.n.port_slot;
  const perConn = Math.round(dynamic / N + fixed);
  const summary =
    `memory (${BOARD}, ${ENGINE_NAME}, ${N} idle WebSockets): ${perConn} B per idle connection (limit ${LIMIT}) = ` +
    `heap ${(dynamic / N).toFixed(1)} B [free heap ${before.n.heap_free} -> ${after.n.heap_free}, lwIP's PCBs, sockets and buffers ` +
    `included; / ${N}] + fixed per slot ${fixed} B [core record ${record}, port slot ${after.n.port_slot}]; ` +
    `free heap with the server up ${before.n.heap_free} B, lowest ${after.n.heap_min} B`;
  const detail = `${summary}\n\nwith 0: mem: ${before.line}\nwith ${N}: mem: ${after.line}\n`;
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, "summary.txt"), summary + "\n");
  fs.writeFileSync(path.join(OUT, "detail.txt"), detail);
  console.log(detail);
  expect(dynamic).toBeGreaterThan(0);
  expect(perConn).toBeLessThan(LIMIT);
}
