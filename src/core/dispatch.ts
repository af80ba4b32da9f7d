// The dispatcher: every state transition of a connection, and the port's
// events. "Everything that affects the state machine lives here" (h11's
// _state.py): a connection's state changes only in the functions below (a
// check in npm test, test/tools/layers.test.ts, fails if another file writes
// `state`), and every change is checked against TRANSITIONS.
//
// What happens within a state is the role's business: the handler table
// (Role, ./conn.ts) sends bytes and writability to src/http/server.ts,
// src/ws/frames.ts or src/ws/client.ts, which call back here to move the
// connection on. This file imports none of them.
//
//   from                   to                 by
//   FREE                   HTTP_HEAD          accepted()             mote_accepted
//   FREE                   CLIENT_CONNECTING  enterClientConnecting  connectClient
//   CLIENT_CONNECTING      CLIENT_HANDSHAKE   connected()            mote_connected: the request goes out
//   HTTP_HEAD              HTTP_BODY          enterHttpRequest       a head announcing a body
//   HTTP_HEAD              HTTP_RESPOND       enterHttpRequest       a head without a body
//   HTTP_BODY              HTTP_RESPOND       enterHttpRespond       the body is read
//   HTTP_RESPOND           HTTP_HEAD          enterHttpHead          keep-alive: the next request
//   HTTP_HEAD or
//   CLIENT_HANDSHAKE       WS                 enterWs                either side's handshake done
//   WS                     WS_CLOSING         enterWsClosing         our close frame is queued
//   any but FREE and
//   CLIENT_CONNECTING      DRAIN_CLOSE        closeAfterFlush        close once queued output is out
//   any but FREE           FREE               closeConn, closed()    the app's close callback runs

import {
  CLOSE_ABORT, CLOSE_GRACEFUL, CLOSED_TIMEOUT, ACCEPT_OK, ACCEPT_REFUSED, VHOST_ANY, LOG_ERR, LOG_WARN, LOG_NOTICE,
  LOG_INFO,
} from "../abi/constants";
import { sock_send, sock_close, z_close } from "../abi/imports";
import {
  NONE, ST_FREE, ST_HTTP_HEAD, ST_HTTP_BODY, ST_HTTP_RESPOND, ST_WS, ST_WS_CLOSING, ST_DRAIN_CLOSE,
  ST_CLIENT_CONNECTING, ST_CLIENT_HANDSHAKE, ROLE_NONE, ROLE_HTTP, ROLE_WS, ROLE_CLIENT, TM_NONE, TM_HEAD,
  TM_KEEPALIVE, TM_CLOSE, TM_RESPONSE, TM_WS, TM_HDR_WAIT, TM_BODY, F_APP_WANTS_WRITABLE, F_VHOST_BOUND, F_DEFLATE,
  F_CLIENT, F_HDR_WAIT,
} from "./record";
import { Conn, connAt, roleOf } from "./conn";
import { Protocol, vhosts, protocolOf } from "./protocol";
import {
  maxConns, rxBuf, rxSize, hdrCount, txConnCap, txq, hdrTake, hdrGive, hdrRaw, hdrRawCap, resetRecord,
  activate, deactivate, activeHead, activeCount,
} from "./table";
import * as table from "./table";
import { txFreeBlocks, txTotalBlocks, txFits } from "./txpool";
import { now, setNow, setTimer, clearTimer, noteDeadline, timersDue, timersLeft } from "./timers";
import { sendOrQueue, drain, cork, uncork, updatePortWritable, setRxPaused, txPending } from "./output";
import { logStart, logOn } from "./log";
import {
  TIMEOUT_HEAD_MS, TIMEOUT_KEEPALIVE_MS, TIMEOUT_CLOSE_MS, TIMEOUT_RESPONSE_MS, BODY_GRACE_MS, HDR_WAIT_CHECK_MS,
} from "./limits";
import { putAscii } from "../util/bytes";

// ---- transitions -------------------------------------------------------------

