/* driver.h: the engine-neutral driver every port shares.
 *
 * - Logging: a level mask (lws bits, MOTE_LOG_*) and one line format,
 *   "[YYYY-MM-DD HH:MM:SS.mmm] E: text", handed to port_log().
 * - Start-up: open the engine, check the ABI version, write the limits
 *   block, call mote_init.
 * - Trap policy: every mote_drv_* event call that traps is logged at err
 *   ("trap <kind> in <export>") and the core is restarted: port_reset()
 *   (the port drops every connection and forgets the listeners), engine
 *   close, engine open, limits, mote_init (which listens again).
 *
 * Event calls return MOTE_DRV_OK, MOTE_DRV_RESTARTED (the call trapped and
 * the core was restarted: every connection and listener is gone, so the port
 * must drop whatever it was doing, including the rest of its event batch),
 * or MOTE_DRV_FATAL (restart failed; the port should exit with an error).
 * Out-params are set to harmless values when the status is not OK.
 */
#ifndef MOTE_DRIVER_H
#define MOTE_DRIVER_H

#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include "mote_abi.h"

/* ---- logging ------------------------------------------------------------ */

void mote_log_set_mask(uint32_t mask);
uint32_t mote_log_get_mask(void);
static inline int mote_log_on(uint32_t mask, int level) { return (mask & (uint32_t)level) != 0; }
#define MOTE_LOG_ENABLED(level) mote_log_on(mote_log_get_mask(), (level))
/* Emit text (need not be NUL-terminated; control characters are replaced)
 * at a MOTE_LOG_* level, if the mask allows it. */
void mote_log_emit(int level, const char *text, size_t len);
void mote_logf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* mote_logf with a va_list; a trailing newline in the text is dropped. */
void mote_vlogf(int level, const char *fmt, va_list ap);
/* "refused connection: table full" at notice level, at most once a second
 * under a flood, with the count of refusals in between (now_ms: port clock). */
void mote_log_table_full(uint32_t now_ms);

#define mote_err(...) mote_logf(MOTE_LOG_ERR, __VA_ARGS__)
#define mote_warn(...) mote_logf(MOTE_LOG_WARN, __VA_ARGS__)
#define mote_notice(...) mote_logf(MOTE_LOG_NOTICE, __VA_ARGS__)
#define mote_info(...) mote_logf(MOTE_LOG_INFO, __VA_ARGS__)
#define mote_debug(...) mote_logf(MOTE_LOG_DEBUG, __VA_ARGS__)

/* ---- lifecycle ---------------------------------------------------------- */

/* The limits block (MOTE_LIM_* fields), filled by the port from its board
 * configuration and command line. */
struct mote_limits {
  uint32_t max_conns;
  uint32_t rx_buf;
  uint32_t hdr_pool;
  uint32_t hdr_bytes;
  uint32_t tx_blocks;
  uint32_t tx_block_bytes;
  uint32_t log_level;
  uint32_t max_message;
  uint32_t port;
  uint32_t flags;
  /* TCP keepalive for every listener, seconds (0: the vhosts' own) */
  uint32_t ka_time;
  uint32_t ka_probes;
  uint32_t ka_interval;
  /* one connection's output cap, bytes (0: the core's default) */
  uint32_t tx_conn_bytes;
  /* WebSocket ping / hangup / incomplete-message timeouts, seconds (0: never) */
  uint32_t ws_ping_s;
  uint32_t ws_hangup_s;
  uint32_t ws_message_s;
  /* connections at once from one peer address, the vhosts' default (0: none) */
  uint32_t peer_conns;
};

#define MOTE_DRV_OK 0
#define MOTE_DRV_RESTARTED 1
#define MOTE_DRV_FATAL (-1)

/* Open the engine and run mote_init. Returns 0, or -1 after logging why (a
 * trap here is not retried). The limits are kept for restarts. */
int mote_drv_start(const struct mote_limits *lim);
/* Close the engine. */
void mote_drv_stop(void);
/* Number of restarts after traps so far. */
uint32_t mote_drv_restarts(void);

/* ---- events (port -> core) --------------------------------------------- */

int mote_drv_rx_buffer(uint32_t conn, uint8_t **buf, uint32_t *space);
int mote_drv_accepted(uint32_t listener, uint32_t conn, uint32_t vhost, int32_t *result);
int mote_drv_received(uint32_t conn, uint32_t n);
int mote_drv_writable(uint32_t conn);
int mote_drv_closed(uint32_t conn, uint32_t reason);
int mote_drv_connected(uint32_t conn);
int mote_drv_connect_failed(uint32_t conn, uint32_t reason);
int mote_drv_tick(uint32_t now_ms, uint32_t *next_ms);
/* The port's clock, read when a wait for events ends and before any event of
 * that pass is delivered: when it moved since the core last heard the time,
 * the core is ticked, so that its timers expire on time and what the events
 * set counts from now. (A loop that ticks only before it waits would leave
 * the core's clock as old as the wait: after a long idle, a new connection's
 * request timer would start already expired.) */
int mote_drv_clock(uint32_t now_ms);
int mote_drv_shutdown(uint32_t *open_conns);

#endif
