/* The BSD-socket port: one for every system with sockets and poll(2), the
 * Linux simulator and ESP-IDF's lwIP sockets alike (Mongoose's sock.c). The
 * connection table (handles given to the core are slot numbers, not
 * descriptors), listeners, the port_sock_* imports, TLS through
 * platform/tls, and the handlers of socket readiness: a loop backend
 * (loop.h) hands each ready descriptor to sock_event(). What differs
 * between systems is behind arch.h. Tables are allocated once in
 * sock_init(). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "../common/driver.h"
#include "mote_abi.h"
#include "mote_opts.h"
#include "port.h"
#include "sock.h"
#if MOTE_TLS
#include "../tls/tls.h"
#else
#include "../tls/tls_none.h" /* TLS's calls answering as for plaintext: the TLS paths fold away */
#endif

/* S_HANDSHAKE: a TLS connection the core does not know yet (it is told at
 * the end of the handshake; the port times the handshake out) */
/* S_CONNECTING: a client connection (port_sock_connect) until the kernel
 * says whether it is up (writable, then SO_ERROR). */
enum { S_FREE, S_OPEN, S_LINGER, S_DYING, S_HANDSHAKE, S_CONNECTING };

struct slot {
  int fd;
  uint8_t state;
  uint8_t want_wr;    /* core asked for mote_writable */
  uint8_t paused;     /* core paused reading */
  uint8_t starved;    /* rx space was 0: reads off until the retry timer */
  uint8_t broken;     /* a send failed: CLOSED_* reason + 1, reported from the loop */
  uint8_t in_pending; /* on the pending list */
  uint8_t in_starved; /* on the starved list */
  uint8_t evmask;     /* EV_* registered with the loop */
  uint32_t batch;     /* service pass that opened it (its events are stale) */
  uint32_t deadline;  /* lingering close / TLS handshake: give up at this time */
  /* TLS (listeners with cfg.tls): the session, or NULL for plaintext */
  struct mote_tls *tls;
  uint8_t listener;   /* accepted on (told to the core after the handshake) */
  uint8_t hs_want;    /* handshake: EV_IN or EV_OUT */
  uint8_t tls_rd_wr;  /* a TLS read needs the socket writable first */
  uint8_t tls_shut;   /* lingering: close_notify sent, write side shut */
  uint8_t in_ready;   /* on the TLS ready list */
  int io_errno;       /* errno of the last failed TLS socket call */
  int32_t rnext;      /* TLS ready list: decrypted input held, no socket event will come */
  uint32_t hs_start;  /* accept time (ms) */
  uint64_t hs_cpu_ns; /* CPU time spent in the handshake */
  int32_t next, prev; /* free list (next) or linger list */
  int32_t pnext;      /* pending list */
  int32_t snext;      /* starved list */
  uint8_t peer[16];   /* the peer's address (IPv4 mapped into IPv6), for the per-peer limit */
};

struct listener {
  int fd;
  uint8_t active;
  uint8_t parked;  /* kept open across a core restart, until re-claimed */
  uint8_t backoff;
  uint8_t v6only;
  uint32_t port;   /* the port the core asked for (0: any) */
  uint8_t v6;      /* bound to an IPv6 address */
  char iface[48];  /* the address bound (the vhost's, or the port's default) */
  uint32_t resume_at;
  struct mote_tls_listener tls; /* what its connections get (platform/tls) */
  /* TCP keepalive for accepted sockets (port_sock_keepalive); idle 0: off */
  int ka_idle, ka_intvl, ka_cnt;
  unsigned ka_user_timeout_ms;
  uint32_t peer_limit; /* connections at once from one address (sock_listen flags); 0: none */
};

static struct sock_config cfg;
static void close_listener(int l);
static struct slot *slots;
static uint32_t nslots;
static int32_t free_head = -1, free_tail = -1;
static int32_t linger_head = -1, linger_tail = -1;
static int32_t pending_head = -1;
static int32_t starved_head = -1;
static uint32_t starved_until;
static uint32_t n_open, n_linger;
static struct listener lis[MOTE_MAX_LISTENERS];
static int accepting = 1;
static uint32_t n_parked;
static int announce_l = -1; /* the first listener: announced once the core is up */
static uint32_t announce_port;
static uint32_t batch; /* service passes (sock_events_begin) */
static int announced;
static struct ev *evs;
static int wake_fd = -1;

/* What a descriptor is: a slot (0..nslots-1), a listener (TOK_LISTENER + l),
 * the wake-up pipe, or nothing (-1). Indexed by descriptor. */
static int32_t *by_fd;
#define TOK_LISTENER ((int32_t)0x40000000)
#define TOK_WAKE ((int32_t)0x7fffffff)

static int watch(int fd, int32_t token, uint32_t events) {
  if (fd < 0 || (uint32_t)fd >= cfg.max_fds) return -EMFILE;
  int r = cfg.loop->add(fd, events);
  if (r == 0) by_fd[fd] = token;
  return r;
}

static void unwatch(int fd, int closing) {
  if (fd < 0 || (uint32_t)fd >= cfg.max_fds) return;
  by_fd[fd] = -1;
  cfg.loop->del(fd, closing);
}

/* handler results */
#define H_OK 0
#define H_RESTARTED 1 /* the core was restarted: drop the rest of the batch */
#define H_FATAL (-1)

static int32_t hs_head = -1, hs_tail = -1; /* handshaking TLS slots, oldest first */
static int32_t ready_head = -1;            /* TLS slots with decrypted input held */
static uint32_t n_hs;

static int drv(int st) { return st == MOTE_DRV_OK ? H_OK : st == MOTE_DRV_RESTARTED ? H_RESTARTED : H_FATAL; }

/* ---- slot lists --------------------------------------------------------- */

/* Keeps the pending/starved links: a freed slot may still sit on those
 * lists, whose walkers skip it (or act on its next user, correctly). */
static void free_push(int32_t id) {
  struct slot *s = &slots[id];
  uint8_t inp = s->in_pending, ins = s->in_starved, inr = s->in_ready;
  int32_t pn = s->pnext, sn = s->snext, rn = s->rnext;
  memset(s, 0, sizeof *s);
  s->in_ready = inr;
  s->rnext = rn;
  s->fd = -1;
  s->next = s->prev = -1;
  s->in_pending = inp;
  s->in_starved = ins;
  s->pnext = pn;
  s->snext = sn;
  if (free_tail >= 0) slots[free_tail].next = id;
  else free_head = id;
  free_tail = id;
}

static int32_t free_pop(void) {
  int32_t id = free_head;
  if (id < 0) return -1;
  free_head = slots[id].next;
  if (free_head < 0) free_tail = -1;
  return id;
}

/* Doubly linked lists of slots through next/prev (the linger list and the
 * handshake list: a slot is on one of them at most). */
