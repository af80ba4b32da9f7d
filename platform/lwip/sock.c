/* port.h over lwIP's raw TCP API. See mote_lwip.h.
 *
 * Callback rules kept here:
 * - lwIP callbacks (accept, recv, sent, err) run from the board's main loop
 *   (netif input, timers), never inside a module call, so they may call the
 *   driver (mote_drv_*). The port_sock_* imports run inside module calls and
 *   only call lwIP functions that do not call back (tcp_write, tcp_output,
 *   tcp_close, tcp_abort with our callbacks removed first).
 * - A callback whose own pcb was aborted meanwhile (the core closed it with
 *   CLOSE_ABORT, or a trap restart dropped everything) returns ERR_ABRT, as
 *   lwIP requires. */
#include <stdio.h>
#include <string.h>

#include "lwip/memp.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"

#include "../common/driver.h"
#include "board_config.h"
#include "mote_abi.h"
#include "mote_lwip.h"
#include "port.h"

#define MAX_LISTENERS 2
#define STARVE_RETRY_MS 10 /* retry a read the core had no room for */
#define LINGER_POLL 1      /* tcp_poll interval: lwIP coarse ticks (500 ms) */
#define LINGER_POLLS ((MOTE_CLOSE_LINGER_MS + 499) / 500)

enum { S_FREE, S_OPEN, S_CLOSING };

struct slot {
  struct tcp_pcb *pcb;
  struct pbuf *rxq;   /* received, not yet consumed by the core */
  uint32_t starved_at;
  uint8_t state;
  uint8_t want_wr;    /* the core asked for mote_writable */
  uint8_t paused;     /* the core paused reading */
  uint8_t starved;    /* rx space was 0: retry after STARVE_RETRY_MS */
  uint8_t peer_fin;   /* the peer closed its side */
  uint8_t broken;     /* a send failed: CLOSED_* reason + 1, reported from the loop */
  uint8_t listener;
  int16_t next_free;
};

static struct slot slots[MOTE_BOARD_MAX_CONNS];
static uint32_t nslots;
static int32_t free_head = -1;
static uint32_t n_open, n_linger, n_events;
static struct tcp_pcb *listeners[MAX_LISTENERS];
static int accepting = 1;
static int fatal;

/* the pcb whose callback is running, and whether it was aborted meanwhile */
static struct tcp_pcb *cb_pcb;
static int cb_aborted;

#define H_OK 0
#define H_RESTARTED 1
#define H_FATAL (-1)

static int drv(int st) {
  n_events++;
  if (st == MOTE_DRV_FATAL) fatal = 1;
  return st == MOTE_DRV_OK ? H_OK : st == MOTE_DRV_RESTARTED ? H_RESTARTED : H_FATAL;
}

static inline void *arg_of(int32_t id) { return (void *)(intptr_t)(id + 1); }

static int32_t slot_of(void *arg, struct tcp_pcb *pcb) {
  intptr_t v = (intptr_t)arg - 1;
  if (v < 0 || (uint32_t)v >= nslots || slots[v].pcb != pcb || slots[v].state != S_OPEN) return -1;
  return (int32_t)v;
}

static void free_push(int32_t id) {
  memset(&slots[id], 0, sizeof slots[id]);
  slots[id].next_free = (int16_t)free_head;
  free_head = id;
}

static int32_t free_pop(void) {
  int32_t id = free_head;
  if (id >= 0) free_head = slots[id].next_free;
  return id;
}

static void detach(struct tcp_pcb *pcb) {
  tcp_arg(pcb, NULL);
  tcp_recv(pcb, NULL);
  tcp_sent(pcb, NULL);
  tcp_err(pcb, NULL);
  tcp_poll(pcb, NULL, 0);
}

/* Abort with our callbacks removed (tcp_abort would call tcp_err). */
static void abort_pcb(struct tcp_pcb *pcb) {
  detach(pcb);
  tcp_abort(pcb);
  if (pcb == cb_pcb) cb_aborted = 1;
}

static void cb_begin(struct tcp_pcb *pcb) {
  cb_pcb = pcb;
  cb_aborted = 0;
}

static err_t cb_end(void) {
  err_t e = cb_aborted ? ERR_ABRT : ERR_OK;
  cb_pcb = NULL;
  cb_aborted = 0;
  return e;
}

/* ---- lingering close: discard input until the peer closes or the linger
 * time passes; our FIN follows whatever was sent ----------------------------- */

