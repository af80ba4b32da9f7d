/* mote-sim: the Linux host simulator. Command line, connection table size,
 * signals, and the service loop around sock.c and the driver. */
#define _GNU_SOURCE
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

#include "board_config.h"
#include "../common/driver.h"
#include "engine.h"
#include "linux.h"
#include "mote_abi.h"

#define SHUTDOWN_GRACE_MS 3000

static const char USAGE[] =
    "usage: mote-sim [--port N] [--iface ADDR] [-d LEVEL] [--max-conns N] [--poll] [--module FILE]\n"
    "                [--daemon [--lock FILE]] [--help]\n"
    "  --port N       TCP port to listen on (default 7681; 0 = any free port)\n"
    "  --iface ADDR   address to bind (default 127.0.0.1; :: or an IPv6 address binds IPv6, dual-stack)\n"
    "  -d LEVEL       log level bitmask: 1 err, 2 warn, 4 notice, 8 info, 16 debug (default 7)\n"
    "  --max-conns N  cap the connection table (default: RLIMIT_NOFILE minus descriptors in use)\n"
    "  --poll         use poll(2) instead of epoll\n"
    "  --module FILE  the module image to run (wasm3 engine only; default: core.wasm next to\n"
    "                 this binary, else the one the build produced)\n"
    "  --daemon       detach (lws_daemonize): exit once the server listens; stdio to /dev/null\n"
    "  --lock FILE    the daemon's lock file, holding its pid (default /tmp/mote-sim-PORT.lock)\n"
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
  uint32_t port;
  const char *iface;
  uint32_t log_mask;
  uint32_t max_conns; /* 0: no cap */
  int use_poll;
  uint32_t debug_fault;
  const char *module; /* --module, NULL: default */
  int daemon;
  const char *lock;
};

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
    int is_bool = !strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "--poll") || !strcmp(name, "--daemon");
    int is_val = !strcmp(name, "--port") || !strcmp(name, "--iface") || !strcmp(name, "-d") ||
                 !strcmp(name, "--max-conns") || !strcmp(name, "--debug-fault") || !strcmp(name, "--module") || !strcmp(name, "--lock");
    if (!is_bool && !is_val) usage_error("unknown option '%s'", arg);
    if (is_bool) {
      if (val) usage_error("option '%s' takes no value", name);
      if (!strcmp(name, "--poll")) {
        a->use_poll = 1;
        continue;
      }
      if (!strcmp(name, "--daemon")) {
        a->daemon = 1;
        continue;
      }
      fputs(USAGE, stdout);
      exit(0);
    }
    if (!val) {
      if (i + 1 >= argc) usage_error("option '%s' needs a value", name);
      val = argv[++i];
    }
    if (!strcmp(name, "--port")) a->port = parse_uint(name, val, 65535);
    else if (!strcmp(name, "-d")) a->log_mask = parse_uint(name, val, 0xffff);
    else if (!strcmp(name, "--max-conns")) {
      a->max_conns = parse_uint(name, val, UINT32_MAX);
      if (a->max_conns == 0) usage_error("option '--max-conns' needs at least 1, got '%s'", val);
    } else if (!strcmp(name, "--debug-fault")) a->debug_fault = parse_uint(name, val, UINT32_MAX);
    else if (!strcmp(name, "--module")) a->module = val;
    else if (!strcmp(name, "--lock")) a->lock = val;
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