// TRANSITIONS[from]: bit `to` set when from -> to is allowed (the table above)
const TRANSITIONS = memory.data<u16>([
  /* FREE */ 0x0082, //              HTTP_HEAD, CLIENT_CONNECTING
  /* HTTP_HEAD */ 0x005d, //         FREE, HTTP_BODY, HTTP_RESPOND, WS, DRAIN_CLOSE
  /* HTTP_BODY */ 0x0049, //         FREE, HTTP_RESPOND, DRAIN_CLOSE
  /* HTTP_RESPOND */ 0x0043, //      FREE, HTTP_HEAD, DRAIN_CLOSE
  /* WS */ 0x0061, //                FREE, WS_CLOSING, DRAIN_CLOSE
  /* WS_CLOSING */ 0x0041, //        FREE, DRAIN_CLOSE
  /* DRAIN_CLOSE */ 0x0041, //       FREE, DRAIN_CLOSE
  /* CLIENT_CONNECTING */ 0x0101, // FREE, CLIENT_HANDSHAKE
  /* CLIENT_HANDSHAKE */ 0x0051, //  FREE, WS, DRAIN_CLOSE
]);

function move(c: Conn, to: u8): void {
  if ((<u32>load<u16>(TRANSITIONS + (<usize>c.state << 1)) & (1 << to)) == 0) {
    logStart(LOG_ERR).s("conn ").u(c.id).s(": no transition from state ").u(c.state).s(" to ").u(to).end();
  }
  c.state = to;
}

let shuttingDown = false;

/** A new client connection on slot c (the port's handle), holding header
 *  buffer h, for protocol `proto` of vhost `vh`. */
export function enterClientConnecting(c: Conn, h: u32, vh: i32, proto: i32): void {
  resetRecord(c, h);
  c.vhost = <u8>vh;
  c.protocol = <u8>proto;
  c.flags = F_CLIENT | F_VHOST_BOUND;
  c.role = ROLE_CLIENT;
  move(c, ST_CLIENT_CONNECTING);
  activate(c);
}

/** A request head was parsed: its body is read next (hasBody), or the app
 *  answers; either within TIMEOUT_RESPONSE_MS. */
export function enterHttpRequest(c: Conn, hasBody: bool): void {
  move(c, hasBody ? ST_HTTP_BODY : ST_HTTP_RESPOND);
  c.startedAt = now;
  // the body: its minimum rate (the HTTP role's TM_BODY), within the same bound
  if (hasBody) setTimer(c, TM_BODY, BODY_GRACE_MS);
  else setTimer(c, TM_RESPONSE, TIMEOUT_RESPONSE_MS);
}

/** The request body has been read (or abandoned after the answer began). */
export function enterHttpRespond(c: Conn): void {
  move(c, ST_HTTP_RESPOND);
  // the body's timer (or none: the body timed out and expire() cleared it)
  // becomes the response's, within the same bound from the head
  if (c.timer == TM_BODY || c.timer == TM_NONE) {
    const spent = now - c.startedAt;
    setTimer(c, TM_RESPONSE, spent < TIMEOUT_RESPONSE_MS - 1000 ? TIMEOUT_RESPONSE_MS - spent : 1000);
  }
}

/** Keep-alive: the response is complete; the next request's head is read
 *  (`pipelined`: some of it is here already). */
export function enterHttpHead(c: Conn, pipelined: bool): void {
  move(c, ST_HTTP_HEAD);
  c.startedAt = now;
  if (pipelined) setTimer(c, TM_HEAD, TIMEOUT_HEAD_MS);
  else setTimer(c, TM_KEEPALIVE, TIMEOUT_KEEPALIVE_MS);
}

/** The WebSocket is open (the server sent its 101, or the client accepted
 *  the server's): the WebSocket role serves the connection from now on. */
export function enterWs(c: Conn): void {
  clearTimer(c);
  move(c, ST_WS);
  c.role = ROLE_WS;
  table.statWsOpen++;
  c.lastRx = now;
  c.startedAt = now;
  // liveness (Vhost.wsPingSecs ...): the WebSocket role re-arms it at expiry
  const vh = unchecked(vhosts[c.vhost]);
  let first: u32 = 0xffffffff;
  if (vh.wsPingMs != 0 && vh.wsPingMs < first) first = vh.wsPingMs;
  if (vh.wsHangupMs != 0 && vh.wsHangupMs < first) first = vh.wsHangupMs;
  if (vh.wsMessageMs != 0 && vh.wsMessageMs < first) first = vh.wsMessageMs;
  if (first != 0xffffffff) setTimer(c, TM_WS, first);
}

/** Our close frame is queued: the peer's answer is awaited TIMEOUT_CLOSE_MS. */
export function enterWsClosing(c: Conn): void {
  move(c, ST_WS_CLOSING);
  setTimer(c, TM_CLOSE, TIMEOUT_CLOSE_MS);
}

