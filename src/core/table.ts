// The connection table and the buffers every connection shares, allocated
// once by tableInit() at start-up (./config.ts), nothing afterwards:
//   - the records (maxConns x recordSize, ./record.ts)
//   - the shared receive buffer (PRE headroom + rxSize): WebSocket input is
//     read here, unmasked in place and handed to the app without a copy
//   - the header-buffer pool (hdrCount x hdrBytes): a connection in its HTTP
//     phase reads into its own; a buffer's first hdrRawOff bytes hold the
//     parsed head (src/http/hdrbuf.ts), the rest the raw bytes
//   - the tx block pool (./txpool.ts)
// and the list of used slots, the counters a status page reads, and the
// limits the layers above consult.

import { ConnRecord, NONE, CTRL_MAX } from "./record";
import { TxQueue, txPoolInit, txPoolReserve } from "./txpool";
import { PRE, PIPELINE_QUEUE_MAX } from "./limits";

export let maxConns: u32 = 0;
let table: usize = 0;
let recordSize: u32 = 0;
let userOffset: u32 = 0;

/** The shared receive buffer; PRE bytes of headroom precede it. */
export let rxBuf: usize = 0;
export let rxSize: u32 = 0;

let hdrPool: usize = 0;
export let hdrBytes: u32 = 0;
export let hdrCount: u32 = 0;
let hdrRawOff: u32 = 0;
let hdrFree: usize = 0; // u32 stack of free header buffer indexes
let hdrFreeTop: u32 = 0;

/** A WebSocket whose queued output is above this is not read from (uWS
 *  maxBackpressure; see tableInit). */
export let txConnCap: u32 = 0;
/** Pipelined HTTP: queued output above which the next request waits
 *  (PIPELINE_QUEUE_MAX, capped by the pool). */
export let pipelineQueueMax: u32 = 0;
/** Largest WebSocket message accepted (0: unlimited); over it: close 1009. */
export let maxMessage: u64 = 0;
/** The port keeps an app-image store (INIT_IMAGE_STORE): PUT /.mote/image. */
export let imageStoreOn = false;
/** Linear memory the tables took at start-up. */
export let staticBytes: usize = 0;

// ---- used slots: a doubly linked list through nextActive/prevActive ----------
export let activeHead: u32 = NONE;
export let activeCount: u32 = 0;

// ---- counters (Stats in src/mote.ts) ---------------------------------------------
export let statAccepted: u64 = 0;
export let statRefused: u64 = 0;
export let statRxMessages: u64 = 0;
export let statTxMessages: u64 = 0;
export let statRxBytes: u64 = 0;
export let statWsOpen: u32 = 0;

/** Allocates every table. `userSize`: the largest per-session user data of
 *  any protocol; `rawOff`: where the raw bytes start in a header buffer.
 *  Returns the bytes taken. */
