// The service: the connection table, buffer pools, timers and event
// dispatch. It owns every state transition of a connection; the HTTP and
// WebSocket modules do protocol work and call back here to change state.
//
// Memory (all allocated in init(), nothing afterwards):
//   - the connection table (maxConns records, see conn.ts)
//   - the shared receive buffer (PRE headroom + LIM_RX_BUF): WebSocket input
//     is read here, unmasked in place and handed to the app without a copy
//   - the header-buffer pool (LIM_HDR_POOL x LIM_HDR_BYTES): HTTP-phase
//     connections read into their own header buffer
//   - the tx block pool (LIM_TX_BLOCKS x LIM_TX_BLOCK_BYTES): output the
//     socket did not take yet

import {
  LIM_SIZE, LIM_MAX_CONNS, LIM_RX_BUF, LIM_HDR_POOL, LIM_HDR_BYTES, LIM_TX_BLOCKS, LIM_TX_BLOCK_BYTES,
  LIM_LOG_LEVEL, LIM_MAX_MESSAGE, LIM_PORT, LIM_FLAGS, INIT_IMAGE_STORE, INIT_DEFLATE, LIM_KA_TIME, LIM_KA_PROBES, LIM_KA_INTERVAL, CLOSED_TIMEOUT, VHOST_ANY, CONNECT_ERR_TLS, CONNECT_ERR_RESOLVE, TLS_OPT_CERT, TLS_OPT_KEY, TLS_OPT_CIPHERS, TLS_OPT_CLIENT_CA, TLS_OPT_NAME, ACCEPT_OK, ACCEPT_REFUSED, CLOSE_ABORT, CLOSE_GRACEFUL,
  LOG_ERR, LOG_WARN, LOG_NOTICE, LOG_INFO, LOG_DEBUG,
} from "../abi/constants";
import { sock_listen, sock_keepalive, sock_tls, sock_send, sock_want_writable, sock_pause_rx, sock_close } from "../abi/abi";
import { setLogMask, logStart, logOn } from "./log";
import { txPoolInit, TxQueue, NONE, txFreeBlocks, txTotalBlocks } from "./txpool";
import {
  Conn, CTRL_MAX, ST_FREE, ST_HTTP_HEAD, ST_HTTP_BODY, ST_HTTP_RESPOND, ST_WS, ST_WS_CLOSING, ST_DRAIN_CLOSE,
  TM_NONE, TM_HEAD, TM_KEEPALIVE, TM_CLOSE, TM_RESPONSE, F_PORT_WRITABLE, F_RX_PAUSED, F_APP_WANTS_WRITABLE,
  F_ESTABLISHED, F_CLOSE_SENT, F_BUILTIN_IMAGE, F_VHOST_BOUND, F_MOUNT, F_CLIENT, ST_CLIENT_CONNECTING,
  ST_CLIENT_HANDSHAKE, TM_CONNECT,
} from "./conn";
import { mountServer, MOUNT_FILE, MOUNT_CALLBACK } from "./mount";
import { imageUploadProtocol } from "./image";
import { Vhost, Protocol } from "./protocol";
import { runAppSetup } from "./app";
import { putAscii, putDecimal } from "../util/bytes";
import { PRE, TIMEOUT_HEAD_MS } from "./limits";
import { httpRx, httpHeaderBufferCost, httpRxPtr, httpRxSpace, httpWritable } from "../http/server";
import { wsRx, wsWritable, wsShutdown } from "../ws/server";
import { deflateInit, deflateRelease } from "../ws/deflate";

const limits = memory.data(64);

// ---- tables -------------------------------------------------------------------
export let maxConns: u32 = 0;
let table: usize = 0;
let recordSize: u32 = 0;
let userOffset: u32 = 0;
export let maxUserSize: u32 = 0;

let rxBuf: usize = 0; // PRE bytes of headroom precede it
let txHighWater: u32 = 0;
let rxSize: u32 = 0;

let hdrPool: usize = 0;
export let hdrBytes: u32 = 0;
let hdrCount: u32 = 0;
let hdrFree: usize = 0; // u32 stack of free header buffer indexes
let hdrFreeTop: u32 = 0;

export let maxMessage: u64 = 0;
export let now: u32 = 0;

let activeHead: u32 = NONE;
let activeCount: u32 = 0;
let shuttingDown = false;
let nextDue: u32 = 0;
let haveDue = false;

