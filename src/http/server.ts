// HTTP/1.1 server side of a connection (RFC 9112): reading request heads and
// bodies from the connection's header buffer, handing them to the app, and
// writing responses. Keep-alive and pipelining: requests are answered strictly
// in order; the next pipelined request is parsed only once the current
// response is complete.
//
// Header buffer layout (one per HTTP-phase connection, from the pool):
//   +-------------+----------------+-----------------------+----------------------+
//   | RequestHead | ChunkedDecoder | header table          | raw bytes: head,     |
//   |             |                | MAX_HEADERS x entries | body, next requests  |
//   +-------------+----------------+-----------------------+----------------------+
// The port reads straight into the raw area (mote_rx_buffer).

import { LOG_INFO, LOG_NOTICE, CLOSE_GRACEFUL, CLOSE_ABORT } from "../abi/constants";
import { logStart, logOn } from "../core/log";
import { putAscii, putDecimal, bytesEqualAscii } from "../util/bytes";
import {
  Conn, ST_HTTP_HEAD, ST_HTTP_BODY, ST_HTTP_RESPOND, ST_FREE, ST_WS, TM_HEAD, TM_KEEPALIVE, TM_RESPONSE,
  F_KEEPALIVE, F_HEAD_REQUEST, F_RESP_HEADERS_SENT, F_RESP_DONE, F_BODY_DONE, F_APP_WANTS_WRITABLE,
  F_CONTINUE_SENT, F_BUILTIN_IMAGE, F_MOUNT,
} from "../core/conn";
import { findMount, MOUNT_CALLBACK } from "../core/mount";
import {
  hdrBase, hdrBytes, send, closeAfterFlush, closeConn, setTimer, clearTimer, protocolOf, vhostOf, bindVhost, bindHttpProtocol,
  updatePortWritable, txPending, httpHandlerOf, imageStoreOn,
} from "../core/service";
import { IMAGE_PATH } from "../core/image";
import { MAX_HEADERS, MAX_REQUEST_LINE, MAX_BODY, TIMEOUT_HEAD_MS, TIMEOUT_KEEPALIVE_MS, TIMEOUT_RESPONSE_MS } from "../core/limits";
import {
  RequestHead, scanHeadEnd, parseHead, HEADER_ENTRY_SIZE, METHOD_HEAD, METHOD_CONNECT, FORM_ASTERISK,
  headerNameLen, headerNamePtr,
} from "./request";
import { eqIgnoreCase } from "./tokens";
import { ChunkedDecoder, chunkedReset, chunkedDecode } from "./chunked";
import { wsHandshake } from "../ws/server";

// ---- header buffer geometry ---------------------------------------------------------

const HEAD_OFF: usize = 0;
const DEC_OFF: usize = (offsetof<RequestHead>() + 7) & ~7;
const TABLE_OFF: usize = (DEC_OFF + offsetof<ChunkedDecoder>() + 7) & ~7;
const RAW_OFF: usize = (TABLE_OFF + <usize>MAX_HEADERS * HEADER_ENTRY_SIZE + 7) & ~7;

export function httpHeaderBufferCost(): u32 {
  return <u32>RAW_OFF;
}

@inline export function headOf(c: Conn): RequestHead {
  return changetype<RequestHead>(hdrBase(c.hdr) + HEAD_OFF);
}
@inline function decOf(c: Conn): ChunkedDecoder {
  return changetype<ChunkedDecoder>(hdrBase(c.hdr) + DEC_OFF);
}
@inline export function tableOf(c: Conn): usize {
  return hdrBase(c.hdr) + TABLE_OFF;
}
@inline export function rawOf(c: Conn): usize {
  return hdrBase(c.hdr) + RAW_OFF;
}
/** The raw area of header buffer h (before a connection holds it). */
export function rawOfHdr(h: u32): usize {
  return hdrBase(h) + RAW_OFF;
}

@inline export function rawCap(): u32 {
  return hdrBytes - <u32>RAW_OFF;
}

