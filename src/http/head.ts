// HTTP/1.1 message heads: requests (the server role) and responses (the
// client role). Find the end, then parse and validate.
//
// Neither step allocates (no strings, no arrays, no closures, no throw):
//
//   scanHeadEnd()        incremental and stateless: the caller appends bytes
//                        and calls again. Finds the empty line that ends a
//                        request head, and fails early on bare CR / bare LF,
//                        an over-long request line and an over-long head.
//   parseRequestHead()   one pass over a complete request head: fills a
//                        MessageHead and a header table; every rule of RFC
//                        9112 / RFC 9110 that the head alone can decide is
//                        checked here.
//   parseResponseHead()  the same for a response head (status line, fields).
//
// Return contract (like picohttpparser's one comment):
//   > 0   scanHeadEnd: length of the head including the final CRLFCRLF;
//         parseResponseHead: the status code
//     0   scanHeadEnd: HEAD_INCOMPLETE, need more bytes;  parseRequestHead: ok
//   < 0   minus the HTTP status to answer with before closing:
//         -400 syntax / framing, -414 request line too long,
//         -431 head or header count too large, -501 transfer coding not
//         implemented, -505 HTTP major version other than 1.
//
// Zero-copy: every offset below is relative to the `buf` passed to the parser
// and stays valid as long as the caller keeps those head bytes in place.
//
// Header table (`maxHeaders` entries, HEADER_ENTRY_SIZE bytes each):
//
//   +0       +2       +4       +6       +8
//   |nameOff |nameLen |valOff  |valLen  |
//   u16      u16      u16      u16        offsets relative to buf; the value
//                                         is trimmed of OWS; names keep the
//                                         case they arrived in.
//
// Deliberately strict (a server on a microcontroller has no reason to be
// lenient and every leniency has been a smuggling vector somewhere):
// obs-fold, whitespace before ':', bare CR/LF, '#' or non-ASCII in the
// target, userinfo in an absolute-form authority, Transfer-Encoding in
// HTTP/1.0 or together with Content-Length are all -400.

import {
  CR, LF, SP, HTAB, COLON, COMMA, SEMI, SLASH, QMARK, STAR, PERCENT, LBRACKET, RBRACKET,
  C_TCHAR, C_FIELD, C_TARGET, C_HEX, C_REGNAME, C_IPLIT,
  charIs, isDigit, isOws, eqLower, eqIgnoreCase, eqBytes,
  NAME_HOST, NAME_CONTENT_LENGTH, NAME_TRANSFER_ENCODING, NAME_CONNECTION, NAME_UPGRADE, NAME_EXPECT,
  TOK_CHUNKED, TOK_CHUNKED_LEN, TOK_CLOSE, TOK_CLOSE_LEN, TOK_KEEP_ALIVE, TOK_KEEP_ALIVE_LEN,
  TOK_UPGRADE, TOK_UPGRADE_LEN, TOK_WEBSOCKET, TOK_WEBSOCKET_LEN, TOK_100_CONTINUE, TOK_100_CONTINUE_LEN,
  TOK_HTTP, HTTP_SLASH,
  M_GET, M_HEAD, M_POST, M_PUT, M_DELETE, M_OPTIONS, M_PATCH, M_CONNECT, M_TRACE,
} from "./tokens";

// ---- results -------------------------------------------------------------------
export const HEAD_INCOMPLETE: i32 = 0;
export const HEAD_OK: i32 = 0;
export const ERR_BAD_REQUEST: i32 = -400;
export const ERR_URI_TOO_LONG: i32 = -414;
export const ERR_HEADERS_TOO_LARGE: i32 = -431;
export const ERR_NOT_IMPLEMENTED: i32 = -501;
export const ERR_VERSION: i32 = -505;

// ---- limits --------------------------------------------------------------------
// Offsets in the header table are u16, so no head is longer than this.
export const HEAD_MAX: u32 = 65535;
// The real bounds are the board's header buffer (httpHeaderBytes) and
// src/core/limits.ts (MAX_HEADERS, MAX_REQUEST_LINE).
// Largest Content-Length accepted: 2^53 - 1, so the value is exact in a
// JavaScript number on the host side too.
export const CONTENT_LENGTH_MAX: u64 = 9007199254740991;

// ---- header table ----------------------------------------------------------------
export const HEADER_ENTRY_SIZE: u32 = 8;
export const HDR_NAME_OFF: u32 = 0;
export const HDR_NAME_LEN: u32 = 2;
export const HDR_VALUE_OFF: u32 = 4;
export const HDR_VALUE_LEN: u32 = 6;

