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
#include "mote_abi.h"
#include "mote_opts.h"
#include "mote_lwip.h"
#include "port.h"
#if MOTE_TLS
#include "../tls/tls.h"
#endif

#define LINGER_POLL 1      /* tcp_poll interval: lwIP coarse ticks (500 ms) */
#define LINGER_POLLS ((MOTE_CLOSE_LINGER_MS + 499) / 500)

/* TLS builds (MOTE_TLS): S_HANDSHAKE, a connection the core does not know
 * yet (it hears of it when the handshake is done); S_TLS_CLOSING, one the
 * core closed gracefully, kept until mbedTLS's held output and close_notify
 * are out (the core has forgotten it) */
enum { S_FREE, S_OPEN, S_CLOSING, S_HANDSHAKE, S_TLS_CLOSING };

struct slot {
  struct tcp_pcb *pcb;
  struct pbuf *rxq;   /* received, not yet consumed by the core */
  uint32_t starved_at;
  uint8_t state;
  uint8_t want_wr;    /* the core asked for mote_writable */
  uint8_t paused;     /* the core paused reading */
  uint8_t starved;    /* rx space was 0: retry after MOTE_STARVE_RETRY_MS */
  uint8_t peer_fin;   /* the peer closed its side */
  uint8_t broken;     /* a send failed: CLOSED_* reason + 1, reported from the loop */
  uint8_t listener;
  int16_t next_free;
#if MOTE_TLS
  struct mote_tls *tls; /* NULL: plaintext */
  uint32_t tls_deadline; /* handshake / close_notify: give up at this time */
  uint32_t tls_start;    /* accept time (ms) */
#endif
};

static struct slot slots[MOTE_BOARD_MAX_CONNS];
static uint32_t nslots;
static int32_t free_head = -1;
static uint32_t n_open, n_linger, n_events;
static struct tcp_pcb *listeners[MOTE_MAX_LISTENERS];
static uint16_t peer_limit[MOTE_MAX_LISTENERS]; /* connections at once from one address (sock_listen flags); 0: none */
/* TCP keepalive for pcbs accepted on each listener, ms (idle 0: off) */
static struct {
  uint32_t idle_ms, intvl_ms, cnt;
} ka[MOTE_MAX_LISTENERS];
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
  if (v < 0 || (uint32_t)v >= nslots || slots[v].pcb != pcb) return -1;
  uint8_t st = slots[v].state;
  if (st != S_OPEN && st != S_HANDSHAKE && st != S_TLS_CLOSING) return -1;
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
#if MOTE_TLS
  if (s->tls) mote_tls_free(s->tls);
#endif
  free_push(id);
  if (pcb) {
    if (reason == MOTE_CLOSED_PEER) close_graceful(pcb, fin);
    else abort_pcb(pcb);
  }
  return r;
}

#if MOTE_TLS
static int tls_deliver(int32_t id);
#endif

