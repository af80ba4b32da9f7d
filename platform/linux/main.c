/* mote-sim: the Linux host simulator. Command line, connection table size,
 * signals, and the service loop around the BSD-socket port
 * (platform/posix/sock.c) and the driver. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/driver.h"
#include "../common/image_store.h"
#include "../common/zcodec.h"
#include "engine.h"
#include "linux.h"
#include "mote_abi.h"
#include "mote_opts.h"
#include "sock.h"
#include "../tls/tls.h"

#define MOTE_STR_(x) #x
#define MOTE_STR(x) MOTE_STR_(x) /* a number as a string literal */

#ifndef MOTE_TLS_TEST_DIR /* the test certificates tools/bootstrap.js makes */
#define MOTE_TLS_TEST_DIR "vendor/tls"
#endif

static const char USAGE[] =
    "usage: mote-sim [--port N] [--port-map FROM=TO] [--iface ADDR] [-d LEVEL] [--max-conns N] [--poll] [--no-deflate]\n"
    "                [--module FILE]\n"
    "                [--flash FILE --image-key FILE]\n"
    "                [--daemon [--lock FILE]] [--syslog [--syslog-socket PATH] [--syslog-facility NAME]]\n"
    "                [--ka-time S [--ka-probes N] [--ka-interval S]] [--ws-ping S] [--ws-hangup S] [--ws-message S]\n"
    "                [--deflate-sessions N] [--max-conns-per-peer N]\n"
    "                [--help]\n"
    "  --port N       the default vhost's port (the first the app creates), in place of the app's own,\n"
    "                 for it and the vhosts created on that port; 0 = any free port. Other vhosts keep theirs\n"
    "  --port-map FROM=TO  bind a vhost that asks for port FROM on port TO instead (0 = any free port;\n"
    "                 the log names the port bound); repeat for more\n"
    "  --iface ADDR   address to bind for vhosts that name none (default 127.0.0.1; :: or an IPv6\n"
    "                 address binds IPv6, dual-stack)\n"
    "  -d LEVEL       log level bitmask: 1 err, 2 warn, 4 notice, 8 info, 16 debug (default 7)\n"
    "  --max-conns N  cap the connection table (default: RLIMIT_NOFILE minus descriptors in use)\n"
    "  --poll         use poll(2) instead of epoll (a portable build has poll(2) only)\n"
    "  --no-deflate   never negotiate permessage-deflate (RFC 7692), whatever the app allows\n"
    "  --deflate-sessions N  permessage-deflate sessions open at once (default " MOTE_STR(MOTE_Z_SESSIONS) "); past\n"
    "                 them an offer is declined and the connection goes on uncompressed\n"
    "  --max-conns-per-peer N  connections at once from one peer address (nginx limit_conn) for vhosts\n"
    "                 that set none (default: the board file's, none); past it: 503 and close\n"
    "  --module FILE  the module image to run (wasm3 engine only; default: core.wasm next to\n"
    "                 this binary, else the one the build produced)\n"
    "  --flash FILE   run the image from this app-image store (wasm3 engine only; a file of\n"
    "                 2 slots, provisioned by `mote sim --flash`); PUT /.mote/image replaces it\n"
    "  --image-key FILE  the device key of the store (64 hex digits): image tags are\n"
    "                 HMAC-SHA256(key, image)\n"
    "  --daemon       detach (lws_daemonize): exit once the server listens; stdio to /dev/null\n"
    "  --lock FILE    the daemon's lock file, holding its pid (default /tmp/mote-sim-PORT.lock: --daemon\n"
    "                 without --lock needs --port N, not 0)\n"
    "  --syslog       log to the local syslog (lws lwsl_emit_syslog) instead of stderr: one\n"
    "                 datagram per line to /dev/log, severity from the level, ident mote-sim\n"
    "  --syslog-socket PATH  another syslog socket (implies --syslog)\n"
    "  --syslog-facility NAME  daemon (default), user, local0..local7, ... (implies --syslog)\n"
    "  --ka-time S    TCP keepalive on every connection, overriding the vhosts' ka_time: probe after\n"
    "                 S s idle (lws ka_time); a peer silent for S + N * I s is closed\n"
    "  --ka-probes N  probes before giving up (default: the system's, tcp_keepalive_probes)\n"
    "  --ka-interval S  seconds between probes (default: the system's, tcp_keepalive_intvl)\n"
    "  --ws-ping S    ping a WebSocket from which nothing came for S s (lws secs_since_valid_ping;\n"
    "                 default: the board file's, 60; 0: never), for vhosts that set none\n"
    "  --ws-hangup S  close a WebSocket (1001) from which nothing came for S s (lws\n"
    "                 secs_since_valid_hangup; default: the board file's, 120; 0: never)\n"
    "  --ws-message S close a WebSocket (1008) whose frame or message is incomplete S s after it\n"
    "                 began (default: the board file's, 60; 0: never)\n"
    "  --tls          serve TLS (https://, wss://) on every listener; without --tls-cert, the\n"
    "                 test certificates setup made (" MOTE_TLS_TEST_DIR "/ecdsa.crt and rsa.crt)\n"
    "  --tls-cert FILE --tls-key FILE  a certificate (PEM, chain after it) and its key; repeat\n"
    "                 for more (e.g. one ECDSA, one RSA: the client's suites choose); implies --tls\n"
    "  --tls-ciphers LIST  allowed suites (lws ssl_cipher_list), ':'-separated IANA names, e.g.\n"
    "                 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:TLS_AES_128_GCM_SHA256\n"
    "  --tls-sni NAME=CERT,KEY  the certificate for clients asking for NAME (SNI; *.domain allowed)\n"
    "  --tls-version V  1.2 (default) or 1.3: mbedTLS 3.4's server speaks one of them\n"
    "  --tls-client-ca FILE  require client certificates issued by this CA\n"
    "  --tls-handshake-timeout MS  close handshakes not done by then (default 10000)\n"
    "  --help         this text\n";