// ---- methods (RFC 9110 §9; case-sensitive, anything else is METHOD_OTHER and the
// core answers 501 or 405) ---------------------------------------------------------
export const METHOD_OTHER: u32 = 0;
export const METHOD_GET: u32 = 1;
export const METHOD_HEAD: u32 = 2;
export const METHOD_POST: u32 = 3;
export const METHOD_PUT: u32 = 4;
export const METHOD_DELETE: u32 = 5;
export const METHOD_OPTIONS: u32 = 6;
export const METHOD_PATCH: u32 = 7;
export const METHOD_CONNECT: u32 = 8;
export const METHOD_TRACE: u32 = 9;

// ---- request-target forms (RFC 9112 §3.2) -------------------------------------------
export const FORM_ORIGIN: u32 = 0; //    /path?query
export const FORM_ABSOLUTE: u32 = 1; //  http://host:port/path?query (scheme http or https)
export const FORM_AUTHORITY: u32 = 2; // host:port, CONNECT only
export const FORM_ASTERISK: u32 = 3; //  *, OPTIONS only

/** The parsed request line and the header facts the core acts on.
 *  Obtain one over raw memory with changetype<MessageHead>(ptr); its size is
 *  offsetof<MessageHead>(). The parsers overwrite every field. */
@unmanaged export class MessageHead {
  /** Content-Length value, or -1 when absent (also -1 when chunked). */
  contentLength: i64 = -1;
  /** METHOD_*; the bytes are at methodOff/methodLen. */
  method: u32 = 0;
  methodOff: u32 = 0;
  methodLen: u32 = 0;
  /** The raw request-target. */
  targetOff: u32 = 0;
  targetLen: u32 = 0;
  /** FORM_*. */
  targetForm: u32 = 0;
  /** Origin and absolute form: the path up to '?' (not decoded). Empty for an
   *  absolute-form target without a path, which means "/". Asterisk form:
   *  the "*". Authority form: empty. */
  pathOff: u32 = 0;
  pathLen: u32 = 0;
  /** The bytes after '?' (without it); hasQuery tells "/p?" from "/p". */
  queryOff: u32 = 0;
  queryLen: u32 = 0;
  /** Effective host: the authority of an absolute- or authority-form
   *  target, otherwise the Host field value (may be empty; see hasHost). */
  hostOff: u32 = 0;
  hostLen: u32 = 0;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 and any later 1.x. */
  versionMinor: u32 = 0;
  /** Entries written to the header table. */
  headerCount: u32 = 0;
  /** Length of the head that was parsed. */
  headLen: u32 = 0;
  hasQuery: bool = false;
  /** A Host field was present, or the target carries the authority. */
  hasHost: bool = false;
  /** Transfer-Encoding: chunked is the (only) coding: decode the body with
   *  ChunkedDecoder. */
  chunked: bool = false;
  /** HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "keep-alive". */
  keepAlive: bool = false;
  /** "Expect: 100-continue" on HTTP/1.1 (ignored on 1.0, RFC 9110 §10.1.1). */
  expectContinue: bool = false;
  /** Some other expectation: the core answers 417. */
  expectOther: bool = false;
  /** HTTP/1.1, Connection has "upgrade" and Upgrade has "websocket". */
  upgradeWebsocket: bool = false;
  /** Connection has "upgrade" (any protocol). */
  connectionUpgrade: bool = false;
}

// ---- scanHeadEnd -----------------------------------------------------------------

/** Finds the end of the request head in buf[0, len).
 *
 *  `from` is the `len` of the previous call on this buffer (0 the first
 *  time); bytes before it are not scanned again except a CR that ended the
 *  previous call. One empty line (CRLF) before the request line is skipped
 *  (RFC 9112 §2.2) and counted in the returned length.
 *
 *  Returns the head length (> 0, including the final CRLFCRLF),
 *  HEAD_INCOMPLETE, -400 (bare CR, bare LF, a byte that cannot start a
 *  method), -414 once the request line exceeds maxRequestLine bytes
 *  (without its CRLF) even before its CRLF has arrived, -431 once len
 *  reaches maxHead without the end of the head (maxHead is capped at
 *  HEAD_MAX). */