/* Feed queued input to the core while it has room. */
static int deliver(int32_t id) {
  struct slot *s = &slots[id];
#if MOTE_TLS
  if (s->tls) return tls_deliver(id);
#endif
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

/* ---- TLS (MOTE_TLS builds: platform/tls over mbedTLS) ------------------------- */
#if MOTE_TLS
static struct mote_tls_server *tls_cmd;                   /* the command line's: every listener */
static struct mote_tls_listener lis_tls[MOTE_MAX_LISTENERS]; /* each listener's (platform/tls) */
static uint32_t tls_hs_ms = 10000;                         /* handshake timeout */

void mote_lwip_tls_enable(struct mote_tls_server *srv, uint32_t handshake_ms) {
  tls_cmd = srv;
  tls_hs_ms = handshake_ms;
}

/* mbedTLS's I/O: records leave through tcp_write (copied: lwIP keeps them
 * until acknowledged), and come from the slot's receive queue, whose bytes
 * are acknowledged to the peer (tcp_recved) as mbedTLS takes them. */
static int tls_io_send(void *ctx, const uint8_t *buf, size_t len) {
  struct slot *s = ctx;
  if (!s->pcb) return MOTE_TLS_IO_ERROR;
  uint32_t room = tcp_sndbuf(s->pcb);
  if (tcp_sndqueuelen(s->pcb) >= TCP_SND_QUEUELEN - 1) room = 0;
  uint32_t n = len < room ? (uint32_t)len : room;
  if (n == 0) return MOTE_TLS_IO_AGAIN;
  err_t e = tcp_write(s->pcb, buf, (u16_t)n, TCP_WRITE_FLAG_COPY);
  while (e == ERR_MEM && n > TCP_MSS) {
    n = TCP_MSS;
    e = tcp_write(s->pcb, buf, (u16_t)n, TCP_WRITE_FLAG_COPY);
  }
  if (e == ERR_MEM) {
    tcp_output(s->pcb);
    return MOTE_TLS_IO_AGAIN;
  }
  if (e != ERR_OK) return MOTE_TLS_IO_ERROR;
  tcp_output(s->pcb);
  return (int)n;
}

static int tls_io_recv(void *ctx, uint8_t *buf, size_t len) {
  struct slot *s = ctx;
  if (!s->rxq) return s->peer_fin ? 0 : MOTE_TLS_IO_AGAIN;
  uint32_t want = s->rxq->tot_len < len ? s->rxq->tot_len : (uint32_t)len;
  u16_t n = pbuf_copy_partial(s->rxq, buf, (u16_t)want, 0);
  s->rxq = pbuf_free_header(s->rxq, n);
  if (s->pcb) tcp_recved(s->pcb, n);
  return n;
}

/* A TLS slot the core does not know (handshaking, closing): gone now. */
static void tls_drop(int32_t id, int graceful) {
  struct slot *s = &slots[id];
  struct tcp_pcb *pcb = s->pcb;
  int fin = s->peer_fin;
  if (s->tls) mote_tls_free(s->tls);
  s->tls = NULL;
  drop_rxq(s);
  free_push(id);
  if (pcb) {
    if (graceful) close_graceful(pcb, fin);
    else abort_pcb(pcb);
  }
}

static int tls_handshake_step(int32_t id) {
  struct slot *s = &slots[id];
  int r = mote_tls_handshake(s->tls);
  if (r == MOTE_TLS_WANT_READ || r == MOTE_TLS_WANT_WRITE) return H_OK;
  if (r != 0) {
    char why[160];
    mote_notice("conn %d: TLS handshake failed: %s", (int)id, mote_tls_strerror(r, why, sizeof why));
    tls_drop(id, 0);
    return H_OK;
  }
  size_t now, peak;
  mote_tls_heap(s->tls, &now, &peak);
  mote_info("conn %d: TLS handshake done: %s %s in %u ms; TLS heap %u B, peak %u B; shared %u B", (int)id,
            mote_tls_version(s->tls), mote_tls_suite(s->tls), (unsigned)(sys_now() - s->tls_start), (unsigned)now,
            (unsigned)peak, (unsigned)mote_tls_heap_shared());
  s->state = S_OPEN;
  n_open++;
  int32_t res = MOTE_ACCEPT_REFUSED;
  r = drv(mote_drv_accepted(s->listener, (uint32_t)id, mote_tls_vhost(s->tls), &res));
  if (r != H_OK) return r;
  if (res != MOTE_ACCEPT_OK && s->state == S_OPEN) {
    n_open--; /* the core refused it (and logged why): it never knew it */
    tls_drop(id, 0);
    return H_OK;
  }
  return deliver(id); /* a request may have come with the last handshake flight */
}

/* Decrypt queued input into the core's buffer while it has room. */
static int tls_deliver(int32_t id) {
  struct slot *s = &slots[id];
  while (s->state == S_OPEN && !s->paused && (s->rxq || s->peer_fin || mote_tls_pending(s->tls))) {
    uint8_t *buf;
    uint32_t space;
    int r = drv(mote_drv_rx_buffer((uint32_t)id, &buf, &space));
    if (r != H_OK || s->state != S_OPEN) return r;
    if (space == 0) {
      s->starved = 1;
      s->starved_at = sys_now();
      return H_OK;
    }
    int n = mote_tls_read(s->tls, buf, space);
    if (n > 0) {
      r = drv(mote_drv_received((uint32_t)id, (uint32_t)n));
      if (r != H_OK) return r;
      continue;
    }
    if (n == MOTE_TLS_WANT_READ || n == MOTE_TLS_WANT_WRITE) return H_OK;
    if (n == MOTE_TLS_EOF) return report_closed(id, MOTE_CLOSED_PEER);
    char why[160];
    mote_notice("conn %d: TLS: %s; closing", (int)id, mote_tls_strerror(n, why, sizeof why));
    return report_closed(id, MOTE_CLOSED_ERROR);
  }
  return H_OK;
}

/* Closing gracefully: held output and close_notify out, then lwIP's close. */
static void tls_close_step(int32_t id) {
  struct slot *s = &slots[id];
  int r = mote_tls_close_notify(s->tls);
  if (r == MOTE_TLS_WANT_WRITE && s->pcb && (int32_t)(sys_now() - s->tls_deadline) < 0) return; /* on_sent goes on */
  tls_drop(id, r == 0);
}

static void tls_free_all(void) {
  for (uint32_t i = 0; i < nslots; i++)
    if (slots[i].tls) {
      mote_tls_free(slots[i].tls);
      slots[i].tls = NULL;
    }
}

/* The vhosts' own configurations, once no session is left that uses them. */
static void tls_own_free(void) {
  for (int l = 0; l < MOTE_MAX_LISTENERS; l++) mote_tls_listener_drop(&lis_tls[l], NULL);
}
#endif

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
#if MOTE_TLS
  if (s->state == S_HANDSHAKE) {
    tls_handshake_step(id);
    return cb_end();
  }
  if (s->state == S_TLS_CLOSING) { /* input is of no use any more */
    drop_rxq(s);
    if (s->peer_fin) tls_close_step(id);
    return cb_end();
  }
#endif
  deliver(id);
  return cb_end();
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
  (void)len;
  int32_t id = slot_of(arg, pcb);
#if MOTE_TLS
  if (id >= 0 && slots[id].tls) {
    struct slot *s = &slots[id];
    cb_begin(pcb);
    if (s->state == S_HANDSHAKE) tls_handshake_step(id);
    else if (s->state == S_TLS_CLOSING) tls_close_step(id);
    else {
      int r = mote_tls_flush(s->tls); /* a record the send buffer did not take whole */
      if (r < 0 && r != MOTE_TLS_WANT_WRITE) s->broken = MOTE_CLOSED_ERROR + 1;
      else if (r == 0 && s->want_wr) drv(mote_drv_writable((uint32_t)id));
    }
    return cb_end();
  }
#endif
  if (id < 0 || !slots[id].want_wr) return ERR_OK;
  cb_begin(pcb);
  drv(mote_drv_writable((uint32_t)id));
  return cb_end();
}

