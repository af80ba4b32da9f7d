// Start-up configuration: the limits block the port writes, the tables sized
// from it, the app's setup (vhosts, protocols, mounts) checked and prepared,
// the roles of the handler table installed, and the listeners opened with
// their TLS options and keepalive. Runs once per instance (mote_init). The
// one file of src/core/ that reaches up into src/http/ and src/ws/: it wires
// their roles into the dispatcher at start-up.

import {
  LIM_MAX_CONNS, LIM_RX_BUF, LIM_HDR_POOL, LIM_HDR_BYTES, LIM_TX_BLOCKS, LIM_TX_BLOCK_BYTES, LIM_LOG_LEVEL,
  LIM_MAX_MESSAGE, LIM_PORT, PORT_ANY, LIM_FLAGS, LIM_SIZE, LIM_TX_CONN_BYTES, LIM_WS_PING_S, LIM_WS_HANGUP_S, LIM_WS_MESSAGE_S, LIM_PEER_CONNS, LISTEN_PEER_LIMIT_SHIFT, LIM_KA_TIME, LIM_KA_PROBES, LIM_KA_INTERVAL, INIT_IMAGE_STORE, INIT_DEFLATE,
  VHOST_ANY, TLS_OPT_CERT, TLS_OPT_KEY, TLS_OPT_CIPHERS, TLS_OPT_CLIENT_CA, TLS_OPT_NAME, LOG_ERR, LOG_WARN, LOG_NOTICE,
} from "../abi/constants";
import { sock_listen, sock_keepalive, sock_tls } from "../abi/imports";
import { setLogMask, logStart } from "./log";
import { tableInit, addStaticBytes, staticBytes, recordBytes } from "./table";
import { outputInit } from "./output";
import { setNow } from "./timers";
import { Vhost, vhosts } from "./protocol";
import { MOUNT_FILE, MOUNT_CALLBACK } from "./mount";
import { runAppSetup } from "./app";
import { httpServerInit } from "../http/server";
import { headerBufferCost } from "../http/hdrbuf";
import { wsInit } from "../ws/frames";
import { deflateInit } from "../ws/deflate";

const limits = memory.data(LIM_SIZE);

/** Where the port writes the limits block (LIM_* fields) before init(). */
export function limitsPtr(): usize {
  return limits;
}

function lim(off: u32): u32 {
  return load<u32>(limits + off);
}

/** A vhost's timeout in seconds (-1: the board's) as ms, at most a day. */
function secsMs(own: i32, board: u32): u32 {
  const s: u32 = own >= 0 ? <u32>own : board;
  return s > 86400 ? 86400000 : s * 1000;
}