static void list_unlink(int32_t *head, int32_t *tail, int32_t id) {
  struct slot *s = &slots[id];
  if (s->prev >= 0) slots[s->prev].next = s->next;
  else *head = s->next;
  if (s->next >= 0) slots[s->next].prev = s->prev;
  else *tail = s->prev;
  s->next = s->prev = -1;
}

static void list_append(int32_t *head, int32_t *tail, int32_t id) {
  struct slot *s = &slots[id];
  s->next = -1;
  s->prev = *tail;
  if (*tail >= 0) slots[*tail].next = id;
  else *head = id;
  *tail = id;
}

static void linger_unlink(int32_t id) { list_unlink(&linger_head, &linger_tail, id); }
static void linger_append(int32_t id) { list_append(&linger_head, &linger_tail, id); }

/* The handshake list (oldest first: every deadline is accept + the same
 * timeout) shares the next/prev links: a slot is handshaking or lingering,
 * never both. */
static void hs_unlink(int32_t id) { list_unlink(&hs_head, &hs_tail, id); }
static void hs_append(int32_t id) { list_append(&hs_head, &hs_tail, id); }

/* TLS input already decrypted and held by mbedTLS makes no socket event:
 * such slots are read from this list on the next service pass. */
static void ready_push(int32_t id) {
  struct slot *s = &slots[id];
  if (s->in_ready) return;
  s->in_ready = 1;
  s->rnext = ready_head;
  ready_head = id;
}

static void reset_tables(void) {
  memset(slots, 0, nslots * sizeof *slots);
  for (uint32_t i = 0; i < nslots; i++) slots[i].pnext = slots[i].snext = slots[i].rnext = -1;
  free_head = free_tail = linger_head = linger_tail = pending_head = starved_head = -1;
  hs_head = hs_tail = ready_head = -1;
  for (uint32_t i = 0; i < nslots; i++) free_push((int32_t)i);
  n_open = n_linger = n_hs = 0;
}

/* ---- helpers ------------------------------------------------------------ */

static uint32_t wanted(const struct slot *s) {
  /* TLS output held by mbedTLS (a partly sent record, close_notify) needs
   * writability whatever the core wants */
  int tls_out = s->tls && !s->broken && mote_tls_want_write(s->tls);
  if (s->state == S_HANDSHAKE) return s->hs_want;
  if (s->state == S_CONNECTING) return EV_OUT;
  if (s->state == S_LINGER) return EV_IN | (s->tls && !s->tls_shut ? EV_OUT : 0);
  if (s->state != S_OPEN) return 0;
  return (s->paused || s->starved ? 0 : EV_IN) | ((s->want_wr || tls_out || s->tls_rd_wr) && !s->broken ? EV_OUT : 0);
}

static void set_interest(int32_t id) {
  struct slot *s = &slots[id];
  uint32_t w = wanted(s);
  if (w == s->evmask) return;
  int r = cfg.loop->mod(s->fd, w);
  if (r < 0) mote_err("conn %d: cannot change events: %s", id, strerror(-r));
  else s->evmask = (uint8_t)w;
}

static void close_slot(int32_t id) {
  struct slot *s = &slots[id];
  if (s->state == S_LINGER) {
    linger_unlink(id);
    n_linger--;
  }
  if (s->state == S_HANDSHAKE) {
    hs_unlink(id);
    n_hs--;
  }
  if (s->tls) {
    mote_tls_free(s->tls);
    s->tls = NULL;
  }
  unwatch(s->fd, 1);
  close(s->fd);
  free_push(id);
}

static struct slot *core_slot(uint32_t conn, const char *what) {
  if (conn < nslots && slots[conn].state == S_OPEN) return &slots[conn];
  if (conn < nslots && slots[conn].state == S_CONNECTING) {
    if (!strcmp(what, "sock_close")) return &slots[conn]; /* the core gave up (its connect timeout) */
    return NULL; /* nothing to send or watch yet: the request waits in the core's queue */
  }
  if (conn >= nslots || slots[conn].state != S_DYING)
    mote_err("%s: connection %u is not open (table %u)", what, conn, nslots);
  return NULL;
}

static uint32_t closed_reason(int err) {
  if (err == ECONNRESET || err == EPIPE) return MOTE_CLOSED_RESET;
  /* ETIMEDOUT: keepalive probes or retransmissions went unanswered (or
   * TCP_USER_TIMEOUT passed). An ICMP unreachable is only a soft error on an
   * established connection (RFC 1122 4.2.3.9): the kernel reports it in
   * place of ETIMEDOUT when the connection times out after one arrived (an
   * unanswered ARP on the path produces one locally). lwIP's sockets
   * (ESP-IDF) say ECONNABORTED for the same timeouts: its timer aborts the
   * connection (ERR_ABRT); on an established socket nothing else does that
   * but the program itself. */
  if (err == ETIMEDOUT || err == EHOSTUNREACH || err == ENETUNREACH || err == ECONNABORTED) return MOTE_CLOSED_TIMEOUT;
  return MOTE_CLOSED_ERROR;
}

static const char *reason_name(uint32_t r) {
  switch (r) {
    case MOTE_CLOSED_PEER: return "peer";
    case MOTE_CLOSED_RESET: return "reset";
    case MOTE_CLOSED_ERROR: return "error";
    case MOTE_CLOSED_SHUTDOWN: return "shutdown";
    case MOTE_CLOSED_TIMEOUT: return "timeout";
    default: return "?";
  }
}

/* The core learns that conn is gone; then the fd is closed. */
static int report_closed(int32_t id, uint32_t reason) {
  struct slot *s = &slots[id];
  mote_debug("conn %d: closed (%s)", id, reason_name(reason));
  s->state = S_DYING; /* port_sock_* calls for it are ignored from here */
  n_open--;
  int r = drv(mote_drv_closed((uint32_t)id, reason));
  if (r != H_OK) return r; /* port_reset() has closed everything */
  close_slot(id);
  return H_OK;
}

/* ---- addresses and listeners -------------------------------------------- */

int sock_parse_iface(const char *iface, uint32_t port, struct sockaddr_storage *ss, socklen_t *len) {
  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  char ps[8];
  snprintf(ps, sizeof ps, "%u", port);
  if (getaddrinfo(iface, ps, &hints, &ai) != 0 || !ai) return -1;
  memcpy(ss, ai->ai_addr, ai->ai_addrlen);
  *len = ai->ai_addrlen;
  int fam = ai->ai_family;
  freeaddrinfo(ai);
  return fam == AF_INET6 ? 6 : 4;
}

uint32_t sock_listener_count(void) {
  uint32_t n = 0;
  for (int i = 0; i < MOTE_MAX_LISTENERS; i++) n += lis[i].active;
  return n;
}

