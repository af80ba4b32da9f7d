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
//                    readable; then ST_WS and clientEstablished. From there
//                    src/ws/server.ts frames as a client: every frame sent is
//                    masked with a fresh key, masked frames from the server
//                    are refused (section 5.1).
//   any failure      clientConnectionError(c, why) once; the record is freed
//                    without closed()
// Connect and handshake together are bounded by TIMEOUT_CONNECT_MS.

import { LOG_INFO, LOG_NOTICE, LOG_ERR, CLOSE_ABORT, CONNECT_TLS } from "../abi/constants";
import { sock_connect, random_fill } from "../abi/abi";
import { logStart, logOn } from "../core/log";
import { Conn, ST_FREE, ST_WS, ST_WS_CLOSING, ST_CLIENT_CONNECTING, TM_CONNECT, WR_HEADER } from "../core/conn";
import {
  conn, maxConnCount, hdrTake, hdrGive, txq, ctrlBuf, activateClient, setTimer, clearTimer, closeConn, markEstablished,
  protocolOf, failClient, setClientRx,
} from "../core/service";
import { Protocol, Vhost } from "../core/protocol";
import { NONE } from "../core/txpool";
import { putAscii, putDecimal } from "../util/bytes";
import { base64Encode } from "../util/base64";
import { wsAcceptKey, WS_ACCEPT_LEN } from "./accept";
import { wsRx, appClose } from "./server";
import { rawOf, rawOfHdr, rawCap, headOf, tableOf, headerIs, httpRxSpace } from "../http/server";
import { parseStatusHead, headerValuePtr, headerValueLen, listHasToken, HEAD_MAX } from "../http/request";
import { MAX_HEADERS } from "../core/limits";
import { UTF8_ACCEPT } from "./utf8";

export const TIMEOUT_CONNECT_MS: u32 = 20000; // lws: the default timeout_secs, 20 s

const SUB_MAX: u32 = 96; // kept in the record's control area after the expected accept (28 + 1 + 96 < CTRL_MAX)

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
  const req = rawOfHdr(h);
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
  if (id < 0 || <u32>id >= maxConnCount()) {
    hdrGive(h);
    logStart(LOG_NOTICE).s("client: cannot connect to ").s(host).s(":").u(port).s(" (errno ").i(-id).s(")").end();
    return null;
  }
  const c = conn(<u32>id);
  if (c.state != ST_FREE) {
    hdrGive(h);
    logStart(LOG_ERR).s("client: the port's handle ").u(<u32>id).s(" is in use in the core").end();
    closeConn(c, CLOSE_ABORT);
    return null;
  }
  setClientRx(clientRx);
  activateClient(c, h, vh.index, proto.index);
  c.state = ST_CLIENT_CONNECTING;
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

// names of the response fields checked (lower case)
const H_UPGRADE = memory.data<u8>([0x75, 0x70, 0x67, 0x72, 0x61, 0x64, 0x65]); // upgrade
const H_CONNECTION = memory.data<u8>([0x63, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e]); // connection
const H_ACCEPT = memory.data<u8>([0x73, 0x65, 0x63, 0x2d, 0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74, 0x2d, 0x61, 0x63, 0x63, 0x65, 0x70, 0x74]); // sec-websocket-accept
const H_PROTOCOL = memory.data<u8>([0x73, 0x65, 0x63, 0x2d, 0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74, 0x2d, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x63, 0x6f, 0x6c]); // sec-websocket-protocol
const H_EXTENSIONS = memory.data<u8>([0x73, 0x65, 0x63, 0x2d, 0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74, 0x2d, 0x65, 0x78, 0x74, 0x65, 0x6e, 0x73, 0x69, 0x6f, 0x6e, 0x73]); // sec-websocket-extensions
const T_WEBSOCKET = memory.data<u8>([0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74]); // websocket