export function init(nowMs: u32): i32 {
  setNow(nowMs);
  setLogMask(lim(LIM_LOG_LEVEL));
  const conns = lim(LIM_MAX_CONNS);
  const rxSize = lim(LIM_RX_BUF);
  const hdrCount = lim(LIM_HDR_POOL);
  const hdrBytes = lim(LIM_HDR_BYTES);
  const txBlocks = lim(LIM_TX_BLOCKS);
  const txBlockBytes = lim(LIM_TX_BLOCK_BYTES);
  const rawOff = headerBufferCost();
  if (conns == 0 || rxSize < 256 || hdrCount == 0 || hdrBytes < rawOff + 256 || txBlocks == 0 || txBlockBytes < 64) {
    logStart(LOG_ERR).s("init: limits out of range (conns ").u(conns).s(", rx ").u(rxSize).s(", hdr ")
      .u(hdrCount).s("x").u(hdrBytes).s(", tx ").u(txBlocks).s("x").u(txBlockBytes).s(")").end();
    return -1;
  }
  const before = memory.size();

  // The app declares its vhosts and protocols first: the record size depends
  // on the largest per-session user data.
  runAppSetup();
  let maxUserSize: u32 = 0;
  for (let v = 0; v < vhosts.length; v++) {
    const vh = unchecked(vhosts[v]);
    if (prepareMounts(vh) < 0) return -1;
    vh.wsPingMs = secsMs(vh.wsPingSecs, lim(LIM_WS_PING_S));
    vh.wsHangupMs = secsMs(vh.wsHangupSecs, lim(LIM_WS_HANGUP_S));
    vh.wsMessageMs = secsMs(vh.wsMessageSecs, lim(LIM_WS_MESSAGE_S));
    for (let p = 0; p < vh.protocols.length; p++) {
      const us = <u32>unchecked(vh.protocols[p]).userSize;
      if (us > maxUserSize) maxUserSize = us;
    }
  }
  tableInit(conns, maxUserSize, rxSize, hdrCount, hdrBytes, rawOff, txBlocks, txBlockBytes, lim(LIM_TX_CONN_BYTES), lim(LIM_MAX_MESSAGE),
    (lim(LIM_FLAGS) & INIT_IMAGE_STORE) != 0);
  outputInit(txBlockBytes);
  // permessage-deflate: the inflate/deflate areas, when the port has the
  // codec and a vhost allows the extension (src/ws/deflate.ts)
  let anyDeflate = false;
  for (let v = 0; v < vhosts.length; v++) if (unchecked(vhosts[v]).deflate) anyDeflate = true;
  addStaticBytes(deflateInit((lim(LIM_FLAGS) & INIT_DEFLATE) != 0, anyDeflate, rxSize));
  // the handler table: HTTP and WebSocket roles (the client role installs
  // itself at the first connectClient, so apps without one do not link it)
  httpServerInit();
  wsInit();

  logStart(LOG_NOTICE).s("mote core: ").u(conns).s(" connections x ").u(recordBytes()).s(" B, rx ").u(rxSize)
    .s(" B, ").u(hdrCount).s(" header buffers x ").u(hdrBytes).s(" B, ").u(txBlocks).s(" tx blocks x ").u(txBlockBytes)
    .s(" B; tables ").u(<u64>staticBytes).s(" B; memory ").u(<u64>memory.size() << 6).s(" KiB (grew ")
    .u(<u64>(memory.size() - before) << 6).s(" KiB at init)").end();

  if (listen() < 0) return -1;
  // PROTOCOL_INIT for every protocol of every vhost
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

/** The listeners: one per port and interface, opened by the first vhost
 *  on it; later vhosts on the same port and interface share it (chosen by
 *  SNI or by Host). The port's command line may move the default vhost
 *  (the first) to another port (LIM_PORT), with the vhosts sharing it;
 *  every other vhost listens on its own. 0, or -1 after logging why. */
function listen(): i32 {
  if (vhosts.length > <i32>VHOST_ANY || vhosts.length > 255) {
    logStart(LOG_ERR).s("init: ").u(vhosts.length).s(" vhosts; at most 255").end();
    return -1;
  }
  const portArg = lim(LIM_PORT);
  for (let v = 0; v < vhosts.length; v++) {
    const vh = unchecked(vhosts[v]);
    let first: i32 = -1;
    for (let o = 0; o < v && first < 0; o++) {
      const ov = unchecked(vhosts[o]);
      if (ov.port == vh.port && ov.iface == vh.iface) first = o;
    }
    if (first < 0) {
      let port = vh.port;
      if (v == 0 && portArg != 0) port = portArg == PORT_ANY ? 0 : portArg;
      const iface = String.UTF8.encode(vh.iface); // start-up only
      // per-peer limit: the vhost's, else the board's (one listener: the first vhost's)
      let perPeer: u32 = vh.maxConnsPerPeer >= 0 ? <u32>vh.maxConnsPerPeer : lim(LIM_PEER_CONNS);
      if (perPeer > 0xffff) perPeer = 0xffff;
      const l = sock_listen(port, changetype<usize>(iface), <u32>iface.byteLength, perPeer << LISTEN_PEER_LIMIT_SHIFT);
      if (l < 0) {
        logStart(LOG_ERR).s("vhost ").s(vh.name).s(": cannot listen on ").s(vh.iface.length > 0 ? vh.iface : "the default address")
          .s(" port ").u(port).s(" (errno ").i(-l).s(")").end();
        return -1;
      }
      // the port answers with a listener an earlier vhost opened when both
      // come to the same address and port (an interface named and the
      // port's default, a board's one interface, --port moving the default
      // vhost onto another's port): they share it
      for (let o = 0; o < v && first < 0; o++) if (unchecked(vhosts[o]).listener == l) first = o;
      if (first < 0) {
        vh.listener = l;
        keepalive(vh);
      }
    }
    if (first >= 0) {
      const def = unchecked(vhosts[first]);
      if ((def.tlsCert.length > 0) != (vh.tlsCert.length > 0)) {
        logStart(LOG_ERR).s("vhost ").s(vh.name).s(": port ").u(vh.port).s(" of vhost ").s(def.name)
          .s(": TLS and plaintext cannot share a port").end();
        return -1;
      }
      if (vh.kaTime != 0 && (vh.kaTime != def.kaTime || vh.kaProbes != def.kaProbes || vh.kaInterval != def.kaInterval))
        logStart(LOG_WARN).s("vhost ").s(vh.name).s(": keepalive is per port: ").s(def.name).s("'s").end();
      vh.listener = def.listener;
      vh.shared = def.shared = true;
      logStart(LOG_NOTICE).s("vhost ").s(vh.name).s(": shares port ").u(vh.port).s(" with vhost ").s(def.name).end();
    }
    if (vh.tlsCert.length > 0 && tls(vh) < 0) return -1; // never plaintext in its place
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
