// RFC 6455 on an open WebSocket, either side (the WebSocket role of the
// handler table): frame parsing with in-place unmasking (section 5),
// control frames (5.5), UTF-8 validation of text (8.1), closing (7), and
// framing of the app's writes, masked on a client's connection (5.3).
// permessage-deflate (RFC 7692) streams payloads through ./deflate.ts.

import { LOG_INFO, LOG_NOTICE, CLOSE_GRACEFUL, Z_DONE } from "../abi/constants";
import { random_fill } from "../abi/imports";
import { logStart, logOn } from "../core/log";
import {
  ST_WS, ST_WS_CLOSING, ST_FREE, ROLE_WS, WR_HEADER, WR_PAYLOAD, WR_CONTROL, WR_IGNORE, F_APP_WANTS_WRITABLE,
  F_CLOSE_SENT, F_TX_FRAG_OPEN, F_RX_MSG_OPEN, F_DEFLATE, F_RX_COMPRESSED, F_CLIENT, TM_WS,
} from "../core/record";
import { Conn, Role, setRole, WRITE_TEXT, WRITE_BINARY, WRITE_CONTINUATION } from "../core/conn";
import { protocolOf, vhosts } from "../core/protocol";
import { now, setTimer } from "../core/timers";
import { ctrlBuf, maxMessage, rxBuf } from "../core/table";
import * as table from "../core/table";
import { send, closeConn, closeAfterFlush, enterWsClosing } from "../core/dispatch";
import { unmask } from "./mask";
import { utf8Step, UTF8_ACCEPT, UTF8_REJECT } from "./utf8";
import {
  inflateStep, deflateStep, zConsumed, zProduced, zRxArea, zTxArea, isDataError, logCodecError,
} from "./deflate";

/** The WebSocket role of the handler table (either side). */
class WsRole extends Role {
  rx(c: Conn, n: u32): void { wsRx(c, rxBuf, n); }
  writable(c: Conn, drained: bool): void { wsWritable(c, drained); }
  closed(c: Conn, was: u8): void {
    table.statWsOpen--;
    protocolOf(c).closed(c);
  }
  shutdown(c: Conn): bool {
    wsShutdown(c);
    return true;
  }
  write(c: Conn, buf: usize, len: u32, kind: u32, fin: bool, pre: bool): i32 {
    return pre ? wsWrite(c, buf, len, kind, fin) : wsWriteNoPre(c, buf, len, kind, fin);
  }
  timeout(c: Conn, kind: u8): bool {
    return kind == TM_WS && c.state == ST_WS ? liveness(c) : false;
  }
}

/** Installs the WebSocket role (start-up). */
export function wsInit(): void {
  setRole(ROLE_WS, new WsRole());
}

// opcodes (§5.2)
export const OP_CONT: u8 = 0;
export const OP_TEXT: u8 = 1;
export const OP_BINARY: u8 = 2;
export const OP_CLOSE: u8 = 8;
export const OP_PING: u8 = 9;
export const OP_PONG: u8 = 10;

// close codes (§7.4.1)
export const CLOSE_NORMAL: u16 = 1000;
export const CLOSE_GOING_AWAY: u16 = 1001;
export const CLOSE_PROTOCOL_ERROR: u16 = 1002;
export const CLOSE_UNSUPPORTED: u16 = 1003;
export const CLOSE_INVALID_PAYLOAD: u16 = 1007;
export const CLOSE_POLICY: u16 = 1008;
export const CLOSE_TOO_BIG: u16 = 1009;
export const CLOSE_INTERNAL: u16 = 1011;
export const CLOSE_TRY_AGAIN: u16 = 1013;

// ---- receive ---------------------------------------------------------------------------

@inline function hdrArea(c: Conn): usize {
  return changetype<usize>(c) + offsetof<Conn>("wsHdr0");
}

/** Header length implied by its first two bytes. */
@inline function headerNeed(b1: u32): u32 {
  const l7 = b1 & 0x7f;
  return 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((b1 & 0x80) != 0 ? 4 : 0);
}