static void __attribute__((noreturn)) usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "mote-sim: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n%s", USAGE);
  exit(2);
}

static uint32_t parse_uint(const char *name, const char *v, unsigned long max) {
  char *end;
  errno = 0;
  unsigned long x = strtoul(v, &end, 0);
  if (!*v || *end || errno || v[0] == '-' || x > max) {
    fprintf(stderr, "mote-sim: option '%s' needs an integer 0..%lu, got '%s'\n%s", name, max, v, USAGE);
    exit(2);
  }
  return (uint32_t)x;
}

struct args {
  int port_given; /* --port: it overrides the default vhost's port */
  struct sock_port_map port_map[MOTE_MAX_LISTENERS];
  uint32_t n_port_map;
  uint32_t port;
  const char *iface;
  uint32_t log_mask;
  uint32_t max_conns; /* 0: no cap */
  int use_poll;
  uint32_t debug_fault;
  const char *module; /* --module, NULL: default */
  const char *flash;  /* --flash: app-image store file */
  const char *image_key;
  int daemon;
  int syslog;                /* --syslog */
  const char *syslog_socket; /* NULL: /dev/log */
  int syslog_facility;       /* -1: daemon */
  const char *lock;
  int tls; /* --tls and its options */
  uint32_t tls_handshake_ms;
  struct mote_tls_server_opts tls_opts;
  uint32_t ka_time, ka_probes, ka_interval; /* --ka-*; ka_time 0: the vhosts' own */
  uint32_t ws_ping_s, ws_hangup_s, ws_message_s; /* --ws-*: the board's defaults unless given */
  uint32_t peer_conns; /* --max-conns-per-peer */
};