static uint32_t table_size(uint32_t cli_cap) {
  struct rlimit rl;
  uint64_t soft = 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) soft = rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : (uint64_t)rl.rlim_cur;
  uint32_t in_use = fds_in_use(soft);
  uint64_t avail = soft > (uint64_t)in_use + SOCK_FD_RESERVE ? soft - in_use - SOCK_FD_RESERVE : 0;
  uint64_t n = MOTE_BOARD_MAX_CONNS_FROM_RLIMIT ? avail : MOTE_BOARD_MAX_CONNS;
  if (n > avail) n = avail;
  if (n > MOTE_BOARD_MAX_CONNS) n = MOTE_BOARD_MAX_CONNS;
  if (cli_cap && n > cli_cap) n = cli_cap;
  if (n == 0) {
    mote_err("connection table: no descriptors left (RLIMIT_NOFILE %llu, in use %u, reserve %d)",
             (unsigned long long)soft, in_use, SOCK_FD_RESERVE);
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

static volatile sig_atomic_t signals;
static void on_signal(int sig) {
  (void)sig;
  signals++;
}

int main(int argc, char **argv) {
  struct args a = {.port = 7681, .iface = "127.0.0.1", .log_mask = MOTE_LOG_DEFAULT};
  parse_args(argc, argv, &a);
  struct sim_config cfg = {.port = a.port, .iface = a.iface, .use_poll = a.use_poll};
  struct sockaddr_storage ss;
  socklen_t sl;
  int fam = sock_parse_iface(a.iface, a.port, &ss, &sl);
  if (fam < 0) usage_error("option '--iface' needs an IPv4 or IPv6 address, got '%s'", a.iface);
  cfg.iface_v6 = fam == 6;
  if (a.lock && !a.daemon) usage_error("option '--lock' needs --daemon%s", "");
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
  if (mote_engine_uses_image()) {
    module = image_path(a.module, exe_dir, sizeof exe_dir);
    if (!(image = read_image(module, &image_len))) return 1;
    mote_engine_set_image(image, image_len);
  } else if (a.module) {
    usage_error("option '--module' needs the wasm3 engine; this binary runs %s, with the module built in",
                mote_engine_name());
  }

  /* Signals: SIGPIPE ignored; SIGINT/SIGTERM blocked except while waiting
   * (epoll_pwait/ppoll), where they interrupt the wait and set a flag. */
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigset_t block, waitmask;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &waitmask);
  sigdelset(&waitmask, SIGINT);
  sigdelset(&waitmask, SIGTERM);

  cfg.nslots = table_size(a.max_conns);
  if (cfg.nslots == 0) return 1;
  if (sock_init(&cfg) < 0) {
    mote_err("cannot allocate the connection table (%u slots)", cfg.nslots);
    return 1;
  }
  mote_notice("mote-sim: board %s, engine %s, %s loop", MOTE_BOARD_NAME, mote_engine_name(), loop_name());
  if (module) mote_notice("module image %s (%u bytes)", module, image_len);

  struct mote_limits lim = {
      .max_conns = cfg.nslots,
      .rx_buf = MOTE_BOARD_RX_BUF,
      .hdr_pool = MOTE_BOARD_HDR_POOL,
      .hdr_bytes = MOTE_BOARD_HDR_BYTES,
      .tx_blocks = MOTE_BOARD_TX_BLOCKS,
      .tx_block_bytes = MOTE_BOARD_TX_BLOCK_BYTES,
      .log_level = a.log_mask,
      .max_message = MOTE_BOARD_MAX_MESSAGE,
      .port = a.port,
      .flags = cfg.iface_v6 ? MOTE_INIT_IPV6 : 0,
  };
  if (mote_drv_start(&lim) < 0) {
    sock_free();
    free(image);
    return 1;
  }
  if (sock_listener_count() == 0) mote_warn("the core opened no listener");
  sim_daemon_ready();

  int status = 0, draining = 0;
  uint32_t drain_deadline = 0, core_open = 0;
  for (;;) {
    uint32_t now = sim_now_ms(), next = 0;
    if (mote_drv_tick(now, &next) == MOTE_DRV_FATAL) {
      status = 1;
      break;
    }
    if (draining && (core_open == 0 || sock_open_count() == 0) && sock_linger_count() == 0) break;

    int timeout = next == 0xffffffffu ? -1 : next > INT_MAX ? INT_MAX : (int)next;
    int t = sock_next_timeout(now);
    if (t >= 0 && (timeout < 0 || t < timeout)) timeout = t;
    if (draining) {
      int32_t d = (int32_t)(drain_deadline - now);
      t = d < 0 ? 0 : d;
      if (timeout < 0 || t < timeout) timeout = t;
    }

    if (sock_service(timeout, &waitmask) < 0) {
      status = 1;
      break;
    }
    now = sim_now_ms();
    sock_timers(now);

    if (signals && !draining) {
      draining = 1;
      drain_deadline = now + SHUTDOWN_GRACE_MS;
      sock_stop_accepting();
      if (mote_drv_shutdown(&core_open) == MOTE_DRV_FATAL) {
        status = 1;
        break;
      }
      mote_notice("shutting down: %u connections open (core), %u (port)", core_open, sock_open_count());
    } else if (signals > 1) {
      mote_notice("second signal: exiting now");
      break;
    }
    if (draining && (int32_t)(now - drain_deadline) >= 0) {
      mote_notice("shutdown: %u connections still open after %d ms; closing them", sock_open_count(),
                  SHUTDOWN_GRACE_MS);
      break;
    }
  }
  sock_shutdown_all();
  mote_drv_stop();
  sock_free();
  free(image);
  if (mote_drv_restarts()) mote_notice("core restarted %u times after traps", mote_drv_restarts());
  mote_notice("exit %d", status);
  sim_daemon_end();
  return status;
}