static void linger_done(struct tcp_pcb *pcb) {
  detach(pcb);
  n_linger--;
  if (tcp_close(pcb) != ERR_OK) {
    tcp_abort(pcb);
    if (pcb == cb_pcb) cb_aborted = 1;
  }
}

static err_t linger_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  (void)arg, (void)err;
  cb_begin(pcb);
  if (p) {
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
  } else {
    linger_done(pcb);
  }
  return cb_end();
}

static err_t linger_poll(void *arg, struct tcp_pcb *pcb) {
  uintptr_t polls = (uintptr_t)arg + 1;
  cb_begin(pcb);
  if (polls >= LINGER_POLLS) linger_done(pcb);
  else tcp_arg(pcb, (void *)polls);
  return cb_end();
}

static void linger_err(void *arg, err_t err) {
  (void)arg, (void)err;
  n_linger--; /* the pcb is gone */
}

/* Hand a pcb the core no longer knows to lwIP for a graceful close. */
static void close_graceful(struct tcp_pcb *pcb, int peer_fin) {
  detach(pcb);
  tcp_setprio(pcb, TCP_PRIO_MIN); /* may be recycled for new connections */
  if (peer_fin) {
    /* both sides done: an ordinary close (LAST_ACK) */
    if (tcp_close(pcb) != ERR_OK) abort_pcb(pcb);
    return;
  }
  if (tcp_shutdown(pcb, 0, 1) != ERR_OK) {
    abort_pcb(pcb);
    return;
  }
  n_linger++;
  tcp_arg(pcb, (void *)0);
  tcp_recv(pcb, linger_recv);
  tcp_err(pcb, linger_err);
  tcp_poll(pcb, linger_poll, LINGER_POLL);
}

/* Drop a slot's queue, acknowledging it (so a close sends FIN, not RST). */
static void drop_rxq(struct slot *s) {
  if (!s->rxq) return;
  if (s->pcb) tcp_recved(s->pcb, s->rxq->tot_len);
  pbuf_free(s->rxq);
  s->rxq = NULL;
}

/* The core is told `reason`, then the socket is closed and the slot freed. */
static int report_closed(int32_t id, uint32_t reason) {
  struct slot *s = &slots[id];
  s->state = S_CLOSING; /* imports for it are ignored from here */
  n_open--;
  int r = drv(mote_drv_closed((uint32_t)id, reason));
  if (r == H_RESTARTED || s->state != S_CLOSING) return r; /* port_reset freed it */
  struct tcp_pcb *pcb = s->pcb;
  int fin = s->peer_fin;
  drop_rxq(s);
  free_push(id);
  if (pcb) {
    if (reason == MOTE_CLOSED_PEER) close_graceful(pcb, fin);
    else abort_pcb(pcb);
  }
  return r;
}

/* Feed queued input to the core while it has room. */
static int deliver(int32_t id) {
  struct slot *s = &slots[id];
  while (s->state == S_OPEN && s->rxq && !s->paused) {
    uint8_t *buf;
    uint32_t space;
    int r = drv(mote_drv_rx_buffer((uint32_t)id, &buf, &space));
    if (r != H_OK || s->state != S_OPEN) return r;
    if (space == 0) {
      s->starved = 1;
      s->starved_at = sys_now();
      return H_OK;
    }
    uint32_t want = s->rxq->tot_len < space ? s->rxq->tot_len : space;
    u16_t n = pbuf_copy_partial(s->rxq, buf, (u16_t)want, 0);
    s->rxq = pbuf_free_header(s->rxq, n);
    tcp_recved(s->pcb, n); /* the window reopens only for what was consumed */
    r = drv(mote_drv_received((uint32_t)id, n));
    if (r != H_OK) return r;
  }
  if (s->state == S_OPEN && !s->rxq && s->peer_fin) return report_closed(id, MOTE_CLOSED_PEER);
  return H_OK;
}

/* ---- lwIP callbacks ---------------------------------------------------------- */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  (void)err;
  int32_t id = slot_of(arg, pcb);
  if (id < 0) { /* not ours any more: discard */
    if (p) {
      tcp_recved(pcb, p->tot_len);
      pbuf_free(p);
    }
    return ERR_OK;
  }
  struct slot *s = &slots[id];
  if (!p) s->peer_fin = 1;
  else if (s->rxq) pbuf_cat(s->rxq, p);
  else s->rxq = p;
  cb_begin(pcb);
  deliver(id);
  return cb_end();
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
  (void)len;
  int32_t id = slot_of(arg, pcb);
  if (id < 0 || !slots[id].want_wr) return ERR_OK;
  cb_begin(pcb);
  drv(mote_drv_writable((uint32_t)id));
  return cb_end();
}