static void on_err(void *arg, err_t err) {
  intptr_t v = (intptr_t)arg - 1;
#if MOTE_TLS
  if (v >= 0 && (uint32_t)v < nslots && (slots[v].state == S_HANDSHAKE || slots[v].state == S_TLS_CLOSING)) {
    slots[v].pcb = NULL; /* lwIP has freed it; the core never knew this one */
    mote_debug("conn %d: tcp error %d during the TLS %s", (int)v, (int)err, slots[v].state == S_HANDSHAKE ? "handshake" : "close");
    tls_drop((int32_t)v, 0);
    return;
  }
#endif
  if (v < 0 || (uint32_t)v >= nslots || slots[v].state != S_OPEN) return;
  struct slot *s = &slots[v];
  s->pcb = NULL; /* lwIP has freed it */
  if (s->rxq) {
    pbuf_free(s->rxq);
    s->rxq = NULL;
  }
  mote_debug("conn %d: tcp error %d", (int)v, (int)err);
  /* ERR_ABRT reaches a callback of ours only from tcp_slowtmr (we remove
   * our callbacks before every tcp_abort of our own, and our pcbs have the
   * top priority, so lwIP never recycles them): keepalive probes
   * unanswered, or retransmissions given up (TCP_MAXRTX) */
  report_closed((int32_t)v, err == ERR_ABRT ? MOTE_CLOSED_TIMEOUT : err == ERR_RST ? MOTE_CLOSED_RESET : MOTE_CLOSED_ERROR);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
  uint32_t l = (uint32_t)(uintptr_t)arg;
  if (err != ERR_OK || !pcb) return ERR_VAL;
  if (l < MOTE_MAX_LISTENERS && peer_limit[l] && accepting) {
    /* nginx limit_conn: connections at once from this peer's address */
    uint32_t n = 0;
    for (uint32_t i = 0; i < nslots; i++)
      if ((slots[i].state == S_OPEN || slots[i].state == S_HANDSHAKE) && slots[i].pcb && ip_addr_cmp(&slots[i].pcb->remote_ip, &pcb->remote_ip)) n++;
    if (n >= peer_limit[l]) {
      static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n"
                                 "Connection: close\r\nRetry-After: 1\r\n\r\ntoo many connections from your address\r\n";
      mote_info("accept: refused: %u connections from one address already (the per-peer limit)", (unsigned)peer_limit[l]);
      tcp_arg(pcb, NULL);
#if MOTE_TLS
      if (!lis_tls[l].use)
#endif
        if (tcp_write(pcb, busy, sizeof busy - 1, 0) == ERR_OK) tcp_output(pcb);
      if (tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb);
        return ERR_ABRT;
      }
      return ERR_OK;
    }
  }
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
  if (l < MOTE_MAX_LISTENERS && ka[l].idle_ms) {
    /* lwIP's keepalive (tcp_slowtmr, 500 ms ticks) counts from the last
     * segment received, whether or not data is in flight: a peer silent for
     * idle + cnt * intvl is aborted with ERR_ABRT (-> on_err) */
    ip_set_option(pcb, SOF_KEEPALIVE);
    pcb->keep_idle = ka[l].idle_ms;
    if (ka[l].intvl_ms) pcb->keep_intvl = ka[l].intvl_ms;
    if (ka[l].cnt) pcb->keep_cnt = ka[l].cnt;
  }