export function wsRx(c: Conn, p: usize, n: u32): void {
  while (n > 0) {
    const st = c.wsRx;
    if (st == WR_HEADER) {
      // a frame that opens a message (or a control frame between messages)
      // starts the incomplete-message clock (liveness)
      if (c.wsHdrFill == 0 && (c.flags & F_RX_MSG_OPEN) == 0) c.startedAt = now;
      let h: usize;
      if (c.wsHdrFill == 0 && n >= 2 && n >= headerNeed(load<u8>(p + 1))) {
        // whole header in the buffer: parse it where it is
        const need = headerNeed(load<u8>(p + 1));
        h = p;
        p += need;
        n -= need;
      } else {
        const area = hdrArea(c);
        while (n > 0 && (c.wsHdrFill < 2 || c.wsHdrFill < headerNeed(load<u8>(area + 1)))) {
          store<u8>(area + c.wsHdrFill, load<u8>(p));
          c.wsHdrFill++;
          p++;
          n--;
          if (c.wsHdrFill == 2 && !earlyChecks(c, area)) return;
        }
        if (c.wsHdrFill < 2 || c.wsHdrFill < headerNeed(load<u8>(area + 1))) return;
        h = area;
        c.wsHdrFill = 0;
      }
      if (!frameHeader(c, h)) return;
    } else if (st == WR_PAYLOAD) {
      let take: u32 = <u64>n < c.wsFrameLeft ? n : <u32>c.wsFrameLeft;
      if (!payload(c, p, take)) return;
      p += take;
      n -= take;
    } else if (st == WR_CONTROL) {
      const take: u32 = <u64>n < c.wsFrameLeft ? n : <u32>c.wsFrameLeft;
      const dst = ctrlBuf(c) + c.ctrlLen;
      memory.copy(dst, p, take);
      c.wsPhase = unmask(dst, take, c.wsMask, c.wsPhase);
      c.ctrlLen += <u8>take;
      c.wsFrameLeft -= take;
      p += take;
      n -= take;
      if (c.wsFrameLeft == 0) {
        c.wsRx = WR_HEADER;
        if (!control(c)) return;
      }
    } else return; // WR_IGNORE
    if (c.state != ST_WS && c.state != ST_WS_CLOSING) return;
  }
}

