// permessage-deflate (RFC 7692) on the server: the negotiation of the
// Sec-WebSocket-Extensions offer (section 7.1), and the streaming of message
// payloads through the port's codec (the z_* imports; the core never
// implements DEFLATE). Framing (RSV1, section 6) stays in ./server.ts.
//
// Memory: two bounded areas allocated once at init, shared by every
// connection (the core handles one event at a time): inflated bytes go to
// zRx on their way to the app's receive(), deflated bytes to zTx on their
// way to send(). A message of any size streams through them; nothing is
// allocated per message. The codec's own state (zlib's windows) is the
// port's, per connection, from z_open to z_close.

import {
  Z_RX_NO_CONTEXT, Z_TX_NO_CONTEXT, Z_MEM_LEVEL_SHIFT, Z_FINAL, Z_DONE, Z_ERR_DATA, LOG_INFO, LOG_NOTICE, LOG_WARN,
} from "../abi/constants";
import { z_open, z_inflate, z_deflate } from "../abi/imports";
import { logStart, logOn } from "../core/log";
import { putAscii, putDecimal } from "../util/bytes";
import { PRE } from "../core/limits";
import { F_DEFLATE } from "../core/record";
import { Conn } from "../core/conn";
import { lower, isOws, charIs, C_TCHAR, NAME_SEC_WEBSOCKET_EXTENSIONS, NAME_SEC_WEBSOCKET_EXTENSIONS_LEN } from "../http/tokens";
import { findHeaderOf, valuePtr, valueLen } from "../http/hdrbuf";

/** The port has the codec (INIT_DEFLATE) and some vhost allows the extension. */
export let deflateReady = false;
let zRx: usize = 0; // PRE headroom precedes it: the app may write() in place from it (echo)
let zTx: usize = 0; // PRE headroom precedes it: the frame header is built there
let zSize: u32 = 0;
const zRes = memory.data(8); // z_inflate / z_deflate results: u32 consumed, u32 produced

/** Called by service.init() once the vhosts exist. Returns the bytes taken. */
export function deflateInit(portHasCodec: bool, anyVhost: bool, size: u32): usize {
  if (!portHasCodec || !anyVhost) return 0;
  zSize = size;
  zRx = heap.alloc(PRE + size) + PRE;
  zTx = heap.alloc(PRE + size) + PRE;
  deflateReady = true;
  return 2 * (<usize>PRE + size);
}

export function zRxArea(): usize {
  return zRx;
}
export function zTxArea(): usize {
  return zTx;
}

// ---- negotiation (section 7.1) ---------------------------------------------------------

// The offer being parsed (section 7.1: parameters of an offer)
let oServerNoCtx = false;
let oClientNoCtx = false;
let oServerBits: i32 = 0; // server_max_window_bits value, 0: absent
let oClientBits: i32 = -1; // client_max_window_bits: -1 absent, 0 without a value, else its value
let oSeen: u32 = 0; // bit per parameter name: a repeated one declines the offer

/** The n bytes at p equal the lower-case ASCII s, ignoring case. */
function isName(p: usize, n: u32, s: string): bool {
  if (<u32>s.length != n) return false;
  const sp = changetype<usize>(s);
  for (let i: u32 = 0; i < n; i++) if (lower(load<u8>(p + i)) != <u32>load<u16>(sp + (<usize>i << 1))) return false;
  return true;
}

function skipOws(v: usize, n: u32, i: u32): u32 {
  while (i < n && isOws(load<u8>(v + i))) i++;
  return i;
}

/** Past the next ',' outside a quoted string (the rest of a malformed element). */
function skipElement(v: usize, n: u32, i: u32): u32 {
  let q = false;
  while (i < n) {
    const b = load<u8>(v + i);
    i++;
    if (q) {
      if (b == 0x5c) i++;
      else if (b == 0x22) q = false;
    } else if (b == 0x22) q = true;
    else if (b == 0x2c) break;
  }
  return i;
}

/** A window-bits value: a decimal integer 8..15 without leading zeros
 *  (sections 7.1.2.1, 7.1.2.2); -1 when not. */
function windowBits(p: usize, n: u32): i32 {
  if (n == 1) {
    const d = <i32>load<u8>(p) - 0x30;
    return d == 8 || d == 9 ? d : -1;
  }
  if (n == 2 && load<u8>(p) == 0x31) {
    const d = <i32>load<u8>(p + 1) - 0x30;
    return d >= 0 && d <= 5 ? 10 + d : -1;
  }
  return -1;
}