// ---- statistics (status protocol, tests) -------------------------------------------
export let statAccepted: u64 = 0;
export let statRefused: u64 = 0;
export let statRxMessages: u64 = 0;
export let statTxMessages: u64 = 0;
export let statRxBytes: u64 = 0;
export let statWsOpen: u32 = 0;
export let staticBytes: usize = 0; // memory taken at init

export const vhosts: Vhost[] = [];

// ---- records ---------------------------------------------------------------------

@inline export function conn(id: u32): Conn {
  return changetype<Conn>(table + <usize>id * recordSize);
}

@inline export function ctrlBuf(c: Conn): usize {
  return changetype<usize>(c) + offsetof<Conn>();
}

@inline export function userData(c: Conn): usize {
  return changetype<usize>(c) + userOffset;
}

@inline export function txq(c: Conn): TxQueue {
  return changetype<TxQueue>(changetype<usize>(c) + offsetof<Conn>("txHead"));
}

export function protocolOf(c: Conn): Protocol {
  return unchecked(unchecked(vhosts[c.vhost]).protocols[c.protocol]);
}

export function vhostOf(c: Conn): Vhost {
  return unchecked(vhosts[c.vhost]);
}

export function sharedRx(): usize {
  return rxBuf;
}

// ---- header buffers ----------------------------------------------------------------

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

export function hdrFreeCount(): u32 {
  return hdrFreeTop;
}

// ---- init --------------------------------------------------------------------

export function limitsPtr(): usize {
  return limits;
}

function lim(off: u32): u32 {
  return load<u32>(limits + off);
}

export let listenPortOverride: u32 = 0;
/** The port keeps an app-image store (INIT_IMAGE_STORE): PUT /.mote/image. */
export let imageStoreOn = false;

