// The WebSocket client role (RFC 6455 section 4.1; lws_client_connect_via_info).
//
// A client connection is a record of the same table as accepted ones, with
// F_CLIENT set. Its life:
//   connectClient()  sock_connect (the port connects, non-blocking); the
//                    upgrade request waits in the connection's output queue;
//                    ST_CLIENT_CONNECTING
//   mote_connected   the request goes out; ST_CLIENT_HANDSHAKE
//   response head    checked (section 4.1: status 101, Upgrade: websocket,
//                    Connection: upgrade, the Sec-WebSocket-Accept of our key,
//                    the protocol we asked for, no extension we did not
//                    offer); clientFilterPreEstablish with its headers
//                    readable; then wsStart() (./handshake.ts, shared with
//                    the server): ST_WS and clientEstablished. From there
//                    ./frames.ts frames as a client: every frame sent is
//                    masked with a fresh key, masked frames from the server
//                    are refused (section 5.1).
//   any failure      clientConnectionError(c, why) once; the record is freed
//                    without closed()
// Connect and handshake together are bounded by TIMEOUT_CONNECT_MS.

import { LOG_INFO, LOG_NOTICE, LOG_ERR, CLOSE_ABORT, CONNECT_TLS, CONNECT_ERR_TLS, CONNECT_ERR_RESOLVE } from "../abi/constants";
import { sock_connect, random_fill } from "../abi/imports";
import { logStart, logOn } from "../core/log";
import { NONE, ST_FREE, ST_CLIENT_CONNECTING, ST_CLIENT_HANDSHAKE, ROLE_CLIENT, TM_CONNECT } from "../core/record";
import { Conn, Role, setRole, connAt } from "../core/conn";
import { Protocol, Vhost, protocolOf } from "../core/protocol";
import { maxConns, hdrTake, hdrGive, hdrRaw, txq, ctrlBuf } from "../core/table";
import { setTimer } from "../core/timers";
import { closeConn, enterClientConnecting } from "../core/dispatch";
import { putAscii, putDecimal } from "../util/bytes";
import { base64Encode } from "../util/base64";
import {
  eqLower, TOK_UPGRADE, TOK_UPGRADE_LEN, TOK_WEBSOCKET, TOK_WEBSOCKET_LEN, NAME_UPGRADE, NAME_UPGRADE_LEN, NAME_CONNECTION,
  NAME_CONNECTION_LEN, NAME_SEC_WEBSOCKET_ACCEPT, NAME_SEC_WEBSOCKET_ACCEPT_LEN, NAME_SEC_WEBSOCKET_PROTOCOL,
  NAME_SEC_WEBSOCKET_PROTOCOL_LEN, NAME_SEC_WEBSOCKET_EXTENSIONS, NAME_SEC_WEBSOCKET_EXTENSIONS_LEN,
} from "../http/tokens";
import { parseResponseHead, headerHasToken, HEAD_MAX } from "../http/head";
import { rawOf, rawCap, headOf, tableOf, freeSpace, findHeaderOf, valuePtr, valueLen } from "../http/hdrbuf";
import { MAX_HEADERS } from "../core/limits";
import { wsAcceptKey, WS_ACCEPT_LEN } from "./accept";
import { wsStart } from "./handshake";

export const TIMEOUT_CONNECT_MS: u32 = 20000; // lws: the default timeout_secs, 20 s

const SUB_MAX: u32 = 96; // kept in the record's control area after the expected accept (28 + 1 + 96 < CTRL_MAX)

/** The client role of the handler table, installed by the first
 *  connectClient: an app that never connects out does not link this file. */
class ClientRole extends Role {
  rx(c: Conn, n: u32): void { clientRx(c, n); }
  closed(c: Conn, was: u8): void { clientClosed(c, was); }
  timeout(c: Conn, kind: u8): bool {
    failClient(c, c.state == ST_CLIENT_CONNECTING ? "connect timed out" : "no handshake answer in time");
    return true;
  }
  shutdown(c: Conn): bool {
    failClient(c, "shutting down");
    return true;
  }
  connectFailed(c: Conn, reason: u32): void {
    if (reason == CONNECT_ERR_TLS) setWhy(c, "TLS handshake failed");
    else if (reason == CONNECT_ERR_RESOLVE) setWhy(c, "host name did not resolve");
    else setWhy(c, "connect failed, errno ", reason);
    if (logOn(LOG_NOTICE)) logStart(LOG_NOTICE).s("conn ").u(c.id).s(": client: ").b(ctrlBuf(c), whyLen).end();
  }
}