/* The port a vhost asked for, after the program's map (sock_config.port_map:
 * a test or a device maps a fixed port to a free one, as a forward would). */
static uint32_t mapped_port(uint32_t port) {
  for (uint32_t i = 0; i < cfg.n_port_map; i++)
    if (cfg.port_map[i].from == port) return cfg.port_map[i].to;
  return port;
}

/* Whether a listener on `have` (with its IPV6_V6ONLY) takes what one on
 * `want` would: the same address in any spelling, or the wildcard of its
 * family (the IPv6 wildcard without V6ONLY takes IPv4 too). The kernel
 * refuses to bind the second of two such sockets on one port. */
static int addr_covers(const char *have, int have_v6only, const char *want) {
  struct sockaddr_storage a, b;
  socklen_t al, bl;
  int fa = sock_parse_iface(have, 0, &a, &al), fb = sock_parse_iface(want, 0, &b, &bl);
  if (fa < 0 || fb < 0) return !strcmp(have, want);
  if (fa == 4) {
    uint32_t x = ((struct sockaddr_in *)&a)->sin_addr.s_addr;
    return fb == 4 && (x == htonl(INADDR_ANY) || x == ((struct sockaddr_in *)&b)->sin_addr.s_addr);
  }
  const struct in6_addr *x = &((struct sockaddr_in6 *)&a)->sin6_addr;
  if (IN6_IS_ADDR_UNSPECIFIED(x)) return fb == 6 || !have_v6only;
  return fb == 6 && !memcmp(x, &((struct sockaddr_in6 *)&b)->sin6_addr, sizeof *x);
}

/* A listening socket for a vhost: on the address it names (a numeric IPv4
 * or IPv6 literal), else the port's default (sock_config.iface); on the
 * port it asks for (0: any free port), through the map. */
int32_t port_sock_listen(uint32_t port, const char *iface, uint32_t iface_len, uint32_t flags) {
  char addr[sizeof lis[0].iface];
  if (iface_len >= sizeof addr || (iface_len && memchr(iface, 0, iface_len))) {
    mote_err("listen: interface '%.*s' is not an address of at most %zu bytes", (int)iface_len, iface, sizeof addr - 1);
    return -EINVAL;
  }
  if (iface_len) {
    memcpy(addr, iface, iface_len);
    addr[iface_len] = 0;
  } else {
    snprintf(addr, sizeof addr, "%s", cfg.iface);
  }
  uint32_t use_port = mapped_port(port);
  int v6only = (flags & MOTE_LISTEN_V6ONLY) ? 1 : 0;
  /* a vhost that comes to the address and port of an open listener shares
   * it; one whose address overlaps a listener's without being the same (a
   * wildcard and a specific address, either order) is refused: sharing the
   * wildcard listener would make a vhost meant for one address reachable on
   * every address (by its Host name), and binding beside it fails */
  for (int l = 0; l < MOTE_MAX_LISTENERS; l++) {
    const struct listener *L = &lis[l];
    if (!L->active || port == 0 || L->port != port) continue;
    int theirs = addr_covers(L->iface, L->v6only, addr), ours = addr_covers(addr, v6only, L->iface);
    if (theirs && ours) return l;
    if (theirs || ours) {
      mote_err("listen: %s port %u overlaps listener %d (%s port %u): give both vhosts the same address, or "
               "different ports (a vhost on one address sharing a wildcard listener would answer on every address)",
               addr, (unsigned)port, l, L->iface, (unsigned)port);
      return -EADDRINUSE;
    }
  }
  /* after a restart: hand back the socket the old core listened on, so
   * connections keep queueing in its backlog instead of being refused */
  for (int l = 0; l < MOTE_MAX_LISTENERS; l++) {
    struct listener *L = &lis[l];
    if (!L->parked || L->port != port || L->v6only != v6only || strcmp(L->iface, addr)) continue;
    L->parked = 0;
    L->active = 1;
    L->backoff = 0;
    L->ka_idle = 0; /* the restarted core sets keepalive again if it wants it */
    L->peer_limit = flags >> MOTE_LISTEN_PEER_LIMIT_SHIFT;
    mote_tls_listener_open(&L->tls, cfg.tls_server); /* and TLS (port_sock_tls) */
    n_parked--;
    cfg.loop->mod(L->fd, accepting ? EV_IN : 0);
    mote_info("listening on %s port %u (listener %d, kept across the restart)", addr, port, l);
    return l;
  }
  /* a socket the old core listened on with this port and an overlapping
   * address, now unclaimed (its vhost moved to another address), would keep
   * this bind from succeeding: it goes now */
  for (int l = 0; l < MOTE_MAX_LISTENERS && use_port != 0; l++)
    if (lis[l].parked && mapped_port(lis[l].port) == use_port &&
        (addr_covers(lis[l].iface, lis[l].v6only, addr) || addr_covers(addr, v6only, lis[l].iface)))
      close_listener(l);
  int l = 0;
  while (l < MOTE_MAX_LISTENERS && (lis[l].active || lis[l].parked)) l++;
  if (l == MOTE_MAX_LISTENERS) {
    mote_err("listen: listener table full (%d)", MOTE_MAX_LISTENERS);
    return -ENOSPC;
  }
  struct sockaddr_storage ss;
  socklen_t sl;
  int fam = sock_parse_iface(addr, use_port, &ss, &sl);
  if (fam < 0) {
    mote_err("listen: interface '%s' is not a numeric IPv4 or IPv6 address", addr);
    return -EINVAL;
  }
  int fd = mote_arch_socket(ss.ss_family);
  if (fd < 0) {
    int e = errno;
    mote_err("listen: socket: %s", strerror(e));
    return -e;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fam == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) < 0)
    mote_warn("listen: IPV6_V6ONLY: %s", strerror(errno));
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, SOMAXCONN) < 0) {
    int e = errno;
    mote_err("listen: %s port %u: %s", addr, use_port, strerror(e));
    close(fd);
    return -e;
  }
  int r = watch(fd, TOK_LISTENER + l, accepting ? EV_IN : 0);
  if (r < 0) {
    mote_err("listen: cannot watch socket: %s", strerror(-r));
    close(fd);
    return r;
  }
  struct sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  uint32_t real_port = use_port;
  if (getsockname(fd, (struct sockaddr *)&bound, &bl) == 0)
    real_port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
  lis[l] = (struct listener){.fd = fd, .active = 1, .v6only = (uint8_t)v6only, .v6 = fam == 6, .port = port,
                             .peer_limit = flags >> MOTE_LISTEN_PEER_LIMIT_SHIFT};
  snprintf(lis[l].iface, sizeof lis[l].iface, "%s", addr);
  mote_tls_listener_open(&lis[l].tls, cfg.tls_server);
  char asked[32] = "";
  if (real_port != port) snprintf(asked, sizeof asked, ", asked for %u", (unsigned)port);
  mote_notice("listening on %s port %u (listener %d%s%s%s)", addr, real_port, l, asked,
              fam == 6 ? (v6only ? ", IPv6 only" : ", dual-stack") : "", cfg.tls_server ? ", TLS" : "");
  if (!announced && announce_l < 0) {
    announce_l = l;
    announce_port = real_port;
  }
  return l;
}

