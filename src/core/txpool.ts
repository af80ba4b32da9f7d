// Output blocks shared by every connection.
//
// A connection holds output only when the socket did not take all of a send
// (a partial send) or when it already has output queued (order must be kept).
// Its queue is a chain of fixed-size blocks taken from one pool sized from the
// board (LIM_TX_BLOCKS x LIM_TX_BLOCK_BYTES), so an idle connection costs no
// output memory and nothing is allocated after init.
//
//   block i: data at base + i * blockBytes; next[i] = following block or NONE
//   a queue: head block (read from headOff), tail block (filled to tailFill)
//
// The reserve. The last reserveBlocks free blocks go only to queues that
// hold at most connReserve bytes after the append: a few connections with
// large backlogs can exhaust the shared part, never the reserve, so every
// other connection can still queue one read's answer and make progress
// (dispatch.ts reads a WebSocket only when txFits() its answer).

import { NONE } from "./record";

let base: usize = 0;
let blockBytes: u32 = 0;
let count: u32 = 0;
let next: usize = 0; // u32[count]
let freeHead: u32 = NONE;
let freeCount: u32 = 0;
let reserveBlocks: u32 = 0;
let connReserve: u32 = 0;

export function txPoolInit(nBlocks: u32, bytes: u32): void {
  count = nBlocks;
  blockBytes = bytes;
  base = heap.alloc(<usize>nBlocks * bytes);
  next = heap.alloc(<usize>nBlocks << 2);
  freeHead = NONE;
  for (let i = nBlocks; i > 0; i--) {
    store<u32>(next + ((<usize>i - 1) << 2), freeHead);
    freeHead = i - 1;
  }
  freeCount = nBlocks;
}

/** Keeps `blocks` for queues holding at most `perConn` bytes (start-up). */
export function txPoolReserve(blocks: u32, perConn: u32): void {
  reserveBlocks = blocks;
  connReserve = perConn;
}

/** Whether a queue holding `held` bytes may append `len` more (conservative:
 *  room left in its tail block is not counted). */
export function txFits(held: u32, len: u32): bool {
  const need = (len + blockBytes - 1) / blockBytes;
  const floor = held + len > connReserve ? reserveBlocks : 0;
  return need + floor <= freeCount;
}

export function txFreeBlocks(): u32 {
  return freeCount;
}
export function txTotalBlocks(): u32 {
  return count;
}

@inline export function blockData(b: u32): usize {
  return base + <usize>b * blockBytes;
}
@inline export function blockNext(b: u32): u32 {
  return load<u32>(next + (<usize>b << 2));
}

function take(): u32 {
  const b = freeHead;
  freeHead = load<u32>(next + (<usize>b << 2));
  store<u32>(next + (<usize>b << 2), NONE);
  freeCount--;
  return b;
}

export function give(b: u32): void {
  store<u32>(next + (<usize>b << 2), freeHead);
  freeHead = b;
  freeCount++;
}

/** A queue's state lives in the connection record; this is its view. */
@unmanaged
export class TxQueue {
  head: u32;
  tail: u32;
  headOff: u32;
  tailFill: u32;
  bytes: u32; // total queued

  reset(): void {
    this.head = NONE;
    this.tail = NONE;
    this.headOff = 0;
    this.tailFill = 0;
    this.bytes = 0;
  }

  /** Appends len bytes; all or nothing. False when the pool cannot hold them. */
  append(src: usize, len: u32): bool {
    if (len == 0) return true;
    let room: u32 = this.tail == NONE ? 0 : blockBytes - this.tailFill;
    if (len > room) {
      const need = (len - room + blockBytes - 1) / blockBytes;
      const floor = this.bytes + len > connReserve ? reserveBlocks : 0; // see "The reserve"
      if (need + floor > freeCount) return false;
    }
    let left = len;
    while (left > 0) {
      if (this.tail == NONE || this.tailFill == blockBytes) {
        const b = take();
        if (this.tail == NONE) {
          this.head = b;
          this.headOff = 0;
        } else store<u32>(next + (<usize>this.tail << 2), b);
        this.tail = b;
        this.tailFill = 0;
      }
      let n = blockBytes - this.tailFill;
      if (n > left) n = left;
      memory.copy(blockData(this.tail) + this.tailFill, src, n);
      this.tailFill += n;
      src += n;
      left -= n;
    }
    this.bytes += len;
    return true;
  }

  /** The first contiguous run of queued bytes: pointer, and its length via runLen(). */
  runPtr(): usize {
    return blockData(this.head) + this.headOff;
  }
  runLen(): u32 {
    if (this.head == NONE) return 0;
    const end = this.head == this.tail ? this.tailFill : blockBytes;
    return end - this.headOff;
  }

  /** Drops n bytes (n <= runLen()) from the front, freeing emptied blocks. */
  consume(n: u32): void {
    this.headOff += n;
    this.bytes -= n;
    const end = this.head == this.tail ? this.tailFill : blockBytes;
    if (this.headOff == end) {
      const b = this.head;
      const nx = blockNext(b);
      give(b);
      if (b == this.tail) this.reset();
      else {
        this.head = nx;
        this.headOff = 0;
      }
    }
  }

  /** Frees every block (connection closing). */
  clear(): void {
    let b = this.head;
    while (b != NONE) {
      const nx = blockNext(b);
      give(b);
      if (b == this.tail) break;
      b = nx;
    }
    this.reset();
  }
}