#if MOTE_TLS
  if (l < MOTE_MAX_LISTENERS && lis_tls[l].use) {
    /* the core hears of it once the handshake is done (tls_handshake_step) */
    n_open--;
    struct mote_tls_io io = {.send = tls_io_send, .recv = tls_io_recv, .ctx = s};
    s->tls = mote_tls_server_new(lis_tls[l].use, &io);
    if (!s->tls) {
      mote_notice("conn %d: refused: no heap for a TLS session (%u B shared in use)", (int)id, (unsigned)mote_tls_heap_shared());
      free_push(id);
      abort_pcb(pcb);
      return ERR_ABRT;
    }
    s->state = S_HANDSHAKE;
    s->tls_start = sys_now();
    s->tls_deadline = s->tls_start + tls_hs_ms;
    mote_debug("conn %d: accepted on listener %u, TLS handshake", (int)id, (unsigned)l);
    return ERR_OK;
  }
#endif
  mote_debug("conn %d: accepted on listener %u", (int)id, (unsigned)l);
  cb_begin(pcb);
  int32_t res = MOTE_ACCEPT_REFUSED;
  int r = drv(mote_drv_accepted(l, (uint32_t)id, MOTE_VHOST_ANY, &res));
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
  for (int l = 0; l < MOTE_MAX_LISTENERS; l++) n += listeners[l] != NULL;
  return n;
}

int32_t port_sock_listen(uint32_t port, const char *iface, uint32_t iface_len, uint32_t flags) {
  if (iface_len) mote_notice("listen: interface '%.*s' ignored (one netif)", (int)iface_len, iface);
  if (flags & MOTE_LISTEN_IPV6) mote_info("listen: IPv6 not built on this board; IPv4 only");
  /* one interface: a vhost on the port of an open listener shares it */
  for (int o = 0; o < MOTE_MAX_LISTENERS; o++)
    if (listeners[o] && listeners[o]->local_port == port && port != 0) return o; /* the first vhost's limit stays */
  int l = 0;
  while (l < MOTE_MAX_LISTENERS && listeners[l]) l++;
  if (l == MOTE_MAX_LISTENERS) {
    mote_err("listen: listener table full (%d)", MOTE_MAX_LISTENERS);
    return -MOTE_ERR_NOSPC;
  }
  struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
  if (!pcb) {
    mote_err("listen: out of TCP PCBs");
    return -MOTE_ERR_NOMEM;
  }
  /* like SO_REUSEADDR on Linux: a restarted core binds again while pcbs of
   * the old one (accepted pcbs inherit the flag) linger in TIME_WAIT */
  ip_set_option(pcb, SOF_REUSEADDR);
  err_t e = tcp_bind(pcb, IP4_ADDR_ANY, (u16_t)port);
  if (e != ERR_OK) {
    mote_err("listen: port %u: %s", (unsigned)port, lwip_strerr(e));
    tcp_close(pcb);
    return e == ERR_USE ? -MOTE_ERR_ADDRINUSE : -MOTE_ERR_INVAL;
  }
  struct tcp_pcb *lp = tcp_listen_with_backlog_and_err(pcb, MOTE_BOARD_NET_LISTEN_BACKLOG, &e);
  if (!lp) {
    mote_err("listen: port %u: %s", (unsigned)port, lwip_strerr(e));
    tcp_close(pcb);
    return -MOTE_ERR_NOMEM;
  }
  listeners[l] = lp;
  peer_limit[l] = (uint16_t)(flags >> MOTE_LISTEN_PEER_LIMIT_SHIFT);
#if MOTE_TLS
  mote_tls_listener_open(&lis_tls[l], tls_cmd);
#endif
  tcp_arg(lp, (void *)(uintptr_t)l);
  tcp_accept(lp, on_accept);
  mote_notice("listening on port %u (listener %d, backlog %d)", (unsigned)port, l, MOTE_BOARD_NET_LISTEN_BACKLOG);
  return l;
}