static void parse_tls_arg(struct args *a, const char *name, const char *val) {
  struct mote_tls_server_opts *o = &a->tls_opts;
  a->tls = 1;
  if (!strcmp(name, "--tls-cert")) {
    if (o->ncerts == MOTE_TLS_MAX_CERTS) usage_error("at most " "4" " --tls-cert options%s", "");
    o->certs[o->ncerts++].cert = val;
  } else if (!strcmp(name, "--tls-key")) {
    if (o->ncerts == 0 || o->certs[o->ncerts - 1].key) usage_error("option '--tls-key %s' needs a --tls-cert before it", val);
    o->certs[o->ncerts - 1].key = val;
  } else if (!strcmp(name, "--tls-ciphers")) {
    o->ciphers = val;
  } else if (!strcmp(name, "--tls-version")) {
    if (strcmp(val, "1.2") && strcmp(val, "1.3")) usage_error("option '--tls-version' needs 1.2 or 1.3, got '%s'", val);
    o->tls13 = !strcmp(val, "1.3");
  } else if (!strcmp(name, "--tls-client-ca")) {
    o->client_ca = val;
  } else if (!strcmp(name, "--tls-handshake-timeout")) {
    a->tls_handshake_ms = parse_uint(name, val, 3600000);
    if (a->tls_handshake_ms == 0) usage_error("option '--tls-handshake-timeout' needs at least 1 ms, got '%s'", val);
  } else { /* --tls-sni NAME=CERT,KEY */
    if (o->nsni == MOTE_TLS_MAX_SNI) usage_error("at most 8 --tls-sni options%s", "");
    char *copy = strdup(val); /* lives until exit, like argv */
    char *eq = copy ? strchr(copy, '=') : NULL, *comma = eq ? strchr(eq, ',') : NULL;
    if (!eq || !comma || eq == copy || comma == eq + 1 || !comma[1]) usage_error("option '--tls-sni' needs NAME=CERT,KEY, got '%s'", val);
    *eq = *comma = 0;
    struct mote_tls_sni *e = &o->sni[o->nsni++];
    e->name = copy;
    e->ck.cert = eq + 1;
    e->ck.key = comma + 1;
  }
}

static void parse_args(int argc, char **argv, struct args *a) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *val = NULL;
    char name[32];
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    if (eq && (size_t)(eq - arg) < sizeof name) {
      memcpy(name, arg, (size_t)(eq - arg));
      name[eq - arg] = 0;
      val = eq + 1;
    } else {
      snprintf(name, sizeof name, "%s", arg);
    }
    int is_bool = !strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "--poll") || !strcmp(name, "--daemon") || !strcmp(name, "--syslog") ||
                  !strcmp(name, "--tls") || !strcmp(name, "--no-deflate");
    int is_tls = !strcmp(name, "--tls-cert") || !strcmp(name, "--tls-key") || !strcmp(name, "--tls-ciphers") ||
                 !strcmp(name, "--tls-sni") || !strcmp(name, "--tls-client-ca") || !strcmp(name, "--tls-handshake-timeout") ||
                 !strcmp(name, "--tls-version");
    int is_val = !strcmp(name, "--port") || !strcmp(name, "--port-map") || !strcmp(name, "--iface") || !strcmp(name, "-d") ||
                 !strcmp(name, "--max-conns") || !strcmp(name, "--debug-fault") || !strcmp(name, "--module") || !strcmp(name, "--lock") ||
                 !strcmp(name, "--flash") || !strcmp(name, "--image-key") ||
                 !strcmp(name, "--syslog-socket") || !strcmp(name, "--syslog-facility") ||
                 !strcmp(name, "--ka-time") || !strcmp(name, "--ka-probes") || !strcmp(name, "--ka-interval") ||
                 !strcmp(name, "--ws-ping") || !strcmp(name, "--ws-hangup") || !strcmp(name, "--ws-message") ||
                 !strcmp(name, "--deflate-sessions") || !strcmp(name, "--max-conns-per-peer");
    if (!is_bool && !is_val && !is_tls) usage_error("unknown option '%s'", arg);
    if (is_bool) {
      if (val) usage_error("option '%s' takes no value", name);
      if (!strcmp(name, "--poll")) {
        a->use_poll = 1;
        continue;
      }
      if (!strcmp(name, "--no-deflate")) {
        mote_z_enable(0); /* the driver then leaves MOTE_INIT_DEFLATE out */
        continue;
      }
      if (!strcmp(name, "--daemon")) {
        a->daemon = 1;
        continue;
      }
      if (!strcmp(name, "--syslog")) {
        a->syslog = 1;
        continue;
      }
      if (!strcmp(name, "--tls")) {
        a->tls = 1;
        continue;
      }
      fputs(USAGE, stdout);
      exit(0);
    }
    if (!val) {
      if (i + 1 >= argc) usage_error("option '%s' needs a value", name);
      val = argv[++i];
    }
    if (!strcmp(name, "--port")) {
      a->port = parse_uint(name, val, 65535);
      a->port_given = 1;
    } else if (!strcmp(name, "--port-map")) {
      char *eq = strchr(val, '=');
      if (!eq || eq == val || !eq[1]) usage_error("option '--port-map' needs FROM=TO, got '%s'", val);
      if (a->n_port_map == MOTE_MAX_LISTENERS) {
        char most[16];
        snprintf(most, sizeof most, "%d", MOTE_MAX_LISTENERS);
        usage_error("at most %s --port-map options", most);
      }
      *eq = 0;
      struct sock_port_map *m = &a->port_map[a->n_port_map++];
      m->from = parse_uint("--port-map", val, 65535);
      m->to = parse_uint("--port-map", eq + 1, 65535);
      *eq = '=';
    }
    else if (!strcmp(name, "-d")) a->log_mask = parse_uint(name, val, 0xffff);
    else if (!strcmp(name, "--max-conns")) {
      a->max_conns = parse_uint(name, val, UINT32_MAX);
      if (a->max_conns == 0) usage_error("option '--max-conns' needs at least 1, got '%s'", val);
    } else if (!strcmp(name, "--debug-fault")) a->debug_fault = parse_uint(name, val, UINT32_MAX);
    else if (!strcmp(name, "--module")) a->module = val;
    else if (!strcmp(name, "--lock")) a->lock = val;
    else if (!strcmp(name, "--ka-time")) a->ka_time = parse_uint(name, val, 32767);
    else if (!strcmp(name, "--ka-probes")) a->ka_probes = parse_uint(name, val, 127);
    else if (!strcmp(name, "--ka-interval")) a->ka_interval = parse_uint(name, val, 32767);
    else if (!strcmp(name, "--ws-ping")) a->ws_ping_s = parse_uint(name, val, 86400);
    else if (!strcmp(name, "--ws-hangup")) a->ws_hangup_s = parse_uint(name, val, 86400);
    else if (!strcmp(name, "--ws-message")) a->ws_message_s = parse_uint(name, val, 86400);
    else if (!strcmp(name, "--deflate-sessions")) mote_z_set_sessions(parse_uint(name, val, 65536));
    else if (!strcmp(name, "--max-conns-per-peer")) a->peer_conns = parse_uint(name, val, 65535);
    else if (!strcmp(name, "--flash")) a->flash = val;
    else if (!strcmp(name, "--image-key")) a->image_key = val;
    else if (!strcmp(name, "--syslog-socket")) {
      a->syslog = 1;
      a->syslog_socket = val;
    } else if (!strcmp(name, "--syslog-facility")) {
      a->syslog = 1;
      a->syslog_facility = sim_syslog_facility(val);
      if (a->syslog_facility < 0)
        usage_error("option '--syslog-facility' needs kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, "
                    "authpriv, ftp or local0..local7, got '%s'", val);
    }
    else if (is_tls) parse_tls_arg(a, name, val);
    else a->iface = val;
  }
}

