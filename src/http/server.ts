// The HTTP/1.1 server role (RFC 9112): request heads and bodies read from the
// connection's header buffer (./hdrbuf.ts), routed (vhost by Host, mounts,
// the image endpoint, an upgrade to WebSocket) and handed to the app; the
// answers go out through ./response.ts. Keep-alive and pipelining: requests
// are answered strictly in order; the next pipelined request is parsed only
// once the current response is complete.

import { LOG_INFO, LOG_NOTICE, CLOSE_GRACEFUL, CLOSE_ABORT } from "../abi/constants";
import { logStart, logOn } from "../core/log";
import { putAscii, bytesEqualAscii } from "../util/bytes";
import {
  ST_HTTP_HEAD, ST_HTTP_BODY, ST_HTTP_RESPOND, ST_FREE, ROLE_HTTP, TM_HEAD, TM_KEEPALIVE, TM_BODY, F_KEEPALIVE,
  F_HEAD_REQUEST, F_RESP_HEADERS_SENT, F_RESP_DONE, F_APP_WANTS_WRITABLE, F_BUILTIN_IMAGE, F_MOUNT, F_VHOST_BOUND,
} from "../core/record";
import { Conn, Role, setRole, WRITE_HTTP, WRITE_HTTP_FINAL } from "../core/conn";
import { Protocol, vhosts } from "../core/protocol";
import { findMount, MOUNT_CALLBACK } from "../core/mount";
import { imageStoreOn, userData, userDataBytes, txq, pipelineQueueMax } from "../core/table";
import { setTimer, clearTimer, now } from "../core/timers";
import { send, flush, closeConn, closeAfterFlush, enterHttpRequest, enterHttpRespond, enterHttpHead } from "../core/dispatch";
import {
  MAX_HEADERS, MAX_REQUEST_LINE, MAX_BODY, TIMEOUT_HEAD_MS, TIMEOUT_HEAD_MAX_MS, HEAD_MIN_RATE, BODY_GRACE_MS,
  BODY_MIN_RATE, TIMEOUT_RESPONSE_MS, SCARCE_GRACE_MS,
} from "../core/limits";
import { MessageHead, scanHeadEnd, parseRequestHead, METHOD_HEAD, METHOD_CONNECT, FORM_ASTERISK } from "./head";
import { chunkedReset, chunkedDecode } from "./chunked";
import { headOf, decOf, tableOf, rawOf, rawCap, freePtr, freeSpace, installHeadView } from "./hdrbuf";
import { respondHead, respondBody, completeResponse, httpAppError, httpFail } from "./response";
import { mountServer, serveLinkedFile } from "./files";
import { IMAGE_PATH, imageUploadProtocol } from "./image";
import { wsHandshake } from "../ws/handshake";

/** The HTTP role of the handler table. */
class HttpRole extends Role {
  rx(c: Conn, n: u32): void { httpRx(c, n); }
  writable(c: Conn, drained: bool): void { httpWritable(c); }
  closed(c: Conn, was: u8): void { httpHandlerOf(c).closedHttp(c); }
  shutdown(c: Conn): bool {
    // a connection that has sent nothing of a request goes at once
    closeConn(c, c.state == ST_HTTP_HEAD && c.hdrFill == 0 ? CLOSE_ABORT : CLOSE_GRACEFUL);
    return true;
  }
  write(c: Conn, buf: usize, len: u32, kind: u32, fin: bool, pre: bool): i32 {
    return kind == WRITE_HTTP || kind == WRITE_HTTP_FINAL ? respondBody(c, buf, len, kind == WRITE_HTTP_FINAL) : -1;
  }
  respond(c: Conn, status: u32, contentType: string | null, contentLength: i64, extra: string | null): i32 {
    return respondHead(c, status, contentType, contentLength, extra) ? 0 : -1;
  }
  error(c: Conn, status: u32): i32 { return httpAppError(c, status); }
  complete(c: Conn): void { completeResponse(c); }
  serveFile(c: Conn): i32 { return serveLinkedFile(c); }
  timeout(c: Conn, kind: u8): bool {
    if (kind == TM_HEAD && c.state == ST_HTTP_HEAD) return headTimeout(c);
    if (kind == TM_BODY && c.state == ST_HTTP_BODY) return bodyTimeout(c);
    return false; // keep-alive idle, the response: closed
  }
  holdScore(c: Conn): u32 { return slowHolder(c); }
  evict(c: Conn): void {
    if (c.state == ST_HTTP_RESPOND) closeConn(c, CLOSE_ABORT); // it does not read its answers: nothing more goes out
    else if (c.state == ST_HTTP_BODY) bodyFail(c, 408);
    else if (c.hdrFill > 0) httpFail(c, 408);
    else closeAfterFlush(c); // it has sent nothing: no answer owed (what it is owed goes out first)
  }
}