export function init(nowMs: u32): i32 {
  now = nowMs;
  setLogMask(lim(LIM_LOG_LEVEL));
  maxConns = lim(LIM_MAX_CONNS);
  rxSize = lim(LIM_RX_BUF);
  hdrCount = lim(LIM_HDR_POOL);
  hdrBytes = lim(LIM_HDR_BYTES);
  maxMessage = lim(LIM_MAX_MESSAGE);
  listenPortOverride = lim(LIM_PORT);
  imageStoreOn = (lim(LIM_FLAGS) & INIT_IMAGE_STORE) != 0;
  const txBlocks = lim(LIM_TX_BLOCKS);
  const txBlockBytes = lim(LIM_TX_BLOCK_BYTES);
  if (maxConns == 0 || rxSize < 256 || hdrCount == 0 || hdrBytes < httpHeaderBufferCost() + 256 || txBlocks == 0 || txBlockBytes < 64) {
    logStart(LOG_ERR).s("init: limits out of range (conns ").u(maxConns).s(", rx ").u(rxSize).s(", hdr ")
      .u(hdrCount).s("x").u(hdrBytes).s(", tx ").u(txBlocks).s("x").u(txBlockBytes).s(")").end();
    return -1;
  }
  const before = memory.size();

  // The app declares its vhosts and protocols first: the record size depends
  // on the largest per-session user data.
  runAppSetup();
  for (let v = 0; v < vhosts.length; v++) {
    const vh = unchecked(vhosts[v]);
    if (prepareMounts(vh) < 0) return -1;
    for (let p = 0; p < vh.protocols.length; p++) {
      const us = <u32>unchecked(vh.protocols[p]).userSize;
      if (us > maxUserSize) maxUserSize = us;
    }
  }
  userOffset = offsetof<Conn>() + CTRL_MAX;
  recordSize = (userOffset + maxUserSize + 7) & ~7;
  table = heap.alloc(<usize>maxConns * recordSize);
  memory.fill(table, 0, <usize>maxConns * recordSize);
  for (let i: u32 = 0; i < maxConns; i++) {
    const c = conn(i);
    c.id = i;
    c.hdr = NONE;
    txq(c).reset();
  }
  rxBuf = heap.alloc(PRE + rxSize) + PRE;
  hdrPool = heap.alloc(<usize>hdrCount * hdrBytes);
  hdrFree = heap.alloc(<usize>hdrCount << 2);
  for (let i = hdrCount; i > 0; i--) hdrGive(i - 1);
  txPoolInit(txBlocks, txBlockBytes);
  corkMax = txBlockBytes;
  // One connection may queue up to half the pool before we stop reading from
  // it (one read's answer can overshoot by at most rxSize). Pausing earlier
  // would deadlock peers that send a whole message before reading the echo
  // (Autobahn 9.x): the board's pool must hold its largest echoed message.
  txHighWater = <u32>((<u64>txBlocks * txBlockBytes) >> 1);
  staticBytes = <usize>maxConns * recordSize + PRE + rxSize + <usize>hdrCount * (hdrBytes + 4) + <usize>txBlocks * (txBlockBytes + 4);
  // permessage-deflate: the inflate/deflate areas, when the port has the
  // codec and a vhost allows the extension (src/ws/deflate.ts)
  let anyDeflate = false;
  for (let v = 0; v < vhosts.length; v++) if (unchecked(vhosts[v]).deflate) anyDeflate = true;
  staticBytes += deflateInit((lim(LIM_FLAGS) & INIT_DEFLATE) != 0, anyDeflate, rxSize);

  logStart(LOG_NOTICE).s("mote core: ").u(maxConns).s(" connections x ").u(recordSize).s(" B, rx ").u(rxSize)
    .s(" B, ").u(hdrCount).s(" header buffers x ").u(hdrBytes).s(" B, ").u(txBlocks).s(" tx blocks x ").u(txBlockBytes)
    .s(" B; tables ").u(<u64>staticBytes).s(" B; memory ").u(<u64>memory.size() << 6).s(" KiB (grew ")
    .u(<u64>(memory.size() - before) << 6).s(" KiB at init)").end();

  // listeners (one per port: the first vhost on a port opens it, later ones
  // share it), then PROTOCOL_INIT for every protocol of every vhost
  if (vhosts.length > <i32>VHOST_ANY || vhosts.length > 255) {
    logStart(LOG_ERR).s("init: ").u(vhosts.length).s(" vhosts; at most 255").end();
    return -1;
  }
  for (let v = 0; v < vhosts.length; v++) {
    const vh = unchecked(vhosts[v]);
    let first = v;
    for (let o = 0; o < v; o++) if (unchecked(vhosts[o]).port == vh.port) { first = o; break; }
    if (first == v) {
      const port = listenPortOverride != 0 ? listenPortOverride : vh.port;
      const l = sock_listen(port, 0, 0, 0);
      if (l < 0) {
        logStart(LOG_ERR).s("vhost ").s(vh.name).s(": cannot listen on port ").u(port).s(" (errno ").i(-l).s(")").end();
        return -1;
      }
      vh.listener = l;
      vh.owner = v;
      keepalive(vh);
    } else {
      const def = unchecked(vhosts[first]);
      if ((def.tlsCert.length > 0) != (vh.tlsCert.length > 0)) {
        logStart(LOG_ERR).s("vhost ").s(vh.name).s(": port ").u(vh.port).s(" of vhost ").s(def.name)
          .s(": TLS and plaintext cannot share a port").end();
        return -1;
      }
      if (vh.kaTime != 0 && (vh.kaTime != def.kaTime || vh.kaProbes != def.kaProbes || vh.kaInterval != def.kaInterval))
        logStart(LOG_WARN).s("vhost ").s(vh.name).s(": keepalive is per port: ").s(def.name).s("'s").end();
      vh.listener = def.listener;
      vh.owner = first;
      vh.shared = def.shared = true;
      logStart(LOG_NOTICE).s("vhost ").s(vh.name).s(": shares port ").u(vh.port).s(" with vhost ").s(def.name).end();
    }
    if (vh.tlsCert.length > 0 && tls(vh) < 0) return -1; // never plaintext in its place
  }
  for (let v = 0; v < vhosts.length; v++) {
    const vh = unchecked(vhosts[v]);
    for (let p = 0; p < vh.protocols.length; p++) {
      if (unchecked(vh.protocols[p]).init(vh) != 0) {
        logStart(LOG_ERR).s("protocol ").s(unchecked(vh.protocols[p]).name).s(": init failed").end();
        return -1;
      }
    }
  }
  return 0;
}

/** Checks the vhost's mounts and builds what they need at start-up: 0, or
 *  -1 after logging which mount is wrong. */