/** Closes after queued output is written (graceful TCP close); input is read
 *  and discarded meanwhile. */
export function closeAfterFlush(c: Conn): void {
  if (txq(c).head == NONE) {
    closeConn(c, CLOSE_GRACEFUL);
    return;
  }
  move(c, ST_DRAIN_CLOSE);
  const t = c.timer;
  if (t == TM_NONE || t == TM_KEEPALIVE || t == TM_HEAD || t == TM_WS || t == TM_BODY) setTimer(c, TM_CLOSE, TIMEOUT_CLOSE_MS);
  updatePortWritable(c);
}

/** Closes the socket now and forgets the connection. */
export function closeConn(c: Conn, mode: u32): void {
  if (c.state == ST_FREE) return;
  const id = c.id;
  release(c);
  sock_close(id, mode);
}

/** Runs the app's close callbacks and frees everything the slot holds. */
function release(c: Conn): void {
  const was = c.state;
  move(c, ST_FREE); // re-entrancy: callbacks below cannot reach this slot
  roleOf(c).closed(c, was);
  protocolOf(c).wsiDestroy(c);
  if ((c.flags & F_DEFLATE) != 0) z_close(c.id); // the port's codec state (RFC 7692)
  txq(c).clear();
  if ((c.flags & F_HDR_WAIT) != 0) unwait(c);
  releaseHeaderBuffer(c);
  c.timer = TM_NONE;
  c.flags = 0;
  c.role = ROLE_NONE;
  deactivate(c);
  if (shuttingDown && activeCount == 0) destroyProtocols();
}

// ---- output -------------------------------------------------------------------

/** Sends or queues bytes for c, keeping order (./output.ts). False when the
 *  connection had to be dropped: the tx pool could not hold the rest. */
export function send(c: Conn, ptr: usize, len: u32): bool {
  if (sendOrQueue(c, ptr, len)) return true;
  logStart(LOG_ERR).s("conn ").u(c.id).s(": tx pool exhausted (").u(txFreeBlocks()).s(" of ").u(txTotalBlocks())
    .s(" blocks free, needed ").u(len).s(" B); dropping the connection").end();
  closeConn(c, CLOSE_ABORT);
  return false;
}

/** Writes queued output and moves states that wait for it. True when the
 *  queue is empty and the connection still open. */
export function flush(c: Conn): bool {
  if (!drain(c)) return false;
  if (c.state == ST_DRAIN_CLOSE) {
    closeConn(c, CLOSE_GRACEFUL);
    return false;
  }
  return true;
}

/** Reading stops while the core has no room for the connection's input
 *  because of the connection itself. A WebSocket waiting for the shared
 *  pool is not paused: rxSpace() is 0 and the port retries it
 *  (MOTE_STARVE_RETRY_MS), so no list of waiters is kept. */
function updateRx(c: Conn): void {
  const st = c.state;
  setRxPaused(c, st == ST_WS || st == ST_WS_CLOSING ? txq(c).bytes > txConnCap : spaceFor(c) == 0);
}

// ---- port events ------------------------------------------------------------------

