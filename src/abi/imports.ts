// The module's imports: what the core calls in the port (C, or the Node test
// host). The one source of the import side of the ABI: tools/abi.ts reads
// this file and generates the C prototypes (mote_imports.h), the engines'
// glue (wasm2c's import functions, wasm3's link table) and the Node host's
// checked import list; test/tools/abi.test.ts fails if they drift.
//
// Conventions
// - Connections are small integer handles 0..maxConns-1 chosen by the port.
//   The port never reuses a handle until the core has forgotten it: after the
//   core calls sock_close(), or after the port called mote_closed().
// - Pointers are offsets into the module's exported memory; the engine checks
//   every (ptr, len) against the memory size before the port sees it. A
//   `usize` parameter is a pointer; the `u32` parameter after it is its
//   length, unless the doc comment says `@size NAME BYTES` (a fixed size, a
//   number or a constant of ./constants.ts). `@out NAME`: the port writes
//   there (the others are read-only); `@text NAME`: UTF-8 text (C: char).
// - The C side of import NAME is port_NAME (platform/include/port.h includes
//   the generated prototypes); platform/common/ implements the services
//   every port shares (log_emit, image_*, z_*).
// - Time enters only through mote_tick(now_ms) (./exports.ts).
// - Constants are in ./constants.ts; the C header is generated from it.

/** Open a listening TCP socket for a vhost on `port` (0: any free port) and
 *  `iface` (UTF-8, a numeric address; empty: the port's default address),
 *  LISTEN_* flags. Returns a listener id >= 0 or a negative errno. When the
 *  address and port come to those of a listener already open (a named
 *  interface equal to the default, a board with one interface), the port
 *  answers with that listener's id: the vhosts share it.
 *  @text ifacePtr */
@external("env", "sock_listen")
export declare function sock_listen(port: u32, ifacePtr: usize, ifaceLen: u32, flags: u32): i32;

/** TCP keepalive (lws ka_time/ka_probes/ka_interval, seconds) for every
 *  connection accepted on `listener` from now on: probes after `timeS` idle,
 *  `probes` of them `intervalS` apart; a peer silent that long (or sent data
 *  left unacknowledged that long, where the stack can bound it) is reported
 *  with mote_closed(CLOSED_TIMEOUT). probes or intervalS 0: the stack's
 *  default. Called once per listener, after sock_listen, only when timeS is
 *  not 0. Returns 0 or a negative errno (keepalive stays off). */
@external("env", "sock_keepalive")
export declare function sock_keepalive(listener: u32, timeS: u32, probes: u32, intervalS: u32): i32;

/** Start connecting to host:port (host: a name or an address, UTF-8, not
 *  NUL-terminated), non-blocking; CONNECT_TLS wraps the connection in a TLS
 *  client session. Returns the connection's handle (the port's choice, free
 *  in the core's table), then mote_connected or mote_connect_failed follows;
 *  or a negative errno when it fails at once (no free slot, ENOSYS: this
 *  port has no client connections, EINVAL: a bad host).
 *  @text hostPtr */
@external("env", "sock_connect")
export declare function sock_connect(hostPtr: usize, hostLen: u32, port: u32, flags: u32): i32;

/** Serve TLS for `vhost` on `listener` (https://, wss://; the core still
 *  sees only plaintext). `opts` is a block of TLS_OPT_* records
 *  (constants.ts): the vhost's certificate chain and private key (PEM files
 *  the port reads through its file operations), the allowed suites (lws
 *  ssl_cipher_list; none = the port's default), a client CA, and the host
 *  names that select this vhost by SNI. The first call after sock_listen
 *  makes the listener's default; later calls add vhosts sharing the port.
 *  Called before any connection is accepted. Returns 0 or a negative errno
 *  (the port logged why; 38 ENOSYS: no TLS in this firmware): the vhost
 *  then must not serve. */
@external("env", "sock_tls")
export declare function sock_tls(listener: u32, vhost: u32, opts: usize, optsLen: u32): i32;

/** Send bytes on a connection. Returns the number of bytes taken (0..len; a
 *  partial send is normal) or -1 when the connection is broken (the port then
 *  reports mote_closed later). */
@external("env", "sock_send")
export declare function sock_send(conn: u32, ptr: usize, len: u32): i32;

/** Ask for (on=1) or cancel (on=0) a mote_writable() call when the socket can
 *  take more bytes. Level-triggered: it keeps coming while on. */
@external("env", "sock_want_writable")
export declare function sock_want_writable(conn: u32, on: u32): void;

/** Stop (paused=1) or resume (paused=0) reading from a connection: used while
 *  the core cannot hold more input for it (HTTP pipelining, flow control). */