/* Descriptors open now: /proc/self/fd, or probing when /proc is missing. */
static uint32_t fds_in_use(uint64_t soft) {
  DIR *d = opendir("/proc/self/fd");
  if (d) {
    uint32_t n = 0;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
      if (e->d_name[0] != '.' && atoi(e->d_name) != self) n++;
    closedir(d);
    return n;
  }
  uint32_t n = 0;
  uint64_t lim = soft < 65536 ? soft : 65536;
  for (uint64_t fd = 0; fd < lim; fd++)
    if (fcntl((int)fd, F_GETFD) >= 0) n++;
  return n;
}

/* The descriptor limit (RLIMIT_NOFILE's soft value, at most 2^20): every
 * descriptor the process gets is below it. */
static uint32_t fd_limit(void) {
  struct rlimit rl;
  uint64_t soft = 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) soft = rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : (uint64_t)rl.rlim_cur;
  return soft > (1u << 20) ? (1u << 20) : (uint32_t)soft;
}

static uint32_t table_size(uint32_t cli_cap) {
  uint64_t soft = fd_limit();
  uint32_t in_use = fds_in_use(soft);
  uint64_t avail = soft > (uint64_t)in_use + MOTE_FD_RESERVE ? soft - in_use - MOTE_FD_RESERVE : 0;
  uint64_t n = MOTE_BOARD_MAX_CONNS_FROM_RLIMIT ? avail : MOTE_BOARD_MAX_CONNS;
  if (n > avail) n = avail;
  if (n > MOTE_BOARD_MAX_CONNS) n = MOTE_BOARD_MAX_CONNS;
  if (cli_cap && n > cli_cap) n = cli_cap;
  if (n == 0) {
    mote_err("connection table: no descriptors left (RLIMIT_NOFILE %llu, in use %u, reserve %d)",
             (unsigned long long)soft, in_use, MOTE_FD_RESERVE);
    return 0;
  }
  mote_notice("connection table: %u slots (RLIMIT_NOFILE %llu, in use %u)", (uint32_t)n, (unsigned long long)soft,
              in_use);
  return (uint32_t)n;
}

