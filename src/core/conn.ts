// The connection record: one per slot of the table, allocated at init.
//
//   record i at table + i * recordSize:
//   +----------------------+-------------------+------------------------+
//   | Conn fields          | control payload   | per-session user data  |
//   | (offsetof<Conn>())   | CTRL_MAX bytes    | (largest userSize)     |
//   +----------------------+-------------------+------------------------+
//
// The HTTP head, its header table and the chunked decoder are not here: they
// live in a header buffer borrowed from a pool while the connection is in its
// HTTP phase (lws's "ah" pool), so an established WebSocket costs only this
// record.

import { userData, updatePortWritable, vhostOf } from "./service";
import { Vhost } from "./protocol";
import { NONE } from "./txpool";
import { vfsFind } from "../vfs/vfs";
import { bytesEqualAscii } from "../util/bytes";
import { wsWrite, wsWriteNoPre, WRITE_TEXT, WRITE_HTTP, WRITE_HTTP_FINAL } from "../ws/server";
import { respondHead, respondBody, completeResponse, httpAppError, headOf, rawOf, tableOf, headerIs } from "../http/server";
import { headerValuePtr, headerValueLen } from "../http/request";

export const CTRL_MAX: u32 = 128; // control frame payload (<= 125) + pad

// Connection states.
export const ST_FREE: u8 = 0;
export const ST_HTTP_HEAD: u8 = 1; // reading a request head
export const ST_HTTP_BODY: u8 = 2; // reading a request body
export const ST_HTTP_RESPOND: u8 = 3; // request read; the app is answering
export const ST_WS: u8 = 4; // WebSocket open
export const ST_WS_CLOSING: u8 = 5; // we sent a close frame; waiting for the peer's
export const ST_DRAIN_CLOSE: u8 = 6; // flushing queued output, then closing
export const ST_CLIENT_CONNECTING: u8 = 7; // client: sock_connect issued; the request waits in the output queue
export const ST_CLIENT_HANDSHAKE: u8 = 8; // client: request sent, reading the response head

// Timer kinds.
export const TM_NONE: u8 = 0;
export const TM_HEAD: u8 = 1;
export const TM_KEEPALIVE: u8 = 2;
export const TM_CLOSE: u8 = 3;
export const TM_RESPONSE: u8 = 4;
export const TM_CONNECT: u8 = 5; // client: connect and handshake

// WebSocket receive states.
export const WR_HEADER: u8 = 0;
export const WR_PAYLOAD: u8 = 1;
export const WR_CONTROL: u8 = 2;
export const WR_IGNORE: u8 = 3; // failed or closing: input discarded

// flags
export const F_APP_WANTS_WRITABLE: u32 = 1; // callbackOnWritable() pending
export const F_PORT_WRITABLE: u32 = 2; // sock_want_writable(on) is in force
export const F_RX_PAUSED: u32 = 4; // sock_pause_rx(paused) is in force
export const F_KEEPALIVE: u32 = 8; // current HTTP request allows keep-alive
export const F_HEAD_REQUEST: u32 = 16; // current request is HEAD: no body goes out
export const F_RESP_HEADERS_SENT: u32 = 32;
export const F_RESP_DONE: u32 = 64; // response complete (transaction completed)
export const F_BODY_DONE: u32 = 128; // request body fully received
export const F_CLOSE_SENT: u32 = 256; // WebSocket close frame queued
export const F_CLOSE_RCVD: u32 = 512;
export const F_TX_FRAG_OPEN: u32 = 1024; // app is sending a fragmented message
export const F_RX_MSG_OPEN: u32 = 2048; // peer is sending a fragmented message
export const F_ESTABLISHED: u32 = 4096; // ESTABLISHED callback was delivered
export const F_RESP_CHUNKED: u32 = 8192; // response body is sent chunked
export const F_CONTINUE_SENT: u32 = 16384; // 100 Continue went out
export const F_BUILTIN_IMAGE: u32 = 32768; // this request is for the core's image-upload endpoint
export const F_DEFLATE: u32 = 65536; // permessage-deflate negotiated: the port's codec is open (z_open)
export const F_RX_COMPRESSED: u32 = 131072; // the message being received had RSV1 on its first frame
export const F_VHOST_BOUND: u32 = 262144; // c.vhost is final (TLS SNI chose it, or a first request's Host did)
export const F_CLIENT: u32 = 1048576; // a client connection (src/ws/client.ts): frames sent masked, masked frames refused
export const F_MOUNT: u32 = 524288; // this request is answered by the core's mount server (file or redirect mount)