export function accepted(listener: u32, id: u32, tlsVhost: u32): i32 {
  if (id >= maxConns) {
    logStart(LOG_ERR).s("accept: handle ").u(id).s(" outside the table of ").u(maxConns).end();
    return ACCEPT_REFUSED;
  }
  const c = connAt(id);
  if (c.state != ST_FREE) {
    logStart(LOG_ERR).s("accept: handle ").u(id).s(" still in use").end();
    return ACCEPT_REFUSED;
  }
  if (shuttingDown) return ACCEPT_REFUSED;
  // the listener's default vhost, unless the TLS handshake chose one of the
  // vhosts sharing it (by SNI)
  let vh: i32 = -1;
  for (let v = vhosts.length - 1; v >= 0; v--) if (<u32>unchecked(vhosts[v]).listener == listener) vh = v;
  if (vh < 0) vh = 0;
  let bound = !unchecked(vhosts[vh]).shared;
  if (tlsVhost != VHOST_ANY) {
    if (tlsVhost < <u32>vhosts.length && <u32>unchecked(vhosts[tlsVhost]).listener == listener) {
      vh = <i32>tlsVhost;
      bound = true;
    } else {
      logStart(LOG_WARN).s("accept: conn ").u(id).s(": vhost ").u(tlsVhost).s(" not on listener ").u(listener).end();
    }
  }
  const h = hdrTake();
  table.statAccepted++;
  resetRecord(c, h);
  c.vhost = <u8>vh;
  if (bound) c.flags |= F_VHOST_BOUND;
  c.role = ROLE_HTTP;
  move(c, ST_HTTP_HEAD);
  activate(c);
  c.startedAt = now;
  if (h != NONE) {
    setTimer(c, TM_HEAD, TIMEOUT_HEAD_MS);
    if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(id).s(": accepted").end();
    return ACCEPT_OK;
  }
  // Every header buffer is busy: the connection waits for one, not read
  // from (lws's ah wait list), and a slow holder may lose its own to it.
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(id).s(": accepted; waits for a header buffer (")
    .u(hdrWaiting + 1).s(" waiting)").end();
  c.flags |= F_HDR_WAIT;
  c.waitNext = NONE;
  if (waitTail == NONE) waitHead = id;
  else connAt(waitTail).waitNext = id;
  waitTail = id;
  hdrWaiting++;
  setTimer(c, TM_HDR_WAIT, HDR_WAIT_CHECK_MS);
  updateRx(c);
  reclaimHeaderBuffers();
  return ACCEPT_OK;
}

// ---- header buffers: the wait list ----------------------------------------------------

let waitHead: u32 = NONE;
let waitTail: u32 = NONE;
let hdrWaiting: u32 = 0;
let reclaimedAt: u32 = 0;

/** c gives its header buffer up (closing, or its WebSocket is open): to the
 *  connection that has waited longest for one, else back to the pool. */
export function releaseHeaderBuffer(c: Conn): void {
  const h = c.hdr;
  if (h == NONE) return;
  c.hdr = NONE;
  c.hdrFill = 0;
  c.headLen = 0;
  if (waitHead == NONE) {
    hdrGive(h);
    return;
  }
  const w = connAt(waitHead);
  unwait(w);
  w.hdr = h;
  w.hdrFill = 0;
  w.headLen = 0;
  w.scanFrom = 0;
  w.startedAt = now;
  setTimer(w, TM_HEAD, TIMEOUT_HEAD_MS);
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(w.id).s(": got a header buffer").end();
  updateRx(w); // reading resumes: its request is in its socket
}

/** Takes c out of the wait list. */
function unwait(c: Conn): void {
  c.flags &= ~F_HDR_WAIT;
  let prev: u32 = NONE;
  let i = waitHead;
  while (i != NONE && i != c.id) {
    prev = i;
    i = connAt(i).waitNext;
  }
  if (i == NONE) return;
  hdrWaiting--;
  if (prev == NONE) waitHead = c.waitNext;
  else connAt(prev).waitNext = c.waitNext;
  if (waitTail == c.id) waitTail = prev;
  c.waitNext = NONE;
}

/** While connections wait for a header buffer, the holders that deserve
 *  to lose theirs (Role.holdScore: slow heads and bodies, idle keep-alive)
 *  are closed, worst first, one per waiter. Once per ms at most: it walks
 *  the table. */
function reclaimHeaderBuffers(): void {
  if (hdrWaiting == 0 || reclaimedAt == now) return;
  reclaimedAt = now;
  // holders already closing give theirs up once their answer is out:
  // count them as given, not close more than the waiters need
  let closing: u32 = 0;
  for (let i = activeHead; i != NONE; i = connAt(i).nextActive) {
    const c = connAt(i);
    if (c.hdr != NONE && c.state == ST_DRAIN_CLOSE) closing++;
  }
  let rounds: i32 = <i32>hdrWaiting - <i32>closing;
  while (rounds-- > 0 && hdrWaiting > 0) {
    let worst: u32 = NONE;
    let worstScore: u32 = 0;
    let i = activeHead;
    while (i != NONE) {
      const c = connAt(i);
      if (c.hdr != NONE) {
        const s = roleOf(c).holdScore(c);
        if (s > worstScore) {
          worstScore = s;
          worst = i;
        }
      }
      i = c.nextActive;
    }
    if (worst == NONE) return;
    const v = connAt(worst);
    if (logOn(LOG_NOTICE)) logStart(LOG_NOTICE).s("conn ").u(worst).s(": slow to use its header buffer while ")
      .u(hdrWaiting).s(" wait; closing it").end();
    roleOf(v).evict(v);
    if (v.state != ST_FREE && v.hdr != NONE && v.state != ST_DRAIN_CLOSE) closeConn(v, CLOSE_ABORT); // evict() must free it
  }
}

