/* The engine-neutral driver: logging, start-up and the trap policy.
 * Uses only engine.h and port.h. */
#include "driver.h"
#include "image_store.h"
#include "zcodec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "mote_opts.h"
#include "port.h"

/* ---- logging ------------------------------------------------------------ */


static uint32_t log_mask = MOTE_LOG_DEFAULT;

void mote_log_set_mask(uint32_t mask) { log_mask = mask; }
uint32_t mote_log_get_mask(void) { return log_mask; }

static char level_letter(int level) {
  if (level & MOTE_LOG_ERR) return 'E';
  if (level & MOTE_LOG_WARN) return 'W';
  if (level & MOTE_LOG_NOTICE) return 'N';
  if (level & MOTE_LOG_INFO) return 'I';
  if (level & MOTE_LOG_DEBUG) return 'D';
  return '?';
}

void mote_log_emit(int level, const char *text, size_t len) {
  if (!mote_log_on(log_mask, level)) return;
  char line[MOTE_LOG_LINE_MAX];
  size_t n = 0;
  line[n++] = '[';
  size_t t = port_log_time(line + n, 32);
  if (t > 0) {
    n += t;
    line[n++] = ']';
    line[n++] = ' ';
  } else {
    n = 0;
  }
  line[n++] = level_letter(level);
  line[n++] = ':';
  line[n++] = ' ';
  const size_t room = sizeof line - n - 1; /* keep one byte for '\n' */
  int cut = len > room;
  if (cut) len = room - 3;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    line[n++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
  }
  if (cut) {
    memcpy(line + n, "...", 3);
    n += 3;
  }
  line[n++] = '\n';
  port_log(level, line, n);
}

/* The module's log_emit import: a line the core built. */
void port_log_emit(uint32_t level, const char *ptr, uint32_t len) { mote_log_emit((int)level, ptr, len); }

void mote_vlogf(int level, const char *fmt, va_list ap) {
  if (!mote_log_on(log_mask, level)) return;
  char buf[MOTE_LOG_LINE_MAX];
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  while (n > 0 && buf[n - 1] == '\n') n--;
  mote_log_emit(level, buf, (size_t)n);
}

void mote_logf(int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mote_vlogf(level, fmt, ap);
  va_end(ap);
}

void mote_log_table_full(uint32_t now_ms) {
  static uint32_t last, quiet;
  static int logged;
  if (logged && now_ms - last < 1000) {
    quiet++;
    return;
  }
  if (quiet) mote_notice("refused connection: table full (and %u more since the last report)", (unsigned)quiet);
  else mote_notice("refused connection: table full");
  logged = 1;
  last = now_ms;
  quiet = 0;
}

/* ---- status names ------------------------------------------------------- */

const char *mote_trap_name(int st) {
  switch (st) {
    case MOTE_TRAP_NONE: return "none";
    case MOTE_TRAP_OOB: return "out-of-bounds";
    case MOTE_TRAP_INT_OVERFLOW: return "integer-overflow";
    case MOTE_TRAP_DIV_BY_ZERO: return "divide-by-zero";
    case MOTE_TRAP_INVALID_CONVERSION: return "invalid-conversion";
    case MOTE_TRAP_UNREACHABLE: return "unreachable";
    case MOTE_TRAP_CALL_INDIRECT: return "call-indirect";
    case MOTE_TRAP_EXHAUSTION: return "stack-exhausted";
    case MOTE_TRAP_ABORT: return "abort";
    case MOTE_TRAP_BAD_POINTER: return "bad-pointer";
    case MOTE_ENGINE_NOT_OPEN: return "not-open";
    case MOTE_ENGINE_REENTERED: return "reentered";
    case MOTE_ENGINE_NO_MEMORY: return "no-memory";
    case MOTE_ENGINE_BAD_IMAGE: return "bad-image";
    default: return "unknown";
  }
}

/* ---- lifecycle ---------------------------------------------------------- */