export function scanHeadEnd(buf: usize, len: u32, from: u32, maxHead: u32, maxRequestLine: u32): i32 {
  if (maxHead > HEAD_MAX) maxHead = HEAD_MAX;
  if (maxRequestLine > maxHead) maxRequestLine = maxHead;
  if (from > len) from = len;
  if (len == 0) return HEAD_INCOMPLETE;

  // Where the request line starts: 0, or 2 after one ignored empty line.
  let start: u32 = 0;
  const c0 = <u32>load<u8>(buf);
  if (c0 == CR) {
    if (len < 2) return HEAD_INCOMPLETE;
    if (<u32>load<u8>(buf + 1) != LF) return ERR_BAD_REQUEST;
    start = 2;
    if (len == 2) return HEAD_INCOMPLETE;
  }
  // The request line starts with a method token; failing here early turns
  // away TLS handshakes and other binary junk without waiting for a limit.
  if (!charIs(<u32>load<u8>(buf + start), C_TCHAR)) return ERR_BAD_REQUEST;

  // -414: the request line (without CRLF) may occupy [start, start+maxRL);
  // the byte at start+maxRL must then be its CR. Checked once, by the call
  // whose new bytes reach that position; later calls know it passed.
  const rlWindow = start + maxRequestLine + 1;
  if (len >= rlWindow && from < rlWindow) {
    let i = start;
    while (i < rlWindow) {
      const c = <u32>load<u8>(buf + i);
      if (c == CR || c == LF) break;
      i++;
    }
    if (i == rlWindow) return ERR_URI_TOO_LONG;
  }

  // Every LF must follow a CR, every CR must precede an LF; an LF whose CR
  // starts a line ends the head.
  const end = len < maxHead ? len : maxHead;
  let i = from > start + 1 ? from - 1 : start;
  for (; i < end; i++) {
    const c = <u32>load<u8>(buf + i);
    if (c == CR) {
      if (i + 1 < len && <u32>load<u8>(buf + i + 1) != LF) return ERR_BAD_REQUEST;
    } else if (c == LF) {
      if (i == start || <u32>load<u8>(buf + i - 1) != CR) return ERR_BAD_REQUEST;
      if (i - 1 == start || <u32>load<u8>(buf + i - 2) == LF) return <i32>(i + 1);
    }
  }
  return len >= maxHead ? ERR_HEADERS_TOO_LARGE : HEAD_INCOMPLETE;
}

// ---- parseHead -------------------------------------------------------------------

const HDR_OTHER: u32 = 0;
const HDR_HOST: u32 = 1;
const HDR_CONTENT_LENGTH: u32 = 2;
const HDR_TRANSFER_ENCODING: u32 = 3;
const HDR_CONNECTION: u32 = 4;
const HDR_UPGRADE: u32 = 5;
const HDR_EXPECT: u32 = 6;

// Transfer-Encoding state across every field line of one head.
let teChunked: u32 = 0; //  how many codings were "chunked"
let teLastChunked = false;
let teUnknown = false; //   a coding other than chunked

// One element of a comma-separated list (RFC 9110 §5.6.1), set by listNext.
let elemOff: u32 = 0;
let elemLen: u32 = 0;

/** One field line at p (not the empty line that ends the head), into the
 *  table entry e: field-name = token, then ':' with no whitespace before it
 *  (RFC 9112 §5.1); OWS field-value OWS, the value VCHAR / obs-text / SP /
 *  HTAB (CTLs such as NUL, a bare LF or DEL are errors); then CRLF. Leading
 *  whitespace (obs-fold, or whitespace between the start line and the first
 *  field, §2.2, §5.2) is rejected. Returns the offset after the line's
 *  CRLF, or ERR_BAD_REQUEST. */
function fieldLine(buf: usize, p: u32, headLen: u32, e: usize): i32 {
  if (isOws(<u32>load<u8>(buf + p))) return ERR_BAD_REQUEST;
  const nStart = p;
  while (p < headLen && charIs(<u32>load<u8>(buf + p), C_TCHAR)) p++;
  if (p == nStart || p >= headLen || <u32>load<u8>(buf + p) != COLON) return ERR_BAD_REQUEST;
  const nLen = p - nStart;
  p++;
  while (p < headLen && isOws(<u32>load<u8>(buf + p))) p++;
  const vStart = p;
  let vEnd = p;
  while (p < headLen) {
    const c = <u32>load<u8>(buf + p);
    if (c == CR) break;
    if (!charIs(c, C_FIELD)) return ERR_BAD_REQUEST;
    p++;
    if (!isOws(c)) vEnd = p;
  }
  if (p + 1 >= headLen || <u32>load<u8>(buf + p + 1) != LF) return ERR_BAD_REQUEST;
  store<u16>(e + HDR_NAME_OFF, <u16>nStart);
  store<u16>(e + HDR_NAME_LEN, <u16>nLen);
  store<u16>(e + HDR_VALUE_OFF, <u16>vStart);
  store<u16>(e + HDR_VALUE_LEN, <u16>(vEnd - vStart));
  return <i32>(p + 2);
}

/** Parses a complete request head buf[0, headLen) (as delimited by
 *  scanHeadEnd) into `head` and the header table at `table` (room for
 *  maxHeaders entries). Returns HEAD_OK or -400 / -431 / -501 / -505. */
