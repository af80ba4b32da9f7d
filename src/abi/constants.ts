// Every constant that crosses the ABI, defined once.
//
// This file is both AssemblyScript (compiled into the core) and plain
// TypeScript (imported by tools/ and the Node test host). tools/gen-header.ts
// turns it into platform/include/mote_abi.h at build time, so C and
// AssemblyScript cannot drift. Keep it to `export const NAME = <integer>;`
// lines (one per line) and comments.

// Bumped whenever an import or export changes shape.
export const ABI_VERSION = 1;

// ---- log levels (lws bit values: LLL_ERR, LLL_WARN, ...) -------------------
export const LOG_ERR = 1;
export const LOG_WARN = 2;
export const LOG_NOTICE = 4;
export const LOG_INFO = 8;
export const LOG_DEBUG = 16;
// lws default: err | warn | notice
export const LOG_DEFAULT = 7;

// ---- listen flags (sock_listen) ---------------------------------------------
export const LISTEN_IPV6 = 1; // bind an IPv6 socket (dual-stack where the OS allows)
export const LISTEN_V6ONLY = 2; // IPV6_V6ONLY on that socket

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

// ---- results of mote_accepted -----------------------------------------------
export const ACCEPT_OK = 0;
export const ACCEPT_REFUSED = -1; // core has no room; port closes the socket

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
export const LIM_PORT = 32; // default listen port requested by the CLI (0: app's own)
export const LIM_FLAGS = 36; // INIT_* flags
export const LIM_SIZE = 40;

export const INIT_IPV6 = 1; // listeners bind IPv6 too
