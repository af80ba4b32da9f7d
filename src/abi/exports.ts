// The module's exports: how the port (C, or the Node test host) drives the
// core. The one source of the export side of the ABI: tools/abi.ts reads the
// `export function mote_*` lines of this file and generates the engines'
// call wrappers (engine.h's mote_engine_*) and the Node host's export list;
// test/tools/abi.test.ts fails if they drift. The imports are in
// ./imports.ts, the constants in ./constants.ts.
//
// Every call runs to completion (no call re-enters the core); pointers
// returned are offsets into the module's memory, valid until the next call.

import { ABI_VERSION } from "./constants";
import { limitsPtr, init } from "../core/config";
import {
  rxBuffer, rxSpace, accepted, connected, connectFailed, received, writable, closed, tick, shutdown,
} from "../core/dispatch";

/** Where the port writes the Limits block (LIM_* offsets, LIM_SIZE bytes)
 *  before calling mote_init(). */
export function mote_limits_ptr(): usize {
  return limitsPtr();
}

/** Allocate every table from the limits, run the application's setup (which
 *  creates vhosts and so calls sock_listen). Returns 0, or a negative error
 *  after logging why. Called once per instance. */
export function mote_init(now_ms: u32): i32 {
  return init(now_ms);
}

/** Where the port should read socket bytes for `conn`, and how many it may
 *  read. Space 0 means: do not read now. Valid until the next call into the
 *  core. */
export function mote_rx_buffer(conn: u32): usize {
  return rxBuffer(conn);
}
export function mote_rx_space(conn: u32): u32 {
  return rxSpace(conn);
}

/** A listener accepted `conn`; `vhost` is the vhost whose TLS configuration
 *  served its handshake, or VHOST_ANY. Returns ACCEPT_OK or ACCEPT_REFUSED
 *  (the port closes the socket; the core has already logged why). */
export function mote_accepted(listener: u32, conn: u32, vhost: u32): i32 {
  return accepted(listener, conn, vhost);
}

/** A connection from sock_connect is up (TCP, and TLS when asked). */
export function mote_connected(conn: u32): void {
  connected(conn);
}

/** A connection from sock_connect failed before it was up: `reason` is an
 *  errno or CONNECT_ERR_*. The port has already freed the handle. */
export function mote_connect_failed(conn: u32, reason: u32): void {
  connectFailed(conn, reason);
}

/** `n` bytes were read into mote_rx_buffer(conn). */
export function mote_received(conn: u32, n: u32): void {
  received(conn, n);
}

/** The socket can take bytes (after sock_want_writable(conn, 1)). */
export function mote_writable(conn: u32): void {
  writable(conn);
}

/** The peer closed or the socket failed (CLOSED_* reason). */
export function mote_closed(conn: u32, reason: u32): void {
  closed(conn, reason);
}

/** Time passes. Returns the milliseconds until the core next needs a tick
 *  (0xffffffff: nothing pending). The port ticks when that time comes and,
 *  when its clock moved, before it delivers the events a wait returned
 *  (platform/common/driver.h, mote_drv_clock): timers set by an event count
 *  from the last tick's time. */
export function mote_tick(now_ms: u32): u32 {
  return tick(now_ms);
}

/** Begin a graceful shutdown: WebSocket peers get close 1001, HTTP
 *  connections close when idle. Returns the number of connections still
 *  open; the port keeps servicing until it reaches 0 or its own deadline. */
export function mote_shutdown(): u32 {
  return shutdown();
}

/** Diagnostics for tests: the heap top, found by allocating one minimal
 *  block, so each call moves the top by a fixed 16 bytes. Two probes around a
 *  workload differ by exactly 16 when the workload allocated nothing. The
 *  service never calls it. */
export function mote_heap_probe(): usize {
  return heap.alloc(0);
}

export function mote_abi_version(): u32 {
  return ABI_VERSION;
}