/** TM_HDR_WAIT: a waiter's periodic check; after TIMEOUT_HEAD_MS of waiting
 *  it gets 503 from static memory and is closed. */
function waitExpired(c: Conn): void {
  if (now - c.startedAt >= TIMEOUT_HEAD_MS) {
    table.statRefused++;
    logStart(LOG_WARN).s("conn ").u(c.id).s(": waited ").u(now - c.startedAt).s(" ms for one of ").u(hdrCount)
      .s(" header buffers, answering 503").end();
    sendStatic503(c.id);
    closeConn(c, CLOSE_GRACEFUL);
    return;
  }
  setTimer(c, TM_HDR_WAIT, HDR_WAIT_CHECK_MS);
  reclaimHeaderBuffers();
}

/** A client connection is up: its request (queued) goes out. */
export function connected(id: u32): void {
  if (id >= maxConns) return;
  const c = connAt(id);
  if (c.state != ST_CLIENT_CONNECTING) return;
  move(c, ST_CLIENT_HANDSHAKE);
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(id).s(": connected; sending the request").end();
  if (!flush(c)) {
    if (c.state != ST_FREE) updatePortWritable(c);
    return;
  }
  updatePortWritable(c);
  updateRx(c);
}

export function connectFailed(id: u32, reason: u32): void {
  if (id >= maxConns) return;
  const c = connAt(id);
  if (c.state != ST_CLIENT_CONNECTING) return;
  roleOf(c).connectFailed(c, reason);
  release(c); // the port has freed the socket
}

/** Where the port reads the connection's next bytes: its header buffer in
 *  the HTTP phase, the shared buffer otherwise (WebSocket frames; closing
 *  states read there and discard). */
export function rxBuffer(id: u32): usize {
  if (id >= maxConns) return rxBuf;
  const c = connAt(id);
  const st = c.state;
  if (st == ST_WS || st == ST_WS_CLOSING || st == ST_DRAIN_CLOSE || c.hdr == NONE) return rxBuf;
  return hdrRaw(c.hdr) + c.hdrFill;
}

export function rxSpace(id: u32): u32 {
  return id < maxConns ? spaceFor(connAt(id)) : 0;
}

@inline function spaceFor(c: Conn): u32 {
  switch (c.state) {
    case ST_FREE: return 0;
    case ST_WS: case ST_WS_CLOSING:
      // Backpressure: a peer that sends faster than it reads our answers is
      // not read from while its backlog is over its cap, nor while the pool
      // could not take one read's answer (./txpool.ts, the reserve).
      const held = txq(c).bytes;
      return held > txConnCap || !txFits(held, rxSize) ? 0 : rxSize;
    case ST_DRAIN_CLOSE: return rxSize;
    default: return c.hdr != NONE ? hdrRawCap() - c.hdrFill : 0;
  }
}

export function received(id: u32, n: u32): void {
  if (id >= maxConns) return;
  const c = connAt(id);
  table.statRxBytes += n;
  c.lastRx = now;
  const st = c.state;
  if (st != ST_FREE && st != ST_DRAIN_CLOSE && st != ST_CLIENT_CONNECTING) { // else: discarded
    cork(id);
    roleOf(c).rx(c, n);
    uncork();
  }
  if (c.state == ST_FREE) return;
  if (txq(c).head != NONE) flush(c);
  if (c.state == ST_FREE) return;
  updatePortWritable(c);
  updateRx(c);
}

export function writable(id: u32): void {
  if (id >= maxConns) return;
  const c = connAt(id);
  if (c.state == ST_FREE) return;
  const drained = txPending(c);
  if (!flush(c)) return; // still blocked, or the connection went away
  const st = c.state;
  if (st == ST_WS || st == ST_HTTP_HEAD || st == ST_HTTP_BODY || st == ST_HTTP_RESPOND) {
    roleOf(c).writable(c, drained);
  }
  if (c.state != ST_FREE) {
    updatePortWritable(c);
    updateRx(c); // output drained: reading may resume (see rxSpace)
  }
}