/** Checks possible on the first two header bytes, so a bad frame fails at once. */
function earlyChecks(c: Conn, h: usize): bool {
  const b0 = <u32>load<u8>(h);
  const b1 = <u32>load<u8>(h + 1);
  const op = b0 & 15;
  if ((b0 & 0x70) != 0) {
    // RSV1 is permessage-deflate's "compressed" bit: only with the extension
    // negotiated, only on a data message's first frame (RFC 7692 section 6)
    if ((c.flags & F_DEFLATE) == 0) return fail(c, CLOSE_PROTOCOL_ERROR, "RSV bits set without an extension");
    if ((b0 & 0x30) != 0) return fail(c, CLOSE_PROTOCOL_ERROR, "RSV2 or RSV3 set");
    if (op == 0 || op >= 8) return fail(c, CLOSE_PROTOCOL_ERROR, "RSV1 on a continuation or control frame");
  }
  if ((op > 2 && op < 8) || op > 10) return fail(c, CLOSE_PROTOCOL_ERROR, "reserved opcode");
  if (op >= 8 && ((b0 & 0x80) == 0 || (b1 & 0x7f) > 125)) return fail(c, CLOSE_PROTOCOL_ERROR, "fragmented or long control frame");
  // section 5.1: clients mask every frame, servers none
  if ((c.flags & F_CLIENT) == 0) {
    if ((b1 & 0x80) == 0) return fail(c, CLOSE_PROTOCOL_ERROR, "unmasked client frame");
  } else if ((b1 & 0x80) != 0) return fail(c, CLOSE_PROTOCOL_ERROR, "masked server frame");
  if (op < 8 && c.state == ST_WS) {
    const open = (c.flags & F_RX_MSG_OPEN) != 0;
    if (op == 0 && !open) return fail(c, CLOSE_PROTOCOL_ERROR, "continuation without a message");
    if (op != 0 && open) return fail(c, CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one");
  }
  return true;
}

function frameHeader(c: Conn, h: usize): bool {
  if (!earlyChecks(c, h)) return false;
  const b0 = <u32>load<u8>(h);
  const b1 = <u32>load<u8>(h + 1);
  const op = <u8>(b0 & 15);
  const l7 = b1 & 0x7f;
  let len: u64;
  let m = h + 2;
  if (l7 == 126) {
    len = <u64>bswap<u16>(load<u16>(h + 2));
    m = h + 4;
  } else if (l7 == 127) {
    len = bswap<u64>(load<u64>(h + 2));
    m = h + 10;
    if ((len >> 63) != 0) return fail(c, CLOSE_PROTOCOL_ERROR, "64-bit length with the top bit set");
  } else len = <u64>l7;
  c.wsMask = (b1 & 0x80) != 0 ? load<u32>(m) : 0; // 0: nothing to unmask (a server's frame)
  c.wsPhase = 0;
  c.wsOpcode = op;
  c.wsFin = <u8>(b0 >> 7);
  c.wsFrameLeft = len;
  if (op >= 8) {
    c.ctrlLen = 0;
    c.wsRx = WR_CONTROL;
    if (len == 0) {
      c.wsRx = WR_HEADER;
      return control(c);
    }
    return true;
  }
  if (c.state == ST_WS_CLOSING) {
    // after our close frame, data is discarded (§7.1.4 allows us to ignore it)
    c.wsRx = len > 0 ? WR_PAYLOAD : WR_HEADER;
    return true;
  }
  if (op != OP_CONT) {
    c.wsMsgOpcode = op;
    c.wsMsgLen = 0;
    c.utf8 = UTF8_ACCEPT;
    c.rxFirst = 1;
    if ((b0 & 0x40) != 0) c.flags |= F_RX_COMPRESSED;
    else c.flags &= ~F_RX_COMPRESSED;
  }
  // the message-size limit counts what the app receives: for a compressed
  // message, the inflated bytes (inflatePayload)
  if ((c.flags & F_RX_COMPRESSED) == 0) {
    if (maxMessage > 0 && c.wsMsgLen + len > maxMessage) return fail(c, CLOSE_TOO_BIG, "message larger than the limit");
    c.wsMsgLen += len;
  }
  if (c.wsFin == 0) c.flags |= F_RX_MSG_OPEN;
  else c.flags &= ~F_RX_MSG_OPEN;
  if (len == 0) {
    c.wsRx = WR_HEADER;
    return payload(c, h, 0); // deliver an empty frame (an empty message or its end)
  }
  c.wsRx = WR_PAYLOAD;
  return true;
}

/** Unmasks, validates and delivers `take` payload bytes at p. */
function payload(c: Conn, p: usize, take: u32): bool {
  if (take > 0 && c.wsMask != 0) c.wsPhase = unmask(p, take, c.wsMask, c.wsPhase);
  c.wsFrameLeft -= take;
  const frameDone = c.wsFrameLeft == 0;
  if (frameDone) c.wsRx = WR_HEADER;
  if (c.state == ST_WS_CLOSING) return true;
  const last = frameDone && c.wsFin != 0;
  if ((c.flags & F_RX_COMPRESSED) != 0) return inflatePayload(c, p, take, last);
  return deliver(c, p, take, last);
}

/** Streams compressed payload bytes through the codec (RFC 7692 section
 *  7.2.2): the inflated bytes reach the app from the bounded zRx area, as
 *  many receive() calls as it takes; the last of the message carries
 *  isFinalFragment() (possibly with no bytes, when the area filled exactly). */
function inflatePayload(c: Conn, p: usize, take: u32, last: bool): bool {
  const out = zRxArea();
  // bounded: a call either takes all its input or fills the area (Z_MORE);
  // the message-size limit ends a long run of the latter
  for (let guard: u32 = 0; guard < 0x1000000; guard++) {
    const r = inflateStep(c, p, take, last);
    if (r < 0) {
      logCodecError(c, "inflate", r);
      return isDataError(r) ? fail(c, CLOSE_INVALID_PAYLOAD, "invalid compressed data") : fail(c, CLOSE_INTERNAL, "codec failure");
    }
    const used = zConsumed();
    const made = zProduced();
    if (r != Z_DONE && used == 0 && made == 0) return fail(c, CLOSE_INTERNAL, "codec made no progress");
    p += used;
    take -= used;
    const end = last && r == Z_DONE;
    if (made > 0 || end) {
      c.wsMsgLen += made;
      if (maxMessage > 0 && c.wsMsgLen > maxMessage) return fail(c, CLOSE_TOO_BIG, "inflated message larger than the limit");
      if (!deliver(c, out, made, end)) return false;
      if (c.state != ST_WS) return true; // the app closed: the rest is discarded
    }
    if (r == Z_DONE) break;
  }
  return true;
}

/** Validates (UTF-8 of text, RFC 6455 section 8.1) and hands `n` bytes at
 *  p to the app's receive(); `last` ends the message. */
function deliver(c: Conn, p: usize, take: u32, last: bool): bool {
  if (c.wsMsgOpcode == OP_TEXT) {
    const s = utf8Step(c.utf8, p, take);
    c.utf8 = s;
    if (s == UTF8_REJECT) return fail(c, CLOSE_INVALID_PAYLOAD, "invalid UTF-8 in text");
    if (last && s != UTF8_ACCEPT) return fail(c, CLOSE_INVALID_PAYLOAD, "text ends inside a UTF-8 sequence");
  }
  c.rxFinal = last ? 1 : 0;
  c.rxRemaining = <u32>(c.wsFrameLeft > 0xffffffff ? 0xffffffff : c.wsFrameLeft);
  c.rxBinary = c.wsMsgOpcode == OP_BINARY ? 1 : 0;
  if (last) table.statRxMessages++;
  const proto = protocolOf(c);
  const r = (c.flags & F_CLIENT) != 0 ? proto.clientReceive(c, p, take) : proto.receive(c, p, take);
  c.rxFirst = 0;
  if (c.state == ST_FREE) return false;
  if (r != 0) {
    appClose(c);
    return c.state == ST_WS || c.state == ST_WS_CLOSING;
  }
  return true;
}

function validCloseCode(code: u32): bool {
  if (code >= 3000 && code <= 4999) return true;
  if (code < 1000 || code > 1011) return false;
  return code != 1004 && code != 1005 && code != 1006;
}

const ctl = memory.data(16 + 128);

function control(c: Conn): bool {
  const op = c.wsOpcode;
  const data = ctrlBuf(c);
  const len = <u32>c.ctrlLen;
  if (op == OP_PING) {
    if ((c.flags & F_CLOSE_SENT) != 0) return true;
    return sendFrame(c, OP_PONG, data, len);
  }
  if (op == OP_PONG) {
    if (c.state != ST_WS) return true;
    const r = protocolOf(c).receivePong(c, data, len);
    if (c.state == ST_FREE) return false;
    if (r != 0) appClose(c);
    return true;
  }
  // close (§5.5.1)
  let code: u32 = 1005;
  if (len == 1) return fail(c, CLOSE_PROTOCOL_ERROR, "close frame with a 1-byte payload");
  if (len >= 2) {
    code = (<u32>load<u8>(data) << 8) | load<u8>(data + 1);
    if (!validCloseCode(code)) return fail(c, CLOSE_PROTOCOL_ERROR, "invalid close code");
    if (utf8Step(UTF8_ACCEPT, data + 2, len - 2) != UTF8_ACCEPT) return fail(c, CLOSE_INVALID_PAYLOAD, "close reason is not UTF-8");
  }
  if ((c.flags & F_CLOSE_SENT) != 0) {
    // the answer to our close: the closing handshake is complete
    closeConn(c, CLOSE_GRACEFUL);
    return false;
  }
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": peer closed with ").u(code).end();
  const echo = protocolOf(c).peerClose(c, code, len >= 2 ? data + 2 : data, len >= 2 ? len - 2 : 0);
  if (c.state == ST_FREE) return false;
  // echo the code (§5.5.1), without the reason
  c.flags |= F_CLOSE_SENT;
  if (len >= 2 && echo == 0) sendFrame(c, OP_CLOSE, data, 2);
  else sendFrame(c, OP_CLOSE, data, 0);
  if (c.state == ST_FREE) return false;
  c.wsRx = WR_IGNORE;
  closeAfterFlush(c);
  return false;
}

