/* TLS on the emulated board (firmware built with `--tls`): the command-line
 * options, and the services platform/tls asks of a port.
 *
 * - Files (certificates, keys): the board's file operations are QEMU's
 *   semihosting file calls, so `--tls-cert PATH` names a file on the host
 *   (`mote qemu --tls` passes the test certificates setup made). A board
 *   with flash would read them from its file system instead.
 * - Entropy: the emulated board has no random-number generator, so the
 *   seed is read from the host's /dev/urandom through semihosting. Real
 *   hardware uses its TRNG (ESP32: esp_fill_random).
 */
#if MOTE_TLS
#include <stdlib.h>
#include <string.h>

#include "../common/driver.h"
#include "../lwip/mote_lwip.h"
#include "../tls/tls.h"
#include "mote_opts.h"
#include "mps2.h"

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_READ 0x06
#define SYS_FLEN 0x0c
#define MODE_RB 1 /* fopen "rb" */
#define TLS_FILE_MAX 16384

static int enabled;
static uint32_t handshake_ms = MOTE_TLS_HANDSHAKE_MS;
static struct mote_tls_server_opts opts;
/* the values point into this copy of the command line */
static char words[256];
static uint32_t used;

static const char *keep(const char *v) {
  size_t n = strlen(v) + 1;
  if (used + n > sizeof words) return NULL;
  char *p = words + used;
  memcpy(p, v, n);
  used += (uint32_t)n;
  return p;
}

int mps2_tls_option(const char *name) {
  if (!strcmp(name, "--tls")) return 0;
  if (!strcmp(name, "--tls-cert") || !strcmp(name, "--tls-key") || !strcmp(name, "--tls-ciphers") ||
      !strcmp(name, "--tls-handshake-timeout"))
    return 1;
  return -1;
}

int mps2_tls_set(const char *name, const char *val) {
  enabled = 1;
  if (!strcmp(name, "--tls")) return 0;
  const char *v = keep(val);
  if (!v) return -1;
  if (!strcmp(name, "--tls-cert")) {
    if (opts.ncerts == MOTE_TLS_MAX_CERTS) return -1;
    opts.certs[opts.ncerts++].cert = v;
  } else if (!strcmp(name, "--tls-key")) {
    if (opts.ncerts == 0 || opts.certs[opts.ncerts - 1].key) return -1;
    opts.certs[opts.ncerts - 1].key = v;
  } else if (!strcmp(name, "--tls-ciphers")) {
    opts.ciphers = v;
  } else {
    uint32_t ms = 0;
    for (const char *d = v; *d; d++) {
      if (*d < '0' || *d > '9' || ms > 3600000) return -1;
      ms = ms * 10 + (uint32_t)(*d - '0');
    }
    if (ms == 0) return -1;
    handshake_ms = ms;
  }
  return 0;
}

int mps2_tls_start(void) {
  if (!enabled) {
    mote_lwip_tls_enable(NULL, handshake_ms); /* vhosts may still ask (port_sock_tls) */
    return 0;
  }
  uint32_t before = mps2_heap_used();
  struct mote_tls_server *srv = mote_tls_server_create(&opts);
  if (!srv) return -1;
  mote_lwip_tls_enable(srv, handshake_ms);
  mote_notice("tls: TLS 1.2, %u certificate(s)%s%s; handshake timeout %u ms; shared TLS heap %u B (C heap %u B)",
              (unsigned)opts.ncerts, opts.ciphers ? ", suites " : "", opts.ciphers ? opts.ciphers : "",
              (unsigned)handshake_ms, (unsigned)mote_tls_heap_shared(), (unsigned)(mps2_heap_used() - before));
  return 0;
}

static int host_open(const char *name) {
  uint32_t blk[3] = {(uint32_t)(uintptr_t)name, MODE_RB, (uint32_t)strlen(name)};
  return mps2_semihost(SYS_OPEN, blk);
}

static void host_close(int h) {
  uint32_t blk[1] = {(uint32_t)h};
  mps2_semihost(SYS_CLOSE, blk);
}

/* Reads up to len bytes; returns the count. */
static uint32_t host_read(int h, uint8_t *buf, uint32_t len) {
  uint32_t blk[3] = {(uint32_t)h, (uint32_t)(uintptr_t)buf, len};
  int left = mps2_semihost(SYS_READ, blk); /* the bytes NOT read */
  return left < 0 || (uint32_t)left > len ? 0 : len - (uint32_t)left;
}

int mote_tls_port_read_file(const char *name, uint8_t **data, size_t *len) {
  int h = host_open(name);
  if (h < 0) {
    mote_err("tls: cannot read %s (semihosting open failed)", name);
    return -1;
  }
  uint32_t flen_blk[1] = {(uint32_t)h};
  int n = mps2_semihost(SYS_FLEN, flen_blk);
  if (n < 0 || n > TLS_FILE_MAX) {
    mote_err("tls: %s: %s", name, n < 0 ? "no length" : "larger than 16 KiB");
    host_close(h);
    return -1;
  }
  uint8_t *buf = malloc((size_t)n + 1);
  uint32_t got = buf ? host_read(h, buf, (uint32_t)n) : 0;
  host_close(h);
  if (!buf || got != (uint32_t)n) {
    mote_err("tls: cannot read %s: %s", name, buf ? "short read" : "out of memory");
    free(buf);
    return -1;
  }
  buf[n] = 0;
  *data = buf;
  *len = (size_t)n;
  return 0;
}

int mote_tls_port_entropy(uint8_t *buf, size_t len) {
  int h = host_open("/dev/urandom");
  if (h < 0) return -1;
  uint32_t got = host_read(h, buf, (uint32_t)len);
  host_close(h);
  return got == len ? 0 : -1;
}
#endif