export function parseRequestHead(buf: usize, headLen: u32, head: MessageHead, table: usize, maxHeaders: u32): i32 {
  resetHead(head);
  head.headLen = headLen;
  if (headLen > HEAD_MAX) return ERR_HEADERS_TOO_LARGE;
  if (headLen < 4) return ERR_BAD_REQUEST;
  teChunked = 0;
  teLastChunked = false;
  teUnknown = false;

  // ---- request-line = method SP request-target SP HTTP-version CRLF
  let p: u32 = 0;
  if (<u32>load<u8>(buf) == CR && <u32>load<u8>(buf + 1) == LF) p = 2;
  const mStart = p;
  while (p < headLen && charIs(<u32>load<u8>(buf + p), C_TCHAR)) p++;
  if (p == mStart || p >= headLen || <u32>load<u8>(buf + p) != SP) return ERR_BAD_REQUEST;
  head.methodOff = mStart;
  head.methodLen = p - mStart;
  head.method = methodId(buf + mStart, p - mStart);
  p++;

  const tStart = p;
  while (p < headLen && charIs(<u32>load<u8>(buf + p), C_TARGET)) p++;
  if (p == tStart || p >= headLen || <u32>load<u8>(buf + p) != SP) return ERR_BAD_REQUEST;
  head.targetOff = tStart;
  head.targetLen = p - tStart;
  p++;

  // HTTP-version = "HTTP/" DIGIT "." DIGIT, then CRLF; nothing else on the line.
  if (p + 10 > headLen) return ERR_BAD_REQUEST;
  const major = <u32>load<u8>(buf + p + 5);
  const minor = <u32>load<u8>(buf + p + 7);
  if (
    !eqBytes(buf + p, HTTP_SLASH, 5) || !isDigit(major) || <u32>load<u8>(buf + p + 6) != 0x2e ||
    !isDigit(minor) || <u32>load<u8>(buf + p + 8) != CR || <u32>load<u8>(buf + p + 9) != LF
  ) return ERR_BAD_REQUEST;
  if (major != 0x31) return ERR_VERSION; // HTTP/0.9, 2.0, 3.0 ... over HTTP/1.1 framing
  head.versionMinor = minor == 0x30 ? 0 : 1; // 1.2+ is answered as 1.1 (RFC 9110 §6.2)
  p += 10;

  const rc = parseTarget(buf, head);
  if (rc < 0) return rc;

  // ---- *( field-line CRLF ) CRLF
  let hostCount: u32 = 0;
  let sawContentLength = false;
  let sawTransferEncoding = false;
  let connClose = false;
  let connKeepAlive = false;
  let upgradeWs = false;
  let count: u32 = 0;
  while (true) {
    if (p + 2 > headLen) return ERR_BAD_REQUEST;
    const c = <u32>load<u8>(buf + p);
    if (c == CR) {
      if (<u32>load<u8>(buf + p + 1) != LF || p + 2 != headLen) return ERR_BAD_REQUEST;
      break;
    }
    if (count >= maxHeaders) return ERR_HEADERS_TOO_LARGE;
    const e = table + count * HEADER_ENTRY_SIZE;
    const next = fieldLine(buf, p, headLen, e);
    if (next < 0) return next;
    p = <u32>next;
    count++;
    head.headerCount = count;

    const nStart = <u32>load<u16>(e + HDR_NAME_OFF);
    const nLen = <u32>load<u16>(e + HDR_NAME_LEN);
    const vStart = <u32>load<u16>(e + HDR_VALUE_OFF);
    const v = buf + vStart;
    const vLen = <u32>load<u16>(e + HDR_VALUE_LEN);
    switch (headerId(buf + nStart, nLen)) {
      case HDR_HOST: {
        // RFC 9112 §3.2: exactly one Host, with a valid uri-host [":" port]
        hostCount++;
        if (hostCount > 1) return ERR_BAD_REQUEST;
        if (!checkAuthority(v, vLen, false, true)) return ERR_BAD_REQUEST;
        if (head.targetForm == FORM_ORIGIN || head.targetForm == FORM_ASTERISK) {
          head.hostOff = vStart;
          head.hostLen = vLen;
        }
        head.hasHost = true;
        break;
      }
      case HDR_CONTENT_LENGTH: {
        // RFC 9110 §8.6: 1*DIGIT; a list of one repeated value is that value.
        const n = parseContentLength(v, vLen);
        if (n < 0) return ERR_BAD_REQUEST;
        if (sawContentLength && n != head.contentLength) return ERR_BAD_REQUEST;
        sawContentLength = true;
        head.contentLength = n;
        break;
      }
      case HDR_TRANSFER_ENCODING: {
        sawTransferEncoding = true;
        if (!scanTransferCodings(v, vLen)) return ERR_BAD_REQUEST;
        break;
      }
      case HDR_CONNECTION: {
        if (listHasToken(v, vLen, TOK_CLOSE, TOK_CLOSE_LEN)) connClose = true;
        if (listHasToken(v, vLen, TOK_KEEP_ALIVE, TOK_KEEP_ALIVE_LEN)) connKeepAlive = true;
        if (listHasToken(v, vLen, TOK_UPGRADE, TOK_UPGRADE_LEN)) head.connectionUpgrade = true;
        break;
      }
      case HDR_UPGRADE: {
        if (listHasToken(v, vLen, TOK_WEBSOCKET, TOK_WEBSOCKET_LEN)) upgradeWs = true;
        break;
      }
      case HDR_EXPECT: {
        scanExpect(head, v, vLen);
        break;
      }
      default: break;
    }
  }

  const v11 = head.versionMinor != 0;
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400.
  if (v11 && hostCount == 0) return ERR_BAD_REQUEST;

  // Framing (RFC 9112 §6.1, §6.3).
  if (sawTransferEncoding) {
    if (!v11) return ERR_BAD_REQUEST; //           faulty framing in HTTP/1.0
    if (sawContentLength) return ERR_BAD_REQUEST; // both: smuggling attempt
    if (!teLastChunked || teChunked != 1) return ERR_BAD_REQUEST; // length undeterminable
    if (teUnknown) return ERR_NOT_IMPLEMENTED; //   e.g. "gzip, chunked"
    head.chunked = true;
  }

  head.keepAlive = v11 ? !connClose : connKeepAlive && !connClose;
  if (!v11) head.expectContinue = false;
  // RFC 9110 §7.8: Upgrade in an HTTP/1.0 request is ignored.
  head.upgradeWebsocket = v11 && head.connectionUpgrade && upgradeWs;
  return HEAD_OK;
}