function prepareMounts(vh: Vhost): i32 {
  for (let i = 0; i < vh.mounts.length; i++) {
    const m = unchecked(vh.mounts[i]);
    if (m.mountpoint.length == 0 || m.mountpoint.charCodeAt(0) != 0x2f) {
      logStart(LOG_ERR).s("vhost ").s(vh.name).s(": mount ").s(m.mountpoint).s(": not /...").end();
      return -1;
    }
    for (let j = 0; j < i; j++) {
      if (unchecked(vh.mounts[j]).mountpoint == m.mountpoint) {
        logStart(LOG_ERR).s("vhost ").s(vh.name).s(": mount ").s(m.mountpoint).s(": twice").end();
        return -1;
      }
    }
    if (m.kind == MOUNT_CALLBACK) {
      for (let p = 0; p < vh.protocols.length; p++) if (unchecked(vh.protocols[p]).name == m.origin) m.protocolIndex = p;
      if (m.protocolIndex < 0) {
        logStart(LOG_ERR).s("vhost ").s(vh.name).s(": mount ").s(m.mountpoint).s(": no protocol ").s(m.origin).end();
        return -1;
      }
    }
    if (m.kind == MOUNT_FILE && m.def.length == 0) {
      logStart(LOG_ERR).s("vhost ").s(vh.name).s(": mount ").s(m.mountpoint).s(": no default file").end();
      return -1;
    }
    m.prepare();
  }
  return 0;
}

/** sock_tls's options block (constants.ts TLS_OPT_*), written at start-up. */
class OptWriter {
  buf: usize;
  n: u32 = 0;
  constructor(public cap: u32) { this.buf = changetype<usize>(new ArrayBuffer(<i32>cap)); }
  put(kind: u8, value: string): bool {
    const b = String.UTF8.encode(value);
    const len = <u32>b.byteLength;
    if (this.n + 3 + len > this.cap) return false;
    store<u8>(this.buf + this.n, kind);
    store<u16>(this.buf + this.n + 1, <u16>len); // little-endian, as wasm stores
    memory.copy(this.buf + this.n + 3, changetype<usize>(b), len);
    this.n += 3 + len;
    return true;
  }
}

/** TLS for the vhost on its listener (sock_tls): 0, or -1 after logging. */
function tls(vh: Vhost): i32 {
  const o = new OptWriter(2048);
  let fits = o.put(<u8>TLS_OPT_CERT, vh.tlsCert) && o.put(<u8>TLS_OPT_KEY, vh.tlsKey) && o.put(<u8>TLS_OPT_NAME, vh.name);
  if (vh.tlsCiphers.length > 0) fits = fits && o.put(<u8>TLS_OPT_CIPHERS, vh.tlsCiphers);
  if (vh.tlsClientCa.length > 0) fits = fits && o.put(<u8>TLS_OPT_CLIENT_CA, vh.tlsClientCa);
  for (let i = 0; i < vh.aliases.length; i++) fits = fits && o.put(<u8>TLS_OPT_NAME, unchecked(vh.aliases[i]));
  if (!fits) {
    logStart(LOG_ERR).s("vhost ").s(vh.name).s(": TLS options over 2 KiB").end();
    return -1;
  }
  const r = sock_tls(<u32>vh.listener, <u32>vh.index, o.buf, o.n);
  if (r < 0) {
    logStart(LOG_ERR).s("vhost ").s(vh.name).s(": TLS refused by the port (errno ").i(-r).s(")").end();
    return -1;
  }
  logStart(LOG_NOTICE).s("vhost ").s(vh.name).s(": TLS with ").s(vh.tlsCert)
    .s(vh.tlsClientCa.length > 0 ? ", client certificates required" : "").end();
  return 0;
}

/** TCP keepalive for the vhost's listener: the limits block's (command
 *  line) when LIM_KA_TIME is set, else the vhost's own; nothing when 0. */
function keepalive(vh: Vhost): void {
  const fromLimits = lim(LIM_KA_TIME) != 0;
  const t = fromLimits ? lim(LIM_KA_TIME) : vh.kaTime;
  if (t == 0) return;
  const n = fromLimits ? lim(LIM_KA_PROBES) : vh.kaProbes;
  const iv = fromLimits ? lim(LIM_KA_INTERVAL) : vh.kaInterval;
  const r = sock_keepalive(<u32>vh.listener, t, n, iv);
  const line = logStart(r < 0 ? LOG_WARN : LOG_NOTICE).s("vhost ").s(vh.name).s(": TCP keepalive ");
  if (r < 0) {
    line.s("unavailable (errno ").i(-r).s(")").end();
    return;
  }
  line.s("after ").u(t).s(" s idle, ");
  if (n != 0) line.u(n).s(" probes"); else line.s("the stack's default number of probes");
  if (iv != 0) line.s(" every ").u(iv).s(" s"); else line.s(" at its default interval");
  line.s(fromLimits ? " (limits block)" : "").end();
}

