// Every constant that crosses the ABI, defined once.
//
// This file is both AssemblyScript (compiled into the core) and plain
// TypeScript (imported by tools/ and the Node test host). tools/gen-header.ts
// turns it into platform/include/mote_abi.h at build time, so C and
// AssemblyScript cannot drift. Keep it to `export const NAME = <integer>;`
// lines (one per line) and comments.

// Bumped whenever an import or export changes shape.
export const ABI_VERSION = 8; // 2: sock_keepalive, image_*, LIM_KA_*, INIT_IMAGE_STORE, CLOSED_TIMEOUT; 3: z_*, INIT_DEFLATE;
// 4: sock_tls(listener, vhost, options block), mote_accepted(listener, conn, vhost);
// 5: sock_connect, mote_connected, mote_connect_failed (the client role);
// 6: sock_listen gets each vhost's port and interface; LIM_PORT (PORT_ANY) moves the default vhost only
// 7: LIM_TX_CONN_BYTES, LIM_WS_PING_S, LIM_WS_HANGUP_S, LIM_WS_MESSAGE_S
// 8: image_begin takes the signed upload manifest (IMG_MAN_*), IMG_HDR_VERSION, IMG_ERR_AUTH .. IMG_ERR_RATE;
//    z_open's flags carry the deflater's memLevel (Z_MEM_LEVEL_SHIFT); sock_listen's the per-peer limit; LIM_PEER_CONNS

// ---- log levels (lws bit values: LLL_ERR, LLL_WARN, ...) -------------------
export const LOG_ERR = 1;
export const LOG_WARN = 2;
export const LOG_NOTICE = 4;
export const LOG_INFO = 8;
export const LOG_DEBUG = 16;
// lws default: err | warn | notice
export const LOG_DEFAULT = 7;

// ---- errno values (negative, from sock_* and z_*) ---------------------------
// Linux's numbers, which the log shows; a port on another C library (newlib
// on the boards) answers with these, not its own.
export const ERR_BADF = 9; // no such listener
export const ERR_NOMEM = 12;
export const ERR_INVAL = 22; // a bad argument (an interface, a file, a name)
export const ERR_NOSPC = 28; // a table is full
export const ERR_NOSYS = 38; // the port has no such feature (TLS, client connections)
export const ERR_ADDRINUSE = 98;

// ---- listen flags (sock_listen) ---------------------------------------------
export const LISTEN_IPV6 = 1; // bind an IPv6 socket (dual-stack where the OS allows)
export const LISTEN_V6ONLY = 2; // IPV6_V6ONLY on that socket
// sock_listen flags bits 16..31: connections at once from one peer address
// on every listener (0: no limit); past it the port answers 503 and closes.
export const LISTEN_PEER_LIMIT_SHIFT = 16;

// ---- how the core asks the port to close (sock_close) -----------------------
// Abort: close at once; unsent bytes may be lost (RST where the OS does so).
export const CLOSE_ABORT = 0;
// Graceful: flush what send() already took, shut the write side, discard
// input until the peer closes or CLOSE_LINGER_MS pass, then close. Used after
// an HTTP error answer so the peer reads the answer instead of a reset.
export const CLOSE_GRACEFUL = 1;
export const CLOSE_LINGER_MS = 2000;

// ---- why the port reports a connection closed (mote_closed) -----------------
export const CLOSED_PEER = 0; // orderly EOF from the peer
export const CLOSED_RESET = 1; // ECONNRESET / tcp_err
export const CLOSED_ERROR = 2; // any other socket error
export const CLOSED_SHUTDOWN = 3; // the port is going away (after mote_shutdown)
// The stack gave up on a silent peer: TCP keepalive probes unanswered, or
// sent data unacknowledged for as long (Linux ETIMEDOUT, or the ICMP
// unreachable it saw meanwhile; lwIP tcp_err ERR_ABRT from its timers).
export const CLOSED_TIMEOUT = 4;

// ---- results of mote_accepted -----------------------------------------------
export const ACCEPT_OK = 0;
export const ACCEPT_REFUSED = -1; // core has no room; port closes the socket
// mote_accepted's vhost argument: the vhost whose TLS configuration (sock_tls)
// served the handshake, so the one whose certificate the client accepted;
// VHOST_ANY when the port did not choose (plaintext, or the port's own TLS
// settings): the core then binds the connection to a vhost by the Host of
// its first request.
export const VHOST_ANY = 0xffff;

// ---- sock_connect (the client role) -------------------------------------------
export const CONNECT_TLS = 1; // a TLS client session on the socket (SNI = the host; verified against the port's client CA)
// mote_connect_failed's reason: an errno (ECONNREFUSED 111, ETIMEDOUT 110,
// EHOSTUNREACH 113, ...), or one of these
export const CONNECT_ERR_TLS = 0x10000; // the TLS handshake failed (the port logged why)
export const CONNECT_ERR_RESOLVE = 0x10001; // the host name did not resolve