/** Header i of the table is named name[0, n) (ASCII case-insensitive). */
export function headerIs(raw: usize, table: usize, i: u32, name: usize, n: u32): bool {
  return headerNameLen(table, i) == n && eqIgnoreCase(headerNamePtr(raw, table, i), name, n);
}

export function httpRxPtr(c: Conn): usize {
  return rawOf(c) + c.hdrFill;
}

export function httpRxSpace(c: Conn): u32 {
  return rawCap() - c.hdrFill;
}

// ---- input ------------------------------------------------------------------------

export function httpRx(c: Conn, n: u32): void {
  c.hdrFill += n;
  if (c.state == ST_HTTP_HEAD && c.timer == TM_KEEPALIVE) setTimer(c, TM_HEAD, TIMEOUT_HEAD_MS);
  httpProcess(c);
}

/** Runs the connection's HTTP state machine over the bytes it holds. */
export function httpProcess(c: Conn): void {
  while (c.state != ST_FREE) {
    const st = c.state;
    if (st == ST_HTTP_HEAD) {
      if (!readHead(c)) return;
    } else if (st == ST_HTTP_BODY) {
      if (!readBody(c)) return;
    } else if (st == ST_HTTP_RESPOND) {
      if ((c.flags & F_RESP_DONE) == 0) return;
      if (!nextRequest(c)) return;
    } else return;
  }
}

/** Looks for a complete head and starts the request. False: wait for input. */
function readHead(c: Conn): bool {
  const raw = rawOf(c);
  if (c.hdrFill == 0) return false;
  // A request line that alone fills the buffer is "URI too long" (414), not
  // "header fields too large" (431): keep the line limit below the capacity.
  const maxLine = MAX_REQUEST_LINE < rawCap() - 1 ? MAX_REQUEST_LINE : rawCap() - 1;
  const r = scanHeadEnd(raw, c.hdrFill, c.scanFrom, rawCap(), maxLine);
  if (r == 0) {
    c.scanFrom = c.hdrFill;
    return false;
  }
  if (r < 0) {
    httpFail(c, <u32>-r);
    return false;
  }
  c.headLen = <u32>r;
  const head = headOf(c);
  const pr = parseHead(raw, <u32>r, head, tableOf(c), MAX_HEADERS);
  if (pr < 0) {
    httpFail(c, <u32>-pr);
    return false;
  }
  startRequest(c, head);
  return true;
}