// ---- time limits (src/core/limits.ts) ------------------------------------------------

/** TM_HEAD: the head's minimum rate. Nothing received: closed; a head
 *  arriving steadily has more time, up to TIMEOUT_HEAD_MAX_MS; else 408. */
function headTimeout(c: Conn): bool {
  if (c.hdrFill == 0) return false;
  let allowed = TIMEOUT_HEAD_MS + <u32>((<u64>c.hdrFill * 1000) / HEAD_MIN_RATE);
  if (allowed > TIMEOUT_HEAD_MAX_MS) allowed = TIMEOUT_HEAD_MAX_MS;
  const age = now - c.startedAt;
  if (age < allowed) {
    setTimer(c, TM_HEAD, allowed - age);
    return true;
  }
  httpFail(c, 408);
  return true;
}

/** TM_BODY: after BODY_GRACE_MS the body must have come at BODY_MIN_RATE
 *  on average, and all of it within TIMEOUT_RESPONSE_MS; else 408. */
function bodyTimeout(c: Conn): bool {
  const age = now - c.startedAt;
  const need = age > BODY_GRACE_MS ? (<u64>(age - BODY_GRACE_MS) * BODY_MIN_RATE) / 1000 : 0;
  if (age >= TIMEOUT_RESPONSE_MS || c.bodyTotal < need) {
    if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": request body too slow (").u(c.bodyTotal).s(" B in ")
      .u(age).s(" ms)").end();
    bodyFail(c, 408);
    return true;
  }
  // next look: when the bytes so far stop being enough, or the bound
  const enoughUntil = <u64>BODY_GRACE_MS + (c.bodyTotal * 1000) / BODY_MIN_RATE;
  const until: u64 = enoughUntil < <u64>TIMEOUT_RESPONSE_MS ? enoughUntil : <u64>TIMEOUT_RESPONSE_MS;
  let next: u32 = until > <u64>age + 100 ? <u32>(until - <u64>age) : 100;
  setTimer(c, TM_BODY, next);
  return true;
}

/** Role.holdScore: while header buffers are scarce, a connection idle
 *  between keep-alive requests (or that sent nothing) for SCARCE_GRACE_MS
 *  loses its buffer first, then the oldest head still arriving after that
 *  long, then a pipelining client whose answers wait for it to read them
 *  (its next requests sit in the buffer), then the oldest head still
 *  arriving, then a body under its minimum rate; the older, the sooner. */
function slowHolder(c: Conn): u32 {
  const age = now - c.startedAt;
  if (age < SCARCE_GRACE_MS) return 0;
  const older: u32 = age > 0x0fffffff ? 0x0fffffff : age;
  if (c.state == ST_HTTP_HEAD) return (c.hdrFill == 0 ? 0x30000000 : 0x20000000) + older;
  if (c.state == ST_HTTP_RESPOND && (c.flags & F_RESP_DONE) != 0 && txq(c).bytes > pipelineQueueMax) return 0x28000000 + older;
  if (c.state == ST_HTTP_BODY) {
    const need = (<u64>(age - SCARCE_GRACE_MS) * BODY_MIN_RATE) / 1000;
    if (c.bodyTotal < need) return 0x10000000 + older;
  }
  return 0;
}

/** Installs the HTTP role and Conn's head accessors (start-up). */
export function httpServerInit(): void {
  setRole(ROLE_HTTP, new HttpRole());
  installHeadView();
}

/** Who answers the connection's HTTP request: the vhost's protocol 0 (lws)
 *  or a callback mount's, the core's image endpoint (F_BUILTIN_IMAGE), or
 *  the core's mount server (F_MOUNT). */
export function httpHandlerOf(c: Conn): Protocol {
  if ((c.flags & F_BUILTIN_IMAGE) != 0) return imageUploadProtocol();
  if ((c.flags & F_MOUNT) != 0) return mountServer();
  return unchecked(unchecked(vhosts[c.vhost]).protocols[c.protocol]);
}

// ---- input ------------------------------------------------------------------------

function httpRx(c: Conn, n: u32): void {
  c.hdrFill += n;
  if (c.state == ST_HTTP_HEAD && c.timer == TM_KEEPALIVE) {
    c.startedAt = now; // the next request's head begins
    setTimer(c, TM_HEAD, TIMEOUT_HEAD_MS);
  }
  httpProcess(c);
}