/** Vhosts sharing a listener: the vhost a request's Host names (the
 *  uri-host at p, n bytes, port included or not). The first request binds
 *  an unbound connection to it (or keeps the default when the name is
 *  unknown); a bound connection's request naming another vhost of the port
 *  gets false: the caller answers 421. */
export function bindVhost(c: Conn, p: usize, n: u32): bool {
  const cur = vhostOf(c);
  if (!cur.shared) return true;
  // uri-host only: "[v6]" keeps its brackets; a ":port" and one trailing dot go
  let end = n;
  if (n > 0 && load<u8>(p) == 0x5b) {
    end = 0;
    while (end < n && load<u8>(p + end) != 0x5d) end++;
    if (end < n) end++;
  } else {
    for (let i: u32 = 0; i < n; i++) if (load<u8>(p + i) == 0x3a) { end = i; break; }
  }
  if (end > 0 && load<u8>(p + end - 1) == 0x2e) end--;
  let named: i32 = -1;
  for (let v = 0; v < vhosts.length && named < 0; v++) {
    const vh = unchecked(vhosts[v]);
    if (vh.listener == cur.listener && vh.answersTo(p, end)) named = v;
  }
  if ((c.flags & F_VHOST_BOUND) == 0) {
    c.flags |= F_VHOST_BOUND;
    if (named >= 0 && named != <i32>c.vhost) {
      c.vhost = <u8>named;
      if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": vhost ").s(unchecked(vhosts[named]).name).s(" by Host").end();
    }
    return true;
  }
  if (named < 0 || named == <i32>c.vhost) return true;
  logStart(LOG_NOTICE).s("conn ").u(c.id).s(": 421: ").s(unchecked(vhosts[named]).name).s(" on ").s(cur.name).end();
  return false;
}

/** Called by the app's setup(): registers a vhost (lws_create_vhost). */
export function addVhost(vh: Vhost): Vhost {
  vh.index = vhosts.length;
  vhosts.push(vh);
  return vh;
}

// ---- the active list and timers ------------------------------------------------------

function activate(c: Conn): void {
  c.prevActive = NONE;
  c.nextActive = activeHead;
  if (activeHead != NONE) conn(activeHead).prevActive = c.id;
  activeHead = c.id;
  activeCount++;
}

function deactivate(c: Conn): void {
  if (c.prevActive != NONE) conn(c.prevActive).nextActive = c.nextActive;
  else activeHead = c.nextActive;
  if (c.nextActive != NONE) conn(c.nextActive).prevActive = c.prevActive;
  activeCount--;
}

export function setTimer(c: Conn, kind: u8, ms: u32): void {
  c.timer = kind;
  c.deadline = now + ms;
  if (!haveDue || <i32>(c.deadline - nextDue) < 0) {
    nextDue = c.deadline;
    haveDue = true;
  }
}

export function clearTimer(c: Conn): void {
  c.timer = TM_NONE;
}

// ---- port events --------------------------------------------------------------------

export function accepted(listener: u32, id: u32, tlsVhost: u32): i32 {
  if (id >= maxConns) {
    logStart(LOG_ERR).s("accept: handle ").u(id).s(" outside the table of ").u(maxConns).end();
    return ACCEPT_REFUSED;
  }
  const c = conn(id);
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
  if (h == NONE) {
    // Every header buffer is busy with a connection in its HTTP phase: answer
    // 503 from static memory and close (lws instead parks the connection).
    statRefused++;
    logStart(LOG_WARN).s("conn ").u(id).s(": all ").u(hdrCount).s(" header buffers busy, answering 503").end();
    sendStatic503(id);
    sock_close(id, CLOSE_GRACEFUL);
    return ACCEPT_OK;
  }
  statAccepted++;
  const keepId = c.id;
  memory.fill(changetype<usize>(c), 0, recordSize);
  c.id = keepId;
  c.hdr = h;
  c.vhost = <u8>vh;
  if (bound) c.flags |= F_VHOST_BOUND;
  c.protocol = 0;
  txq(c).reset();
  c.state = ST_HTTP_HEAD;
  activate(c);
  setTimer(c, TM_HEAD, TIMEOUT_HEAD_MS);
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(id).s(": accepted").end();
  return ACCEPT_OK;
}

