/* mote_opts.h: every limit and feature switch of the C side in one place,
 * as lwIP's opt.h and wasm3's m3_config.h do it. Each is a default with
 * what it costs; a board overrides any of them in its generated
 * board_config.h (from boards/<name>.json: its "opts" object, or the limits
 * and sections the build turns into MOTE_BOARD_*), which is included first,
 * or a build passes -DNAME=VALUE. The core's own limits (header buffers, tx
 * pool, message size) come from the board file through the limits block
 * (src/abi/constants.ts LIM_*), not from here.
 *
 * Feature switches are 0/1. Sizes are in bytes, times in milliseconds. */
#ifndef MOTE_OPTS_H
#define MOTE_OPTS_H

#include "board_config.h"

/* ---- features ------------------------------------------------------------- */

/* TLS (platform/tls on mbedTLS): https://, wss://, the client's wss://.
 * Flash: about 75 KB on a Cortex-M (mbedTLS, ECDHE-ECDSA P-256, AES-GCM,
 * ChaCha20-Poly1305); RAM: the board file's tls.heapBytes. The simulator
 * always has it; a board build has it with --tls. */
#ifndef MOTE_TLS
#define MOTE_TLS 0
#endif

/* The DEFLATE codec for permessage-deflate (platform/common/zcodec.c on
 * zlib). Per connection that negotiates it: zlib's state, ~300 KB at the
 * default windows. */
#ifndef MOTE_HAVE_ZLIB
#define MOTE_HAVE_ZLIB 0
#endif

/* permessage-deflate sessions open at once (platform/common/zcodec.c); past
 * them an offer is declined and the connection goes on uncompressed. Each
 * holds up to ~300 KB of zlib state at the largest windows (touched only as
 * used, returned when the session closes); vhosts can ask for less
 * (Vhost.setDeflateOptions). */
#ifndef MOTE_Z_SESSIONS
#define MOTE_Z_SESSIONS 64
#endif

/* ---- the BSD-socket port (platform/posix) ----------------------------------- */

/* Listening sockets at once (one per port the vhosts use): a descriptor
 * and ~80 B of table each. */
#ifndef MOTE_MAX_LISTENERS
#define MOTE_MAX_LISTENERS 8
#endif

/* Connections accepted per listener event, so that a flood on one listener
 * cannot hold the loop from the connections already open. */
#ifndef MOTE_ACCEPT_BURST
#define MOTE_ACCEPT_BURST 32
#endif

/* A listener whose accept failed for want of descriptors or memory
 * (EMFILE, ENFILE, ENOBUFS, ENOMEM) rests this long before it accepts again. */
#ifndef MOTE_LISTEN_BACKOFF_MS
#define MOTE_LISTEN_BACKOFF_MS 100
#endif

/* A connection the core had no room to read for (its output queue over the
 * high water) is retried this often, besides when the core resumes it. */
#ifndef MOTE_STARVE_RETRY_MS
#define MOTE_STARVE_RETRY_MS 10
#endif

/* Ready descriptors taken per wait: 8 B each (struct ev), epoll another
 * 12 B each. The loop runs again for the rest. */
#ifndef MOTE_LOOP_MAX_EVENTS
#define MOTE_LOOP_MAX_EVENTS 256
#endif

/* Descriptors kept back from the connection table where it is sized from
 * the descriptor limit: the listeners, the loop's own, the wake-up pipe,
 * and one spare to accept-and-close when the table is full. */
#ifndef MOTE_FD_RESERVE
#define MOTE_FD_RESERVE (MOTE_MAX_LISTENERS + 4)
#endif

/* ---- TLS ---------------------------------------------------------------- */

/* A TLS handshake not done in this long is closed (the core never heard of
 * the connection). lws: timeout_secs. */
#ifndef MOTE_TLS_HANDSHAKE_MS
#define MOTE_TLS_HANDSHAKE_MS 10000
#endif

/* Certificates of a listener's default configuration (e.g. one ECDSA, one
 * RSA) and SNI names with their own: a pointer pair each in the options,
 * the parsed certificate and key (a few KB each) at run time. */
#ifndef MOTE_TLS_MAX_CERTS
#define MOTE_TLS_MAX_CERTS 4
#endif
#ifndef MOTE_TLS_MAX_SNI
#define MOTE_TLS_MAX_SNI 8
#endif

/* ---- lifecycle and logging ---------------------------------------------------- */

/* After a stop (SIGTERM, the console's 'q'): how long open connections get
 * to finish their closing handshake before everything is closed. */
#ifndef MOTE_SHUTDOWN_GRACE_MS
#define MOTE_SHUTDOWN_GRACE_MS 3000
#endif

/* One log line, prefix included (on the stack of the caller of mote_log*). */
#ifndef MOTE_LOG_LINE_MAX
#define MOTE_LOG_LINE_MAX 1024
#endif

#endif