export function tableInit(conns: u32, userSize: u32, rx: u32, hdrs: u32, hdrSize: u32, rawOff: u32,
                          txBlocks: u32, txBlockBytes: u32, txConnBytes: u32, maxMsg: u64, imageStore: bool): usize {
  maxConns = conns;
  rxSize = rx;
  hdrCount = hdrs;
  hdrBytes = hdrSize;
  hdrRawOff = rawOff;
  maxMessage = maxMsg;
  imageStoreOn = imageStore;
  userOffset = offsetof<ConnRecord>() + CTRL_MAX;
  recordSize = (userOffset + userSize + 7) & ~7;
  table = heap.alloc(<usize>maxConns * recordSize);
  memory.fill(table, 0, <usize>maxConns * recordSize);
  for (let i: u32 = 0; i < maxConns; i++) {
    const c = record(i);
    c.id = i;
    c.hdr = NONE;
    txq(c).reset();
  }
  rxBuf = heap.alloc(PRE + rxSize) + PRE;
  hdrPool = heap.alloc(<usize>hdrCount * hdrBytes);
  hdrFree = heap.alloc(<usize>hdrCount << 2);
  for (let i = hdrCount; i > 0; i--) hdrGive(i - 1);
  txPoolInit(txBlocks, txBlockBytes);
  // The reserve (./txpool.ts): a connection may always hold one read's
  // answer plus a block (connReserve); the pool keeps a quarter, and at least
  // two such answers, for connections holding no more than that.
  const perConn = rxSize + txBlockBytes;
  const perConnBlocks = (perConn + txBlockBytes - 1) / txBlockBytes;
  let reserve = txBlocks >> 2;
  if (reserve < 2 * perConnBlocks) reserve = 2 * perConnBlocks;
  if (reserve > txBlocks >> 1) reserve = txBlocks >> 1;
  txPoolReserve(reserve, perConn);
  // One connection's backlog above which it is not read from (its answers
  // wait in its own socket): the board's txConnBytes, else a quarter of the
  // shared part, or the largest message when the shared part holds one: a
  // peer may send a whole message before it reads the echo (Autobahn's 9.x
  // cases do), and pausing it sooner would deadlock both. One read's answer
  // can overshoot the cap by rxSize.
  const shared = <u64>(txBlocks - reserve) * txBlockBytes;
  let cap = shared >> 2;
  if (maxMsg > cap && maxMsg + rxSize <= shared) cap = maxMsg;
  txConnCap = txConnBytes != 0 ? txConnBytes : <u32>cap;
  const sixteenth = <u32>((<u64>txBlocks * txBlockBytes) >> 4);
  pipelineQueueMax = sixteenth < PIPELINE_QUEUE_MAX ? sixteenth : PIPELINE_QUEUE_MAX;
  staticBytes = <usize>maxConns * recordSize + PRE + rxSize + <usize>hdrCount * (hdrBytes + 4) + <usize>txBlocks * (txBlockBytes + 4);
  return staticBytes;
}

export function addStaticBytes(n: usize): void {
  staticBytes += n;
}

// ---- records ---------------------------------------------------------------------

@inline export function record(id: u32): ConnRecord {
  return changetype<ConnRecord>(table + <usize>id * recordSize);
}

@inline export function ctrlBuf(c: ConnRecord): usize {
  return changetype<usize>(c) + offsetof<ConnRecord>();
}

@inline export function userData(c: ConnRecord): usize {
  return changetype<usize>(c) + userOffset;
}

/** The bytes of the per-session user data area (every record has the same). */
export function userDataBytes(): u32 {
  return recordSize - userOffset;
}

/** The bytes of one record (fields, control payload, user data). */
export function recordBytes(): u32 {
  return recordSize;
}

@inline export function txq(c: ConnRecord): TxQueue {
  return changetype<TxQueue>(changetype<usize>(c) + offsetof<ConnRecord>("txHead"));
}

/** A fresh record for slot c.id holding header buffer h (or NONE): every
 *  field zero (ST_FREE, ROLE_NONE), the output queue empty. */
export function resetRecord(c: ConnRecord, h: u32): void {
  const keepId = c.id;
  memory.fill(changetype<usize>(c), 0, recordSize);
  c.id = keepId;
  c.hdr = h;
  txq(c).reset();
}

export function activate(c: ConnRecord): void {
  c.prevActive = NONE;
  c.nextActive = activeHead;
  if (activeHead != NONE) record(activeHead).prevActive = c.id;
  activeHead = c.id;
  activeCount++;
}

export function deactivate(c: ConnRecord): void {
  if (c.prevActive != NONE) record(c.prevActive).nextActive = c.nextActive;
  else activeHead = c.nextActive;
  if (c.nextActive != NONE) record(c.nextActive).prevActive = c.prevActive;
  activeCount--;
}

// ---- header buffers ----------------------------------------------------------------

/** A free header buffer's index, or NONE when every one is in use. */
export function hdrTake(): u32 {
  if (hdrFreeTop == 0) return NONE;
  hdrFreeTop--;
  return load<u32>(hdrFree + (<usize>hdrFreeTop << 2));
}

export function hdrGive(i: u32): void {
  store<u32>(hdrFree + (<usize>hdrFreeTop << 2), i);
  hdrFreeTop++;
}

@inline export function hdrBase(i: u32): usize {
  return hdrPool + <usize>i * hdrBytes;
}

/** Where header buffer i's raw bytes start, and how many it holds. */
@inline export function hdrRaw(i: u32): usize {
  return hdrPool + <usize>i * hdrBytes + hdrRawOff;
}
@inline export function hdrRawCap(): u32 {
  return hdrBytes - hdrRawOff;
}