function eqCaseless(p: usize, q: usize, n: u32): bool {
  for (let i: u32 = 0; i < n; i++) {
    let a = <u32>load<u8>(p + i);
    if (a - 0x41 < 26) a |= 0x20;
    if (a != <u32>load<u8>(q + i)) return false;
  }
  return true;
}

/** Response bytes arrived (n more in the header buffer). */
export function clientRx(c: Conn, n: u32): void {
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
    if (httpRxSpace(c) == 0 || c.hdrFill > HEAD_MAX) failClient(c, "response head larger than the header buffer");
    return;
  }
  c.headLen = end;
  const head = headOf(c);
  const table = tableOf(c);
  const status = parseStatusHead(raw, end, head, table, MAX_HEADERS);
  if (status < 0) {
    failClient(c, "malformed response head");
    return;
  }
  if (status != 101) {
    failClient(c, "the server answered HTTP ", status);
    return;
  }
  // section 4.1, the client's checks of the server's handshake
  let upgradeOk = false;
  let connectionOk = false;
  let accepts = 0;
  let acceptOk = false;
  let protocols = 0;
  let protocolOk = false;
  const proto = protocolOf(c);
  const subLen = <u32>load<u8>(ctrlBuf(c) + WS_ACCEPT_LEN);
  const subName = ctrlBuf(c) + WS_ACCEPT_LEN + 1;
  for (let k: u32 = 0; k < head.headerCount; k++) {
    const v = headerValuePtr(raw, table, k);
    const vl = headerValueLen(table, k);
    if (headerIs(raw, table, k, H_UPGRADE, 7)) {
      upgradeOk = vl == 9 && eqCaseless(v, T_WEBSOCKET, 9);
    } else if (headerIs(raw, table, k, H_CONNECTION, 10)) {
      if (listHasToken(v, vl, H_UPGRADE, 7)) connectionOk = true;
    } else if (headerIs(raw, table, k, H_ACCEPT, 20)) {
      accepts++;
      acceptOk = vl == WS_ACCEPT_LEN && memory.compare(v, ctrlBuf(c), WS_ACCEPT_LEN) == 0;
    } else if (headerIs(raw, table, k, H_PROTOCOL, 22)) {
      protocols++;
      protocolOk = subLen > 0 && vl == subLen && memory.compare(v, subName, vl) == 0;
    } else if (headerIs(raw, table, k, H_EXTENSIONS, 24)) {
      if (vl > 0) {
        failClient(c, "the server chose an extension not offered");
        return;
      }
    }
  }
  if (!upgradeOk) return failClient(c, "no Upgrade: websocket in the 101");
  if (!connectionOk) return failClient(c, "no Connection: upgrade in the 101");
  if (accepts != 1 || !acceptOk) return failClient(c, "Sec-WebSocket-Accept missing or wrong");
  // section 4.1: the protocol must be the one asked for; none asked, none allowed
  if (subLen > 0 ? protocols != 1 || !protocolOk : protocols != 0) return failClient(c, "the server did not select the protocol asked for");
  if (proto.clientFilterPreEstablish(c) != 0) {
    if (c.state != ST_FREE) failClient(c, "refused by the app");
    return;
  }
  if (c.state == ST_FREE) return;
  clearTimer(c);
  c.state = ST_WS;
  c.wsRx = WR_HEADER;
  c.wsHdrFill = 0;
  c.utf8 = UTF8_ACCEPT;
  markEstablished(c);
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": client WebSocket ").s(proto.name).s(" established").end();
  if (proto.clientEstablished(c) != 0) appClose(c);
  if (c.state == ST_FREE) return;
  // frames that came with the head
  const left = c.hdrFill - end;
  if (left > 0 && (c.state == ST_WS || c.state == ST_WS_CLOSING)) wsRx(c, raw + end, left);
  if (c.state == ST_FREE || c.hdr == NONE) return;
  hdrGive(c.hdr);
  c.hdr = NONE;
  c.hdrFill = 0;
  c.headLen = 0;
}