function resetHead(head: MessageHead): void {
  head.contentLength = -1;
  head.method = METHOD_OTHER;
  head.methodOff = 0;
  head.methodLen = 0;
  head.targetOff = 0;
  head.targetLen = 0;
  head.targetForm = FORM_ORIGIN;
  head.pathOff = 0;
  head.pathLen = 0;
  head.queryOff = 0;
  head.queryLen = 0;
  head.hostOff = 0;
  head.hostLen = 0;
  head.versionMinor = 0;
  head.headerCount = 0;
  head.headLen = 0;
  head.hasQuery = false;
  head.hasHost = false;
  head.chunked = false;
  head.keepAlive = false;
  head.expectContinue = false;
  head.expectOther = false;
  head.upgradeWebsocket = false;
  head.connectionUpgrade = false;
}

function methodId(p: usize, n: u32): u32 {
  switch (n) {
    case 3: {
      if (eqBytes(p, M_GET, 3)) return METHOD_GET;
      if (eqBytes(p, M_PUT, 3)) return METHOD_PUT;
      break;
    }
    case 4: {
      if (eqBytes(p, M_HEAD, 4)) return METHOD_HEAD;
      if (eqBytes(p, M_POST, 4)) return METHOD_POST;
      break;
    }
    case 5: {
      if (eqBytes(p, M_PATCH, 5)) return METHOD_PATCH;
      if (eqBytes(p, M_TRACE, 5)) return METHOD_TRACE;
      break;
    }
    case 6: {
      if (eqBytes(p, M_DELETE, 6)) return METHOD_DELETE;
      break;
    }
    case 7: {
      if (eqBytes(p, M_OPTIONS, 7)) return METHOD_OPTIONS;
      if (eqBytes(p, M_CONNECT, 7)) return METHOD_CONNECT;
      break;
    }
    default: break;
  }
  return METHOD_OTHER;
}

function headerId(p: usize, n: u32): u32 {
  switch (n) {
    case 4: return eqLower(p, NAME_HOST, 4) ? HDR_HOST : HDR_OTHER;
    case 6: return eqLower(p, NAME_EXPECT, 6) ? HDR_EXPECT : HDR_OTHER;
    case 7: return eqLower(p, NAME_UPGRADE, 7) ? HDR_UPGRADE : HDR_OTHER;
    case 10: return eqLower(p, NAME_CONNECTION, 10) ? HDR_CONNECTION : HDR_OTHER;
    case 14: return eqLower(p, NAME_CONTENT_LENGTH, 14) ? HDR_CONTENT_LENGTH : HDR_OTHER;
    case 17: return eqLower(p, NAME_TRANSFER_ENCODING, 17) ? HDR_TRANSFER_ENCODING : HDR_OTHER;
    default: return HDR_OTHER;
  }
}

/** Classifies the request-target (its bytes are already known to be VCHAR
 *  without '#') and sets form, path, query and, for absolute and authority
 *  form, the effective host. */