void sock_announce(void) {
  if (announced || announce_l < 0) return;
  announced = 1;
  const char *scheme = lis[announce_l].tls.use ? "https" : "http";
  const struct listener *L = &lis[announce_l];
  if (L->v6) printf("listening on %s://[%s]:%u/\n", scheme, L->iface, announce_port);
  else printf("listening on %s://%s:%u/\n", scheme, L->iface, announce_port);
  fflush(stdout);
}

/* A vhost serves TLS with its own certificate and key (files read through
 * the port's file operations: here, paths on the host, relative to the
 * working directory), suite list, client CA and host names; the first after
 * sock_listen is the listener's default, later ones share it by SNI. The
 * command line's --tls settings, when given, apply to every listener
 * instead. */
int32_t port_sock_tls(uint32_t listener, uint32_t vhost, const uint8_t *opts, uint32_t opts_len) {
  if (listener >= MOTE_MAX_LISTENERS || !lis[listener].active) {
    mote_err("sock_tls: listener %u is not open", listener);
    return -EBADF;
  }
  return mote_tls_listener_add(&lis[listener].tls, cfg.tls_server, listener, vhost, opts, opts_len);
}

/* Keepalive as lws does it (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
 * TCP_KEEPCNT: mote_arch_keepalive), plus, where the system has it
 * (Linux's TCP_USER_TIMEOUT), a limit of the same total, idle + probes *
 * interval, on data left unacknowledged. Keepalive probes go out only
 * while nothing sent is unacknowledged; a peer that dies while we have data
 * in flight (a server push) would otherwise hold the connection until the
 * retransmissions give up (Linux's tcp_retries2: about 15 minutes). With
 * the user timeout the rule is the one lwIP applies (its keepalive timer
 * counts from the last segment received, data in flight or not): a peer
 * silent for idle + probes * interval is dropped either way. It also bounds
 * a zero window held that long. Validated here on the listener; applied to
 * each accepted socket. */
int32_t port_sock_keepalive(uint32_t listener, uint32_t time_s, uint32_t probes, uint32_t interval_s) {
  if (listener >= MOTE_MAX_LISTENERS || !lis[listener].active) {
    mote_err("sock_keepalive: listener %u is not open", listener);
    return -EBADF;
  }
  struct listener *L = &lis[listener];
  /* the kernel's limits: MAX_TCP_KEEPIDLE/KEEPINTVL 32767 s, MAX_TCP_KEEPCNT 127 */
  if (time_s == 0 || time_s > 32767 || interval_s > 32767 || probes > 127) {
    mote_warn("sock_keepalive: out of range (time %u s, %u probes, interval %u s)", time_s, probes, interval_s);
    return -EINVAL;
  }
  int intvl = (int)interval_s, cnt = (int)probes;
  /* 0: the system's default, read back from a socket that has none set */
  int r = mote_arch_keepalive_defaults(L->fd, intvl ? NULL : &intvl, cnt ? NULL : &cnt);
  if (r < 0) return r;
  L->ka_idle = (int)time_s;
  L->ka_intvl = intvl;
  L->ka_cnt = cnt;
  uint64_t total_ms = ((uint64_t)time_s + (uint64_t)cnt * (uint64_t)intvl) * 1000u;
  L->ka_user_timeout_ms = total_ms > INT32_MAX ? INT32_MAX : (unsigned)total_ms; /* the kernel takes an int */
  if (MOTE_ARCH_HAS_USER_TIMEOUT)
    mote_info("listener %u: keepalive idle %d s, %d probes every %d s, user timeout %u ms", listener, L->ka_idle,
              L->ka_cnt, L->ka_intvl, L->ka_user_timeout_ms);
  else
    mote_info("listener %u: keepalive idle %d s, %d probes every %d s (data left unacknowledged is not bounded on this "
              "system)", listener, L->ka_idle, L->ka_cnt, L->ka_intvl);
  return 0;
}

static void apply_keepalive(const struct listener *L, int fd, int32_t id) {
  if (mote_arch_keepalive(fd, L->ka_idle, L->ka_intvl, L->ka_cnt, L->ka_user_timeout_ms) < 0)
    mote_warn("conn %d: keepalive: %s", id, strerror(errno));
}

static void close_listener(int l) {
  struct listener *L = &lis[l];
  unwatch(L->fd, 1);
  close(L->fd);
  L->fd = -1;
  if (L->parked) n_parked--;
  L->active = L->parked = 0;
  mote_tls_listener_drop(&L->tls, NULL);
}

/* Close every listener (parked_only: those the restarted core did not
 * claim back). */
static void close_listeners(int parked_only) {
  for (int l = 0; l < MOTE_MAX_LISTENERS; l++) {
    struct listener *L = &lis[l];
    if (L->parked || (L->active && !parked_only)) close_listener(l);
  }
}

void sock_stop_accepting(void) {
  accepting = 0;
  for (int l = 0; l < MOTE_MAX_LISTENERS; l++)
    if (lis[l].active) cfg.loop->mod(lis[l].fd, 0);
}

/* ---- TLS: handshake before the core hears of the connection ------------- */

static int tls_io_send(void *ctx, const uint8_t *buf, size_t len) {
  struct slot *s = ctx;
  for (;;) {
    ssize_t n = send(s->fd, buf, len, MOTE_ARCH_SEND_FLAGS);
    if (n >= 0) return (int)n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return MOTE_TLS_IO_AGAIN;
    s->io_errno = errno;
    return MOTE_TLS_IO_ERROR;
  }
}

static int tls_io_recv(void *ctx, uint8_t *buf, size_t len) {
  struct slot *s = ctx;
  for (;;) {
    ssize_t n = read(s->fd, buf, len);
    if (n >= 0) return (int)n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return MOTE_TLS_IO_AGAIN;
    s->io_errno = errno;
    return MOTE_TLS_IO_ERROR;
  }
}

/* "<mbedTLS error text>" or the socket error behind it. */
static const char *tls_why(const struct slot *s, int err, char *buf, size_t cap) {
  if (err == MOTE_TLS_ERR_IO && s->io_errno)
    snprintf(buf, cap, "socket: %s", strerror(s->io_errno));
  else
    mote_tls_strerror(err, buf, cap);
  return buf;
}


/* A new TLS connection: the session, and the handshake deadline. 0, or -1
 * (logged; the caller closes the socket). */