let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  setRole(ROLE_CLIENT, new ClientRole());
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
function failClient(c: Conn, why: string, num: i64 = -1): void {
  if (logOn(LOG_NOTICE)) {
    const l = logStart(LOG_NOTICE).s("conn ").u(c.id).s(": client: ").s(why);
    if (num >= 0) l.u(<u64>num);
    l.end();
  }
  setWhy(c, why, num);
  closeConn(c, CLOSE_ABORT);
}

/** Released before its WebSocket opened: CLIENT_CONNECTION_ERROR, with the
 *  reason set by the failure (or the peer's close during the handshake). */
function clientClosed(c: Conn, was: u8): void {
  if (whyLen == 0) setWhy(c, was == ST_CLIENT_HANDSHAKE ? "closed by the server during the handshake" : "closed");
  protocolOf(c).clientConnectionError(c, ctrlBuf(c), whyLen);
  whyLen = 0;
}

/** lws_client_connect_via_info for a WebSocket: starts connecting to
 *  host:port (tls: wss://) and, once connected, asks for `path` with the
 *  protocol's name as Sec-WebSocket-Protocol. Returns the connection (its
 *  events reach the protocol's client handlers), or null when it failed at
 *  once (logged: a bad argument, no free slot or header buffer, the port
 *  refused: then no callback follows). */
export function clientConnect(vh: Vhost, proto: Protocol, host: string, port: u32, path: string, tls: bool, subprotocol: string | null): Conn | null {
  const sub = subprotocol === null ? proto.name : subprotocol; // "": ask for none
  if (<u32>sub.length > SUB_MAX) {
    logStart(LOG_NOTICE).s("client: subprotocol name over ").u(SUB_MAX).s(" bytes").end();
    return null;
  }
  if (proto.vhost !== vh || host.length == 0 || port == 0 || port > 65535 || (path.length > 0 && path.charCodeAt(0) != 0x2f)) {
    logStart(LOG_NOTICE).s("client: connectClient needs the vhost's protocol, a host, a port 1..65535 and a path starting with /").end();
    return null;
  }
  // the request is built in the header buffer the response will use
  const h = hdrTake();
  if (h == NONE) {
    logStart(LOG_NOTICE).s("client: no free header buffer to connect to ").s(host).end();
    return null;
  }
  const req = hdrRaw(h);
  if (<u32>(2 * host.length + path.length + sub.length) + 240 > rawCap()) { // the request, the host and 16 bytes of key scratch
    hdrGive(h);
    logStart(LOG_NOTICE).s("client: host and path too long for a header buffer").end();
    return null;
  }
  // host first, after where the request will end (sock_connect's argument)
  const hostAt: u32 = rawCap() - <u32>host.length;
  const hostLen = putAscii(req + hostAt, host);
  let n = putAscii(req, "GET ");
  n += putAscii(req + n, path.length > 0 ? path : "/");
  n += putAscii(req + n, " HTTP/1.1\r\nHost: ");
  n += putAscii(req + n, host);
  if (port != (tls ? 443 : 80)) {
    store<u8>(req + n++, 0x3a);
    n += putDecimal(req + n, port);
  }
  n += putAscii(req + n, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ");
  const keyBytes = req + hostAt - 16; // 16 bytes of scratch before the host name
  random_fill(keyBytes, 16); // section 4.1: a fresh random 16-byte nonce
  const keyAt = n;
  const keyLen = base64Encode(keyBytes, 16, req + n);
  n += keyLen;
  const subAt = n + 26;
  if (sub.length > 0) {
    n += putAscii(req + n, "\r\nSec-WebSocket-Protocol: ");
    n += putAscii(req + n, sub);
  }
  n += putAscii(req + n, "\r\n\r\n");
  const id = sock_connect(req + hostAt, hostLen, port, tls ? CONNECT_TLS : 0);
  if (id < 0 || <u32>id >= maxConns) {
    hdrGive(h);
    logStart(LOG_NOTICE).s("client: cannot connect to ").s(host).s(":").u(port).s(" (errno ").i(-id).s(")").end();
    return null;
  }
  const c = connAt(<u32>id);
  if (c.state != ST_FREE) {
    hdrGive(h);
    logStart(LOG_ERR).s("client: the port's handle ").u(<u32>id).s(" is in use in the core").end();
    closeConn(c, CLOSE_ABORT);
    return null;
  }
  install();
  enterClientConnecting(c, h, vh.index, proto.index);
  // the Sec-WebSocket-Accept to expect, kept in the control-frame area
  // (unused until the connection is a WebSocket)
  wsAcceptKey(req + keyAt, keyLen, ctrlBuf(c));
  // and the subprotocol asked for (length, then the name; 0: none)
  store<u8>(ctrlBuf(c) + WS_ACCEPT_LEN, <u8>sub.length);
  if (sub.length > 0) memory.copy(ctrlBuf(c) + WS_ACCEPT_LEN + 1, req + subAt, sub.length);
  if (!txq(c).append(req, n)) {
    failClient(c, "no room in the output pool for the request");
    return null;
  }
  setTimer(c, TM_CONNECT, TIMEOUT_CONNECT_MS);
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": connecting to ").s(host).s(":").u(port).s(tls ? " (TLS)" : "").end();
  return c;
}