/** _Fail the WebSocket Connection_ (§7.1.7): close frame with `code`, then
 *  the TCP connection once it is written. */
function fail(c: Conn, code: u16, why: string): bool {
  if (logOn(LOG_NOTICE)) logStart(LOG_NOTICE).s("conn ").u(c.id).s(": closing with ").u(code).s(": ").s(why).end();
  c.wsRx = WR_IGNORE;
  if ((c.flags & F_CLOSE_SENT) == 0) {
    c.flags |= F_CLOSE_SENT;
    store<u16>(ctl + 100, bswap<u16>(code));
    if (!sendFrame(c, OP_CLOSE, ctl + 100, 2)) return false;
  }
  if (c.state != ST_FREE) closeAfterFlush(c);
  return false;
}

/** Starts the closing handshake from our side (app returned -1, shutdown). */
export function appClose(c: Conn): void {
  startClose(c, c.closeCode != 0 ? c.closeCode : CLOSE_NORMAL);
}

export function startClose(c: Conn, code: u16): void {
  if (c.state != ST_WS) return;
  c.flags |= F_CLOSE_SENT;
  enterWsClosing(c);
  store<u16>(ctl + 100, bswap<u16>(code));
  sendFrame(c, OP_CLOSE, ctl + 100, 2);
}

