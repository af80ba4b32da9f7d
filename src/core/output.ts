// Output: bytes to the port in order, queued in the tx pool (./txpool.ts)
// when the socket does not take them all, and the port's writable and
// pause-reading switches kept in step with the record.
//
// Output batching. While the core handles one read (mote_received), small
// writes to that connection are only queued ("corked"); the queue goes out in
// one send when the read has been handled. A read holding many frames then
// costs one send instead of one per frame. Copying a write of up to one tx
// block costs far less than a syscall; larger writes flush the queue and go
// straight to the socket without a copy.

import { ConnRecord, NONE, F_APP_WANTS_WRITABLE, F_PORT_WRITABLE, F_RX_PAUSED } from "./record";
import { txq } from "./table";
import { sock_send, sock_want_writable, sock_pause_rx } from "../abi/imports";

let corkMax: u32 = 0; // = the tx block size
let corked: u32 = NONE;

export function outputInit(txBlockBytes: u32): void {
  corkMax = txBlockBytes;
}

/** Writes to connection id are queued until uncork() (one read is handled). */
export function cork(id: u32): void {
  corked = id;
}
export function uncork(): void {
  corked = NONE;
}

/** Sends or queues bytes for c, keeping order. False when the tx pool cannot
 *  hold the rest: the caller drops the connection (dispatch.ts send()). A
 *  broken socket takes everything (the port reports mote_closed later). */
@inline export function sendOrQueue(c: ConnRecord, ptr: usize, len: u32): bool {
  const q = txq(c);
  if (corked == c.id) {
    if (len <= corkMax && q.append(ptr, len)) return true;
    if (!drain(c)) return queue(c, ptr, len); // socket full: keep order
  }
  if (q.head == NONE) {
    const r = sock_send(c.id, ptr, len);
    if (r < 0) return true; // broken: the port reports mote_closed later
    if (<u32>r == len) return true;
    ptr += r;
    len -= r;
  }
  return queue(c, ptr, len);
}

function queue(c: ConnRecord, ptr: usize, len: u32): bool {
  if (!txq(c).append(ptr, len)) return false;
  updatePortWritable(c);
  return true;
}

/** Writes queued bytes until the socket stops taking them. True when the
 *  queue is empty afterwards. */
export function drain(c: ConnRecord): bool {
  const q = txq(c);
  while (q.head != NONE) {
    const n = q.runLen();
    const r = sock_send(c.id, q.runPtr(), n);
    if (r <= 0) return false;
    q.consume(<u32>r);
    if (<u32>r < n) return false;
  }
  return true;
}

export function txPending(c: ConnRecord): bool {
  return txq(c).head != NONE;
}

/** The port reports writability while output is queued or the app asked. */
export function updatePortWritable(c: ConnRecord): void {
  const want = txq(c).head != NONE || (c.flags & F_APP_WANTS_WRITABLE) != 0;
  const has = (c.flags & F_PORT_WRITABLE) != 0;
  if (want != has) {
    c.flags ^= F_PORT_WRITABLE;
    sock_want_writable(c.id, want ? 1 : 0);
  }
}

/** The port reads from c only while the core has room for its input. */
export function setRxPaused(c: ConnRecord, paused: bool): void {
  if (paused != ((c.flags & F_RX_PAUSED) != 0)) {
    c.flags ^= F_RX_PAUSED;
    sock_pause_rx(c.id, paused ? 1 : 0);
  }
}