function parseTarget(buf: usize, head: MessageHead): i32 {
  const off = head.targetOff;
  const n = head.targetLen;
  const t = buf + off;
  const c0 = <u32>load<u8>(t);

  if (head.method == METHOD_CONNECT) {
    // authority-form = uri-host ":" port, and nothing else for CONNECT
    if (!checkAuthority(t, n, true, false)) return ERR_BAD_REQUEST;
    head.targetForm = FORM_AUTHORITY;
    head.hostOff = off;
    head.hostLen = n;
    head.hasHost = true;
    head.pathOff = off + n;
    head.queryOff = off + n;
    return HEAD_OK;
  }
  if (c0 == SLASH) {
    head.targetForm = FORM_ORIGIN;
    splitPathQuery(buf, head, off, off + n);
    return HEAD_OK;
  }
  if (c0 == STAR && n == 1) {
    if (head.method != METHOD_OPTIONS) return ERR_BAD_REQUEST;
    head.targetForm = FORM_ASTERISK;
    head.pathOff = off;
    head.pathLen = 1;
    head.queryOff = off + 1;
    return HEAD_OK;
  }
  // absolute-form: "http://" or "https://" (scheme is case-insensitive), then
  // a non-empty authority without userinfo (RFC 9110 §4.2.1, §4.2.4).
  let a: u32 = 0;
  if (n > 7 && eqLower(t, TOK_HTTP, 4)) {
    let s: u32 = 4;
    if (lowerAt(t, 4) == 0x73) s = 5; // 's'
    if (n > s + 3 && <u32>load<u8>(t + s) == COLON && <u32>load<u8>(t + s + 1) == SLASH && <u32>load<u8>(t + s + 2) == SLASH) {
      a = s + 3;
    }
  }
  if (a == 0) return ERR_BAD_REQUEST;
  let e = a;
  while (e < n) {
    const c = <u32>load<u8>(t + e);
    if (c == SLASH || c == QMARK) break;
    e++;
  }
  if (!checkAuthority(t + a, e - a, false, false)) return ERR_BAD_REQUEST;
  head.targetForm = FORM_ABSOLUTE;
  head.hostOff = off + a;
  head.hostLen = e - a;
  head.hasHost = true;
  splitPathQuery(buf, head, off + e, off + n);
  return HEAD_OK;
}

// @ts-ignore: decorator
@inline function lowerAt(p: usize, i: u32): u32 {
  return <u32>load<u8>(p + i) | 0x20;
}

function splitPathQuery(buf: usize, head: MessageHead, from: u32, to: u32): void {
  let q = from;
  while (q < to && <u32>load<u8>(buf + q) != QMARK) q++;
  head.pathOff = from;
  head.pathLen = q - from;
  if (q < to) {
    head.hasQuery = true;
    head.queryOff = q + 1;
    head.queryLen = to - q - 1;
  } else {
    head.queryOff = to;
    head.queryLen = 0;
  }
}

/** uri-host [ ":" port ] (RFC 3986 §3.2.2, RFC 9110 §4.2.3).
 *  uri-host is "[" IPv6 / IPvFuture "]" or a reg-name of unreserved,
 *  sub-delims and %HH (an IPv4 address is a reg-name lexically); the port is
 *  at most 5 digits and <= 65535. `needPort`: the ":" port part is required
 *  and non-empty (authority-form). `allowEmptyHost`: a Host value may be
 *  empty (RFC 9110 §7.2: targets without an authority). */
export function checkAuthority(p: usize, n: u32, needPort: bool, allowEmptyHost: bool): bool {
  let i: u32 = 0;
  if (n > 0 && <u32>load<u8>(p) == LBRACKET) {
    i = 1;
    while (i < n && <u32>load<u8>(p + i) != RBRACKET) {
      if (!charIs(<u32>load<u8>(p + i), C_IPLIT)) return false;
      i++;
    }
    if (i >= n || i == 1) return false;
    i++;
  } else {
    while (i < n) {
      const c = <u32>load<u8>(p + i);
      if (c == COLON) break;
      if (c == PERCENT) {
        if (i + 2 >= n || !charIs(<u32>load<u8>(p + i + 1), C_HEX) || !charIs(<u32>load<u8>(p + i + 2), C_HEX)) return false;
        i += 3;
        continue;
      }
      if (!charIs(c, C_REGNAME)) return false;
      i++;
    }
    if (i == 0 && !allowEmptyHost) return false;
  }
  if (i == n) return !needPort;
  if (<u32>load<u8>(p + i) != COLON) return false;
  i++;
  const digits = n - i;
  if (digits > 5 || (digits == 0 && needPort)) return false;
  let port: u32 = 0;
  for (; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    if (!isDigit(c)) return false;
    port = port * 10 + (c - 0x30);
  }
  return port <= 65535;
}