/* ---- the module image (engines that load the module at run time) ------- */

#ifndef MOTE_DEFAULT_MODULE
#define MOTE_DEFAULT_MODULE "core.wasm"
#endif
#define IMAGE_MAX (16u << 20) /* far above any core; refuses a wrong file early */

/* --module, else core.wasm next to the binary, else the build's module. */
static const char *image_path(const char *given, char *buf, size_t cap) {
  if (given) return given;
  ssize_t n = readlink("/proc/self/exe", buf, cap - 16);
  if (n > 0) {
    buf[n] = 0;
    char *slash = strrchr(buf, '/');
    if (slash) {
      strcpy(slash + 1, "core.wasm");
      if (access(buf, R_OK) == 0) return buf;
    }
  }
  return MOTE_DEFAULT_MODULE;
}

/* The whole file in one allocation (kept until exit: the engine reads the
 * module in place), or NULL after printing why. */
static uint8_t *read_image(const char *path, uint32_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    fprintf(stderr, "mote-sim: cannot read the module image %s: %s\n", path, strerror(errno));
    if (fd >= 0) close(fd);
    return NULL;
  }
  if (!S_ISREG(st.st_mode) || st.st_size < 8 || (uint64_t)st.st_size > IMAGE_MAX) {
    fprintf(stderr, "mote-sim: %s is not a module image (%lld bytes)\n", path, (long long)st.st_size);
    close(fd);
    return NULL;
  }
  uint8_t *buf = malloc((size_t)st.st_size);
  size_t got = 0;
  while (buf && got < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (!buf || got != (size_t)st.st_size) {
    fprintf(stderr, "mote-sim: cannot read the module image %s: %s\n", path, buf ? "short read" : "out of memory");
    free(buf);
    return NULL;
  }
  *len = (uint32_t)got;
  return buf;
}

/* The store's device key: a file of 64 hex digits (whitespace around them
 * ignored). 0, or -1 after printing why. */
static int read_key(const char *path, uint8_t key[MOTE_IMAGE_KEY_BYTES]) {
  FILE *f = fopen(path, "r");
  char text[160];
  size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
  if (f) fclose(f);
  if (!f) {
    fprintf(stderr, "mote-sim: cannot read the image key %s: %s\n", path, strerror(errno));
    return -1;
  }
  text[n] = 0;
  char *p = text;
  while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
  for (int i = 0; i < MOTE_IMAGE_KEY_BYTES; i++) {
    unsigned v;
    if (sscanf(p + 2 * i, "%2x", &v) != 1 || !isxdigit((unsigned char)p[2 * i]) || !isxdigit((unsigned char)p[2 * i + 1])) {
      fprintf(stderr, "mote-sim: the image key %s must hold 64 hex digits (32 bytes)\n", path);
      return -1;
    }
    key[i] = (uint8_t)v;
  }
  if (isxdigit((unsigned char)p[2 * MOTE_IMAGE_KEY_BYTES])) {
    fprintf(stderr, "mote-sim: the image key %s must hold 64 hex digits (32 bytes), not more\n", path);
    return -1;
  }
  return 0;
}

/* SIGINT/SIGTERM: counted, and a byte down the self-pipe, whose read end the
 * loop watches (sock_watch_wakeup), so a wait ends at once whichever loop
 * backend waits (POSIX: no ppoll or epoll_pwait needed). */
static volatile int signals; /* sock_run(): 1 drains, 2 exits now */
static int wake_pipe[2] = {-1, -1};
static void on_signal(int sig) {
  (void)sig;
  signals++;
  int e = errno;
  if (write(wake_pipe[1], "", 1) < 0) { /* full: a wake-up is pending anyway */ }
  errno = e;
}

static int open_wake_pipe(void) {
  if (pipe(wake_pipe) < 0) return -1;
  for (int i = 0; i < 2; i++) {
    fcntl(wake_pipe[i], F_SETFL, fcntl(wake_pipe[i], F_GETFL, 0) | O_NONBLOCK);
    fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC);
  }
  return 0;
}