function startRequest(c: Conn, head: RequestHead): void {
  clearTimer(c);
  c.flags &= ~(F_KEEPALIVE | F_HEAD_REQUEST | F_RESP_HEADERS_SENT | F_RESP_DONE | F_BODY_DONE | F_CONTINUE_SENT | F_BUILTIN_IMAGE | F_MOUNT);
  if (head.keepAlive) c.flags |= F_KEEPALIVE;
  if (head.method == METHOD_HEAD) c.flags |= F_HEAD_REQUEST;
  c.respLeft = -1;
  c.bodyTotal = 0;
  if (logOn(LOG_INFO)) {
    logStart(LOG_INFO).s("conn ").u(c.id).s(": ").b(rawOf(c) + head.methodOff, head.methodLen).s(" ")
      .b(rawOf(c) + head.targetOff, head.targetLen).end();
  }

  // vhosts sharing the port: the first request's Host binds the connection
  // (unless TLS did); RFC 9110 section 7.4: a request for another vhost of
  // the port on a bound connection is misdirected
  if (!bindVhost(c, rawOf(c) + head.hostOff, head.hasHost ? head.hostLen : 0)) {
    httpFail(c, 421);
    return;
  }
  if (head.upgradeWebsocket) {
    wsHandshake(c, head);
    return;
  }
  if (head.method == METHOD_CONNECT) {
    httpFail(c, 405);
    return;
  }
  if (head.expectOther) {
    httpFail(c, 417);
    return;
  }
  // body framing
  if (head.chunked) {
    chunkedReset(decOf(c));
    c.bodyLeft = 0;
  } else if (head.contentLength > 0) {
    if (<u64>head.contentLength > MAX_BODY) {
      httpFail(c, 413);
      return;
    }
    c.bodyLeft = <u64>head.contentLength;
  } else {
    c.bodyLeft = 0;
  }
  const hasBody = head.chunked || c.bodyLeft > 0;
  if (hasBody && head.expectContinue && head.versionMinor >= 1) {
    c.flags |= F_CONTINUE_SENT;
    const tmp = rawOf(c) + c.hdrFill; // free space after the raw bytes
    if (httpRxSpace(c) >= 32) {
      const n = putAscii(tmp, "HTTP/1.1 100 Continue\r\n\r\n");
      if (!send(c, tmp, n)) return;
    }
  }
  c.state = hasBody ? ST_HTTP_BODY : ST_HTTP_RESPOND;
  if (!hasBody) c.flags |= F_BODY_DONE;
  setTimer(c, TM_RESPONSE, TIMEOUT_RESPONSE_MS);

  if (head.targetForm == FORM_ASTERISK) {
    // OPTIONS * (RFC 9110 9.3.7): about the server as a whole.
    respondHead(c, 204, null, 0, "Allow: GET, HEAD, POST, OPTIONS\r\n");
    return;
  }
  if (imageStoreOn && bytesEqualAscii(rawOf(c) + head.pathOff, head.pathLen, IMAGE_PATH)) c.flags |= F_BUILTIN_IMAGE;
  else routeMount(c, head);
  const r = httpHandlerOf(c).http(c);
  if (c.state == ST_FREE) return;
  if (r != 0) {
    closeConn(c, CLOSE_GRACEFUL);
    return;
  }
}

/** Who answers this request: a mount covering its path (the core's mount
 *  server, or a callback mount's protocol), else the vhost's protocol 0. */
function routeMount(c: Conn, head: RequestHead): void {
  const vh = vhostOf(c);
  let proto = 0;
  if (vh.mounts.length > 0) {
    const mi = findMount(vh, rawOf(c) + head.pathOff, head.pathLen);
    if (mi >= 0) {
      const m = unchecked(vh.mounts[mi]);
      if (m.kind == MOUNT_CALLBACK) proto = m.protocolIndex;
      else c.flags |= F_MOUNT;
    }
  }
  bindHttpProtocol(c, proto);
}

/** Hands body bytes to the app. False: wait for input. */
function readBody(c: Conn): bool {
  const raw = rawOf(c);
  const head = headOf(c);
  let p = raw + c.headLen;
  let avail = c.hdrFill - c.headLen;
  const proto = httpHandlerOf(c);
  let done = false;
  while (avail > 0 && !done) {
    if (head.chunked) {
      const dec = decOf(c);
      const r = chunkedDecode(dec, p, avail);
      if (r < 0) {
        httpFail(c, <u32>-r);
        return false;
      }
      if (dec.spanLen > 0) {
        c.bodyTotal += dec.spanLen;
        if (c.bodyTotal > MAX_BODY) {
          httpFail(c, 413);
          return false;
        }
        if ((c.flags & F_RESP_DONE) == 0 && proto.httpBody(c, p + dec.spanOff, dec.spanLen) != 0) {
          closeConn(c, CLOSE_GRACEFUL);
          return false;
        }
        if (c.state != ST_HTTP_BODY) return false; // closed, or closing after an answer
      }
      p += <u32>r;
      avail -= <u32>r;
      if (dec.done) done = true;
      else if (r == 0) break;
    } else {
      const take = <u64>avail < c.bodyLeft ? avail : <u32>c.bodyLeft;
      c.bodyLeft -= take;
      c.bodyTotal += take;
      if ((c.flags & F_RESP_DONE) == 0 && proto.httpBody(c, p, take) != 0) {
        closeConn(c, CLOSE_GRACEFUL);
        return false;
      }
      if (c.state != ST_HTTP_BODY) return false; // closed, or closing after an answer
      p += take;
      avail -= take;
      if (c.bodyLeft == 0) done = true;
    }
  }
  if (!head.chunked && c.bodyLeft == 0) done = true;
  // keep only what follows the consumed bytes (a partial chunk line is kept
  // by the decoder's state, so nothing of this body remains)
  if (avail > 0) memory.copy(raw + c.headLen, p, avail);
  c.hdrFill = c.headLen + avail;
  if (!done) return false;
  c.flags |= F_BODY_DONE;
  c.state = ST_HTTP_RESPOND;
  if ((c.flags & F_RESP_DONE) == 0 && proto.httpBodyCompletion(c) != 0) {
    closeConn(c, CLOSE_GRACEFUL);
    return false;
  }
  return c.state != ST_FREE;
}