/** One parameter of a permessage-deflate offer; false declines the offer
 *  (section 7: unknown, repeated, or with an invalid value). */
function offerParam(np: usize, nl: u32, hasVal: bool, vp: usize, vl: u32): bool {
  let bit: u32 = 0;
  if (isName(np, nl, "server_no_context_takeover")) {
    if (hasVal) return false;
    oServerNoCtx = true;
    bit = 1;
  } else if (isName(np, nl, "client_no_context_takeover")) {
    if (hasVal) return false;
    oClientNoCtx = true;
    bit = 2;
  } else if (isName(np, nl, "server_max_window_bits")) {
    if (!hasVal) return false;
    oServerBits = windowBits(vp, vl);
    if (oServerBits < 0) return false;
    bit = 4;
  } else if (isName(np, nl, "client_max_window_bits")) {
    oClientBits = hasVal ? windowBits(vp, vl) : 0;
    if (hasVal && oClientBits < 0) return false;
    bit = 8;
  } else return false;
  if ((oSeen & bit) != 0) return false;
  oSeen |= bit;
  return true;
}

/** Scans one Sec-WebSocket-Extensions value (1#extension, each
 *  token *( ";" token [ "=" ( token | quoted-string ) ] ), RFC 6455 section
 *  9.1) for the first permessage-deflate offer we accept; true when found
 *  (the o* fields hold it). Other extensions and declined offers are skipped. */
function scanOffers(v: usize, n: u32): bool {
  let i: u32 = 0;
  while (i < n) {
    i = skipOws(v, n, i);
    if (i >= n) break;
    if (load<u8>(v + i) == 0x2c) { // empty list element
      i++;
      continue;
    }
    const ns = i;
    while (i < n && charIs(load<u8>(v + i), C_TCHAR)) i++;
    const pmd = isName(v + ns, i - ns, "permessage-deflate");
    let ok = i > ns;
    oServerNoCtx = false;
    oClientNoCtx = false;
    oServerBits = 0;
    oClientBits = -1;
    oSeen = 0;
    while (ok) {
      i = skipOws(v, n, i);
      if (i >= n) break;
      const b = load<u8>(v + i);
      if (b == 0x2c) {
        i++;
        break;
      }
      if (b != 0x3b) {
        ok = false;
        break;
      }
      i = skipOws(v, n, i + 1);
      const ps = i;
      while (i < n && charIs(load<u8>(v + i), C_TCHAR)) i++;
      const pl = i - ps;
      if (pl == 0) {
        ok = false;
        break;
      }
      i = skipOws(v, n, i);
      let hasVal = false;
      let vs: u32 = i;
      let vl: u32 = 0;
      if (i < n && load<u8>(v + i) == 0x3d) {
        hasVal = true;
        i = skipOws(v, n, i + 1);
        if (i < n && load<u8>(v + i) == 0x22) {
          // quoted-string: its content must still be a valid value (section 7.1)
          i++;
          vs = i;
          while (i < n && load<u8>(v + i) != 0x22) i += load<u8>(v + i) == 0x5c ? 2 : 1;
          if (i >= n) {
            ok = false;
            break;
          }
          vl = i - vs;
          i++;
        } else {
          vs = i;
          while (i < n && charIs(load<u8>(v + i), C_TCHAR)) i++;
          vl = i - vs;
        }
        if (vl == 0) {
          ok = false;
          break;
        }
      }
      if (pmd && !offerParam(v + ps, pl, hasVal, v + vs, vl)) ok = false;
    }
    if (!ok) {
      i = skipElement(v, n, i);
      continue;
    }
    // zlib's raw deflater has no 256-byte window: an offer limiting ours to
    // 8 bits is a configuration we do not support (section 7: decline it)
    if (pmd && oServerBits != 8) return true;
  }
  return false;
}

/** Negotiates permessage-deflate for a handshake (section 7.1): the first
 *  acceptable offer wins; the codec is opened for it. Writes the response's
 *  Sec-WebSocket-Extensions line at `out` and returns its length, or 0 when
 *  the extension is not used (not offered, every offer declined, the vhost
 *  does not allow it, or the port has no memory for the codec). */