@unmanaged
export class Conn {
  // -- identity and state
  id: u32; // slot number = the port's handle
  flags: u32;
  state: u8;
  timer: u8;
  vhost: u8;
  protocol: u8; // index into the vhost's protocols
  deadline: u32; // when timer != TM_NONE (wrap-safe ms)
  nextActive: u32; // doubly linked list of used slots
  prevActive: u32;

  // -- output queue (layout must match TxQueue)
  txHead: u32;
  txTail: u32;
  txHeadOff: u32;
  txTailFill: u32;
  txBytes: u32;

  // -- HTTP phase
  hdr: u32; // header buffer index, or NONE
  hdrFill: u32; // bytes in its raw area
  headLen: u32; // length of the parsed head at the start of the raw area (0: none yet)
  scanFrom: u32; // where scanHeadEnd resumes
  bodyLeft: u64; // Content-Length still to receive
  bodyTotal: u64; // body bytes received (limit check for chunked)
  respLeft: i64; // response body bytes still to send (-1: unknown)

  // -- WebSocket receive
  wsRx: u8;
  wsHdrFill: u8;
  wsOpcode: u8; // opcode of the frame being received
  wsFin: u8;
  wsMsgOpcode: u8; // TEXT or BINARY of the message in progress
  ctrlLen: u8;
  closeCode: u16; // code we sent
  wsMask: u32;
  wsPhase: u32;
  utf8: u32; // validator state for the text message in progress
  wsFrameLeft: u64; // payload bytes of the current frame not yet received
  wsMsgLen: u64; // bytes of the current message so far (max message check)
  wsHdr0: u64; // the frame header bytes while it arrives split (up to 14)
  wsHdr1: u64;

  // -- receive callback view (isFinalFragment / remainingPacketPayload)
  rxFinal: u8;
  rxFirst: u8;
  rxBinary: u8;
  pad0: u8;
  rxRemaining: u32;

  // ==== the application's view (lws API in TypeScript form) ====

  /** Per-session user data of the connection's protocol (zeroed at accept):
   *  `changetype<MySession>(c.user)`. */
  get user(): usize {
    return userData(this);
  }

  /** lws_get_vhost: the vhost serving this connection. Where vhosts share a
   *  port it is final once the TLS handshake or the first request's Host
   *  chose it (before that: the port's default vhost). */
  getVhost(): Vhost {
    return vhostOf(this);
  }

  /** The request's query (after '?', raw bytes), or length 0. */
  queryPtr(): usize {
    return this.hdr == NONE ? 0 : rawOf(this) + headOf(this).queryOff;
  }
  queryLen(): u32 {
    return this.hdr == NONE || !headOf(this).hasQuery ? 0 : headOf(this).queryLen;
  }

  /** A connection this side opened (connectClient). */
  isClient(): bool {
    return (this.flags & F_CLIENT) != 0;
  }

  /** lws_callback_on_writable: one writeable() callback when the socket can
   *  take data. */
  callbackOnWritable(): void {
    this.flags |= F_APP_WANTS_WRITABLE;
    updatePortWritable(this);
  }

  /** lws_write for WebSocket: kind WRITE_TEXT | WRITE_BINARY |
   *  WRITE_CONTINUATION; `final` ends the message. PRE writable bytes must
   *  precede buf (see PRE). Returns len, or -1 (then return -1 to close). A
   *  partial send is buffered by the library. */
  write(buf: usize, len: u32, kind: u32 = WRITE_TEXT, final: bool = true): i32 {
    if (kind == WRITE_HTTP || kind == WRITE_HTTP_FINAL) return respondBody(this, buf, len, kind == WRITE_HTTP_FINAL);
    return wsWrite(this, buf, len, kind, final);
  }

  /** write() for memory without PRE headroom (two sends, no copy). */
  writeFrom(buf: usize, len: u32, kind: u32 = WRITE_TEXT, final: bool = true): i32 {
    if (kind == WRITE_HTTP || kind == WRITE_HTTP_FINAL) return respondBody(this, buf, len, kind == WRITE_HTTP_FINAL);
    return wsWriteNoPre(this, buf, len, kind, final);
  }