static int tls_begin(int32_t id, int l) {
  struct slot *s = &slots[id];
  struct mote_tls_io io = {.send = tls_io_send, .recv = tls_io_recv, .ctx = s};
  s->tls = mote_tls_server_new(lis[l].tls.use, &io);
  if (!s->tls) {
    mote_err("conn %d: no memory for a TLS session", id);
    return -1;
  }
  s->state = S_HANDSHAKE;
  s->listener = (uint8_t)l;
  s->hs_want = EV_IN;
  s->hs_start = port_now_ms();
  s->deadline = s->hs_start + cfg.tls_handshake_ms;
  hs_append(id);
  n_hs++;
  return 0;
}

/* Drive the handshake; when it is done, the core gets the connection. */
static int do_handshake(int32_t id) {
  struct slot *s = &slots[id];
  uint64_t t0 = mote_arch_cpu_ns();
  int r = mote_tls_handshake(s->tls);
  s->hs_cpu_ns += mote_arch_cpu_ns() - t0;
  if (r == MOTE_TLS_WANT_READ || r == MOTE_TLS_WANT_WRITE) {
    s->hs_want = r == MOTE_TLS_WANT_READ ? EV_IN : EV_OUT;
    set_interest(id);
    return H_OK;
  }
  if (r != 0) {
    char why[240], vi[200];
    mote_tls_verify_info(s->tls, vi, sizeof vi);
    mote_notice("conn %d: TLS handshake failed: %s%s%s", id, tls_why(s, r, why, sizeof why), vi[0] ? "; client certificate: " : "", vi);
    close_slot(id);
    return H_OK;
  }
  size_t now, peak;
  mote_tls_heap(s->tls, &now, &peak);
  const char *sni = mote_tls_sni_name(s->tls);
  mote_info("conn %d: TLS handshake done: %s %s%s%s in %u ms (server CPU %llu us); TLS heap %zu B, peak %zu B", id,
            mote_tls_version(s->tls), mote_tls_suite(s->tls), sni[0] ? ", SNI " : "", sni,
            (unsigned)(port_now_ms() - s->hs_start), (unsigned long long)(s->hs_cpu_ns / 1000), now, peak);
  hs_unlink(id);
  n_hs--;
  s->state = S_OPEN;
  set_interest(id);
  n_open++;
  int l = s->listener;
  mote_debug("conn %d: accepted on listener %d (fd %d)", id, l, s->fd);
  int32_t res = MOTE_ACCEPT_REFUSED;
  r = drv(mote_drv_accepted((uint32_t)l, (uint32_t)id, mote_tls_vhost(s->tls), &res));
  if (r != H_OK) return r;
  if (res != MOTE_ACCEPT_OK && s->state == S_OPEN) {
    n_open--; /* the core refused it (and logged why): it never knew it */
    close_slot(id);
  }
  return H_OK;
}

/* The peer's address of a new socket, as 16 bytes (IPv4 mapped into IPv6):
 * 0, or -1 when it has none (a Unix socket). */
static int peer_of(int fd, uint8_t out[16]) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0) return -1;
  if (ss.ss_family == AF_INET6) {
    memcpy(out, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
    return 0;
  }
  if (ss.ss_family != AF_INET) return -1;
  memset(out, 0, 10);
  out[10] = out[11] = 0xff;
  memcpy(out + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
  return 0;
}

/* Connections at once from `peer` (every listener's, open or in a TLS
 * handshake). A scan of the table: only with a limit set, once per accept. */
static uint32_t peer_count(const uint8_t peer[16]) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < cfg.nslots; i++)
    if ((slots[i].state == S_OPEN || slots[i].state == S_HANDSHAKE) && !memcmp(slots[i].peer, peer, 16)) n++;
  return n;
}

static const char PEER_503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n"
                               "Connection: close\r\nRetry-After: 1\r\n\r\ntoo many connections from your address\r\n";

static int handle_listener(int l) {
  struct listener *L = &lis[l];
  if (!L->active || !accepting || L->backoff) return H_OK;
  for (int k = 0; k < MOTE_ACCEPT_BURST; k++) {
    int fd = mote_arch_accept(L->fd);
    if (fd < 0) {
      int e = errno;
      if (e == EINTR || e == ECONNABORTED || e == EPROTO) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) break;
      mote_warn("accept: %s; pausing listener %d for %d ms", strerror(e), l, MOTE_LISTEN_BACKOFF_MS);
      L->backoff = 1;
      L->resume_at = port_now_ms() + MOTE_LISTEN_BACKOFF_MS;
      cfg.loop->mod(L->fd, 0);
      break;
    }
    uint8_t peer[16] = {0};
    int have_peer = peer_of(fd, peer) == 0;
    if (L->peer_limit && have_peer && peer_count(peer) >= L->peer_limit) {
      /* nginx limit_conn: a clear answer (plaintext listeners), then close */
      if (!L->tls.use && send(fd, PEER_503, sizeof PEER_503 - 1, MOTE_ARCH_SEND_FLAGS) < 0) { /* nothing more to tell it */ }
      close(fd);
      mote_info("accept: refused: %u connections from one address already (the per-peer limit)", (unsigned)L->peer_limit);
      continue;
    }
    int32_t id = free_pop();
    if (id < 0) {
      close(fd);
      mote_log_table_full(port_now_ms());
      continue;
    }
    memcpy(slots[id].peer, peer, 16);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (L->ka_idle) apply_keepalive(L, fd, id);
    struct slot *s = &slots[id];
    s->fd = fd;
    s->state = S_OPEN;
    s->batch = batch;
    int r = watch(fd, id, EV_IN);
    if (r < 0) {
      mote_err("accept: cannot watch socket: %s", strerror(-r));
      close(fd);
      free_push(id);
      continue;
    }
    s->evmask = EV_IN;
    if (L->tls.use) {
      /* the core hears of it once the handshake is done (do_handshake) */
      if (tls_begin(id, l) < 0) close_slot(id);
      else mote_debug("conn %d: accepted on listener %d (fd %d), TLS handshake", id, l, fd);
      continue;
    }
    n_open++;
    mote_debug("conn %d: accepted on listener %d (fd %d)", id, l, fd);
    int32_t res = MOTE_ACCEPT_REFUSED;
    r = drv(mote_drv_accepted((uint32_t)l, (uint32_t)id, MOTE_VHOST_ANY, &res));
    if (r != H_OK) return r;
    if (res != MOTE_ACCEPT_OK && s->state == S_OPEN) {
      n_open--; /* the core refused it (and logged why): it never knew it */
      close_slot(id);
    }
  }
  return H_OK;
}

/* ---- connections: imports ----------------------------------------------- */

static void pending_push(int32_t id) {
  struct slot *s = &slots[id];
  if (s->in_pending) return;
  s->in_pending = 1;
  s->pnext = pending_head;
  pending_head = id;
}