/** The response is complete: keep-alive or close. False: stop processing. */
function nextRequest(c: Conn): bool {
  if ((c.flags & F_KEEPALIVE) == 0) {
    closeAfterFlush(c);
    return false;
  }
  const raw = rawOf(c);
  const left = c.hdrFill - c.headLen;
  if (left > 0) memory.copy(raw, raw + c.headLen, left);
  c.hdrFill = left;
  c.headLen = 0;
  c.scanFrom = 0;
  c.state = ST_HTTP_HEAD;
  c.flags &= ~(F_RESP_DONE | F_RESP_HEADERS_SENT | F_BODY_DONE | F_HEAD_REQUEST);
  if (left > 0) setTimer(c, TM_HEAD, TIMEOUT_HEAD_MS);
  else setTimer(c, TM_KEEPALIVE, TIMEOUT_KEEPALIVE_MS);
  return left > 0;
}

/** HTTP_WRITEABLE when the app asked for it, then any pipelined request
 *  that the completed response unblocked. */
export function httpWritable(c: Conn): void {
  if ((c.flags & F_APP_WANTS_WRITABLE) != 0) {
    c.flags &= ~F_APP_WANTS_WRITABLE;
    if (httpHandlerOf(c).httpWriteable(c) != 0) {
      closeConn(c, CLOSE_GRACEFUL);
      return;
    }
  }
  if (c.state != ST_FREE) httpProcess(c);
}

// ---- output ---------------------------------------------------------------------

const scratch = memory.data(1024);
/** The response-head scratch (1 KiB), also where the WebSocket handshake
 *  builds its 101 (never while a response head is being built). */
export function headScratch(): usize {
  return scratch;
}

function reason(status: u32): string {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
  }
  return "Unknown";
}

// A tiny writer for response heads into `scratch` (bounded: a head that
// would not fit is cut, which only an app's oversized extra headers can do).
const SCRATCH: u32 = 1024;
let w: u32 = 0;
function ws(s: string): void {
  if (w + <u32>s.length > SCRATCH) return;
  w += putAscii(scratch + w, s);
}
function wnum(v: u64): void {
  if (w + 20 > SCRATCH) return;
  w += putDecimal(scratch + w, v);
}

/** Writes a response head. `contentLength` -1: unknown, the connection closes
 *  after the body. `extra` is raw header lines, each ending in CRLF. */
