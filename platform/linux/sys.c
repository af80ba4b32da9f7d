/* Linux services for the driver and the core: log sink, clocks, randomness. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../common/driver.h"
#include "linux.h"
#include "port.h"

void port_log(int level, const char *line, size_t len) {
  (void)level;
  while (len > 0) { /* one write per line: lines from processes do not mix */
    ssize_t n = write(STDERR_FILENO, line, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    line += n;
    len -= (size_t)n;
  }
}

size_t port_log_time(char *buf, size_t cap) {
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

void port_random(uint8_t *buf, uint32_t len) {
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