int32_t port_sock_send(uint32_t conn, const uint8_t *buf, uint32_t len) {
  struct slot *s = core_slot(conn, "sock_send");
  if (!s || s->broken) return -1;
  if (len == 0) return 0;
  if (s->tls) {
    /* bytes taken are encrypted; a record the socket did not take whole is
     * held by mbedTLS and flushed on writability (handle_conn) */
    int n = mote_tls_write(s->tls, buf, len);
    if (n >= 0) {
      set_interest((int32_t)conn);
      return n;
    }
    char why[240];
    mote_debug("conn %u: TLS send: %s", conn, tls_why(s, n, why, sizeof why));
    s->broken = (uint8_t)((s->io_errno ? closed_reason(s->io_errno) : MOTE_CLOSED_ERROR) + 1);
    pending_push((int32_t)conn);
    set_interest((int32_t)conn);
    return -1;
  }
  for (;;) {
    ssize_t n = send(s->fd, buf, len, MOTE_ARCH_SEND_FLAGS);
    if (n >= 0) return (int32_t)n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    mote_debug("conn %u: send: %s", conn, strerror(errno));
    s->broken = (uint8_t)(closed_reason(errno) + 1);
    pending_push((int32_t)conn);
    set_interest((int32_t)conn);
    return -1;
  }
}

void port_sock_want_writable(uint32_t conn, uint32_t on) {
  struct slot *s = core_slot(conn, "sock_want_writable");
  if (!s) return;
  s->want_wr = on != 0;
  set_interest((int32_t)conn);
}

void port_sock_pause_rx(uint32_t conn, uint32_t paused) {
  struct slot *s = core_slot(conn, "sock_pause_rx");
  if (!s) return;
  s->paused = paused != 0;
  if (!paused) s->starved = 0; /* the core has room again */
  if (!paused && s->tls && mote_tls_pending(s->tls)) ready_push((int32_t)conn);
  set_interest((int32_t)conn);
}

/* Lingering TLS slot: push held output and close_notify, then shut the
 * write side; the drain then runs as for plaintext. */
static void tls_close_step(int32_t id) {
  struct slot *s = &slots[id];
  int r = mote_tls_close_notify(s->tls);
  if (r == MOTE_TLS_WANT_WRITE) {
    set_interest(id);
    return;
  }
  if (r != 0 || mote_arch_shut_wr(s->fd) < 0) {
    mote_debug("conn %d: TLS close: peer gone", id);
    close_slot(id);
    return;
  }
  s->tls_shut = 1;
  set_interest(id);
}

void port_sock_close(uint32_t conn, uint32_t mode) {
  struct slot *s = core_slot(conn, "sock_close");
  if (!s) return;
  int32_t id = (int32_t)conn;
  if (s->state == S_CONNECTING) {
    mote_debug("conn %u: connect abandoned by the core", conn);
    close_slot(id);
    return;
  }
  n_open--;
  if (mode == MOTE_CLOSE_GRACEFUL && !s->broken && s->tls) {
    /* TLS: flush what mbedTLS holds, send close_notify (RFC 8446 6.1), then
     * shut the write side and linger as below */
    mote_debug("conn %u: closing gracefully (TLS)", conn);
    s->state = S_LINGER;
    s->want_wr = s->paused = s->starved = s->tls_rd_wr = 0;
    s->deadline = port_now_ms() + MOTE_CLOSE_LINGER_MS;
    linger_append(id);
    n_linger++;
    tls_close_step(id);
    return;
  }
  if (mode == MOTE_CLOSE_GRACEFUL && !s->broken && mote_arch_shut_wr(s->fd) >= 0) {
    mote_debug("conn %u: closing gracefully", conn);
    s->state = S_LINGER;
    s->want_wr = s->paused = s->starved = 0;
    s->deadline = port_now_ms() + MOTE_CLOSE_LINGER_MS;
    linger_append(id);
    n_linger++;
    set_interest(id);
    return;
  }
  mote_debug("conn %u: closed by core", conn);
  close_slot(id);
}

/* ---- connections: events ------------------------------------------------ */

/* TLS read into the core's buffer. */
static int tls_read(int32_t id, uint8_t *buf, uint32_t space) {
  struct slot *s = &slots[id];
  int n = mote_tls_read(s->tls, buf, space);
  s->tls_rd_wr = 0;
  if (n > 0) {
    int r = drv(mote_drv_received((uint32_t)id, (uint32_t)n));
    /* the core may have closed it meanwhile (then s->tls is gone) */
    if (r == H_OK && s->state == S_OPEN && s->tls && mote_tls_pending(s->tls)) ready_push(id);
    return r;
  }
  if (n == MOTE_TLS_WANT_READ) return H_OK;
  if (n == MOTE_TLS_WANT_WRITE) {
    s->tls_rd_wr = 1;
    set_interest(id);
    return H_OK;
  }
  if (n == MOTE_TLS_EOF) return report_closed(id, MOTE_CLOSED_PEER);
  char why[240];
  mote_notice("conn %d: TLS: %s; closing", id, tls_why(s, n, why, sizeof why));
  return report_closed(id, n == MOTE_TLS_ERR_IO && s->io_errno ? closed_reason(s->io_errno) : MOTE_CLOSED_ERROR);
}

static void linger_drain(int32_t id) {
  struct slot *s = &slots[id];
  ssize_t n = mote_arch_discard(s->fd);
  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))) return;
  mote_debug("conn %d: graceful close done", id);
  close_slot(id);
}

static int do_read(int32_t id) {
  struct slot *s = &slots[id];
  uint8_t *buf;
  uint32_t space;
  int r = drv(mote_drv_rx_buffer((uint32_t)id, &buf, &space));
  if (r != H_OK || s->state != S_OPEN) return r;
  if (space == 0) {
    /* no room: stop reading until the retry timer (or pause_rx(0)) */
    s->starved = 1;
    if (!s->in_starved) {
      s->in_starved = 1;
      s->snext = starved_head;
      if (starved_head < 0) starved_until = port_now_ms() + MOTE_STARVE_RETRY_MS;
      starved_head = id;
    }
    set_interest(id);
    return H_OK;
  }
  if (s->tls) return tls_read(id, buf, space);
  ssize_t n = read(s->fd, buf, space); /* straight into module memory */
  if (n > 0) return drv(mote_drv_received((uint32_t)id, (uint32_t)n));
  if (n == 0) return report_closed(id, MOTE_CLOSED_PEER);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return H_OK;
  mote_debug("conn %d: read: %s", id, strerror(errno));
  return report_closed(id, closed_reason(errno));
}

