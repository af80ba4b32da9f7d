/* Internals shared by the Linux simulator's files (not part of any API). */
#ifndef MOTE_LINUX_H
#define MOTE_LINUX_H

#include <signal.h>
#include <stdint.h>

/* ---- loop.c: epoll (level-triggered) or poll(2) ------------------------ */

#define EV_IN 1u
#define EV_OUT 2u
#define EV_HUP 4u
#define EV_ERR 8u

struct ev {
  uint32_t token; /* what was registered with the fd */
  uint32_t events; /* EV_* */
};

/* tokens are 0..max_tokens-1. Returns 0 or -errno. */
int loop_open(int use_poll, uint32_t max_tokens);
void loop_close(void);
const char *loop_name(void);
int loop_add(int fd, uint32_t token, uint32_t events);
int loop_mod(int fd, uint32_t token, uint32_t events);
/* Forget fd. `closing`: the fd is about to be closed (epoll drops it then,
 * so no syscall is made). */
void loop_del(int fd, uint32_t token, int closing);
/* Wait up to timeout_ms (-1: forever) with `sigmask` installed during the
 * wait. Returns the number of events (0 on timeout or signal) or -errno. */
int loop_wait(struct ev *out, int max, int timeout_ms, const sigset_t *sigmask);

/* ---- sock.c: connection table, listeners, port_sock_* ------------------ */

#include <sys/socket.h>

#define SOCK_MAX_LISTENERS 8
/* descriptors kept back from the connection table: listeners, the epoll
 * fd, and one spare to accept-and-close when the table is full */
#define SOCK_FD_RESERVE (SOCK_MAX_LISTENERS + 2)

/* Parse a numeric IPv4/IPv6 address (scope ids allowed). Returns 4 or 6, or
 * -1 when it is not an address. */
int sock_parse_iface(const char *iface, uint32_t port, struct sockaddr_storage *ss, socklen_t *len);

struct sim_config {
  uint32_t port;         /* --port */
  const char *iface;     /* --iface */
  int iface_v6;          /* iface is an IPv6 literal */
  uint32_t nslots;       /* connection table size */
  int use_poll;
  int tls;                   /* --tls: every listener speaks TLS (platform/tls/) */
  struct mote_tls_server *tls_server; /* the command line's configuration (with --tls) */
  uint32_t tls_handshake_ms; /* a handshake not done by then is closed */
};

int sock_init(const struct sim_config *cfg); /* allocate tables, open the loop */
/* One service pass: wait up to timeout_ms, handle events. Returns 0, or -1
 * when the driver reported a fatal failure. */
int sock_service(int timeout_ms, const sigset_t *sigmask);
/* ms until the port's own next deadline (lingering closes, ...), or -1. */
int sock_next_timeout(uint32_t now);
/* Run port timers (lingering closes, paused listeners). */
void sock_timers(uint32_t now);
uint32_t sock_open_count(void);   /* connections the core knows */
uint32_t sock_linger_count(void); /* gracefully closing, core has forgotten */
uint32_t sock_listener_count(void);
void sock_stop_accepting(void);
/* Report every open connection closed (CLOSED_SHUTDOWN), close everything. */
void sock_shutdown_all(void);
void sock_free(void);
/* Print "listening on http(s)://HOST:PORT/" for the first listener, once
 * the core is up (a vhost may have turned TLS on after listening). */
void sock_announce(void);

/* ---- sys.c -------------------------------------------------------------- */

uint32_t sim_now_ms(void);

/* daemon.c: --daemon (lws_daemonize). begin() returns in the daemon only
 * (the starting process exits from it: 0 once ready() is called, 1 if the
 * daemon dies first); -1 when the lock file is held or fork fails. */
/* flash.c: the app-image store's region as a file of exactly 2 slots. */
struct mote_flash;
int sim_flash_open(const char *path, uint32_t slot_bytes, uint32_t erase_bytes, struct mote_flash *out);

/* The syslog sink: log lines go to the local syslog socket (path NULL:
 * /dev/log) with this facility code (sim_syslog_facility: a name such as
 * "daemon" or "local0" -> its code, or -1) instead of stderr. 0, or -1
 * after saying why on stderr. */
int sim_log_syslog(const char *path, int facility);
int sim_syslog_facility(const char *name);
int sim_daemon_begin(const char *lock_path);
void sim_daemon_ready(void);
void sim_daemon_end(void);

#endif