export function wsShutdown(c: Conn): void {
  startClose(c, CLOSE_GOING_AWAY);
}

// ---- liveness ------------------------------------------------------------------------
//
// One timer per connection (TM_WS), re-armed lazily: reads only stamp
// c.lastRx (and a new frame c.startedAt); when the timer fires, the
// deadlines are worked out from the stamps and the vhost's settings
// (Vhost.wsPingSecs, wsHangupSecs, wsMessageSecs).

/** A frame or message from the peer is under way. */
@inline function rxIncomplete(c: Conn): bool {
  return (c.flags & F_RX_MSG_OPEN) != 0 || c.wsRx != WR_HEADER || c.wsHdrFill != 0;
}

function liveness(c: Conn): bool {
  const vh = unchecked(vhosts[c.vhost]);
  const idle = now - c.lastRx;
  const partial = vh.wsMessageMs != 0 && rxIncomplete(c);
  if (partial && now - c.startedAt >= vh.wsMessageMs) {
    fail(c, CLOSE_POLICY, "frame or message incomplete after its time limit");
    return true;
  }
  if (vh.wsHangupMs != 0 && idle >= vh.wsHangupMs) {
    if (logOn(LOG_NOTICE)) logStart(LOG_NOTICE).s("conn ").u(c.id).s(": nothing received for ").u(idle).s(" ms, closing with 1001").end();
    startClose(c, CLOSE_GOING_AWAY); // the peer's close is still read (ST_WS_CLOSING)
    return true;
  }
  let next: u32 = 0xffffffff;
  if (vh.wsPingMs != 0) {
    if (idle >= vh.wsPingMs) {
      if (!sendFrame(c, OP_PING, ctl, 0)) return true; // dropped: nothing left to time
      next = vh.wsPingMs; // another ping if this one is not answered either
    } else next = vh.wsPingMs - idle;
  }
  if (vh.wsHangupMs != 0 && vh.wsHangupMs - idle < next) next = vh.wsHangupMs - idle;
  if (partial) {
    const left = vh.wsMessageMs - (now - c.startedAt);
    if (left < next) next = left;
  } else if (vh.wsMessageMs != 0 && vh.wsMessageMs < next) next = vh.wsMessageMs; // a message may begin meanwhile
  if (next != 0xffffffff) setTimer(c, TM_WS, next);
  return true;
}