static void on_err(void *arg, err_t err) {
  intptr_t v = (intptr_t)arg - 1;
  if (v < 0 || (uint32_t)v >= nslots || slots[v].state != S_OPEN) return;
  struct slot *s = &slots[v];
  s->pcb = NULL; /* lwIP has freed it */
  if (s->rxq) {
    pbuf_free(s->rxq);
    s->rxq = NULL;
  }
  mote_debug("conn %d: tcp error %d", (int)v, (int)err);
  report_closed((int32_t)v, err == ERR_RST || err == ERR_ABRT ? MOTE_CLOSED_RESET : MOTE_CLOSED_ERROR);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
  uint32_t l = (uint32_t)(uintptr_t)arg;
  if (err != ERR_OK || !pcb) return ERR_VAL;
  int32_t id = accepting ? free_pop() : -1;
  if (id < 0) {
    if (accepting) mote_log_table_full(sys_now());
    tcp_abort(pcb);
    return ERR_ABRT;
  }
  struct slot *s = &slots[id];
  memset(s, 0, sizeof *s);
  s->pcb = pcb;
  s->state = S_OPEN;
  s->listener = (uint8_t)l;
  n_open++;
  tcp_arg(pcb, arg_of(id));
  tcp_recv(pcb, on_recv);
  tcp_sent(pcb, on_sent);
  tcp_err(pcb, on_err);
  tcp_nagle_disable(pcb);
  tcp_setprio(pcb, TCP_PRIO_MAX); /* never recycled for a newcomer */
  mote_debug("conn %d: accepted on listener %u", (int)id, (unsigned)l);
  cb_begin(pcb);
  int32_t res = MOTE_ACCEPT_REFUSED;
  int r = drv(mote_drv_accepted(l, (uint32_t)id, &res));
  if (r == H_OK && res != MOTE_ACCEPT_OK && s->state == S_OPEN && s->pcb == pcb) {
    n_open--; /* the core refused it (and logged why): it never knew it */
    free_push(id);
    abort_pcb(pcb);
  }
  return cb_end();
}

/* ---- imports ------------------------------------------------------------------ */

static struct slot *core_slot(uint32_t conn, const char *what) {
  if (conn >= nslots || slots[conn].state != S_OPEN) {
    if (conn >= nslots || slots[conn].state == S_FREE) mote_err("%s: connection %u is not open", what, (unsigned)conn);
    return NULL;
  }
  return &slots[conn];
}

uint32_t mote_lwip_listener_count(void) {
  uint32_t n = 0;
  for (int l = 0; l < MAX_LISTENERS; l++) n += listeners[l] != NULL;
  return n;
}

int32_t port_sock_listen(uint32_t port, const char *iface, uint32_t iface_len, uint32_t flags) {
  if (iface_len) mote_info("listen: interface '%.*s' ignored (one netif)", (int)iface_len, iface);
  if (flags & MOTE_LISTEN_IPV6) mote_info("listen: IPv6 not built on this board; IPv4 only");
  int l = 0;
  while (l < MAX_LISTENERS && listeners[l]) l++;
  if (l == MAX_LISTENERS) {
    mote_err("listen: listener table full (%d)", MAX_LISTENERS);
    return -28; /* ENOSPC */
  }
  struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
  if (!pcb) {
    mote_err("listen: out of TCP PCBs");
    return -12; /* ENOMEM */
  }
  err_t e = tcp_bind(pcb, IP4_ADDR_ANY, (u16_t)port);
  if (e != ERR_OK) {
    mote_err("listen: port %u: %s", (unsigned)port, lwip_strerr(e));
    tcp_close(pcb);
    return e == ERR_USE ? -98 /* EADDRINUSE */ : -22;
  }
  struct tcp_pcb *lp = tcp_listen_with_backlog_and_err(pcb, MOTE_BOARD_NET_LISTEN_BACKLOG, &e);
  if (!lp) {
    mote_err("listen: port %u: %s", (unsigned)port, lwip_strerr(e));
    tcp_close(pcb);
    return -12;
  }
  listeners[l] = lp;
  tcp_arg(lp, (void *)(uintptr_t)l);
  tcp_accept(lp, on_accept);
  mote_notice("listening on port %u (listener %d, backlog %d)", (unsigned)port, l, MOTE_BOARD_NET_LISTEN_BACKLOG);
  return l;
}

