/* The Linux simulator's services for platform/tls: files from the host file
 * system, entropy from getrandom(2). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../common/driver.h"
#include "../tls/tls.h"

#define TLS_FILE_MAX (1u << 20) /* certificates and keys are a few KiB */

int mote_tls_port_read_file(const char *name, uint8_t **data, size_t *len) {
  FILE *f = fopen(name, "rb");
  if (!f) {
    mote_err("tls: cannot read %s: %s", name, strerror(errno));
    return -1;
  }
  uint8_t *buf = malloc(TLS_FILE_MAX + 1);
  size_t n = buf ? fread(buf, 1, TLS_FILE_MAX + 1, f) : 0;
  int bad = ferror(f);
  fclose(f);
  if (!buf || bad || n > TLS_FILE_MAX) {
    mote_err("tls: cannot read %s: %s", name, !buf ? "out of memory" : bad ? "read error" : "larger than 1 MiB");
    free(buf);
    return -1;
  }
  buf[n] = 0;
  *data = buf;
  *len = n;
  return 0;
}

int mote_tls_port_entropy(uint8_t *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = getrandom(buf + got, len - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}