export function respondHead(c: Conn, status: u32, contentType: string | null, contentLength: i64, extra: string | null,
                            extraRaw: usize = 0, extraRawLen: u32 = 0): bool {
  if ((c.flags & F_RESP_HEADERS_SENT) != 0) return false;
  c.flags |= F_RESP_HEADERS_SENT;
  const head = headOf(c);
  if (contentLength < 0) c.flags &= ~F_KEEPALIVE;
  w = 0;
  ws(head.versionMinor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  wnum(status);
  ws(" ");
  ws(reason(status));
  ws("\r\nServer: mote\r\n");
  if (contentType !== null) {
    ws("Content-Type: ");
    ws(contentType);
    ws("\r\n");
  }
  if (contentLength >= 0 && status != 204 && status != 304) {
    ws("Content-Length: ");
    wnum(<u64>contentLength);
    ws("\r\n");
  }
  if ((c.flags & F_KEEPALIVE) == 0) ws("Connection: close\r\n");
  else if (head.versionMinor == 0) ws("Connection: keep-alive\r\n");
  if (extra !== null) ws(extra);
  if (extraRawLen > 0 && w + extraRawLen <= SCRATCH) {
    memory.copy(scratch + w, extraRaw, extraRawLen);
    w += extraRawLen;
  }
  ws("\r\n");
  c.respLeft = contentLength;
  if (!send(c, scratch, w)) return false;
  if ((c.flags & F_HEAD_REQUEST) != 0 || contentLength == 0 || status == 204 || status == 304) {
    c.respLeft = 0; // no body follows this head
    completeResponse(c);
  }
  return true;
}

/** Response body bytes. `final`: this is the last of them. */
export function respondBody(c: Conn, ptr: usize, len: u32, final: bool): i32 {
  if ((c.flags & F_RESP_HEADERS_SENT) == 0 || (c.flags & F_RESP_DONE) != 0) {
    if ((c.flags & F_HEAD_REQUEST) != 0) return <i32>len; // HEAD: body discarded
    return -1;
  }
  if (c.respLeft >= 0) {
    if (<i64>len > c.respLeft) {
      logStart(LOG_NOTICE).s("conn ").u(c.id).s(": app wrote ").u(len).s(" B past its Content-Length; truncated").end();
      len = <u32>c.respLeft;
    }
    c.respLeft -= len;
  }
  if (len > 0 && !send(c, ptr, len)) return -1;
  if (c.respLeft == 0 || final) completeResponse(c);
  return <i32>len;
}

export function completeResponse(c: Conn): void {
  if ((c.flags & F_RESP_DONE) != 0) return;
  c.flags |= F_RESP_DONE;
  if (c.respLeft > 0) c.flags &= ~F_KEEPALIVE; // short body: framing is broken, close after
  if (c.respLeft < 0) c.flags &= ~F_KEEPALIVE;
}

const errBody = memory.data(64);

/** An error the app (or a handler default) chose: a complete small response
 *  ("404 Not Found\n"); the connection stays usable when framing allows.
 *  Returns 0, or -1 when a response was already started. */
export function httpAppError(c: Conn, status: u32, extra: string | null = null, extraRaw: usize = 0, extraRawLen: u32 = 0): i32 {
  if ((c.flags & F_RESP_HEADERS_SENT) != 0) return -1;
  let n = putDecimal(errBody, status);
  store<u8>(errBody + n++, 0x20);
  n += putAscii(errBody + n, reason(status)); // longest reason: 31 bytes
  store<u8>(errBody + n++, 0x0a);
  if (status == 426) extra = "Sec-WebSocket-Version: 13\r\n";
  if (!respondHead(c, status, "text/plain", n, extra, extraRaw, extraRawLen)) return -1;
  respondBody(c, errBody, n, true);
  return 0;
}

/** A protocol error found by the core: answer with `status` (and `extra`
 *  header lines) and close, without reading the rest of a request body. */
export function httpFail(c: Conn, status: u32, extra: string | null = null): void {
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": HTTP ").u(status).end();
  if (c.hdr == 0xffffffff || (c.flags & F_RESP_HEADERS_SENT) != 0) {
    closeConn(c, CLOSE_ABORT);
    return;
  }
  // Error heads report HTTP/1.1 even for a request line that did not parse.
  headOf(c).versionMinor = 1;
  c.flags &= ~F_KEEPALIVE;
  c.flags &= ~F_HEAD_REQUEST;
  if (httpAppError(c, status, extra) != 0) {
    closeConn(c, CLOSE_ABORT);
    return;
  }
  closeAfterFlush(c);
}