int32_t port_sock_send(uint32_t conn, const uint8_t *buf, uint32_t len) {
  struct slot *s = core_slot(conn, "sock_send");
  if (!s || s->broken || !s->pcb) return -1;
  if (len == 0) return 0;
  struct tcp_pcb *pcb = s->pcb;
  uint32_t room = tcp_sndbuf(pcb);
  if (tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN - 1) room = 0;
  uint32_t n = len < room ? len : room;
  if (n == 0) return 0;
  err_t e = tcp_write(pcb, buf, (u16_t)n, TCP_WRITE_FLAG_COPY);
  while (e == ERR_MEM && n > TCP_MSS) { /* lwIP's heap is short: try less */
    n = TCP_MSS;
    e = tcp_write(pcb, buf, (u16_t)n, TCP_WRITE_FLAG_COPY);
  }
  if (e == ERR_MEM) {
    tcp_output(pcb);
    return 0;
  }
  if (e != ERR_OK) {
    mote_debug("conn %u: tcp_write: %s", (unsigned)conn, lwip_strerr(e));
    s->broken = MOTE_CLOSED_ERROR + 1;
    return -1;
  }
  tcp_output(pcb);
  return (int32_t)n;
}

void port_sock_want_writable(uint32_t conn, uint32_t on) {
  struct slot *s = core_slot(conn, "sock_want_writable");
  if (s) s->want_wr = on != 0;
}

void port_sock_pause_rx(uint32_t conn, uint32_t paused) {
  struct slot *s = core_slot(conn, "sock_pause_rx");
  if (!s) return;
  s->paused = paused != 0;
  if (!paused) s->starved = 0; /* the core has room again */
}

void port_sock_close(uint32_t conn, uint32_t mode) {
  struct slot *s = core_slot(conn, "sock_close");
  if (!s) return;
  struct tcp_pcb *pcb = s->pcb;
  int fin = s->peer_fin, broken = s->broken;
  n_open--;
  drop_rxq(s);
  free_push((int32_t)conn);
  if (!pcb) return;
  if (mode == MOTE_CLOSE_GRACEFUL && !broken) {
    mote_debug("conn %u: closing gracefully", (unsigned)conn);
    close_graceful(pcb, fin);
  } else {
    mote_debug("conn %u: closed by core", (unsigned)conn);
    abort_pcb(pcb);
  }
}

/* ---- the loop's side ------------------------------------------------------------ */

int mote_lwip_service(uint32_t now) {
  int busy = 0;
  for (uint32_t i = 0; i < nslots && !fatal; i++) {
    struct slot *s = &slots[i];
    if (s->state != S_OPEN) continue;
    int r = H_OK;
    if (s->broken) {
      r = report_closed((int32_t)i, s->broken - 1u);
      busy = 1;
    } else if ((s->rxq && !s->paused && (!s->starved || now - s->starved_at >= STARVE_RETRY_MS)) ||
               (s->peer_fin && !s->rxq)) {
      s->starved = 0;
      r = deliver((int32_t)i);
      busy = 1;
    }
    if (r == H_RESTARTED) return 1; /* everything was dropped */
    if (r == H_FATAL) return -1;
    /* level-triggered writable: while wanted and the socket takes bytes */
    if (s->state == S_OPEN && s->want_wr && s->pcb && tcp_sndbuf(s->pcb) > 0 &&
        tcp_sndqueuelen(s->pcb) < TCP_SND_QUEUELEN - 1) {
      r = drv(mote_drv_writable(i));
      busy = 1;
      if (r == H_RESTARTED) return 1;
      if (r == H_FATAL) return -1;
    }
  }
  return fatal ? -1 : busy;
}

uint32_t mote_lwip_next_timeout(uint32_t now) {
  uint32_t t = UINT32_MAX;
  for (uint32_t i = 0; i < nslots; i++) {
    const struct slot *s = &slots[i];
    if (s->state != S_OPEN) continue;
    if (s->broken || (s->peer_fin && !s->rxq)) return 0;
    if (s->rxq && !s->paused) {
      uint32_t waited = now - s->starved_at;
      uint32_t left = !s->starved || waited >= STARVE_RETRY_MS ? 0 : STARVE_RETRY_MS - waited;
      if (left < t) t = left;
    }
  }
  return t;
}