// ---- send ----------------------------------------------------------------------------

// Masking keys for the client role (section 5.3: unpredictable, a new one
// per frame): drawn from the port's random source 16 at a time.
const maskPool = memory.data(64);
let maskLeft: u32 = 0;

function nextMask(): u32 {
  if (maskLeft == 0) {
    random_fill(maskPool, 64);
    maskLeft = 16;
  }
  maskLeft--;
  return load<u32>(maskPool + (maskLeft << 2));
}

/** A whole control frame (payload <= 125) from any memory; masked on a
 *  client connection. */
function sendFrame(c: Conn, op: u8, data: usize, len: u32): bool {
  store<u8>(ctl, 0x80 | op);
  if ((c.flags & F_CLIENT) != 0) {
    store<u8>(ctl + 1, <u8>(0x80 | len));
    const key = nextMask();
    store<u32>(ctl + 2, key);
    if (len > 0) {
      memory.copy(ctl + 6, data, len);
      unmask(ctl + 6, len, key, 0);
    }
    return send(c, ctl, 6 + len);
  }
  store<u8>(ctl + 1, <u8>len);
  if (len > 0) memory.copy(ctl + 2, data, len);
  return send(c, ctl, 2 + len);
}

/** Builds a frame header ending at `end` (the payload's start) and updates
 *  the fragment state. Returns the header length, or -1 when the connection
 *  is not open for writing or `kind` breaks the fragment sequence. */
function putHeader(c: Conn, end: usize, len: u32, kind: u32, fin: bool, rsv1: bool = false, maskKey: u32 = 0): i32 {
  if (c.state != ST_WS) return -1;
  const client = (c.flags & F_CLIENT) != 0;
  if (client) {
    store<u32>(end - 4, maskKey); // the masking key sits right before the payload
    end -= 4;
  }
  const open = (c.flags & F_TX_FRAG_OPEN) != 0;
  let op: u32;
  if (kind == WRITE_CONTINUATION) {
    if (!open) return -1;
    op = 0;
  } else {
    if (open || kind > WRITE_BINARY) return -1;
    op = kind == WRITE_BINARY ? 2 : 1;
  }
  let hl: u32;
  if (len < 126) {
    hl = 2;
    store<u8>(end - 1, <u8>len);
  } else if (len < 65536) {
    hl = 4;
    store<u8>(end - 3, 126);
    store<u16>(end - 2, bswap<u16>(<u16>len));
  } else {
    hl = 10;
    store<u8>(end - 9, 127);
    store<u64>(end - 8, bswap<u64>(<u64>len));
  }
  store<u8>(end - hl, <u8>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op));
  if (client) {
    store<u8>(end - hl + 1, load<u8>(end - hl + 1) | 0x80);
    hl += 4;
  }
  if (fin) {
    c.flags &= ~F_TX_FRAG_OPEN;
    table.statTxMessages++;
  } else c.flags |= F_TX_FRAG_OPEN;
  return <i32>hl;
}

/** Frames and sends `len` bytes at buf. The PRE bytes before buf must be
 *  writable scratch (lws's LWS_PRE contract): the header is built there, so
 *  header and payload go out in one send without a copy. Returns len or -1. */
export function wsWrite(c: Conn, buf: usize, len: u32, kind: u32, fin: bool): i32 {
  if ((c.flags & F_DEFLATE) != 0) return wsWriteDeflate(c, buf, len, kind, fin);
  if ((c.flags & F_CLIENT) != 0) return wsWriteMasked(c, buf, len, kind, fin, true);
  const hl = putHeader(c, buf, len, kind, fin);
  if (hl < 0) return -1;
  if (!send(c, buf - hl, <u32>hl + len)) return -1;
  return <i32>len;
}