/* A client connection's connect finished, one way or the other. */
static int do_connected(int32_t id) {
  struct slot *s = &slots[id];
  int err = 0;
  socklen_t el = sizeof err;
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) err = errno;
  if (err) {
    mote_info("conn %d: connect failed: %s", id, strerror(err));
    s->state = S_DYING; /* not reusable while the core hears of it */
    int r = drv(mote_drv_connect_failed((uint32_t)id, (uint32_t)err));
    if (r != H_OK) return r;
    close_slot(id);
    return H_OK;
  }
  mote_debug("conn %d: connected (fd %d)", id, s->fd);
  s->state = S_OPEN;
  n_open++;
  set_interest(id);
  return drv(mote_drv_connected((uint32_t)id));
}

/* The client role: a non-blocking connect. Names resolve here, with
 * getaddrinfo (blocking: numeric addresses and /etc/hosts names answer at
 * once; a DNS name holds the loop for its lookup, docs/abi.md). */
int32_t port_sock_connect(const char *host, uint32_t host_len, uint32_t port, uint32_t flags) {
  char name[256], ps[8];
  if (host_len == 0 || host_len >= sizeof name || memchr(host, 0, host_len) || port == 0 || port > 65535) {
    mote_notice("sock_connect: a host name of 1..%zu bytes and a port 1..65535 needed", sizeof name - 1);
    return -EINVAL;
  }
  memcpy(name, host, host_len);
  name[host_len] = 0;
  if (flags & MOTE_CONNECT_TLS) {
    mote_notice("sock_connect %s:%u: TLS client connections are not in the simulator yet", name, port);
    return -ENOTSUP;
  }
  /* "[::1]" as in URLs */
  char *h = name;
  size_t hl = strlen(h);
  if (hl > 2 && h[0] == '[' && h[hl - 1] == ']') {
    h[hl - 1] = 0;
    h++;
  }
  snprintf(ps, sizeof ps, "%u", port);
  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  int g = getaddrinfo(h, ps, &hints, &ai);
  if (g != 0 || !ai) {
    mote_notice("sock_connect %s:%u: %s", h, port, gai_strerror(g));
    return -EHOSTUNREACH;
  }
  int32_t id = free_pop();
  if (id < 0) {
    freeaddrinfo(ai);
    mote_log_table_full(port_now_ms());
    return -ENFILE;
  }
  int fd = mote_arch_socket(ai->ai_family);
  int e = fd < 0 ? errno : 0;
  if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) e = errno;
  freeaddrinfo(ai);
  if (e) {
    if (fd >= 0) close(fd);
    free_push(id);
    mote_notice("sock_connect %s:%u: %s", h, port, strerror(e));
    return -e;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct slot *s = &slots[id];
  s->fd = fd;
  s->state = S_CONNECTING;
  s->batch = batch; /* events already gathered for this slot were its last user's */
  int r = watch(fd, id, EV_OUT);
  if (r < 0) {
    close(fd);
    free_push(id);
    mote_err("sock_connect: cannot watch socket: %s", strerror(-r));
    return r;
  }
  s->evmask = EV_OUT;
  mote_debug("conn %d: connecting to %s port %u (fd %d)", id, h, port, fd);
  return id;
}

static int handle_conn(int32_t id, uint32_t ev) {
  struct slot *s = &slots[id];
  if (s->state == S_FREE || s->batch == batch) return H_OK; /* stale event */
  if (s->state == S_HANDSHAKE) return do_handshake(id);
  if (s->state == S_CONNECTING) return do_connected(id);
  if (s->state == S_LINGER) {
    if (s->tls && !s->tls_shut && (ev & (EV_OUT | EV_HUP | EV_ERR))) {
      tls_close_step(id);
      if (s->state != S_LINGER) return H_OK;
    }
    linger_drain(id);
    return H_OK;
  }
  if (s->state != S_OPEN || s->broken) return H_OK;
  if (!(s->evmask & EV_IN) && (ev & (EV_HUP | EV_ERR))) {
    /* not reading (paused), but the socket failed or hung up */
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    return report_closed(id, err ? closed_reason(err) : MOTE_CLOSED_PEER);
  }
  if ((s->evmask & EV_IN) && (ev & (EV_IN | EV_HUP | EV_ERR))) {
    int r = do_read(id);
    if (r != H_OK || s->state != S_OPEN || s->broken) return r;
  }
  if (s->tls && (ev & EV_OUT)) {
    if (mote_tls_want_write(s->tls)) {
      int r = mote_tls_flush(s->tls);
      if (r < 0 && r != MOTE_TLS_WANT_WRITE) {
        char why[240];
        mote_debug("conn %d: TLS send: %s", id, tls_why(s, r, why, sizeof why));
        return report_closed(id, s->io_errno ? closed_reason(s->io_errno) : MOTE_CLOSED_ERROR);
      }
      set_interest(id);
    }
    if (s->tls_rd_wr) {
      int r = do_read(id);
      if (r != H_OK || s->state != S_OPEN || s->broken) return r;
    }
    if (mote_tls_want_write(s->tls)) return H_OK; /* the core writes once the record is out */
  }
  if ((ev & EV_OUT) && s->want_wr) return drv(mote_drv_writable((uint32_t)id));
  return H_OK;
}

static int run_pending(void);

/* TLS slots with decrypted input held (no socket event will announce it). */
static int run_ready(void) {
  int32_t id = ready_head;
  ready_head = -1;
  while (id >= 0) {
    struct slot *s = &slots[id];
    int32_t next = s->rnext;
    s->in_ready = 0;
    if (s->state == S_OPEN && s->tls && !s->broken && !s->paused && !s->starved && mote_tls_pending(s->tls)) {
      int r = do_read(id);
      if (r == H_OK) r = run_pending();
      if (r != H_OK) return r; /* restarted: the lists were reset */
    }
    id = next;
  }
  return H_OK;
}

/* Failed sends, reported now that no core call is in progress. */
static int run_pending(void) {
  while (pending_head >= 0) {
    int32_t id = pending_head;
    struct slot *s = &slots[id];
    pending_head = s->pnext;
    s->in_pending = 0;
    if (s->state != S_OPEN || !s->broken) continue; /* the core closed it meanwhile */
    uint32_t reason = s->broken - 1u;
    int r = report_closed(id, reason);
    if (r != H_OK) return r;
  }
  return H_OK;
}

/* ---- the port's side of the service loop -------------------------------- */

static int restarted;      /* the core restarted during this pass */
static uint32_t events_ms; /* when this pass began */

int sock_events_begin(void) {
  batch++;
  restarted = 0;
  events_ms = port_now_ms();
  int r = drv(mote_drv_clock(events_ms));
  if (r == H_RESTARTED) restarted = 1;
  return r == H_FATAL ? -1 : 0;
}