// ---- sock_tls's options block ------------------------------------------------
// Records of [kind: u8][length: u16 little-endian][length bytes of UTF-8],
// in any order; CERT and KEY once each and required, the others optional,
// NAME repeated. The first sock_tls on a listener (after sock_listen) makes
// its default configuration, used for clients that send no SNI name or one
// no other vhost has; each later one adds a vhost chosen by its NAMEs (SNI,
// RFC 6066 section 3; "*.example.com" covers one label).
export const TLS_OPT_CERT = 1; // PEM file: certificate, then its chain (port file ops)
export const TLS_OPT_KEY = 2; // PEM file: its private key
export const TLS_OPT_CIPHERS = 3; // lws ssl_cipher_list (':'-separated); one list per listener
export const TLS_OPT_CLIENT_CA = 4; // PEM file: clients of this vhost must present a certificate it issued
export const TLS_OPT_NAME = 5; // a host name this vhost answers to

// ---- traps reported by the engine (log text names them) ---------------------
export const TRAP_NONE = 0;
export const TRAP_OOB = 1;
export const TRAP_INT_OVERFLOW = 2;
export const TRAP_DIV_BY_ZERO = 3;
export const TRAP_INVALID_CONVERSION = 4;
export const TRAP_UNREACHABLE = 5;
export const TRAP_CALL_INDIRECT = 6;
export const TRAP_EXHAUSTION = 7;
export const TRAP_ABORT = 8; // AssemblyScript abort() routed to the host
export const TRAP_BAD_POINTER = 9; // a pointer/length from the module failed the host's bounds check

// ---- init limits block (mote_init reads these u32 fields at this offset) ----
// The port writes a Limits block into memory returned by mote_limits_ptr().
export const LIM_MAX_CONNS = 0; // connection table size (slots 0..n-1)
export const LIM_RX_BUF = 4; // shared receive buffer bytes
export const LIM_HDR_POOL = 8; // number of HTTP header buffers
export const LIM_HDR_BYTES = 12; // bytes per header buffer (max request head)
export const LIM_TX_BLOCKS = 16; // number of tx blocks in the output pool
export const LIM_TX_BLOCK_BYTES = 20; // bytes per tx block
export const LIM_LOG_LEVEL = 24; // bitmask of LOG_*
export const LIM_MAX_MESSAGE = 28; // max WebSocket message bytes (0: unlimited)
// The default vhost's port (the first the app creates), from the port's
// command line: 0 keeps the vhost's own, PORT_ANY asks for any free port.
// It moves the vhosts that share the default vhost's port too; the others
// listen on their own.
export const LIM_PORT = 32;
export const LIM_FLAGS = 36; // INIT_* flags
// TCP keepalive for every listener, overriding the vhosts' kaTime/kaProbes/
// kaInterval (seconds) when LIM_KA_TIME is not 0 (mote sim --ka-time).
export const LIM_KA_TIME = 40;
export const LIM_KA_PROBES = 44;
export const LIM_KA_INTERVAL = 48;
// Output one connection may queue before it is no longer read from (uWS
// maxBackpressure); 0: the core's default (src/core/table.ts tableInit).
export const LIM_TX_CONN_BYTES = 52;
// WebSocket liveness, seconds, defaults of every vhost that sets none (lws
// retry policy secs_since_valid_ping / secs_since_valid_hangup): a ping after
// LIM_WS_PING_S with nothing received, close 1001 after LIM_WS_HANGUP_S with
// nothing received, close 1008 when a frame or message is still incomplete
// LIM_WS_MESSAGE_S after it began. 0: never.
export const LIM_WS_PING_S = 56;
export const LIM_WS_HANGUP_S = 60;
export const LIM_WS_MESSAGE_S = 64;
// Connections at once from one peer address, the default of vhosts that set
// none (board limits.maxConnsPerPeer, mote sim --max-conns-per-peer); 0: none.
export const LIM_PEER_CONNS = 68;
export const LIM_SIZE = 72;
export const PORT_ANY = 0x10000; // LIM_PORT: any free port (sock_listen's port 0)

export const INIT_IMAGE_STORE = 2; // the port keeps an image store: serve PUT /.mote/image
export const INIT_DEFLATE = 4; // the port has the DEFLATE codec (z_* imports): permessage-deflate may be offered