// ---- the client role (src/ws/client.ts) ------------------------------------------------

// The response-head reader, set by the first connectClient: an app that never
// connects out does not link the client's handshake code (smaller boards).
let clientRxFn: ((c: Conn, n: u32) => void) | null = null;
export function setClientRx(fn: (c: Conn, n: u32) => void): void {
  clientRxFn = fn;
}

export function maxConnCount(): u32 {
  return maxConns;
}

/** A record for a client connection on handle c.id, header buffer h. */
export function activateClient(c: Conn, h: u32, vh: i32, proto: i32): void {
  const keepId = c.id;
  memory.fill(changetype<usize>(c), 0, recordSize);
  c.id = keepId;
  c.hdr = h;
  c.vhost = <u8>vh;
  c.protocol = <u8>proto;
  c.flags = F_CLIENT | F_VHOST_BOUND;
  txq(c).reset();
  activate(c);
}

// Why a client connection failed, for clientConnectionError: set just
// before release, in the record's control area (free by then: it held the
// expected accept key).
let whyLen: u32 = 0;

function setWhy(c: Conn, s: string, num: i64 = -1): void {
  let n = putAscii(ctrlBuf(c), s); // literals under 100 characters
  if (num >= 0) n += putDecimal(ctrlBuf(c) + n, <u64>num);
  whyLen = n;
}

/** Gives up on a client connection that is not established: the app hears
 *  clientConnectionError(why); the socket is closed. */
export function failClient(c: Conn, why: string, num: i64 = -1): void {
  if (logOn(LOG_NOTICE)) {
    const l = logStart(LOG_NOTICE).s("conn ").u(c.id).s(": client: ").s(why);
    if (num >= 0) l.u(<u64>num);
    l.end();
  }
  setWhy(c, why, num);
  closeConn(c, CLOSE_ABORT);
}

export function connected(id: u32): void {
  if (id >= maxConns) return;
  const c = conn(id);
  if (c.state != ST_CLIENT_CONNECTING) return;
  c.state = ST_CLIENT_HANDSHAKE;
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(id).s(": connected; sending the upgrade request").end();
  if (!flush(c)) {
    if (c.state != ST_FREE) updatePortWritable(c);
    return;
  }
  updatePortWritable(c);
  updateRx(c);
}

export function connectFailed(id: u32, reason: u32): void {
  if (id >= maxConns) return;
  const c = conn(id);
  if (c.state != ST_CLIENT_CONNECTING) return;
  if (reason == CONNECT_ERR_TLS) setWhy(c, "TLS handshake failed");
  else if (reason == CONNECT_ERR_RESOLVE) setWhy(c, "host name did not resolve");
  else setWhy(c, "connect failed, errno ", reason);
  if (logOn(LOG_NOTICE)) logStart(LOG_NOTICE).s("conn ").u(id).s(": client: ").b(ctrlBuf(c), whyLen).end();
  release(c); // the port has freed the socket
}

export function rxBuffer(id: u32): usize {
  if (id >= maxConns) return rxBuf;
  const c = conn(id);
  if (c.state == ST_WS) return rxBuf;
  if (c.hdr != NONE) return httpRxPtr(c);
  return rxBuf; // closing states: read and discard
}

export function rxSpace(id: u32): u32 {
  if (id >= maxConns) return 0;
  const c = conn(id);
  switch (c.state) {
    case ST_FREE: return 0;
    case ST_WS: case ST_WS_CLOSING:
      // Backpressure: a peer that sends faster than it reads our answers is
      // not read from while its queued output is above the high-water mark.
      return txq(c).bytes > txHighWater ? 0 : rxSize;
    case ST_DRAIN_CLOSE: return rxSize;
    default: return c.hdr != NONE ? httpRxSpace(c) : 0;
  }
}

export function received(id: u32, n: u32): void {
  if (id >= maxConns) return;
  const c = conn(id);
  statRxBytes += n;
  corked = id;
  switch (c.state) {
    case ST_HTTP_HEAD: case ST_HTTP_BODY: case ST_HTTP_RESPOND:
      httpRx(c, n);
      break;
    case ST_WS: case ST_WS_CLOSING:
      wsRx(c, rxBuf, n);
      break;
    case ST_CLIENT_HANDSHAKE: {
      const f = clientRxFn;
      if (f !== null) f(c, n);
      break;
    }
    default: // ST_DRAIN_CLOSE: input is discarded
      break;
  }
  corked = NONE;
  if (c.state == ST_FREE) return;
  if (txq(c).head != NONE) flush(c);
  if (c.state == ST_FREE) return;
  updatePortWritable(c);
  updateRx(c);
}