/** A client's frame: the payload is masked in place for the send (which
 *  copies it, to the socket or the output queue) and unmasked again, so the
 *  app's buffer comes back as it was. pre: PRE headroom before buf. */
function wsWriteMasked(c: Conn, buf: usize, len: u32, kind: u32, fin: bool, pre: bool): i32 {
  const key = nextMask();
  const h = pre ? buf : ctl + 16;
  const hl = putHeader(c, h, len, kind, fin, false, key);
  if (hl < 0) return -1;
  if (len > 0) unmask(buf, len, key, 0);
  let ok: bool;
  if (pre) ok = send(c, buf - hl, <u32>hl + len);
  else ok = send(c, h - hl, <u32>hl) && (len == 0 || send(c, buf, len));
  if (len > 0) unmask(buf, len, key, 0);
  return ok ? <i32>len : -1;
}

/** As wsWrite, for a buffer without PRE headroom: header and payload go out
 *  as two sends (still no copy). */
export function wsWriteNoPre(c: Conn, buf: usize, len: u32, kind: u32, fin: bool): i32 {
  if ((c.flags & F_DEFLATE) != 0) return wsWriteDeflate(c, buf, len, kind, fin);
  if ((c.flags & F_CLIENT) != 0) return wsWriteMasked(c, buf, len, kind, fin, false);
  const h = ctl + 16;
  const hl = putHeader(c, h, len, kind, fin);
  if (hl < 0) return -1;
  if (!send(c, h - hl, <u32>hl)) return -1;
  if (len > 0 && !send(c, buf, len)) return -1;
  return <i32>len;
}

/** write() on a connection with permessage-deflate: every message is sent
 *  compressed (RFC 7692 section 7.2.1), RSV1 on its first frame, as
 *  libwebsockets does (its client misreads an uncompressed message there). Each call
 *  ends in a sync flush, so its bytes go out now, as one frame, or several
 *  (continuations) when they overflow the bounded zTx area; at the
 *  message's end the codec strips the flush's 00 00 ff ff. Returns len or -1. */
function wsWriteDeflate(c: Conn, buf: usize, len: u32, kind: u32, fin: bool): i32 {
  if (c.state != ST_WS) return -1;
  const open = (c.flags & F_TX_FRAG_OPEN) != 0;
  if (kind == WRITE_CONTINUATION ? !open : open || kind > WRITE_BINARY) return -1;
  const out = zTxArea();
  const total = len;
  let k = kind;
  // bounded: a call either takes all its input or fills zTx
  for (let guard: u32 = 0; guard < 0x1000000; guard++) {
    const r = deflateStep(c, buf, len, fin);
    if (r < 0) {
      logCodecError(c, "deflate", r);
      return -1;
    }
    const made = zProduced();
    const used = zConsumed();
    if (r != Z_DONE && used == 0 && made == 0) {
      logCodecError(c, "deflate (no progress)", r);
      return -1;
    }
    buf += used;
    len -= used;
    const done = r == Z_DONE;
    const hl = putHeader(c, out, made, k, done && fin, k != WRITE_CONTINUATION);
    if (hl < 0 || !send(c, out - hl, <u32>hl + made)) return -1;
    if (done) break;
    k = WRITE_CONTINUATION;
  }
  return <i32>total;
}

export function wsWritable(c: Conn, drained: bool): void {
  if ((c.flags & F_APP_WANTS_WRITABLE) == 0 && !drained) return;
  c.flags &= ~F_APP_WANTS_WRITABLE;
  const proto = protocolOf(c);
  const r = (c.flags & F_CLIENT) != 0 ? proto.clientWriteable(c) : proto.writeable(c);
  if (c.state == ST_FREE) return;
  if (r != 0) appClose(c);
}