int sock_event(int fd, uint32_t events) {
  /* after a restart the rest of the pass refers to the old core's
   * descriptors (the slots are free; a new one's events are stale) */
  if (restarted || fd < 0 || (uint32_t)fd >= cfg.max_fds) return 0;
  int32_t tok = by_fd[fd];
  int r;
  if (tok < 0) return 0; /* closed meanwhile */
  if (tok == TOK_WAKE) {
    /* one read of 8 bytes: a whole eventfd value (ESP-IDF's reads exactly 8
     * and never fail once empty), or up to 8 bytes of a self-pipe (what is
     * left wakes the next wait, harmlessly) */
    uint64_t drain;
    if (read(fd, &drain, sizeof drain) < 0) { /* empty: nothing to do */ }
    return 0;
  }
  if (tok >= TOK_LISTENER) r = handle_listener(tok - TOK_LISTENER);
  else r = handle_conn(tok, events);
  if (r == H_OK) r = run_pending();
  if (r == H_RESTARTED) restarted = 1;
  return r == H_FATAL ? -1 : 0;
}

uint32_t sock_events_time(void) { return events_ms; }

int sock_events_end(void) {
  if (restarted || ready_head < 0) return 0;
  return run_ready() == H_FATAL ? -1 : 0;
}

int sock_service(int timeout_ms) {
  int n = cfg.loop->wait(evs, MOTE_LOOP_MAX_EVENTS, timeout_ms);
  if (n < 0) {
    mote_err("%s wait: %s", cfg.loop->name, strerror(-n));
    return -1;
  }
  if (sock_events_begin() < 0) return -1;
  for (int i = 0; i < n; i++)
    if (sock_event(evs[i].fd, evs[i].events) < 0) return -1;
  return sock_events_end();
}

int sock_watch_wakeup(int fd) {
  int r = watch(fd, TOK_WAKE, EV_IN);
  if (r == 0) wake_fd = fd;
  return r;
}

static int until(uint32_t when, uint32_t now) {
  int32_t d = (int32_t)(when - now);
  return d < 0 ? 0 : d;
}

int sock_next_timeout(uint32_t now) {
  int t = -1;
#define MIN_T(x)                    \
  do {                              \
    int x_ = (x);                   \
    if (t < 0 || x_ < t) t = x_;    \
  } while (0)
  if (linger_head >= 0) MIN_T(until(slots[linger_head].deadline, now));
  if (starved_head >= 0) MIN_T(until(starved_until, now));
  if (hs_head >= 0) MIN_T(until(slots[hs_head].deadline, now));
  if (ready_head >= 0) MIN_T(0);
  for (int l = 0; l < MOTE_MAX_LISTENERS; l++)
    if (lis[l].active && lis[l].backoff) MIN_T(until(lis[l].resume_at, now));
#undef MIN_T
  return t;
}

void sock_timers(uint32_t now) {
  if (n_parked) close_listeners(1); /* a restart finished without them */
  /* every linger deadline is now + the same delay: the list is in order */
  /* every handshake deadline is accept + the same timeout: in order too */
  while (hs_head >= 0 && (int32_t)(slots[hs_head].deadline - now) <= 0) {
    mote_notice("conn %d: TLS handshake timed out after %u ms; closing", hs_head, cfg.tls_handshake_ms);
    close_slot(hs_head);
  }
  while (linger_head >= 0 && (int32_t)(slots[linger_head].deadline - now) <= 0) {
    mote_debug("conn %d: graceful close timed out", linger_head);
    close_slot(linger_head);
  }
  if (starved_head >= 0 && (int32_t)(starved_until - now) <= 0) {
    int32_t id = starved_head;
    starved_head = -1;
    while (id >= 0) {
      struct slot *s = &slots[id];
      int32_t next = s->snext;
      s->in_starved = 0;
      if (s->state == S_OPEN && s->starved) {
        s->starved = 0;
        if (s->tls && mote_tls_pending(s->tls)) ready_push(id);
        set_interest(id);
      }
      id = next;
    }
  }
  for (int l = 0; l < MOTE_MAX_LISTENERS; l++) {
    struct listener *L = &lis[l];
    if (L->active && L->backoff && (int32_t)(L->resume_at - now) <= 0) {
      L->backoff = 0;
      if (accepting) cfg.loop->mod(L->fd, EV_IN);
    }
  }
}

uint32_t sock_open_count(void) { return n_open; }
uint32_t sock_linger_count(void) { return n_linger; }
uint32_t sock_slot_bytes(void) { return (uint32_t)sizeof(struct slot); }

void port_reset(void) {
  uint32_t nc = 0, nl = sock_listener_count();
  for (uint32_t i = 0; i < nslots; i++) {
    struct slot *s = &slots[i];
    if (s->state == S_FREE) continue;
    unwatch(s->fd, 1);
    close(s->fd);
    if (s->tls) mote_tls_free(s->tls);
    nc++;
  }
  reset_tables();
  /* Listening sockets stay open (not watched) so that the restarted core
   * can claim them back without a window of refused connections; those it
   * does not claim are closed by the next sock_timers(). */
  close_listeners(1);
  for (int l = 0; l < MOTE_MAX_LISTENERS; l++) {
    struct listener *L = &lis[l];
    if (!L->active) continue;
    L->active = 0;
    L->parked = 1;
    n_parked++;
    /* the vhost's TLS configuration goes with the old core (no session uses
     * it: every connection was dropped above); the new one sets it again */
    mote_tls_listener_drop(&L->tls, cfg.tls_server);
    cfg.loop->mod(L->fd, 0);
  }
  mote_notice("reset: dropped %u connections; %u listeners kept for the restarted core", nc, nl);
}

void sock_shutdown_all(void) {
  for (uint32_t i = 0; i < nslots; i++) {
    struct slot *s = &slots[i];
    if (s->state == S_OPEN) {
      if (report_closed((int32_t)i, MOTE_CLOSED_SHUTDOWN) != H_OK) break; /* everything is closed */
    } else if (s->state != S_FREE) {
      close_slot((int32_t)i);
    }
  }
  close_listeners(0);
}

int sock_init(const struct sock_config *c) {
  cfg = *c;
  nslots = c->nslots;
  slots = calloc(nslots, sizeof *slots);
  evs = calloc(MOTE_LOOP_MAX_EVENTS, sizeof *evs);
  by_fd = malloc((c->max_fds ? c->max_fds : 1) * sizeof *by_fd);
  if (!slots || !evs || !by_fd) return -ENOMEM;
  for (uint32_t i = 0; i < c->max_fds; i++) by_fd[i] = -1;
  reset_tables();
  for (int l = 0; l < MOTE_MAX_LISTENERS; l++) lis[l].fd = -1;
  return cfg.loop->open(c->max_fds);
}

void sock_free(void) {
  if (wake_fd >= 0) unwatch(wake_fd, 0);
  wake_fd = -1;
  cfg.loop->close();
  free(slots);
  free(evs);
  free(by_fd);
  slots = NULL;
  evs = NULL;
  by_fd = NULL;
}
