// Conn: the application's view of a connection (lws's wsi, in TypeScript
// form). It is the record of ./record.ts with methods; what a method does
// that depends on the connection's role (an HTTP exchange, a WebSocket, a
// client handshake) goes through the handler table: each record names its
// Role, whose functions the layers above register at start-up (Mongoose's
// c->pfn). So this file imports neither src/http/ nor src/ws/.

import { ConnRecord, F_APP_WANTS_WRITABLE, F_CLIENT, NONE, ROLE_COUNT } from "./record";
import { Vhost, vhosts } from "./protocol";
import { record, userData } from "./table";
import { updatePortWritable } from "./output";
import { bytesEqualAscii } from "../util/bytes";

/** Write kinds (lws_write_protocol). */
export const WRITE_TEXT: u32 = 0;
export const WRITE_BINARY: u32 = 1;
export const WRITE_CONTINUATION: u32 = 2;
export const WRITE_HTTP: u32 = 3;
export const WRITE_HTTP_FINAL: u32 = 4;

/** The handler table entry of a role (ROLE_* in ./record.ts): a layer above
 *  extends Role and overrides what its connections do. The dispatcher
 *  (./dispatch.ts) calls the event methods; Conn's methods call the others.
 *  The defaults: the event means nothing in that role, the call is refused
 *  (-1). (Virtual methods, not function fields: they cost no linear memory,
 *  and a role nobody installs is not linked.) */
export class Role {
  // ---- events, from the dispatcher
  /** n bytes were read into the connection's receive buffer. */
  rx(c: Conn, n: u32): void {}
  /** The socket took all queued output (`drained`: there was some), or the
   *  app asked for a writeable callback. */
  writable(c: Conn, drained: bool): void {}
  /** The connection is being released (its state is FREE already; `was`:
   *  the state before): the app's close callback. */
  closed(c: Conn, was: u8): void {}
  /** A connection timer of `kind` expired. False: the dispatcher closes the
   *  connection at once. */
  timeout(c: Conn, kind: u8): bool { return false; }
  /** mote_shutdown. False: the dispatcher closes once output is flushed. */
  shutdown(c: Conn): bool { return false; }
  /** The port could not connect (a client): errno or CONNECT_ERR_*. */
  connectFailed(c: Conn, reason: u32): void {}
  /** Header buffers are scarce (connections wait for one): how much c,
   *  which holds one, deserves to lose it (0: not at all; the highest is
   *  closed first). */
  holdScore(c: Conn): u32 { return 0; }
  /** Close c, a slow holder by holdScore, with the answer its role gives. */
  evict(c: Conn): void {}

  // ---- the app's calls
  /** write()/writeFrom(): `pre`: PRE writable bytes precede buf. */
  write(c: Conn, buf: usize, len: u32, kind: u32, fin: bool, pre: bool): i32 { return -1; }
  /** httpRespond(): the response head; 0 or -1. */
  respond(c: Conn, status: u32, contentType: string | null, contentLength: i64, extra: string | null): i32 { return -1; }
  /** httpError(): a complete short answer; 0 or -1. */
  error(c: Conn, status: u32): i32 { return -1; }
  /** httpTransactionCompleted(). */
  complete(c: Conn): void {}
  /** serveFile(): the request's path from the linked-in files; 0 or -1. */
  serveFile(c: Conn): i32 { return -1; }
}

/** The request (or response) head a connection holds in its header buffer,
 *  read through Conn's methods (only while c.hdr is not NONE); extended by
 *  src/http/hdrbuf.ts. */
export class HeadView {
  method(c: Conn): u32 { return 0; }
  pathPtr(c: Conn): usize { return 0; }
  pathLen(c: Conn): u32 { return 0; }
  queryPtr(c: Conn): usize { return 0; }
  /** -1: no '?' in the target. */
  queryLen(c: Conn): i32 { return -1; }
  /** The first header named by the `n` lower-case ASCII bytes at `name`:
   *  its index, or -1. */
  find(c: Conn, name: usize, n: u32): i32 { return -1; }
  valuePtr(c: Conn, i: u32): usize { return 0; }
  valueLen(c: Conn, i: u32): u32 { return 0; }
}

const noRole = new Role();
const roles = new StaticArray<Role>(ROLE_COUNT);
for (let i = 0; i < <i32>ROLE_COUNT; i++) roles[i] = noRole;
let head = new HeadView();

/** Installs role `kind`'s handlers (start-up, or a role's first use). */
export function setRole(kind: u8, r: Role): void {
  roles[kind] = r;
}