int32_t port_sock_tls(uint32_t listener, uint32_t vhost, const uint8_t *opts, uint32_t opts_len) {
  if (listener >= MOTE_MAX_LISTENERS || !listeners[listener]) {
    mote_err("sock_tls: listener %u is not open", (unsigned)listener);
    return -MOTE_ERR_BADF;
  }
#if MOTE_TLS
  return mote_tls_listener_add(&lis_tls[listener], tls_cmd, listener, vhost, opts, opts_len);
#else
  (void)vhost, (void)opts, (void)opts_len;
  mote_err("sock_tls: listener %u: this firmware has no TLS (build it with --tls)", (unsigned)listener);
  return -MOTE_ERR_NOSYS;
#endif
}

/* The client role is not on the board yet (docs/abi.md: lwIP's tcp_connect
 * and dns_gethostbyname): the core logs the refusal and the app's connect
 * returns null. */
int32_t port_sock_connect(const char *host, uint32_t host_len, uint32_t port, uint32_t flags) {
  (void)flags;
  mote_notice("sock_connect %.*s:%u: this port has no client connections yet", (int)host_len, host, (unsigned)port);
  return -MOTE_ERR_NOSYS;
}

int32_t port_sock_keepalive(uint32_t listener, uint32_t time_s, uint32_t probes, uint32_t interval_s) {
  if (listener >= MOTE_MAX_LISTENERS || !listeners[listener]) {
    mote_err("sock_keepalive: listener %u is not open", (unsigned)listener);
    return -MOTE_ERR_BADF;
  }
  /* keep_idle and keep_intvl are u32 milliseconds */
  if (time_s == 0 || time_s > UINT32_MAX / 1000 || interval_s > UINT32_MAX / 1000) return -MOTE_ERR_INVAL;
  ka[listener].idle_ms = time_s * 1000u;
  ka[listener].intvl_ms = interval_s * 1000u; /* 0: TCP_KEEPINTVL_DEFAULT */
  ka[listener].cnt = probes;                  /* 0: TCP_KEEPCNT_DEFAULT */
  return 0;
}