static struct mote_limits limits;
static int started;    /* mote_init succeeded at least once */
static int dead;       /* a restart failed: every call is FATAL */
static uint32_t told_ms; /* the time the core last heard (mote_init, mote_tick) */
static uint32_t restarts;

static void put_u32le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

/* open + version + limits + init; 0, or -1 (logged) after which
 * last_open_status tells an engine that ran out of memory
 * (MOTE_ENGINE_NO_MEMORY: not the image's fault) from the rest. */
static int last_open_status;
static int bring_up(void) {
  mote_z_close_all(); /* codec states of a previous core's connections (zcodec.h) */
  int st = mote_engine_open();
  last_open_status = st;
  if (st != 0) {
    mote_err("engine %s: instantiate failed (%s)", mote_engine_name(), mote_trap_name(st));
    return -1;
  }
  uint32_t ver = 0;
  st = mote_engine_abi_version(&ver);
  if (st == 0 && ver != MOTE_ABI_VERSION) {
    mote_err("core ABI version %u, port expects %u: rebuild", (unsigned)ver, (unsigned)MOTE_ABI_VERSION);
    goto fail;
  }
  uint8_t *blk = NULL;
  if (st == 0) st = mote_engine_limits_ptr(&blk);
  if (st != 0) {
    mote_err("trap %s during start-up", mote_trap_name(st));
    goto fail;
  }
  put_u32le(blk + MOTE_LIM_MAX_CONNS, limits.max_conns);
  put_u32le(blk + MOTE_LIM_RX_BUF, limits.rx_buf);
  put_u32le(blk + MOTE_LIM_HDR_POOL, limits.hdr_pool);
  put_u32le(blk + MOTE_LIM_HDR_BYTES, limits.hdr_bytes);
  put_u32le(blk + MOTE_LIM_TX_BLOCKS, limits.tx_blocks);
  put_u32le(blk + MOTE_LIM_TX_BLOCK_BYTES, limits.tx_block_bytes);
  put_u32le(blk + MOTE_LIM_LOG_LEVEL, limits.log_level);
  put_u32le(blk + MOTE_LIM_MAX_MESSAGE, limits.max_message);
  put_u32le(blk + MOTE_LIM_PORT, limits.port);
  put_u32le(blk + MOTE_LIM_KA_TIME, limits.ka_time);
  put_u32le(blk + MOTE_LIM_KA_PROBES, limits.ka_probes);
  put_u32le(blk + MOTE_LIM_KA_INTERVAL, limits.ka_interval);
  put_u32le(blk + MOTE_LIM_TX_CONN_BYTES, limits.tx_conn_bytes);
  put_u32le(blk + MOTE_LIM_WS_PING_S, limits.ws_ping_s);
  put_u32le(blk + MOTE_LIM_WS_HANGUP_S, limits.ws_hangup_s);
  put_u32le(blk + MOTE_LIM_WS_MESSAGE_S, limits.ws_message_s);
  put_u32le(blk + MOTE_LIM_PEER_CONNS, limits.peer_conns);
  put_u32le(blk + MOTE_LIM_FLAGS, limits.flags | (mote_image_store_active() ? MOTE_INIT_IMAGE_STORE : 0) |
                                       (mote_z_available() ? MOTE_INIT_DEFLATE : 0));
  int32_t rc = 0;
  told_ms = port_now_ms();
  st = mote_engine_init(told_ms, &rc);
  if (st != 0) {
    mote_err("trap %s in mote_init", mote_trap_name(st));
    goto fail;
  }
  if (rc < 0) {
    mote_err("mote_init failed (%d)", (int)rc);
    goto fail;
  }
  return 0;
fail:
  port_reset(); /* drop listeners mote_init may have opened */
  mote_engine_close();
  return -1;
}

int mote_drv_start(const struct mote_limits *lim) {
  limits = *lim;
  /* an image that does not start gives way to the other slot's */
  while (bring_up() < 0)
    if (mote_image_fallback(last_open_status != MOTE_ENGINE_NO_MEMORY) < 0) return -1;
  started = 1;
  mote_info("core up on engine %s (memory %u bytes)", mote_engine_name(), (unsigned)mote_engine_mem_size());
  return 0;
}