int main(int argc, char **argv) {
  struct args a = {.port = 7681, .iface = "127.0.0.1", .log_mask = MOTE_LOG_DEFAULT, .syslog_facility = -1,
                   .ws_ping_s = MOTE_BOARD_WS_PING_S, .ws_hangup_s = MOTE_BOARD_WS_HANGUP_S, .ws_message_s = MOTE_BOARD_WS_MESSAGE_S,
                   .peer_conns = MOTE_BOARD_PEER_CONNS};
  parse_args(argc, argv, &a);
  struct sock_config cfg = {.iface = a.iface, .port_map = a.port_map, .n_port_map = a.n_port_map,
                            .tls_handshake_ms = a.tls_handshake_ms ? a.tls_handshake_ms : MOTE_TLS_HANDSHAKE_MS};
  if (a.tls_opts.ncerts && !a.tls_opts.certs[a.tls_opts.ncerts - 1].key)
    usage_error("option '--tls-cert %s' needs a --tls-key after it", a.tls_opts.certs[a.tls_opts.ncerts - 1].cert);
  if (a.tls && a.tls_opts.ncerts == 0) {
    /* the test certificates: ECDSA P-256 and RSA-2048 for localhost */
    a.tls_opts.certs[0] = (struct mote_tls_certkey){MOTE_TLS_TEST_DIR "/ecdsa.crt", MOTE_TLS_TEST_DIR "/ecdsa.key"};
    a.tls_opts.certs[1] = (struct mote_tls_certkey){MOTE_TLS_TEST_DIR "/rsa.crt", MOTE_TLS_TEST_DIR "/rsa.key"};
    a.tls_opts.ncerts = 2;
  }
  struct sockaddr_storage ss;
  socklen_t sl;
  int fam = sock_parse_iface(a.iface, a.port, &ss, &sl);
  if (fam < 0) usage_error("option '--iface' needs an IPv4 or IPv6 address, got '%s'", a.iface);
  if (a.lock && !a.daemon) usage_error("option '--lock' needs --daemon%s", "");
  if (a.daemon && !a.lock && (!a.port_given || a.port == 0))
    usage_error("option '--daemon' needs --port N (not 0) or --lock FILE (the default lock file, /tmp/mote-sim-PORT.lock, is named "
                "after the port)%s", "");
  if ((a.ka_probes || a.ka_interval) && !a.ka_time) usage_error("options '--ka-probes' and '--ka-interval' need --ka-time%s", "");
  /* before detaching: a syslog that cannot be reached is said on the terminal */
  if (a.syslog && sim_log_syslog(a.syslog_socket, a.syslog_facility < 0 ? 3 : a.syslog_facility) < 0) return 2;
  char lock_default[64];
  if (a.daemon) {
    if (!a.lock) {
      snprintf(lock_default, sizeof lock_default, "/tmp/mote-sim-%u.lock", a.port);
      a.lock = lock_default;
    }
    if (sim_daemon_begin(a.lock) < 0) return 1;
  }
  mote_log_set_mask(a.log_mask);
  if (a.debug_fault) mote_engine_debug_fault(a.debug_fault);

  /* The module: an image file for wasm3, compiled in for wasm2c. */
  char exe_dir[PATH_MAX];
  const char *module = NULL;
  uint8_t *image = NULL;
  uint32_t image_len = 0;
  if (a.flash && !mote_engine_uses_image())
    usage_error("option '--flash' needs the wasm3 engine; this binary runs %s, with the module built in", mote_engine_name());
  if (a.flash && a.module) usage_error("options '--flash' and '--module' exclude each other: the store holds the module%s", "");
  if (!!a.flash != !!a.image_key) usage_error("options '--flash' and '--image-key' go together%s", "");
  if (a.flash) {
    struct mote_flash fl;
    uint8_t key[MOTE_IMAGE_KEY_BYTES];
    if (read_key(a.image_key, key) < 0) return 1;
    if (sim_flash_open(a.flash, MOTE_BOARD_IMAGE_SLOT_BYTES, MOTE_BOARD_IMAGE_ERASE_BYTES, &fl) < 0) return 1;
    if (mote_image_store_init(&fl, key) < 0) return 1;
    memset(key, 0, sizeof key);
    module = a.flash;
  } else if (mote_engine_uses_image()) {
    module = image_path(a.module, exe_dir, sizeof exe_dir);
    if (!(image = read_image(module, &image_len))) return 1;
    mote_engine_set_image(image, image_len);
  } else if (a.module) {
    usage_error("option '--module' needs the wasm3 engine; this binary runs %s, with the module built in",
                mote_engine_name());
  }

  /* Signals: SIGPIPE ignored; SIGINT/SIGTERM through the self-pipe. */
  signal(SIGPIPE, SIG_IGN);
  if (open_wake_pipe() < 0) {
    mote_err("pipe: %s", strerror(errno));
    return 1;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  if (a.tls) {
    cfg.tls_server = mote_tls_server_create(&a.tls_opts);
    if (!cfg.tls_server) return 1; /* logged: which file or name */
    mote_notice("tls: TLS %s, %u certificate(s), %u SNI name(s)%s%s%s; handshake timeout %u ms",
                a.tls_opts.tls13 ? "1.3" : "1.2 (or 1.3 by the cipher list)", a.tls_opts.ncerts, a.tls_opts.nsni,
                a.tls_opts.ciphers ? ", suites " : "", a.tls_opts.ciphers ? a.tls_opts.ciphers : "",
                a.tls_opts.client_ca ? ", client certificates required" : "", cfg.tls_handshake_ms);
  }
  cfg.nslots = table_size(a.max_conns);
  if (cfg.nslots == 0) return 1;
  cfg.max_fds = fd_limit();
  cfg.loop = &mote_loop_poll;
#if MOTE_HAVE_EPOLL
  if (!a.use_poll) cfg.loop = &mote_loop_epoll;
#endif
  int r = sock_init(&cfg);
  if (r < 0 && cfg.loop != &mote_loop_poll) {
    mote_warn("%s: %s; using poll", cfg.loop->name, strerror(-r));
    sock_free();
    cfg.loop = &mote_loop_poll;
    r = sock_init(&cfg);
  }
  if (r < 0 || sock_watch_wakeup(wake_pipe[0]) < 0) {
    mote_err("cannot allocate the connection table (%u slots) or start the %s loop", cfg.nslots, cfg.loop->name);
    return 1;
  }
  mote_notice("mote-sim: board %s, engine %s, %s loop", MOTE_BOARD_NAME, mote_engine_name(), cfg.loop->name);
  if (a.flash) mote_notice("app-image store %s", a.flash);
  else if (module) mote_notice("module image %s (%u bytes)", module, image_len);

  struct mote_limits lim = {
      .max_conns = cfg.nslots,
      .rx_buf = MOTE_BOARD_RX_BUF,
      .hdr_pool = MOTE_BOARD_HDR_POOL,
      .hdr_bytes = MOTE_BOARD_HDR_BYTES,
      .tx_blocks = MOTE_BOARD_TX_BLOCKS,
      .tx_block_bytes = MOTE_BOARD_TX_BLOCK_BYTES,
      .log_level = a.log_mask,
      .max_message = MOTE_BOARD_MAX_MESSAGE,
      .tx_conn_bytes = MOTE_BOARD_TX_CONN_BYTES,
      /* the default vhost's port: 0 keeps the app's own, PORT_ANY any free one */
      .port = !a.port_given ? 0 : a.port == 0 ? MOTE_PORT_ANY : a.port,
      .flags = 0,
      .ka_time = a.ka_time,
      .ka_probes = a.ka_probes,
      .ka_interval = a.ka_interval,
      .ws_ping_s = a.ws_ping_s,
      .ws_hangup_s = a.ws_hangup_s,
      .ws_message_s = a.ws_message_s,
      .peer_conns = a.peer_conns,
  };
  if (mote_drv_start(&lim) < 0) {
    sock_free();
    free(image);
    return 1;
  }
  if (sock_listener_count() == 0) mote_warn("the core opened no listener");
  sock_announce();
  sim_daemon_ready();

  int status = sock_run(&signals);
  mote_drv_stop();
  sock_free();
  free(image);
  if (mote_drv_restarts()) mote_notice("core restarted %u times after traps", mote_drv_restarts());
  mote_tls_server_destroy(cfg.tls_server);
  mote_tls_global_free();
  mote_notice("exit %d", status);
  sim_daemon_end();
  return status;
}