export function closed(id: u32, reason: u32): void {
  if (id >= maxConns) return;
  const c = connAt(id);
  if (c.state == ST_FREE) return;
  if (reason == CLOSED_TIMEOUT) {
    // keepalive probes (or retransmissions) went unanswered: a dead peer is
    // worth a notice; the app hears closed() as for any other close
    logStart(LOG_NOTICE).s("conn ").u(id).s(": peer timed out (keepalive or unacknowledged data), closed").end();
  } else if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(id).s(": closed by peer (reason ").u(reason).s(")").end();
  release(c);
}

export function tick(nowMs: u32): u32 {
  setNow(nowMs);
  // protocol timers
  let soonest: u32 = 0xffffffff;
  for (let v = 0; v < vhosts.length; v++) {
    const vh = unchecked(vhosts[v]);
    for (let p = 0; p < vh.protocols.length; p++) {
      const pr = unchecked(vh.protocols[p]);
      if (pr.timerMs == 0) continue;
      if (pr.timerDue == 0) pr.timerDue = now + pr.timerMs;
      if (<i32>(now - pr.timerDue) >= 0) {
        pr.timerDue += pr.timerMs;
        if (<i32>(now - pr.timerDue) >= 0) pr.timerDue = now + pr.timerMs; // fell behind: skip
        pr.timer(vh);
      }
      const left = pr.timerDue - now;
      if (left < soonest) soonest = left;
    }
  }
  // connection timers
  if (timersDue()) {
    let i = activeHead;
    while (i != NONE) {
      const c = connAt(i);
      const nx = c.nextActive;
      if (c.timer != TM_NONE) {
        if (<i32>(now - c.deadline) >= 0) expire(c);
        else noteDeadline(c.deadline);
      }
      i = nx;
    }
  }
  const left = timersLeft();
  return left < soonest ? left : soonest;
}

function expire(c: Conn): void {
  const kind = c.timer;
  c.timer = TM_NONE;
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": timeout (").u(kind).s(")").end();
  if (kind == TM_HDR_WAIT) waitExpired(c);
  else if (!roleOf(c).timeout(c, kind)) closeConn(c, CLOSE_ABORT);
}

export function shutdown(): u32 {
  shuttingDown = true;
  let i = activeHead;
  while (i != NONE) {
    const c = connAt(i);
    const nx = c.nextActive;
    if (c.state != ST_WS_CLOSING && c.state != ST_DRAIN_CLOSE) {
      if (!roleOf(c).shutdown(c)) closeConn(c, CLOSE_GRACEFUL);
    }
    i = nx;
  }
  if (activeCount == 0) destroyProtocols();
  return activeCount;
}

let destroyed = false;

/** PROTOCOL_DESTROY for every protocol, once, when shutdown has closed the
 *  last connection. */
function destroyProtocols(): void {
  if (destroyed) return;
  destroyed = true;
  for (let v = 0; v < vhosts.length; v++) {
    const vh = unchecked(vhosts[v]);
    for (let p = 0; p < vh.protocols.length; p++) unchecked(vh.protocols[p]).destroy(vh);
  }
}

// ---- the app's view of the table ------------------------------------------------------

/** lws_callback_on_writable_all_protocol: every established connection of p. */
export function writableAllProtocol(p: Protocol): void {
  const vh = p.vhost;
  if (!vh) return;
  let i = activeHead;
  while (i != NONE) {
    const c = connAt(i);
    if (c.state == ST_WS && c.vhost == <u8>vh.index && c.protocol == <u8>p.index) {
      c.flags |= F_APP_WANTS_WRITABLE;
      updatePortWritable(c);
    }
    i = c.nextActive;
  }
}

/** Number of established connections of p. */
export function countProtocol(p: Protocol): u32 {
  const vh = p.vhost;
  if (!vh) return 0;
  let n: u32 = 0;
  let i = activeHead;
  while (i != NONE) {
    const c = connAt(i);
    if (c.state == ST_WS && c.vhost == <u8>vh.index && c.protocol == <u8>p.index) n++;
    i = c.nextActive;
  }
  return n;
}

// ---- static answers ------------------------------------------------------------------------

const R503 = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\nConnection: close\r\nRetry-After: 1\r\n\r\nserver at capacity\r\n";

function sendStatic503(id: u32): void {
  // Encode the literal into the shared rx buffer (free between events).
  const n = putAscii(rxBuf, R503);
  sock_send(id, rxBuf, n);
}