void mote_drv_stop(void) {
  mote_engine_close();
  mote_z_close_all();
  started = 0;
}

uint32_t mote_drv_restarts(void) { return restarts; }

/* The trap policy. */
static int failed(int st, const char *export) {
  if (dead || !started) return MOTE_DRV_FATAL;
  mote_err("trap %s in %s", mote_trap_name(st), export);
  port_reset();
  mote_engine_close();
  if (bring_up() < 0) {
    mote_err("core restart failed: giving up");
    dead = 1;
    return MOTE_DRV_FATAL;
  }
  restarts++;
  mote_notice("core restarted after trap (%u so far)", (unsigned)restarts);
  return MOTE_DRV_RESTARTED;
}

static inline int check(int st, const char *export) { return st == 0 ? MOTE_DRV_OK : failed(st, export); }

int mote_drv_rx_buffer(uint32_t conn, uint8_t **buf, uint32_t *space) {
  int st = mote_engine_rx_buffer(conn, buf, space);
  if (st != 0) {
    *buf = NULL;
    *space = 0;
  }
  return check(st, "mote_rx_buffer");
}

int mote_drv_accepted(uint32_t listener, uint32_t conn, uint32_t vhost, int32_t *result) {
  int st = mote_engine_accepted(listener, conn, vhost, result);
  if (st != 0) *result = MOTE_ACCEPT_REFUSED;
  return check(st, "mote_accepted");
}

int mote_drv_received(uint32_t conn, uint32_t n) {
  return check(mote_engine_received(conn, n), "mote_received");
}

int mote_drv_writable(uint32_t conn) {
  return check(mote_engine_writable(conn), "mote_writable");
}

int mote_drv_closed(uint32_t conn, uint32_t reason) {
  return check(mote_engine_closed(conn, reason), "mote_closed");
}

int mote_drv_connected(uint32_t conn) {
  return check(mote_engine_connected(conn), "mote_connected");
}

int mote_drv_connect_failed(uint32_t conn, uint32_t reason) {
  return check(mote_engine_connect_failed(conn, reason), "mote_connect_failed");
}

/* The switch to an uploaded image (image_store.c): the old core shuts down
 * (WebSocket peers get close 1001 queued), the port drops every connection,
 * and the new image starts; if it does not, it is revoked and the previous
 * one starts again. */
static int switch_image(void) {
  uint32_t open_conns = 0;
  mote_notice("switching to the uploaded image");
  mote_engine_shutdown(&open_conns);
  port_reset();
  mote_engine_close();
  mote_image_switch_begin();
  while (bring_up() < 0) {
    if (mote_image_fallback(last_open_status != MOTE_ENGINE_NO_MEMORY) < 0) {
      mote_err("no image starts: giving up");
      dead = 1;
      return MOTE_DRV_FATAL;
    }
  }
  mote_notice("core up on the image of slot %d", mote_image_store_slot(NULL));
  return MOTE_DRV_RESTARTED;
}

int mote_drv_tick(uint32_t now_ms, uint32_t *next_ms) {
  if (dead) return MOTE_DRV_FATAL;
  if (mote_image_switch_pending()) {
    *next_ms = 0;
    return switch_image();
  }
  told_ms = now_ms;
  int st = mote_engine_tick(now_ms, next_ms);
  if (st != 0) *next_ms = 0; /* tick the new instance soon */
  return check(st, "mote_tick");
}

int mote_drv_clock(uint32_t now_ms) {
  if (dead) return MOTE_DRV_FATAL;
  if (now_ms == told_ms) return MOTE_DRV_OK;
  uint32_t next;
  return mote_drv_tick(now_ms, &next);
}

int mote_drv_shutdown(uint32_t *open_conns) {
  int st = mote_engine_shutdown(open_conns);
  if (st != 0) *open_conns = 0;
  return check(st, "mote_shutdown");
}
