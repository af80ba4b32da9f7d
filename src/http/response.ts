// HTTP/1.1 responses (RFC 9112 section 4, RFC 9110 section 15): the head,
// the body with its framing kept honest, the short answers the core and the
// app give on errors. Both the server role (./server.ts) and the WebSocket
// handshake (src/ws/handshake.ts) answer through here.

import { LOG_INFO, LOG_NOTICE, CLOSE_ABORT } from "../abi/constants";
import { logStart, logOn } from "../core/log";
import { NONE, F_KEEPALIVE, F_HEAD_REQUEST, F_RESP_HEADERS_SENT, F_RESP_DONE } from "../core/record";
import { Conn } from "../core/conn";
import { send, closeAfterFlush, closeConn } from "../core/dispatch";
import { putAscii, putDecimal } from "../util/bytes";
import { headOf } from "./hdrbuf";

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
 *  header lines, or extraRawLen bytes of them at extraRaw) and close,
 *  without reading the rest of a request body. */
export function httpFail(c: Conn, status: u32, extra: string | null = null, extraRaw: usize = 0, extraRawLen: u32 = 0): void {
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": HTTP ").u(status).end();
  if (c.hdr == NONE || (c.flags & F_RESP_HEADERS_SENT) != 0) {
    closeConn(c, CLOSE_ABORT);
    return;
  }
  // Error heads report HTTP/1.1 even for a request line that did not parse.
  headOf(c).versionMinor = 1;
  c.flags &= ~F_KEEPALIVE;
  c.flags &= ~F_HEAD_REQUEST;
  if (httpAppError(c, status, extra, extraRaw, extraRawLen) != 0) {
    closeConn(c, CLOSE_ABORT);
    return;
  }
  closeAfterFlush(c);
}
