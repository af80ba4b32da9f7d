// The WebSocket opening handshake (RFC 6455 section 4): the server's answer
// to an upgrade request (section 4.2), and wsStart(), the one entry into an
// open WebSocket that both roles take (the client's checks of the server's
// 101 are in ./client.ts).

import { LOG_INFO } from "../abi/constants";
import { logStart, logOn } from "../core/log";
import { putAscii } from "../util/bytes";
import { NONE, ST_FREE, ST_WS, ST_WS_CLOSING, WR_HEADER, F_CLIENT } from "../core/record";
import { Conn } from "../core/conn";
import { protocolOf } from "../core/protocol";
import { send, enterWs, releaseHeaderBuffer } from "../core/dispatch";
import { MessageHead, METHOD_GET } from "../http/head";
import {
  isOws, NAME_SEC_WEBSOCKET_VERSION, NAME_SEC_WEBSOCKET_VERSION_LEN, NAME_SEC_WEBSOCKET_KEY, NAME_SEC_WEBSOCKET_KEY_LEN,
  NAME_SEC_WEBSOCKET_PROTOCOL, NAME_SEC_WEBSOCKET_PROTOCOL_LEN,
} from "../http/tokens";
import { rawOf, findHeaderOf, valuePtr, valueLen } from "../http/hdrbuf";
import { httpFail, headScratch } from "../http/response";
import { wsAcceptKey, wsKeyValid, WS_ACCEPT_LEN } from "./accept";
import { UTF8_ACCEPT } from "./utf8";
import { wsRx, appClose } from "./frames";
import { negotiateDeflate } from "./deflate";

/** The WebSocket is open on c (the server sent its 101, or the client
 *  accepted the server's): the app hears established() (clientEstablished()
 *  on a client), with the head's fields still readable; frames that came
 *  with the head (at rest, restLen bytes) are handled; then the header
 *  buffer goes back to the pool. */
export function wsStart(c: Conn, rest: usize, restLen: u32): void {
  enterWs(c);
  c.wsRx = WR_HEADER;
  c.wsHdrFill = 0;
  c.utf8 = UTF8_ACCEPT;
  const proto = protocolOf(c);
  const client = (c.flags & F_CLIENT) != 0;
  if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(client ? ": client WebSocket " : ": WebSocket ").s(proto.name).end();
  if ((client ? proto.clientEstablished(c) : proto.established(c)) != 0) appClose(c);
  if (c.state == ST_FREE) return;
  if (restLen > 0 && (c.state == ST_WS || c.state == ST_WS_CLOSING)) wsRx(c, rest, restLen);
  if (c.state == ST_FREE) return;
  releaseHeaderBuffer(c);
}

/** Picks the protocol (lws rules): the first one the client lists that the
 *  vhost has; none listed: the vhost's default. -1: listed, none supported.
 *  protocolListed tells whether the client listed any. */
let protocolListed = false;

function chooseProtocol(c: Conn): i32 {
  const vh = c.getVhost();
  let listed = false;
  for (let i = findHeaderOf(c, NAME_SEC_WEBSOCKET_PROTOCOL, NAME_SEC_WEBSOCKET_PROTOCOL_LEN); i >= 0; i = findHeaderOf(c, NAME_SEC_WEBSOCKET_PROTOCOL, NAME_SEC_WEBSOCKET_PROTOCOL_LEN, <u32>i + 1)) {
    const v = valuePtr(c, <u32>i);
    const vlen = valueLen(c, <u32>i);
    let s: u32 = 0;
    while (s < vlen) {
      // one comma-separated element, OWS trimmed
      let e = s;
      while (e < vlen && load<u8>(v + e) != 0x2c) e++;
      let a = s;
      let b = e;
      while (a < b && isOws(load<u8>(v + a))) a++;
      while (b > a && isOws(load<u8>(v + b - 1))) b--;
      if (b > a) {
        listed = true;
        for (let p = 0; p < vh.protocols.length; p++) {
          const nb = unchecked(vh.protocols[p]).nameBytes;
          if (<u32>nb.byteLength == b - a && memory.compare(changetype<usize>(nb), v + a, b - a) == 0) {
            protocolListed = true;
            return p;
          }
        }
      }
      s = e + 1;
    }
  }
  protocolListed = listed;
  return listed ? -1 : vh.defaultProtocol;
}

