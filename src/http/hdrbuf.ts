// A connection's header buffer (one per HTTP-phase connection, from the pool
// of src/core/table.ts) and the head it holds: the one place that knows its
// layout, and the one place header fields are looked up.
//
//   +-------------+----------------+-----------------------+----------------------+
//   | MessageHead | ChunkedDecoder | header table          | raw bytes: head,     |
//   |             |                | MAX_HEADERS x entries | body, next requests  |
//   +-------------+----------------+-----------------------+----------------------+
//   0             DEC_OFF          TABLE_OFF               RAW_OFF
// The port reads straight into the raw area (mote_rx_buffer).

import { Conn, HeadView, setHeadView } from "../core/conn";
import { hdrBase, hdrRaw, hdrRawCap } from "../core/table";
import { MAX_HEADERS } from "../core/limits";
import { MessageHead, HEADER_ENTRY_SIZE, findHeaderFrom, headerValueOff, headerValueLen } from "./head";
import { ChunkedDecoder } from "./chunked";

const DEC_OFF: usize = (offsetof<MessageHead>() + 7) & ~7;
const TABLE_OFF: usize = (DEC_OFF + offsetof<ChunkedDecoder>() + 7) & ~7;
const RAW_OFF: usize = (TABLE_OFF + <usize>MAX_HEADERS * HEADER_ENTRY_SIZE + 7) & ~7;

/** Bytes of a header buffer before its raw area. */
export function headerBufferCost(): u32 {
  return <u32>RAW_OFF;
}

@inline export function headOf(c: Conn): MessageHead {
  return changetype<MessageHead>(hdrBase(c.hdr));
}
@inline export function decOf(c: Conn): ChunkedDecoder {
  return changetype<ChunkedDecoder>(hdrBase(c.hdr) + DEC_OFF);
}
@inline export function tableOf(c: Conn): usize {
  return hdrBase(c.hdr) + TABLE_OFF;
}
@inline export function rawOf(c: Conn): usize {
  return hdrRaw(c.hdr);
}
@inline export function rawCap(): u32 {
  return hdrRawCap();
}

/** The free space after the raw bytes c holds (a work area between reads). */
export function freePtr(c: Conn): usize {
  return rawOf(c) + c.hdrFill;
}
export function freeSpace(c: Conn): u32 {
  return rawCap() - c.hdrFill;
}

/** The first header at or after index `from` named by the n bytes at `name`
 *  (any case): its index, or -1. */
export function findHeaderOf(c: Conn, name: usize, n: u32, from: u32 = 0): i32 {
  return findHeaderFrom(rawOf(c), headOf(c), tableOf(c), name, n, from);
}

@inline export function valuePtr(c: Conn, i: u32): usize {
  return rawOf(c) + headerValueOff(tableOf(c), i);
}
@inline export function valueLen(c: Conn, i: u32): u32 {
  return headerValueLen(tableOf(c), i);
}

/** Conn's head accessors (method(), pathPtr(), header(), ...). */
class HttpHeadView extends HeadView {
  method(c: Conn): u32 { return headOf(c).method; }
  pathPtr(c: Conn): usize { return rawOf(c) + headOf(c).pathOff; }
  pathLen(c: Conn): u32 { return headOf(c).pathLen; }
  queryPtr(c: Conn): usize { return rawOf(c) + headOf(c).queryOff; }
  queryLen(c: Conn): i32 { return headOf(c).hasQuery ? <i32>headOf(c).queryLen : -1; }
  find(c: Conn, name: usize, n: u32): i32 { return findHeaderOf(c, name, n, 0); }
  valuePtr(c: Conn, i: u32): usize { return valuePtr(c, i); }
  valueLen(c: Conn, i: u32): u32 { return valueLen(c, i); }
}

/** Installs Conn's head accessors (start-up, src/http/server.ts). */
export function installHeadView(): void {
  setHeadView(new HttpHeadView());
}