  /** lws_is_final_fragment: the bytes of this receive() end the message. */
  isFinalFragment(): bool {
    return this.rxFinal != 0;
  }
  /** lws_is_first_fragment: this receive() starts a message. */
  isFirstFragment(): bool {
    return this.rxFirst != 0;
  }
  /** lws_remaining_packet_payload: bytes of the current frame still to come. */
  remainingPacketPayload(): u32 {
    return this.rxRemaining;
  }
  /** lws_frame_is_binary. */
  frameIsBinary(): bool {
    return this.rxBinary != 0;
  }

  /** lws_close_reason: the code our close frame will carry when a handler
   *  returns -1 (default 1000). */
  closeReason(code: u16): void {
    this.closeCode = code;
  }

  // ---- HTTP ----

  /** Method, target, path and header values of the request being handled,
   *  valid during http(), filterConnection() and established() only. */
  method(): u32 {
    return this.hdr == NONE ? 0 : <u32>headOf(this).method;
  }
  pathPtr(): usize {
    return this.hdr == NONE ? 0 : rawOf(this) + headOf(this).pathOff;
  }
  pathLen(): u32 {
    return this.hdr == NONE ? 0 : <u32>headOf(this).pathLen;
  }
  /** True when the request path equals the ASCII string `p`. */
  pathIs(p: string): bool {
    return this.hdr != NONE && bytesEqualAscii(this.pathPtr(), this.pathLen(), p);
  }
  /** Value of the first header named `name` (ASCII, case-insensitive):
   *  pointer, or 0 when absent; its length is headerLen(). */
  header(name: string): usize {
    if (this.hdr == NONE) return 0;
    const i = findHeaderAscii(this, name);
    lastHeaderLen = i < 0 ? 0 : headerValueLen(tableOf(this), i);
    return i < 0 ? 0 : headerValuePtr(rawOf(this), tableOf(this), i);
  }
  headerLen(): u32 {
    return lastHeaderLen;
  }

  /** Response head (lws_add_http_common_headers + finalize): status,
   *  Content-Type, Content-Length (-1: unknown, the connection closes after
   *  the body), extra header lines each ending in CRLF. Returns 0 or -1. */
  httpRespond(status: u32, contentType: string | null, contentLength: i64, extra: string | null = null): i32 {
    return respondHead(this, status, contentType, contentLength, extra) ? 0 : -1;
  }
  /** A complete short error response (lws_return_http_status). Returns 0. */
  httpError(status: u32): i32 {
    return httpAppError(this, status);
  }
  /** Serves the request path from the linked-in files (the app's www/
   *  folder; "/" means "/index.html"). Returns 0, or -1 when there is no
   *  such file (nothing was sent: the caller decides, e.g. httpError(404)). */
  serveFile(): i32 {
    if (this.hdr == NONE) return -1;
    let p = this.pathPtr();
    let n = this.pathLen();
    let f = n == 1 && load<u8>(p) == 0x2f ? vfsFind(INDEX_HTML, 11) : vfsFind(p, n);
    if (!f) return -1;
    if (!respondHead(this, 200, f.mime, f.len, null)) return -1;
    return respondBody(this, f.ptr, f.len, true) < 0 ? -1 : 0;
  }

  /** lws_http_transaction_completed: the response is complete; the next
   *  pipelined request (keep-alive) or the close follows. */
  httpTransactionCompleted(): void {
    completeResponse(this);
  }
}

const INDEX_HTML = memory.data<u8>([0x2f, 0x69, 0x6e, 0x64, 0x65, 0x78, 0x2e, 0x68, 0x74, 0x6d, 0x6c]); // "/index.html"

let lastHeaderLen: u32 = 0;

const nameScratch = memory.data(64);

function findHeaderAscii(c: Conn, name: string): i32 {
  const n = <u32>name.length;
  if (n > 64) return -1;
  const sp = changetype<usize>(name);
  for (let i: u32 = 0; i < n; i++) store<u8>(nameScratch + i, <u8>load<u16>(sp + (<usize>i << 1)));
  const head = headOf(c);
  const raw = rawOf(c);
  const table = tableOf(c);
  const cnt = head.headerCount;
  for (let i: u32 = 0; i < cnt; i++) if (headerIs(raw, table, i, nameScratch, n)) return <i32>i;
  return -1;
}