export function writable(id: u32): void {
  if (id >= maxConns) return;
  const c = conn(id);
  if (c.state == ST_FREE) return;
  const drained = txPending(c);
  if (!flush(c)) return; // still blocked, or the connection went away
  switch (c.state) {
    case ST_WS:
      wsWritable(c, drained);
      break;
    case ST_HTTP_HEAD: case ST_HTTP_BODY: case ST_HTTP_RESPOND:
      httpWritable(c);
      break;
  }
  if (c.state != ST_FREE) {
    updatePortWritable(c);
    updateRx(c); // output drained: reading may resume (see rxSpace)
  }
}

export function closed(id: u32, reason: u32): void {
  if (id >= maxConns) return;
  const c = conn(id);
  if (c.state == ST_FREE) return;
  if (reason == CLOSED_TIMEOUT) {
    // keepalive probes (or retransmissions) went unanswered: a dead peer is
    // worth a notice; the app hears closed() as for any other close
    logStart(LOG_NOTICE).s("conn ").u(id).s(": peer timed out (keepalive or unacknowledged data), closed").end();
  } else if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(id).s(": closed by peer (reason ").u(reason).s(")").end();
  release(c);
}

export function tick(nowMs: u32): u32 {
  now = nowMs;
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
  if (haveDue && <i32>(now - nextDue) >= 0) {
    haveDue = false;
    let i = activeHead;
    while (i != NONE) {
      const c = conn(i);
      const nx = c.nextActive;
      if (c.timer != TM_NONE) {
        if (<i32>(now - c.deadline) >= 0) expire(c);
        else if (!haveDue || <i32>(c.deadline - nextDue) < 0) {
          nextDue = c.deadline;
          haveDue = true;
        }
      }
      i = nx;
    }
  }
  if (haveDue) {
    const left: u32 = <i32>(nextDue - now) < 0 ? 0 : nextDue - now;
    if (left < soonest) soonest = left;
  }
  return soonest;
}

function expire(c: Conn): void {
  const kind = c.timer;
  c.timer = TM_NONE;
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": timeout (").u(kind).s(")").end();
  switch (kind) {
    case TM_HEAD: case TM_KEEPALIVE: case TM_RESPONSE:
      closeConn(c, CLOSE_ABORT);
      break;
    case TM_CLOSE:
      closeConn(c, CLOSE_ABORT);
      break;
    case TM_CONNECT:
      failClient(c, c.state == ST_CLIENT_CONNECTING ? "connect timed out" : "no handshake answer in time");
      break;
  }
}