@external("env", "sock_pause_rx")
export declare function sock_pause_rx(conn: u32, paused: u32): void;

/** Close a connection (CLOSE_ABORT or CLOSE_GRACEFUL). The core forgets the
 *  handle at once; the port does not call mote_closed() for it. */
@external("env", "sock_close")
export declare function sock_close(conn: u32, mode: u32): void;

/** Emit one log line (no trailing newline) at a LOG_* level.
 *  @text ptr */
@external("env", "log_emit")
export declare function log_emit(level: u32, ptr: usize, len: u32): void;

/** Fill memory with random bytes (masking keys, nonces).
 *  @out ptr */
@external("env", "random_fill")
export declare function random_fill(ptr: usize, len: u32): void;

// The app-image store (INIT_IMAGE_STORE): the port writes an uploaded module
// image into the slot that is not running, checks it, and switches to it.
// The checks (manifest, digest, format) are the port's, never the core's:
// the core being replaced is not trusted to vouch for its successor. One
// upload at a time.

/** Start an upload of `len` bytes described by its manifest (IMG_MAN_BYTES
 *  at manPtr, IMG_MAN_*): checked first (its HMAC under the device key, the
 *  device, a version above the store's, the length); only then is the
 *  inactive slot erased. IMG_OK or IMG_ERR_* (IMG_ERR_RATE: the seconds to
 *  wait are stored at manPtr).
 *  @out manPtr */
@external("env", "image_begin")
export declare function image_begin(len: u32, manPtr: usize, manLen: u32): i32;

/** The next bytes of the image, in order from offset 0. IMG_OK or IMG_ERR_*. */
@external("env", "image_write")
export declare function image_write(offset: u32, ptr: usize, len: u32): i32;

/** All bytes written: check them against the manifest's SHA-256 and the
 *  format, then commit the slot (its header, with the manifest's version).
 *  IMG_OK (committed: it runs after image_activate) or IMG_ERR_*. */
@external("env", "image_finish")
export declare function image_finish(): i32;

/** Forget an unfinished upload (the slot stays invalid). */
@external("env", "image_abort")
export declare function image_abort(): void;

/** Switch to the committed image once this call into the core returns: the
 *  core is shut down and the new image started (the old one again if the
 *  new one fails to start). Called after the upload's answer was sent. */
@external("env", "image_activate")
export declare function image_activate(): void;

// The DEFLATE codec (INIT_DEFLATE; RFC 7692 permessage-deflate). The port
// keeps one inflater and one deflater per connection, keyed by the handle,
// from z_open until z_close (or until the connection's slot is reset by the
// port). Raw DEFLATE: the 00 00 ff ff tail is the codec's business (it
// appends it to an inflated message and strips it from a deflated one).

/** Open the codec for `conn`: inflater window 2^rxBits (client_max_window_bits,
 *  8..15), deflater window 2^txBits (server_max_window_bits, 9..15), Z_*_NO_CONTEXT
 *  flags. Z_DONE, or Z_ERR_MEM / Z_ERR_STATE (the core declines the extension). */
@external("env", "z_open")
export declare function z_open(conn: u32, rxBits: u32, txBits: u32, flags: u32): i32;

/** Inflate: take bytes of a compressed message at inPtr (Z_FINAL: they end it),
 *  write inflated bytes to outPtr (up to outCap); u32 consumed and u32 produced
 *  at resPtr (Z_RESULT_BYTES). Z_DONE (all input taken, the message's tail
 *  too when Z_FINAL, nothing pending), Z_MORE (the output is full: call again
 *  with the rest of the input), Z_ERR_DATA, Z_ERR_STATE.
 *  @out outPtr @out resPtr @size resPtr Z_RESULT_BYTES */
@external("env", "z_inflate")
export declare function z_inflate(conn: u32, inPtr: usize, inLen: u32, outPtr: usize, outCap: u32, flags: u32, resPtr: usize): i32;

/** Deflate: the same shape. Each call ends in a sync flush, so what was
 *  produced can go out as a frame; with Z_FINAL the flush's 00 00 ff ff is
 *  stripped (and the deflater restarts under Z_TX_NO_CONTEXT). Z_DONE, Z_MORE
 *  (output full: call again with the rest), Z_ERR_STATE. outCap >= 64.
 *  @out outPtr @out resPtr @size resPtr Z_RESULT_BYTES */
@external("env", "z_deflate")
export declare function z_deflate(conn: u32, inPtr: usize, inLen: u32, outPtr: usize, outCap: u32, flags: u32, resPtr: usize): i32;

/** Free the codec of `conn` (nothing when none is open). */
@external("env", "z_close")
export declare function z_close(conn: u32): void;