// ---- the DEFLATE codec (z_open / z_inflate / z_deflate; platform/common/zcodec.c) --
// z_open flags: what RFC 7692 section 7.1.1 negotiated for the connection.
export const Z_RX_NO_CONTEXT = 1; // client_no_context_takeover: the inflater restarts after each message
export const Z_TX_NO_CONTEXT = 2; // server_no_context_takeover: the deflater restarts after each message
export const Z_MEM_LEVEL_SHIFT = 8; // z_open flags bits 8..11: the deflater's memLevel 1..9 (0: the port's default, 8)
// z_inflate / z_deflate flags
export const Z_FINAL = 1; // these bytes end the message (RFC 7692 section 7.2.1/7.2.2: the 00 00 ff ff tail)
// z_inflate / z_deflate results: Z_DONE (input consumed, nothing pending),
// Z_MORE (the output area is full: call again with the rest), or an error
export const Z_DONE = 0;
export const Z_MORE = 1;
export const Z_ERR_DATA = -1; // not a valid DEFLATE stream (close 1007)
export const Z_ERR_MEM = -2; // no memory for the codec state (decline, or close 1011)
export const Z_ERR_STATE = -3; // no codec open for the connection, or a bad argument (close 1011)
export const Z_RESULT_BYTES = 8; // the result block: u32 bytes consumed, u32 bytes produced

// ---- the app-image store (platform/common/image_store.c) -------------------
// A flash region of two equal slots. Each slot: a header of IMG_HDR_BYTES
// then the module image. The header is programmed last, after the image and
// its tag are checked, so a torn upload leaves the slot without a valid
// header and the other slot keeps running. Fields are u32 little-endian at
// these offsets; the tag is IMG_TAG_BYTES at IMG_HDR_TAG.
export const IMG_MAGIC = 0x474d494d; // "MIMG"
export const IMG_FORMAT = 1;
export const IMG_HDR_MAGIC = 0;
export const IMG_HDR_FORMAT = 4;
export const IMG_HDR_SEQ = 8; // higher wins at boot
export const IMG_HDR_LEN = 12; // image bytes after the header
export const IMG_HDR_TAG_TYPE = 16; // IMG_TAG_*
export const IMG_HDR_TAG = 20;
export const IMG_HDR_REVOKED = 52; // 0xffffffff live; programmed to 0 when the image failed to start
export const IMG_HDR_VERSION = 56; // the upload manifest's version (anti-rollback); 0xffffffff (unset) counts as 0
// The version an upload into this slot began with, programmed right after the
// erase: an interrupted or refused upload's version stays used, and the floor
// is never lowered by erasing a slot that held a higher version.
export const IMG_HDR_FLOOR = 60;
export const IMG_HDR_BYTES = 256;
export const IMG_TAG_HMAC_SHA256 = 1; // HMAC-SHA256(device key, image bytes)
export const IMG_TAG_BYTES = 32;

// ---- image upload results (image_begin / image_write / image_finish) -------
export const IMG_OK = 0;
export const IMG_ERR_NO_STORE = -1; // this firmware runs no image store (HTTP 404)
export const IMG_ERR_TOO_BIG = -2; // larger than a slot (413)
export const IMG_ERR_BUSY = -3; // another upload in progress, or a switch pending (409)
export const IMG_ERR_FLASH = -4; // erase or program failed (500)
export const IMG_ERR_TAG = -5; // the tag does not match the image: not authorised (403)
export const IMG_ERR_FORMAT = -6; // authorised, but not a module this engine can load (422)
export const IMG_ERR_STATE = -7; // call out of order (500)
export const IMG_ERR_SHORT = -8; // fewer bytes written than announced (400)
export const IMG_ERR_AUTH = -9; // the manifest's HMAC is wrong: not authorised, nothing erased (403)
export const IMG_ERR_DEVICE = -10; // the manifest names another device (403)
export const IMG_ERR_ROLLBACK = -11; // the manifest's version is not above the installed one (409)
// Too many refused manifests: the port stored the seconds to wait as a u32
// (little-endian) at the start of the manifest buffer (429, Retry-After).
export const IMG_ERR_RATE = -12;

// The upload manifest (header X-Mote-Image-Manifest, 2 * IMG_MAN_BYTES hex
// digits): what the device checks before it erases anything. u32 fields
// little-endian; the HMAC covers bytes 0 .. IMG_MAN_HMAC.
export const IMG_MAN_MAGIC = 0x3150554d; // "MUP1"
export const IMG_MAN_LEN = 4; // the image's bytes (= the request's Content-Length)
export const IMG_MAN_VERSION = 8; // must exceed every version in the store (MCUboot's security counter)
export const IMG_MAN_DEVICE = 12; // IMG_DEVICE_ID_BYTES: HMAC-SHA256(device key, "mote device id"), truncated
export const IMG_MAN_SHA256 = 20; // SHA-256 of the image, checked before the slot header is written
export const IMG_MAN_HMAC = 52; // HMAC-SHA256(device key, bytes 0 .. 52)
export const IMG_MAN_BYTES = 84;
export const IMG_DEVICE_ID_BYTES = 8;