/** The only field (of name, n bytes) of the head, or -1 when it is missing
 *  or repeated. */
function onlyField(c: Conn, name: usize, n: u32): i32 {
  const i = findHeaderOf(c, name, n);
  return i >= 0 && findHeaderOf(c, name, n, <u32>i + 1) < 0 ? i : -1;
}

/** Response bytes arrived (n more in the header buffer). */
function clientRx(c: Conn, n: u32): void {
  if (c.state != ST_CLIENT_HANDSHAKE) return;
  const raw = rawOf(c);
  const from = c.hdrFill;
  c.hdrFill += n;
  // the head ends at the first CRLF CRLF
  let end: u32 = 0;
  let i: u32 = from >= 3 ? from - 3 : 0;
  while (i + 4 <= c.hdrFill) {
    if (load<u32>(raw + i) == 0x0a0d0a0d) {
      end = i + 4;
      break;
    }
    i++;
  }
  if (end == 0) {
    if (freeSpace(c) == 0 || c.hdrFill > HEAD_MAX) failClient(c, "response head larger than the header buffer");
    return;
  }
  c.headLen = end;
  const head = headOf(c);
  const status = parseResponseHead(raw, end, head, tableOf(c), MAX_HEADERS);
  if (status < 0) {
    failClient(c, "malformed response head");
    return;
  }
  if (status != 101) {
    failClient(c, "the server answered HTTP ", status);
    return;
  }
  // section 4.1, the client's checks of the server's handshake
  const up = onlyField(c, NAME_UPGRADE, NAME_UPGRADE_LEN);
  if (up < 0 || valueLen(c, <u32>up) != TOK_WEBSOCKET_LEN || !eqLower(valuePtr(c, <u32>up), TOK_WEBSOCKET, TOK_WEBSOCKET_LEN)) {
    failClient(c, "no Upgrade: websocket in the 101");
    return;
  }
  if (!headerHasToken(raw, head, tableOf(c), NAME_CONNECTION, NAME_CONNECTION_LEN, TOK_UPGRADE, TOK_UPGRADE_LEN)) {
    failClient(c, "no Connection: upgrade in the 101");
    return;
  }
  const acc = onlyField(c, NAME_SEC_WEBSOCKET_ACCEPT, NAME_SEC_WEBSOCKET_ACCEPT_LEN);
  if (acc < 0 || valueLen(c, <u32>acc) != WS_ACCEPT_LEN || memory.compare(valuePtr(c, <u32>acc), ctrlBuf(c), WS_ACCEPT_LEN) != 0) {
    failClient(c, "Sec-WebSocket-Accept missing or wrong");
    return;
  }
  // section 4.1: the protocol must be the one asked for; none asked, none allowed
  const subLen = <u32>load<u8>(ctrlBuf(c) + WS_ACCEPT_LEN);
  const pi = findHeaderOf(c, NAME_SEC_WEBSOCKET_PROTOCOL, NAME_SEC_WEBSOCKET_PROTOCOL_LEN);
  const protocolOk = subLen > 0
    ? pi >= 0 && findHeaderOf(c, NAME_SEC_WEBSOCKET_PROTOCOL, NAME_SEC_WEBSOCKET_PROTOCOL_LEN, <u32>pi + 1) < 0 && valueLen(c, <u32>pi) == subLen &&
      memory.compare(valuePtr(c, <u32>pi), ctrlBuf(c) + WS_ACCEPT_LEN + 1, subLen) == 0
    : pi < 0;
  if (!protocolOk) {
    failClient(c, "the server did not select the protocol asked for");
    return;
  }
  for (let k = findHeaderOf(c, NAME_SEC_WEBSOCKET_EXTENSIONS, NAME_SEC_WEBSOCKET_EXTENSIONS_LEN); k >= 0; k = findHeaderOf(c, NAME_SEC_WEBSOCKET_EXTENSIONS, NAME_SEC_WEBSOCKET_EXTENSIONS_LEN, <u32>k + 1)) {
    if (valueLen(c, <u32>k) > 0) {
      failClient(c, "the server chose an extension not offered");
      return;
    }
  }
  if (protocolOf(c).clientFilterPreEstablish(c) != 0) {
    if (c.state != ST_FREE) failClient(c, "refused by the app");
    return;
  }
  if (c.state == ST_FREE) return;
  wsStart(c, raw + end, c.hdrFill - end);
}