int32_t port_sock_send(uint32_t conn, const uint8_t *buf, uint32_t len) {
  struct slot *s = core_slot(conn, "sock_send");
  if (!s || s->broken || !s->pcb) return -1;
  if (len == 0) return 0;
#if MOTE_TLS
  if (s->tls) {
    /* bytes taken are encrypted; a record lwIP did not take whole is held
     * by mbedTLS and flushed from on_sent / the service loop */
    int n = mote_tls_write(s->tls, buf, len);
    if (n >= 0) return n;
    char why[160];
    mote_debug("conn %u: TLS send: %s", (unsigned)conn, mote_tls_strerror(n, why, sizeof why));
    s->broken = MOTE_CLOSED_ERROR + 1;
    return -1;
  }
#endif
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
#if MOTE_TLS
  if (s->tls) {
    if (mode == MOTE_CLOSE_GRACEFUL && !broken && pcb) {
      mote_debug("conn %u: closing gracefully (TLS)", (unsigned)conn);
      s->state = S_TLS_CLOSING; /* the core has forgotten it; the slot is reused once closed */
      s->want_wr = 0;
      drop_rxq(s);
      s->tls_deadline = sys_now() + MOTE_CLOSE_LINGER_MS;
      tls_close_step((int32_t)conn);
      return;
    }
    mote_tls_free(s->tls);
    s->tls = NULL;
  }
#endif
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

#if MOTE_TLS
#define TLS_PENDING(s) ((s)->tls && mote_tls_pending((s)->tls)) /* decrypted input held by mbedTLS */
#define TLS_HELD(s) ((s)->tls && mote_tls_want_write((s)->tls)) /* encrypted output held */
#else
#define TLS_PENDING(s) 0
#define TLS_HELD(s) 0
#endif

int mote_lwip_service(uint32_t now) {
  int busy = 0;
  for (uint32_t i = 0; i < nslots && !fatal; i++) {
    struct slot *s = &slots[i];
#if MOTE_TLS
    if (s->state == S_HANDSHAKE || s->state == S_TLS_CLOSING) {
      if ((int32_t)(now - s->tls_deadline) >= 0) {
        if (s->state == S_HANDSHAKE) mote_notice("conn %u: TLS handshake timed out after %u ms; closing", (unsigned)i, (unsigned)tls_hs_ms);
        tls_drop((int32_t)i, 0);
        busy = 1;
      }
      continue;
    }
    if (s->state == S_OPEN && s->tls && !s->broken && mote_tls_want_write(s->tls) && s->pcb && tcp_sndbuf(s->pcb) > 0 &&
        tcp_sndqueuelen(s->pcb) < TCP_SND_QUEUELEN - 1) {
      int f = mote_tls_flush(s->tls);
      if (f < 0 && f != MOTE_TLS_WANT_WRITE) s->broken = MOTE_CLOSED_ERROR + 1;
      busy = 1;
    }
#endif
    if (s->state != S_OPEN) continue;
    int r = H_OK;
    if (s->broken) {
      r = report_closed((int32_t)i, s->broken - 1u);
      busy = 1;
    } else if (((s->rxq || TLS_PENDING(s)) && !s->paused && (!s->starved || now - s->starved_at >= MOTE_STARVE_RETRY_MS)) ||
               (s->peer_fin && !s->rxq)) {
      s->starved = 0;
      r = deliver((int32_t)i);
      busy = 1;
    }
    if (r == H_RESTARTED) return 1; /* everything was dropped */
    if (r == H_FATAL) return -1;
    /* level-triggered writable: while wanted and the socket takes bytes */
    if (s->state == S_OPEN && s->want_wr && s->pcb && tcp_sndbuf(s->pcb) > 0 && !TLS_HELD(s) &&
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
#if MOTE_TLS
    if (s->state == S_HANDSHAKE || s->state == S_TLS_CLOSING) {
      uint32_t left = (int32_t)(s->tls_deadline - now) > 0 ? s->tls_deadline - now : 0;
      if (left < t) t = left;
      continue;
    }
    if (s->state == S_OPEN && TLS_HELD(s) && s->pcb && tcp_sndbuf(s->pcb) > 0 && tcp_sndqueuelen(s->pcb) < TCP_SND_QUEUELEN - 1)
      return 0; /* else on_sent flushes when the peer acknowledges */
#endif
    if (s->state != S_OPEN) continue;
    if (s->broken || (s->peer_fin && !s->rxq)) return 0;
    if ((s->rxq || TLS_PENDING(s)) && !s->paused) {
      uint32_t waited = now - s->starved_at;
      uint32_t left = !s->starved || waited >= MOTE_STARVE_RETRY_MS ? 0 : MOTE_STARVE_RETRY_MS - waited;
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
  for (int l = 0; l < MOTE_MAX_LISTENERS; l++) {
    if (!listeners[l]) continue;
    tcp_arg(listeners[l], NULL);
    tcp_accept(listeners[l], NULL);
    tcp_close(listeners[l]); /* a listening pcb is freed at once */
    listeners[l] = NULL;
    peer_limit[l] = 0;
#if MOTE_TLS
    lis_tls[l].use = NULL; /* its own configuration stays until no session can use it (tls_own_free) */
#endif
    ka[l].idle_ms = 0;
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
#if MOTE_TLS
  tls_free_all();
#endif
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
#if MOTE_TLS
  tls_own_free(); /* every session was freed above */
#endif
  mote_notice("reset: dropped %u connections and %u listeners", (unsigned)nc, (unsigned)nl);
}

void mote_lwip_shutdown_all(void) {
#if MOTE_TLS
  for (uint32_t i = 0; i < nslots; i++)
    if (slots[i].state == S_HANDSHAKE || slots[i].state == S_TLS_CLOSING) tls_drop((int32_t)i, 0);
#endif
  for (uint32_t i = 0; i < nslots; i++) {
    if (slots[i].state != S_OPEN) continue;
    if (report_closed((int32_t)i, MOTE_CLOSED_SHUTDOWN) != H_OK) break; /* everything is closed */
  }
  close_listeners();
#if MOTE_TLS
  tls_own_free(); /* every connection is gone */
#endif
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