export function setHeadView(v: HeadView): void {
  head = v;
}

@inline export function roleOf(c: ConnRecord): Role {
  return unchecked(roles[c.role]);
}

/** The connection in slot id, as the app sees it. */
@inline export function connAt(id: u32): Conn {
  return changetype<Conn>(record(id));
}

const nameScratch = memory.data(64);
let lastHeaderLen: u32 = 0;

@unmanaged
export class Conn extends ConnRecord {
  /** Per-session user data of the connection's protocol (zeroed at accept):
   *  `changetype<MySession>(c.user)`. */
  get user(): usize {
    return userData(this);
  }

  /** lws_get_vhost: the vhost serving this connection. Where vhosts share a
   *  port it is final once the TLS handshake or the first request's Host
   *  chose it (before that: the port's default vhost). */
  getVhost(): Vhost {
    return unchecked(vhosts[this.vhost]);
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
   *  partial send is buffered by the library. For an HTTP response body:
   *  WRITE_HTTP, or WRITE_HTTP_FINAL for its last bytes. */
  @inline write(buf: usize, len: u32, kind: u32 = WRITE_TEXT, final: bool = true): i32 {
    return roleOf(this).write(this, buf, len, kind, final, true);
  }

  /** write() for memory without PRE headroom (two sends, no copy). */
  writeFrom(buf: usize, len: u32, kind: u32 = WRITE_TEXT, final: bool = true): i32 {
    return roleOf(this).write(this, buf, len, kind, final, false);
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
   *  valid during http(), filterConnection() and established() only (and a
   *  client's clientFilterPreEstablish(), for the response's headers). */
  method(): u32 {
    return this.hdr == NONE ? 0 : head.method(this);
  }
  pathPtr(): usize {
    return this.hdr == NONE ? 0 : head.pathPtr(this);
  }
  pathLen(): u32 {
    return this.hdr == NONE ? 0 : head.pathLen(this);
  }
  /** True when the request path equals the ASCII string `p`. */
  pathIs(p: string): bool {
    return this.hdr != NONE && bytesEqualAscii(this.pathPtr(), this.pathLen(), p);
  }
  /** The request's query (after '?', raw bytes), or length 0. */
  queryPtr(): usize {
    return this.hdr == NONE ? 0 : head.queryPtr(this);
  }
  queryLen(): u32 {
    if (this.hdr == NONE) return 0;
    const n = head.queryLen(this);
    return n < 0 ? 0 : <u32>n;
  }
  /** Value of the first header named `name` (ASCII, case-insensitive):
   *  pointer, or 0 when absent; its length is headerLen(). */
  header(name: string): usize {
    lastHeaderLen = 0;
    const n = <u32>name.length;
    if (this.hdr == NONE || n > 64) return 0;
    const sp = changetype<usize>(name);
    for (let i: u32 = 0; i < n; i++) {
      let ch = <u32>load<u16>(sp + (<usize>i << 1));
      if (ch - 0x41 < 26) ch |= 0x20;
      store<u8>(nameScratch + i, <u8>ch);
    }
    const i = head.find(this, nameScratch, n);
    if (i < 0) return 0;
    lastHeaderLen = head.valueLen(this, <u32>i);
    return head.valuePtr(this, <u32>i);
  }
  headerLen(): u32 {
    return lastHeaderLen;
  }

  /** Response head (lws_add_http_common_headers + finalize): status,
   *  Content-Type, Content-Length (-1: unknown, the connection closes after
   *  the body), extra header lines each ending in CRLF. Returns 0 or -1. */
  httpRespond(status: u32, contentType: string | null, contentLength: i64, extra: string | null = null): i32 {
    return roleOf(this).respond(this, status, contentType, contentLength, extra);
  }
  /** A complete short error response (lws_return_http_status). Returns 0
   *  (-1 when a response was already started). */
  httpError(status: u32): i32 {
    return roleOf(this).error(this, status);
  }
  /** Serves the request path from the linked-in files (the app's www/
   *  folder; "/" means "/index.html"). Returns 0, or -1 when there is no
   *  such file (nothing was sent: the caller decides, e.g. httpError(404)). */
  serveFile(): i32 {
    return this.hdr != NONE ? roleOf(this).serveFile(this) : -1;
  }

  /** lws_http_transaction_completed: the response is complete; the next
   *  pipelined request (keep-alive) or the close follows. */
  httpTransactionCompleted(): void {
    roleOf(this).complete(this);
  }
}
