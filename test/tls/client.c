/* tls-client: the client role of platform/tls (mote_tls_client_new), which
 * the core's client connections will use, exercised against a real server.
 *
 *   tls-client CA_FILE HOST PORT [CERT KEY]
 *
 * Connects to 127.0.0.1:PORT, verifies the server's chain against CA_FILE
 * and its name against HOST (sent as SNI), optionally presents a client
 * certificate, sends one HTTP GET and prints one line:
 *   "ok <version> <suite> status=<HTTP status line>"  exit 0
 *   "fail <mbedTLS error>; <certificate verification details>"  exit 1
 * Built and run by test/tls/client.test.ts; blocking sockets through the
 * same I/O callbacks a port supplies.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls.h"

/* the driver's logger, which tls.c logs through */
void mote_vlogf(int level, const char *fmt, va_list ap) {
  (void)level;
  fputs("log: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}
void mote_logf(int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mote_vlogf(level, fmt, ap);
  va_end(ap);
}

int mote_tls_port_read_file(const char *name, uint8_t **data, size_t *len) {
  FILE *f = fopen(name, "rb");
  if (!f) return -1;
  uint8_t *buf = malloc(65537);
  size_t n = buf ? fread(buf, 1, 65536, f) : 0;
  fclose(f);
  if (!buf) return -1;
  buf[n] = 0;
  *data = buf;
  *len = n;
  return 0;
}

int mote_tls_port_entropy(uint8_t *buf, size_t len) { return getrandom(buf, len, 0) == (ssize_t)len ? 0 : -1; }

static int io_send(void *ctx, const uint8_t *buf, size_t len) {
  ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);
  return n >= 0 ? (int)n : MOTE_TLS_IO_ERROR;
}
static int io_recv(void *ctx, uint8_t *buf, size_t len) {
  ssize_t n = recv(*(int *)ctx, buf, len, 0);
  return n >= 0 ? (int)n : MOTE_TLS_IO_ERROR;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 6) {
    fprintf(stderr, "usage: tls-client CA_FILE HOST PORT [CERT KEY]\n");
    return 2;
  }
  struct mote_tls_certkey own = {argc == 6 ? argv[4] : NULL, argc == 6 ? argv[5] : NULL};
  if (mote_tls_client_init(argv[1], argc == 6 ? &own : NULL) < 0) return 2;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    printf("fail connect: %s\n", strerror(errno));
    return 1;
  }
  struct mote_tls_io io = {.send = io_send, .recv = io_recv, .ctx = &fd};
  struct mote_tls *t = mote_tls_client_new(&io, argv[2]);
  if (!t) return 2;
  char e[240], vi[240];
  int r = mote_tls_handshake(t);
  if (r != 0) {
    mote_tls_verify_info(t, vi, sizeof vi);
    printf("fail %s; %s\n", mote_tls_strerror(r, e, sizeof e), vi);
    return 1;
  }
  char req[256];
  int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", argv[2]);
  if (mote_tls_write(t, (const uint8_t *)req, (size_t)n) != n) {
    printf("fail write\n");
    return 1;
  }
  char resp[512];
  r = mote_tls_read(t, (uint8_t *)resp, sizeof resp - 1);
  if (r <= 0) {
    printf("fail read: %s\n", mote_tls_strerror(r, e, sizeof e));
    return 1;
  }
  resp[r] = 0;
  char *eol = strstr(resp, "\r\n");
  if (eol) *eol = 0;
  size_t now, peak;
  mote_tls_heap(t, &now, &peak);
  printf("ok %s %s status=%s heap=%zu peak=%zu\n", mote_tls_version(t), mote_tls_suite(t), resp, now, peak);
  mote_tls_close_notify(t);
  mote_tls_free(t);
  mote_tls_global_free();
  close(fd);
  return 0;
}