export function negotiateDeflate(c: Conn, allowed: bool, out: usize): u32 {
  if (!deflateReady || !allowed) return 0;
  let found = false;
  for (let i = findHeaderOf(c, NAME_SEC_WEBSOCKET_EXTENSIONS, NAME_SEC_WEBSOCKET_EXTENSIONS_LEN); i >= 0 && !found; i = findHeaderOf(c, NAME_SEC_WEBSOCKET_EXTENSIONS, NAME_SEC_WEBSOCKET_EXTENSIONS_LEN, <u32>i + 1)) {
    found = scanOffers(valuePtr(c, <u32>i), valueLen(c, <u32>i));
  }
  if (!found) return 0;
  // Our deflater: the client's server_max_window_bits and the vhost's
  // limit. Our inflater: the client's window, which we may limit only when
  // it offered client_max_window_bits (section 7.1.2.2).
  const vh = c.getVhost();
  let txBits: u32 = oServerBits > 0 ? <u32>oServerBits : 15;
  if (txBits > vh.deflateServerBits) txBits = vh.deflateServerBits;
  let rxBits: u32 = 15;
  if (oClientBits >= 0) {
    rxBits = oClientBits > 0 ? <u32>oClientBits : 15;
    if (rxBits > vh.deflateClientBits) rxBits = vh.deflateClientBits;
  }
  const flags = (oClientNoCtx ? Z_RX_NO_CONTEXT : 0) | (oServerNoCtx ? Z_TX_NO_CONTEXT : 0) | (vh.deflateMemLevel << Z_MEM_LEVEL_SHIFT);
  const r = z_open(c.id, rxBits, txBits, flags);
  if (r != Z_DONE) {
    // the port's sessions are all in use (or it has no memory): the
    // connection goes on without the extension
    if (logOn(LOG_NOTICE)) logStart(LOG_NOTICE).s("conn ").u(c.id).s(": permessage-deflate declined: no codec session free (").i(r).s(")").end();
    return 0;
  }
  c.flags |= F_DEFLATE;
  let w = putAscii(out, "Sec-WebSocket-Extensions: permessage-deflate");
  // server_no_context_takeover must be answered when offered (7.1.1.1);
  // client_no_context_takeover is echoed: the client resets, so may we (7.1.1.2)
  if (oServerNoCtx) w += putAscii(out + w, "; server_no_context_takeover");
  if (oClientNoCtx) w += putAscii(out + w, "; client_no_context_takeover");
  if (oServerBits > 0 || txBits < 15) {
    w += putAscii(out + w, "; server_max_window_bits=");
    w += putDecimal(out + w, txBits);
  }
  // an offered value already binds the client (7.1.2.2): answer only a lower one
  if ((oClientBits == 0 && rxBits < 15) || (oClientBits > 0 && rxBits < <u32>oClientBits)) {
    w += putAscii(out + w, "; client_max_window_bits=");
    w += putDecimal(out + w, rxBits);
  }
  w += putAscii(out + w, "\r\n");
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": permessage-deflate, window ").u(txBits).s(oServerNoCtx ? ", server_no_context_takeover" : "").s(oClientNoCtx ? ", client_no_context_takeover" : "").end();
  return w;
}

// ---- streaming through the codec ------------------------------------------------------

/** z_inflate over in/inLen into zRx: Z_DONE, Z_MORE or an error; the
 *  counts are read with zConsumed() and zProduced(). */
export function inflateStep(c: Conn, inPtr: usize, inLen: u32, final: bool): i32 {
  return z_inflate(c.id, inPtr, inLen, zRx, zSize, final ? Z_FINAL : 0, zRes);
}

/** z_deflate over in/inLen into zTx (same results). */
export function deflateStep(c: Conn, inPtr: usize, inLen: u32, final: bool): i32 {
  return z_deflate(c.id, inPtr, inLen, zTx, zSize, final ? Z_FINAL : 0, zRes);
}

export function zConsumed(): u32 {
  return load<u32>(zRes);
}
export function zProduced(): u32 {
  return load<u32>(zRes + 4);
}

export function isDataError(r: i32): bool {
  return r == Z_ERR_DATA;
}

export function logCodecError(c: Conn, what: string, r: i32): void {
  if (logOn(LOG_NOTICE)) logStart(LOG_NOTICE).s("conn ").u(c.id).s(": ").s(what).s(" failed (").i(r).s(")").end();
}