/** Runs the connection's HTTP state machine over the bytes it holds. */
function httpProcess(c: Conn): void {
  while (c.state != ST_FREE) {
    const st = c.state;
    if (st == ST_HTTP_HEAD) {
      if (!readHead(c)) return;
    } else if (st == ST_HTTP_BODY) {
      if (!readBody(c)) return;
    } else if (st == ST_HTTP_RESPOND) {
      if ((c.flags & F_RESP_DONE) == 0) return;
      // RFC 9112 section 9.3.2, pipelining: the next request is read only
      // while this connection's queued output is small; else the queue is
      // sent first, and a socket that does not take it all makes the
      // connection wait for writable() (which comes back here). A client
      // that sends faster than it reads fills its own socket and header
      // buffer, never the shared tx pool (nginx, too, reads a pipelined
      // request only after the previous response).
      if (txq(c).bytes > pipelineQueueMax && !flush(c)) return;
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
  const pr = parseRequestHead(raw, <u32>r, head, tableOf(c), MAX_HEADERS);
  if (pr < 0) {
    httpFail(c, <u32>-pr);
    return false;
  }
  startRequest(c, head);
  return true;
}

function startRequest(c: Conn, head: MessageHead): void {
  clearTimer(c);
  c.flags &= ~(F_KEEPALIVE | F_HEAD_REQUEST | F_RESP_HEADERS_SENT | F_RESP_DONE | F_BUILTIN_IMAGE | F_MOUNT);
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
  enterHttpRequest(c, hasBody);

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
  // RFC 9110 10.1.1: 100 (Continue) once the handler has taken the request
  // and wants its body; one that answered (a refusal, say) does not ask for
  // a body it will not read, and the client need not send it.
  if (c.state == ST_HTTP_BODY && (c.flags & F_RESP_HEADERS_SENT) == 0 && head.expectContinue && head.versionMinor >= 1 &&
      freeSpace(c) >= 32) {
    const tmp = freePtr(c); // free space after the raw bytes
    const n = putAscii(tmp, "HTTP/1.1 100 Continue\r\n\r\n");
    send(c, tmp, n);
  }
}

/** Vhosts sharing a listener: the vhost a request's Host names (the
 *  uri-host at p, n bytes, port included or not). The first request binds
 *  an unbound connection to it (or keeps the default when the name is
 *  unknown); a bound connection's request naming another vhost of the port
 *  gets false: the caller answers 421. */
function bindVhost(c: Conn, p: usize, n: u32): bool {
  const cur = unchecked(vhosts[c.vhost]);
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

/** Who answers this request: a mount covering its path (the core's mount
 *  server, or a callback mount's protocol), else the vhost's protocol 0. */
function routeMount(c: Conn, head: MessageHead): void {
  const vh = unchecked(vhosts[c.vhost]);
  let proto = 0;
  if (vh.mounts.length > 0) {
    const mi = findMount(vh.mounts, rawOf(c) + head.pathOff, head.pathLen);
    if (mi >= 0) {
      const m = unchecked(vh.mounts[mi]);
      if (m.kind == MOUNT_CALLBACK) proto = m.protocolIndex;
      else c.flags |= F_MOUNT;
    }
  }
  // the protocol that answers from now on: its per-session user data starts
  // zeroed when it takes over from another (lws binds the wsi anew)
  if (<i32>c.protocol != proto) {
    memory.fill(userData(c), 0, userDataBytes());
    c.protocol = <u8>proto;
  }
}

/** The request body cannot be read on (a malformed chunk, over MAX_BODY).
 *  Before the app answered: the error status, then close. After: its answer
 *  is not thrown away; the connection closes once it is complete and sent
 *  (the rest of the body is never read, so no next request could be). */
function bodyFail(c: Conn, status: u32): void {
  if ((c.flags & F_RESP_HEADERS_SENT) == 0) {
    httpFail(c, status);
    return;
  }
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": request body error ").u(status).s(" after the answer began: close after it").end();
  c.flags &= ~F_KEEPALIVE;
  if ((c.flags & F_RESP_DONE) != 0) closeAfterFlush(c);
  else enterHttpRespond(c);
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
        bodyFail(c, <u32>-r);
        return false;
      }
      if (dec.spanLen > 0) {
        c.bodyTotal += dec.spanLen;
        if (c.bodyTotal > MAX_BODY) {
          bodyFail(c, 413);
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
  enterHttpRespond(c);
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
  c.flags &= ~(F_RESP_DONE | F_RESP_HEADERS_SENT | F_HEAD_REQUEST);
  enterHttpHead(c, left > 0);
  return left > 0;
}

/** HTTP_WRITEABLE when the app asked for it, then any pipelined request
 *  that the completed response unblocked. */
function httpWritable(c: Conn): void {
  if ((c.flags & F_APP_WANTS_WRITABLE) != 0) {
    c.flags &= ~F_APP_WANTS_WRITABLE;
    if (httpHandlerOf(c).httpWriteable(c) != 0) {
      closeConn(c, CLOSE_GRACEFUL);
      return;
    }
  }
  if (c.state != ST_FREE) httpProcess(c);
}
