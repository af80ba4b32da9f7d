/* Linux services for the driver and the core: log sink, clocks, randomness. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../common/driver.h"
#include "linux.h"
#include "port.h"

/* ---- the syslog sink (lws's lwsl_emit_syslog) ----------------------------
 * `mote-sim --syslog` sends each log line as one datagram to the local
 * syslog socket (/dev/log, or --syslog-socket PATH), in the form glibc's
 * syslog(3) uses (RFC 3164, local): "<PRI>Mmm dd hh:mm:ss mote-sim[pid]: text",
 * PRI = facility * 8 + severity (err 3, warning 4, notice 5, info 6, debug 7).
 * Written here rather than with syslog(3) so that the loop never blocks on a
 * slow or absent syslogd (MSG_DONTWAIT; a line that cannot go is counted and
 * the count is sent with the next line that can) and the socket is chosen. */
static int syslog_fd = -1;
static int syslog_on;
static int syslog_facility = 3; /* LOG_DAEMON */
static char syslog_path[sizeof(((struct sockaddr_un *)0)->sun_path)] = "/dev/log";
static unsigned long syslog_dropped;

static const struct {
  const char *name;
  int code;
} facilities[] = {{"kern", 0},    {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},    {"syslog", 5},
                  {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},    {"authpriv", 10}, {"ftp", 11},
                  {"local0", 16}, {"local1", 17}, {"local2", 18}, {"local3", 19}, {"local4", 20}, {"local5", 21},
                  {"local6", 22}, {"local7", 23}};

int sim_syslog_facility(const char *name) {
  for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++)
    if (!strcmp(name, facilities[i].name)) return facilities[i].code;
  return -1;
}

static int syslog_connect(void) {
  if (syslog_fd >= 0) close(syslog_fd);
  syslog_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (syslog_fd < 0) return -errno;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, syslog_path, strlen(syslog_path) + 1);
  if (connect(syslog_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(syslog_fd);
    syslog_fd = -1;
    return -e;
  }
  return 0;
}

int sim_log_syslog(const char *path, int facility) {
  if (path) {
    if (strlen(path) >= sizeof syslog_path) {
      fprintf(stderr, "mote-sim: --syslog-socket: path longer than %zu bytes: %s\n", sizeof syslog_path - 1, path);
      return -1;
    }
    snprintf(syslog_path, sizeof syslog_path, "%s", path);
  }
  syslog_facility = facility;
  int r = syslog_connect();
  if (r < 0) {
    fprintf(stderr, "mote-sim: syslog: cannot reach %s: %s (is a syslog daemon running? --syslog-socket PATH names another socket)\n",
            syslog_path, strerror(-r));
    return -1;
  }
  syslog_on = 1;
  return 0;
}

static int severity_of(int level) {
  if (level & MOTE_LOG_ERR) return 3;
  if (level & MOTE_LOG_WARN) return 4;
  if (level & MOTE_LOG_NOTICE) return 5;
  if (level & MOTE_LOG_INFO) return 6;
  return 7;
}

static int syslog_send(const char *msg, size_t n) {
  for (int attempt = 0; attempt < 2; attempt++) {
    if (syslog_fd < 0 && syslog_connect() < 0) return -1;
    if (send(syslog_fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return 0;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return -1; /* syslogd behind: drop */
    close(syslog_fd); /* syslogd restarted (ECONNREFUSED, ENOTCONN): reconnect once */
    syslog_fd = -1;
  }
  return -1;
}

/* One line (as the driver formats it, without a time when syslog is on:
 * "N: text\n") as one datagram. */
static void syslog_line(int level, const char *line, size_t len) {
  while (len > 0 && line[len - 1] == '\n') len--;
  if (len >= 3 && line[1] == ':' && line[2] == ' ') line += 3, len -= 3; /* the level letter: PRI says it */
  char msg[1200];
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
  if (syslog_dropped) {
    int m = snprintf(msg, sizeof msg, "<%d>%s mote-sim[%d]: syslog: %lu lines dropped (syslog daemon not reading)",
                     syslog_facility * 8 + 4, stamp, (int)getpid(), syslog_dropped);
    if (m > 0 && syslog_send(msg, (size_t)m) == 0) syslog_dropped = 0;
  }
  int h = snprintf(msg, sizeof msg, "<%d>%s mote-sim[%d]: ", syslog_facility * 8 + severity_of(level), stamp, (int)getpid());
  if (h < 0) return;
  if (len > sizeof msg - (size_t)h) len = sizeof msg - (size_t)h;
  memcpy(msg + h, line, len);
  if (syslog_send(msg, (size_t)h + len) < 0) syslog_dropped++;
}

void port_log(int level, const char *line, size_t len) {
  if (syslog_on) {
    syslog_line(level, line, len);
    return;
  }
  while (len > 0) { /* one write per line: lines from processes do not mix */
    ssize_t n = write(STDERR_FILENO, line, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    line += n;
    len -= (size_t)n;
  }
}

size_t port_log_time(char *buf, size_t cap) {
  if (syslog_on) return 0; /* syslog stamps its lines itself */
  struct timespec ts;
  struct tm tm;
  if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || !localtime_r(&ts.tv_sec, &tm)) return 0;
  int n = snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d:%02d.%03ld", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                   tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
  return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

uint32_t sim_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

uint32_t port_now_ms(void) { return sim_now_ms(); }

void port_random_fill(uint8_t *buf, uint32_t len) {
  while (len > 0) {
    ssize_t n = getrandom(buf, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* Masking keys and nonces must not be guessable: stop rather than
       * carry on with predictable bytes. */
      mote_err("getrandom: %s", strerror(errno));
      abort();
    }
    buf += n;
    len -= (uint32_t)n;
  }
}