/** An upgrade request (RFC 6455 section 4.2.1): answered 101 and opened,
 *  or refused with 400 / 403 / 426. */
export function wsHandshake(c: Conn, head: MessageHead): void {
  // RFC 6455 section 4.1: a GET; a body (RFC 9110 section 9.3.1 gives it
  // no meaning) would be read as the first WebSocket frames
  if (head.method != METHOD_GET || head.versionMinor < 1 || head.chunked || head.contentLength > 0) {
    httpFail(c, 400);
    return;
  }
  // Sec-WebSocket-Version: 13 (section 4.2.2: otherwise 426 naming the versions we speak)
  let version = -1; // the last of repeated fields decides
  for (let i = findHeaderOf(c, NAME_SEC_WEBSOCKET_VERSION, NAME_SEC_WEBSOCKET_VERSION_LEN); i >= 0; i = findHeaderOf(c, NAME_SEC_WEBSOCKET_VERSION, NAME_SEC_WEBSOCKET_VERSION_LEN, <u32>i + 1)) {
    const v = valuePtr(c, <u32>i);
    version = valueLen(c, <u32>i) == 2 && load<u8>(v) == 0x31 && load<u8>(v + 1) == 0x33 ? 13 : 0;
  }
  if (version != 13) {
    if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": WebSocket version is not 13: 426").end();
    httpFail(c, 426);
    return;
  }
  const keyIdx = findHeaderOf(c, NAME_SEC_WEBSOCKET_KEY, NAME_SEC_WEBSOCKET_KEY_LEN);
  if (keyIdx < 0 || findHeaderOf(c, NAME_SEC_WEBSOCKET_KEY, NAME_SEC_WEBSOCKET_KEY_LEN, <u32>keyIdx + 1) >= 0 ||
      !wsKeyValid(valuePtr(c, <u32>keyIdx), valueLen(c, <u32>keyIdx))) {
    if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": bad Sec-WebSocket-Key: 400").end();
    httpFail(c, 400);
    return;
  }
  const p = chooseProtocol(c);
  if (p < 0) {
    if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": no requested subprotocol is served here: 400").end();
    httpFail(c, 400);
    return;
  }
  c.protocol = <u8>p;
  const proto = protocolOf(c);
  if (proto.filterConnection(c) != 0) {
    if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": refused by ").s(proto.name).s(": 403").end();
    httpFail(c, 403);
    return;
  }
  // 101 Switching Protocols
  const hs = headScratch(); // the 101 is built where response heads are (1 KiB)
  let w: u32 = putAscii(hs, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
  wsAcceptKey(valuePtr(c, <u32>keyIdx), valueLen(c, <u32>keyIdx), hs + w);
  w += WS_ACCEPT_LEN;
  w += putAscii(hs + w, "\r\n");
  if (protocolListed) {
    // name the protocol only when the client asked for one (section 4.2.2 item 5.4)
    w += putAscii(hs + w, "Sec-WebSocket-Protocol: ");
    const nb = proto.nameBytes;
    memory.copy(hs + w, changetype<usize>(nb), nb.byteLength);
    w += nb.byteLength;
    w += putAscii(hs + w, "\r\n");
  }
  // permessage-deflate (RFC 7692 section 7.1): the codec is open from here
  // on (F_DEFLATE), and freed with the slot even if the 101 cannot be sent
  w += negotiateDeflate(c, c.getVhost().deflate && proto.deflate, hs + w);
  w += putAscii(hs + w, "\r\n");
  if (!send(c, hs, w)) return;
  // Headers stay readable during ESTABLISHED; the buffer goes back after.
  wsStart(c, rawOf(c) + c.headLen, c.hdrFill - c.headLen);
}
