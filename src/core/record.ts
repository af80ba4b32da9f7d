// The connection record: its fields, states, roles, timer kinds and flags,
// shared by every layer that handles a connection. The app's view of a
// connection (its methods) is Conn (./conn.ts), which extends this record
// without adding fields. Only ./dispatch.ts writes `state` (a check in
// npm test, test/tools/layers.test.ts, fails on any other writer).
//
//   record i at table + i * recordSize (./table.ts):
//   +----------------------+-------------------+------------------------+
//   | ConnRecord fields    | control payload   | per-session user data  |
//   | (offsetof<Conn>())   | CTRL_MAX bytes    | (largest userSize)     |
//   +----------------------+-------------------+------------------------+
//
// The HTTP head, its header table and the chunked decoder are not here: they
// live in a header buffer borrowed from a pool while the connection is in its
// HTTP phase (lws's "ah" pool), so an established WebSocket costs only this
// record.

/** "No block / no buffer / no slot" in every u32 index (tx blocks, header
 *  buffers, the active list). */
export const NONE: u32 = 0xffffffff;

/** Control frame payload (<= 125) + pad; the client role keeps its expected
 *  Sec-WebSocket-Accept there until the WebSocket is open. */
export const CTRL_MAX: u32 = 128;

// ---- states (./dispatch.ts: the allowed transitions and their enter...()) --
export const ST_FREE: u8 = 0;
export const ST_HTTP_HEAD: u8 = 1; // reading a request head
export const ST_HTTP_BODY: u8 = 2; // reading a request body
export const ST_HTTP_RESPOND: u8 = 3; // request read; the app is answering
export const ST_WS: u8 = 4; // WebSocket open
export const ST_WS_CLOSING: u8 = 5; // we sent a close frame; waiting for the peer's
export const ST_DRAIN_CLOSE: u8 = 6; // flushing queued output, then closing
export const ST_CLIENT_CONNECTING: u8 = 7; // client: sock_connect issued; the request waits in the output queue
export const ST_CLIENT_HANDSHAKE: u8 = 8; // client: request sent, reading the response head

// ---- roles: who handles the connection's events and the app's calls on it
// (the handler table, Role in ./conn.ts; Mongoose's c->pfn) --------------------
export const ROLE_NONE: u8 = 0; // free slot
export const ROLE_HTTP: u8 = 1; // HTTP server (src/http/server.ts), until an upgrade
export const ROLE_WS: u8 = 2; // an established WebSocket, either side (src/ws/frames.ts)
export const ROLE_CLIENT: u8 = 3; // a client connection until its WebSocket is open (src/ws/client.ts)
export const ROLE_COUNT: u8 = 4;

// ---- timer kinds --------------------------------------------------------------
export const TM_NONE: u8 = 0;
export const TM_HEAD: u8 = 1; // a request head to arrive
export const TM_KEEPALIVE: u8 = 2; // idle between keep-alive requests
export const TM_CLOSE: u8 = 3; // the peer's close frame, or the queued output before a close
export const TM_RESPONSE: u8 = 4; // the app to complete its response
export const TM_CONNECT: u8 = 5; // client: connect and handshake
export const TM_WS: u8 = 6; // an open WebSocket's next liveness check (ping, hangup, incomplete message)
export const TM_HDR_WAIT: u8 = 7; // waiting for a header buffer: the next check for a slow holder to close
export const TM_BODY: u8 = 8; // the request body's minimum rate

// ---- WebSocket receive states -------------------------------------------------
export const WR_HEADER: u8 = 0;
export const WR_PAYLOAD: u8 = 1;
export const WR_CONTROL: u8 = 2;
export const WR_IGNORE: u8 = 3; // failed or closing: input discarded

// ---- flags: one bit each, in order ---------------------------------------------
export const F_APP_WANTS_WRITABLE: u32 = 1 << 0; // callbackOnWritable() pending
export const F_PORT_WRITABLE: u32 = 1 << 1; // sock_want_writable(on) is in force
export const F_RX_PAUSED: u32 = 1 << 2; // sock_pause_rx(paused) is in force
export const F_KEEPALIVE: u32 = 1 << 3; // the current HTTP request allows keep-alive
export const F_HEAD_REQUEST: u32 = 1 << 4; // the current request is HEAD: no body goes out
export const F_RESP_HEADERS_SENT: u32 = 1 << 5; // the response head went out
export const F_RESP_DONE: u32 = 1 << 6; // the response is complete (transaction completed)
export const F_BUILTIN_IMAGE: u32 = 1 << 7; // this request is for the core's image endpoint (src/http/image.ts)
export const F_MOUNT: u32 = 1 << 8; // this request is answered by the core's mount server (src/http/files.ts)
export const F_VHOST_BOUND: u32 = 1 << 9; // c.vhost is final (TLS SNI chose it, or a first request's Host did)
export const F_CLOSE_SENT: u32 = 1 << 10; // our WebSocket close frame is queued
export const F_TX_FRAG_OPEN: u32 = 1 << 11; // the app is sending a fragmented message
export const F_RX_MSG_OPEN: u32 = 1 << 12; // the peer is sending a fragmented message
export const F_DEFLATE: u32 = 1 << 13; // permessage-deflate negotiated: the port's codec is open (z_open)
export const F_RX_COMPRESSED: u32 = 1 << 14; // the message being received had RSV1 on its first frame
export const F_CLIENT: u32 = 1 << 15; // this side opened it (connectClient): frames sent masked, masked frames refused
export const F_HDR_WAIT: u32 = 1 << 16; // accepted while every header buffer was busy: in the wait list, not read from

@unmanaged
export class ConnRecord {
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

  // -- output queue (layout must match TxQueue, ./txpool.ts)
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
  lastRx: u32; // when bytes last came from the peer (ms; WebSocket liveness)
  startedAt: u32; // when the current input began (ms): the request head, its body, or a WebSocket frame or message
  waitNext: u32; // the next connection waiting for a header buffer (F_HDR_WAIT), or NONE

  // -- receive callback view (isFinalFragment / remainingPacketPayload)
  rxFinal: u8;
  rxFirst: u8;
  rxBinary: u8;
  role: u8; // ROLE_*: the entry of the handler table serving this connection
  rxRemaining: u32;
}
