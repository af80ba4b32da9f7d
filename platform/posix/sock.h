/* The BSD-socket port's interface to the program that runs it (the Linux
 * simulator's main, an ESP-IDF task, an application's own loop). The
 * port_sock_* imports it implements are in port.h. */
#ifndef MOTE_SOCK_H
#define MOTE_SOCK_H

#include <stdint.h>
#include <sys/socket.h>

#include "loop.h"

struct mote_tls_server;

struct sock_port_map {
  uint32_t from, to; /* a vhost asking for port `from` is bound to `to` (0: any free port) */
};

struct sock_config {
  const char *iface;     /* address to bind when a vhost names none (numeric) */
  const struct sock_port_map *port_map; /* vhost ports bound elsewhere (a test's free ports) */
  uint32_t n_port_map;
  uint32_t nslots;       /* connection table size */
  uint32_t max_fds;      /* descriptors are below this */
  const struct mote_loop *loop; /* the readiness backend */
  struct mote_tls_server *tls_server; /* every listener's TLS configuration (a command line's), or NULL */
  uint32_t tls_handshake_ms; /* a handshake not done by then is closed */
};

/* Allocate the tables and open the loop. 0 or -errno. */
int sock_init(const struct sock_config *cfg);
void sock_free(void);

/* One service pass: wait up to timeout_ms (-1: until something happens),
 * then sock_event() for each ready descriptor. Returns 0, or -1 when the
 * driver reported a fatal failure. */
int sock_service(int timeout_ms);

/* The entry point for one ready descriptor (EV_* events), whoever runs the
 * loop. Bracket the events of one wait with begin/end: begin brings the
 * core's clock to now (mote_drv_clock), so call it when the wait ends, not
 * before it starts; end handles what no descriptor announces (TLS input
 * mbedTLS already decrypted). Events of a descriptor opened during the same
 * pass are stale and ignored. Each returns 0, or -1 when the driver
 * reported a fatal failure. */
int sock_events_begin(void);
int sock_event(int fd, uint32_t events);
int sock_events_end(void);
/* The port's clock (port_now_ms) as sock_events_begin() last read it: the
 * loop's "now" after a pass, without reading the clock again. */
uint32_t sock_events_time(void);

/* A descriptor whose readability ends a wait (a signal handler's self-pipe):
 * sock_service() reads it empty and returns. 0 or -errno. */
int sock_watch_wakeup(int fd);

/* The whole service loop (platform/posix/run.c), for a program that gives
 * the port a thread of its own: runs until *stops turns non-zero (a stop is
 * asked; the watched wake-up descriptor must make the wait end), then
 * drains: WebSocket peers get close 1001, and once every connection is gone
 * or MOTE_SHUTDOWN_GRACE_MS have passed (or *stops reaches 2) everything is
 * closed. Returns the exit status: 0, or 1 when the driver failed. */
int sock_run(const volatile int *stops);

/* ms until the port's own next deadline (lingering closes, ...), or -1. */
int sock_next_timeout(uint32_t now);
/* Run port timers (lingering closes, paused listeners, handshakes). */
void sock_timers(uint32_t now);

uint32_t sock_open_count(void);   /* connections the core knows */
uint32_t sock_linger_count(void); /* gracefully closing, the core has forgotten them */
uint32_t sock_listener_count(void);
uint32_t sock_slot_bytes(void);   /* the port's table entry per connection slot */
void sock_stop_accepting(void);
/* Report every open connection closed (CLOSED_SHUTDOWN), close everything. */
void sock_shutdown_all(void);
/* Print "listening on http(s)://HOST:PORT/" for the first listener, once
 * the core is up (a vhost may have turned TLS on after listening). */
void sock_announce(void);

/* Parse a numeric IPv4/IPv6 address (scope ids allowed). Returns 4 or 6, or
 * -1 when it is not an address. */
int sock_parse_iface(const char *iface, uint32_t port, struct sockaddr_storage *ss, socklen_t *len);

#endif