export function shutdown(): u32 {
  shuttingDown = true;
  let i = activeHead;
  while (i != NONE) {
    const c = conn(i);
    const nx = c.nextActive;
    if (c.state == ST_WS) wsShutdown(c);
    else if (c.state == ST_CLIENT_CONNECTING || c.state == ST_CLIENT_HANDSHAKE) failClient(c, "shutting down");
    else if (c.state == ST_HTTP_HEAD && c.hdrFill == 0) closeConn(c, CLOSE_ABORT);
    else if (c.state != ST_WS_CLOSING && c.state != ST_DRAIN_CLOSE) closeConn(c, CLOSE_GRACEFUL);
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

export function activeConnections(): u32 {
  return activeCount;
}

// ---- output ---------------------------------------------------------------------

// Output batching. While the core handles one read (mote_received), small
// writes to that connection are only queued ("corked"); the queue goes out in
// one send when the read has been handled. A read holding many frames then
// costs one send instead of one per frame. Copying a write of up to one tx
// block costs far less than a syscall; larger writes flush the queue and go
// straight to the socket without a copy.
let corkMax: u32 = 0; // = the tx block size
let corked: u32 = NONE;

/** Sends or queues bytes for c, keeping order. False when the connection had
 *  to be dropped (the tx pool could not hold the rest). */
export function send(c: Conn, ptr: usize, len: u32): bool {
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

function queue(c: Conn, ptr: usize, len: u32): bool {
  if (!txq(c).append(ptr, len)) {
    logStart(LOG_ERR).s("conn ").u(c.id).s(": tx pool exhausted (").u(txFreeBlocks()).s(" of ").u(txTotalBlocks())
      .s(" blocks free, needed ").u(len).s(" B); dropping the connection").end();
    closeConn(c, CLOSE_ABORT);
    return false;
  }
  updatePortWritable(c);
  return true;
}

/** Writes queued bytes until the socket stops taking them. True when the
 *  queue is empty afterwards. */
function drain(c: Conn): bool {
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

/** Writes queued output and moves states that wait for it. True when the
 *  queue is empty and the connection still open. */
function flush(c: Conn): bool {
  if (!drain(c)) return false;
  if (c.state == ST_DRAIN_CLOSE) {
    closeConn(c, CLOSE_GRACEFUL);
    return false;
  }
  return true;
}

export function txPending(c: Conn): bool {
  return txq(c).head != NONE;
}

export function updatePortWritable(c: Conn): void {
  const want = txq(c).head != NONE || (c.flags & F_APP_WANTS_WRITABLE) != 0;
  const has = (c.flags & F_PORT_WRITABLE) != 0;
  if (want != has) {
    c.flags ^= F_PORT_WRITABLE;
    sock_want_writable(c.id, want ? 1 : 0);
  }
}

export function updateRx(c: Conn): void {
  const want = rxSpace(c.id) > 0;
  const paused = (c.flags & F_RX_PAUSED) != 0;
  if (want == paused) {
    c.flags ^= F_RX_PAUSED;
    sock_pause_rx(c.id, want ? 0 : 1);
  }
}

/** Closes after queued output is written (graceful TCP close). */
export function closeAfterFlush(c: Conn): void {
  if (txq(c).head == NONE) {
    closeConn(c, CLOSE_GRACEFUL);
    return;
  }
  c.state = ST_DRAIN_CLOSE;
  if (c.timer == TM_NONE || c.timer == TM_KEEPALIVE || c.timer == TM_HEAD) setTimer(c, TM_CLOSE, 5000);
  updatePortWritable(c);
}

/** Who answers the connection's HTTP request: the vhost's protocol 0 (lws),
 *  or the core's own image-upload endpoint (F_BUILTIN_IMAGE). */
export function httpHandlerOf(c: Conn): Protocol {
  if ((c.flags & F_BUILTIN_IMAGE) != 0) return imageUploadProtocol();
  if ((c.flags & F_MOUNT) != 0) return mountServer();
  return unchecked(vhostOf(c).protocols[c.protocol]);
}

/** The protocol that answers the connection's HTTP requests from now on
 *  (protocol 0, or a callback mount's): its per-session user data starts
 *  zeroed when it takes over from another (lws binds the wsi anew). */
export function bindHttpProtocol(c: Conn, index: i32): void {
  if (<i32>c.protocol == index) return;
  memory.fill(userData(c), 0, recordSize - userOffset);
  c.protocol = <u8>index;
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
  const st = c.state;
  const wasWs = (c.flags & F_ESTABLISHED) != 0;
  c.state = ST_FREE; // re-entrancy: callbacks below cannot reach this slot
  const proto = protocolOf(c);
  if (wasWs) {
    statWsOpen--;
    proto.closed(c);
  } else if ((c.flags & F_CLIENT) != 0) {
    // never established: CLIENT_CONNECTION_ERROR, with the reason set by
    // the failure (or the peer's close during the handshake)
    if (whyLen == 0) setWhy(c, st == ST_CLIENT_HANDSHAKE ? "closed by the server during the handshake" : "closed");
    proto.clientConnectionError(c, ctrlBuf(c), whyLen);
    whyLen = 0;
  } else {
    httpHandlerOf(c).closedHttp(c);
  }
  proto.wsiDestroy(c);
  deflateRelease(c); // the port's codec state (z_close)
  txq(c).clear();
  if (c.hdr != NONE) {
    hdrGive(c.hdr);
    c.hdr = NONE;
  }
  c.timer = TM_NONE;
  c.flags = 0;
  deactivate(c);
  if (shuttingDown && activeCount == 0) destroyProtocols();
}

export function markEstablished(c: Conn): void {
  c.flags |= F_ESTABLISHED;
  statWsOpen++;
}

// ---- all-protocol writable ---------------------------------------------------------------

/** lws_callback_on_writable_all_protocol: every established connection of p. */
export function writableAllProtocol(p: Protocol): void {
  const vh = p.vhost;
  if (!vh) return;
  let i = activeHead;
  while (i != NONE) {
    const c = conn(i);
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
    const c = conn(i);
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