/** Content-Length = 1*DIGIT, accepted as a comma list of one repeated value
 *  ("5, 5"). Returns the value, or -1 for anything else (signs, inner
 *  spaces, empty elements, differing values, above CONTENT_LENGTH_MAX). */
function parseContentLength(v: usize, n: u32): i64 {
  let result: i64 = -1;
  let i: u32 = 0;
  while (true) {
    while (i < n && isOws(<u32>load<u8>(v + i))) i++;
    let value: u64 = 0;
    const d0 = i;
    while (i < n) {
      const c = <u32>load<u8>(v + i);
      if (!isDigit(c)) break;
      value = value * 10 + <u64>(c - 0x30);
      if (value > CONTENT_LENGTH_MAX) return -1;
      i++;
    }
    if (i == d0) return -1;
    if (result >= 0 && <i64>value != result) return -1;
    result = <i64>value;
    while (i < n && isOws(<u32>load<u8>(v + i))) i++;
    if (i == n) return result;
    if (<u32>load<u8>(v + i) != COMMA) return -1;
    i++;
  }
  return -1; // unreachable
}

/** Reads the list element that starts at `i` of v[0, n) into elemOff/elemLen
 *  (OWS trimmed; may be empty) and returns where the next one starts. */
function listNext(v: usize, n: u32, i: u32): u32 {
  while (i < n && isOws(<u32>load<u8>(v + i))) i++;
  const s = i;
  while (i < n && <u32>load<u8>(v + i) != COMMA) i++;
  let e = i;
  while (e > s && isOws(<u32>load<u8>(v + e - 1))) e--;
  elemOff = s;
  elemLen = e - s;
  return i < n ? i + 1 : n;
}

/** Transfer-Encoding = #transfer-coding; transfer-coding = token *( OWS ";"
 *  OWS transfer-parameter ). Updates the te* state; false on bad syntax.
 *  A coding with parameters is never "chunked" (chunked takes none). */
function scanTransferCodings(v: usize, n: u32): bool {
  let i: u32 = 0;
  while (i < n) {
    i = listNext(v, n, i);
    if (elemLen == 0) continue; // empty list elements are ignored (RFC 9110 §5.6.1)
    const s = v + elemOff;
    let k: u32 = 0;
    while (k < elemLen && charIs(<u32>load<u8>(s + k), C_TCHAR)) k++;
    if (k == 0) return false;
    let params = false;
    if (k < elemLen) {
      let j = k;
      while (j < elemLen && isOws(<u32>load<u8>(s + j))) j++;
      if (j == elemLen || <u32>load<u8>(s + j) != SEMI) return false;
      params = true;
    }
    if (!params && k == TOK_CHUNKED_LEN && eqLower(s, TOK_CHUNKED, TOK_CHUNKED_LEN)) {
      teChunked++;
      teLastChunked = true;
    } else {
      teUnknown = true;
      teLastChunked = false;
    }
  }
  return true;
}

/** Expect = #expectation; "100-continue" is case-insensitive. */
function scanExpect(head: MessageHead, v: usize, n: u32): void {
  let i: u32 = 0;
  while (i < n) {
    i = listNext(v, n, i);
    if (elemLen == 0) continue;
    if (elemLen == TOK_100_CONTINUE_LEN && eqLower(v + elemOff, TOK_100_CONTINUE, TOK_100_CONTINUE_LEN)) {
      head.expectContinue = true;
    } else {
      head.expectOther = true;
    }
  }
}

// ---- header table access ----------------------------------------------------------

// @ts-ignore: decorator
@inline export function headerNameOff(table: usize, i: u32): u32 {
  return <u32>load<u16>(table + i * HEADER_ENTRY_SIZE + HDR_NAME_OFF);
}
// @ts-ignore: decorator
@inline export function headerNameLen(table: usize, i: u32): u32 {
  return <u32>load<u16>(table + i * HEADER_ENTRY_SIZE + HDR_NAME_LEN);
}
// @ts-ignore: decorator
@inline export function headerValueOff(table: usize, i: u32): u32 {
  return <u32>load<u16>(table + i * HEADER_ENTRY_SIZE + HDR_VALUE_OFF);
}
// @ts-ignore: decorator
@inline export function headerValueLen(table: usize, i: u32): u32 {
  return <u32>load<u16>(table + i * HEADER_ENTRY_SIZE + HDR_VALUE_LEN);
}
// @ts-ignore: decorator
@inline export function headerNamePtr(buf: usize, table: usize, i: u32): usize {
  return buf + headerNameOff(table, i);
}
// @ts-ignore: decorator
@inline export function headerValuePtr(buf: usize, table: usize, i: u32): usize {
  return buf + headerValueOff(table, i);
}