uint32_t mote_lwip_events(void) { return n_events; }
uint32_t mote_lwip_open_count(void) { return n_open; }
uint32_t mote_lwip_linger_count(void) { return n_linger; }
int mote_lwip_fatal(void) { return fatal; }

static void close_listeners(void) {
  for (int l = 0; l < MAX_LISTENERS; l++) {
    if (!listeners[l]) continue;
    tcp_arg(listeners[l], NULL);
    tcp_accept(listeners[l], NULL);
    tcp_close(listeners[l]); /* a listening pcb is freed at once */
    listeners[l] = NULL;
  }
}

void mote_lwip_stop_accepting(void) {
  accepting = 0;
  close_listeners();
}

static void reset_tables(void) {
  free_head = -1;
  for (int32_t i = (int32_t)nslots - 1; i >= 0; i--) free_push(i);
  n_open = 0;
}

void port_reset(void) {
  uint32_t nc = 0;
  for (uint32_t i = 0; i < nslots; i++) {
    struct slot *s = &slots[i];
    if (s->state == S_FREE) continue;
    if (s->rxq) pbuf_free(s->rxq);
    s->rxq = NULL;
    if (s->pcb) abort_pcb(s->pcb);
    nc++;
  }
  reset_tables();
  uint32_t nl = mote_lwip_listener_count();
  close_listeners(); /* the restarted core listens again */
  mote_notice("reset: dropped %u connections and %u listeners", (unsigned)nc, (unsigned)nl);
}

void mote_lwip_shutdown_all(void) {
  for (uint32_t i = 0; i < nslots; i++) {
    if (slots[i].state != S_OPEN) continue;
    if (report_closed((int32_t)i, MOTE_CLOSED_SHUTDOWN) != H_OK) break; /* everything is closed */
  }
  close_listeners();
}

void mote_lwip_init(uint32_t n) {
  nslots = n > MOTE_BOARD_MAX_CONNS ? MOTE_BOARD_MAX_CONNS : n;
  memset(slots, 0, sizeof slots);
  reset_tables();
}

/* ---- memory report ---------------------------------------------------------------- */

static const char *const pool_names[] = {
#define LWIP_MEMPOOL(name, num, size, desc) #name,
#include "lwip/priv/memp_std.h"
};

static uint32_t pcb_count(struct tcp_pcb *p) {
  uint32_t n = 0;
  for (; p; p = p->next) n++;
  return n;
}

int mote_lwip_mem_format(char *buf, uint32_t cap) {
  uint32_t pool_bytes = 0, pool_reserved = 0;
  for (int i = 0; i < MEMP_MAX; i++) {
    pool_bytes += (uint32_t)memp_pools[i]->stats->used * memp_pools[i]->size;
    pool_reserved += (uint32_t)memp_pools[i]->num * memp_pools[i]->size;
  }
  int n = snprintf(buf, cap,
                   "lwip_heap_used=%u lwip_heap_max=%u lwip_heap_size=%u lwip_pools_used=%u lwip_pools_size=%u "
                   "pbuf_used=%u pcb_used=%u tcp_active=%u tcp_tw=%u port_open=%u port_linger=%u port_slot=%u port_slots=%u",
                   (unsigned)lwip_stats.mem.used, (unsigned)lwip_stats.mem.max, (unsigned)MEM_SIZE, (unsigned)pool_bytes,
                   (unsigned)pool_reserved, (unsigned)memp_pools[MEMP_PBUF_POOL]->stats->used,
                   (unsigned)memp_pools[MEMP_TCP_PCB]->stats->used, (unsigned)pcb_count(tcp_active_pcbs),
                   (unsigned)pcb_count(tcp_tw_pcbs), (unsigned)n_open, (unsigned)n_linger, (unsigned)sizeof(struct slot),
                   (unsigned)nslots);
  /* each pool: name=used/num*size */
  for (int i = 0; i < MEMP_MAX && n >= 0 && (uint32_t)n < cap; i++)
    n += snprintf(buf + n, cap - (uint32_t)n, " %s=%u/%u*%u", pool_names[i], (unsigned)memp_pools[i]->stats->used,
                  (unsigned)memp_pools[i]->num, (unsigned)memp_pools[i]->size);
  return n;
}