/** Index of the first header at or after `start` whose name equals
 *  name[0, nameLen) ignoring ASCII case, or -1. */
export function findHeaderFrom(buf: usize, head: MessageHead, table: usize, name: usize, nameLen: u32, start: u32): i32 {
  const count = head.headerCount;
  for (let i = start; i < count; i++) {
    if (headerNameLen(table, i) == nameLen && eqIgnoreCase(buf + headerNameOff(table, i), name, nameLen)) return <i32>i;
  }
  return -1;
}

/** v[0, n) read as a comma-separated list has an element equal to
 *  token[0, tokenLen), ignoring ASCII case and OWS around elements. The whole
 *  element must match ("websocket/13" or "a;q=1" do not match "websocket"/"a"). */
export function listHasToken(v: usize, n: u32, token: usize, tokenLen: u32): bool {
  let i: u32 = 0;
  while (i < n) {
    i = listNext(v, n, i);
    if (elemLen == tokenLen && tokenLen > 0 && eqIgnoreCase(v + elemOff, token, tokenLen)) return true;
  }
  return false;
}

/** listHasToken over every header line named name[0, nameLen) (a list field
 *  may be split over several lines, RFC 9110 §5.3). */
export function headerHasToken(buf: usize, head: MessageHead, table: usize, name: usize, nameLen: u32, token: usize, tokenLen: u32): bool {
  let i = findHeaderFrom(buf, head, table, name, nameLen, 0);
  while (i >= 0) {
    if (listHasToken(buf + headerValueOff(table, <u32>i), headerValueLen(table, <u32>i), token, tokenLen)) return true;
    i = findHeaderFrom(buf, head, table, name, nameLen, <u32>i + 1);
  }
  return false;
}

/** A response head (the client role, RFC 9112 section 4): status-line =
 *  HTTP-version SP 3DIGIT SP [reason-phrase] CRLF, then the same field
 *  lines as a request (into `table`, so the header lookups work), then CRLF.
 *  buf holds exactly the head (headLen bytes, through the empty line).
 *  Returns the status code (100..599), or ERR_BAD_REQUEST /
 *  ERR_HEADERS_TOO_LARGE / ERR_VERSION. */
export function parseResponseHead(buf: usize, headLen: u32, head: MessageHead, table: usize, maxHeaders: u32): i32 {
  resetHead(head);
  head.headLen = headLen;
  if (headLen > HEAD_MAX) return ERR_HEADERS_TOO_LARGE;
  if (headLen < 16) return ERR_BAD_REQUEST;
  const major = <u32>load<u8>(buf + 5);
  const minor = <u32>load<u8>(buf + 7);
  if (!eqBytes(buf, HTTP_SLASH, 5) || !isDigit(major) || <u32>load<u8>(buf + 6) != 0x2e || !isDigit(minor) ||
      <u32>load<u8>(buf + 8) != SP) return ERR_BAD_REQUEST;
  if (major != 0x31) return ERR_VERSION;
  head.versionMinor = minor == 0x30 ? 0 : 1;
  let status: i32 = 0;
  for (let i: u32 = 9; i < 12; i++) {
    const d = <u32>load<u8>(buf + i);
    if (!isDigit(d)) return ERR_BAD_REQUEST;
    status = status * 10 + <i32>(d - 0x30);
  }
  if (status < 100 || <u32>load<u8>(buf + 12) != SP && <u32>load<u8>(buf + 12) != CR) return ERR_BAD_REQUEST;
  let p: u32 = 12;
  // reason-phrase = *( HTAB / SP / VCHAR / obs-text )
  while (p < headLen && <u32>load<u8>(buf + p) != CR) {
    const c = <u32>load<u8>(buf + p);
    if (c != 0x09 && (c < 0x20 || c == 0x7f)) return ERR_BAD_REQUEST;
    p++;
  }
  if (p + 1 >= headLen || <u32>load<u8>(buf + p + 1) != LF) return ERR_BAD_REQUEST;
  p += 2;
  let count: u32 = 0;
  while (true) {
    if (p + 2 > headLen) return ERR_BAD_REQUEST;
    const c = <u32>load<u8>(buf + p);
    if (c == CR) {
      if (<u32>load<u8>(buf + p + 1) != LF || p + 2 != headLen) return ERR_BAD_REQUEST;
      break;
    }
    if (count >= maxHeaders) return ERR_HEADERS_TOO_LARGE;
    const next = fieldLine(buf, p, headLen, table + count * HEADER_ENTRY_SIZE);
    if (next < 0) return next;
    p = <u32>next;
    count++;
    head.headerCount = count;
  }
  return status;
}
