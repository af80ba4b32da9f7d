/* tls_none.h: tls.h's calls for a build without TLS (MOTE_TLS 0), answering
 * as for plaintext: no listener configuration, no session, so a port's TLS
 * paths are never taken and the compiler drops them. sock_tls answers
 * -ENOSYS (logged): the vhost that asked for TLS must not serve. */
#ifndef MOTE_TLS_NONE_H
#define MOTE_TLS_NONE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/driver.h"

#define MOTE_TLS_WANT_READ (-0x10001)
#define MOTE_TLS_WANT_WRITE (-0x10002)
#define MOTE_TLS_EOF (-0x10003)
#define MOTE_TLS_ERR_IO (-0x10004)
#define MOTE_TLS_IO_AGAIN (-1)
#define MOTE_TLS_IO_ERROR (-2)

struct mote_tls_io {
  int (*send)(void *ctx, const uint8_t *buf, size_t len);
  int (*recv)(void *ctx, uint8_t *buf, size_t len);
  void *ctx;
};
struct mote_tls;
struct mote_tls_server;
struct mote_tls_listener {
  struct mote_tls_server *use;
};

static inline void mote_tls_listener_open(struct mote_tls_listener *t, struct mote_tls_server *cmd) { t->use = cmd; }
static inline void mote_tls_listener_drop(struct mote_tls_listener *t, struct mote_tls_server *cmd) { t->use = cmd; }
static inline int32_t mote_tls_listener_add(struct mote_tls_listener *t, struct mote_tls_server *cmd, uint32_t listener,
                                            uint32_t vhost, const uint8_t *opts, uint32_t opts_len) {
  (void)t, (void)cmd, (void)vhost, (void)opts, (void)opts_len;
  mote_err("sock_tls: listener %u: this build has no TLS", (unsigned)listener);
  return -ENOSYS;
}
static inline struct mote_tls *mote_tls_server_new(struct mote_tls_server *srv, const struct mote_tls_io *io) {
  (void)srv, (void)io;
  return NULL;
}
static inline void mote_tls_free(struct mote_tls *t) { (void)t; }
static inline int mote_tls_handshake(struct mote_tls *t) { (void)t; return MOTE_TLS_ERR_IO; }
static inline int mote_tls_read(struct mote_tls *t, uint8_t *buf, size_t len) { (void)t, (void)buf, (void)len; return MOTE_TLS_ERR_IO; }
static inline size_t mote_tls_pending(const struct mote_tls *t) { (void)t; return 0; }
static inline int mote_tls_write(struct mote_tls *t, const uint8_t *buf, size_t len) { (void)t, (void)buf, (void)len; return MOTE_TLS_ERR_IO; }
static inline int mote_tls_flush(struct mote_tls *t) { (void)t; return 0; }
static inline int mote_tls_want_write(const struct mote_tls *t) { (void)t; return 0; }
static inline int mote_tls_close_notify(struct mote_tls *t) { (void)t; return 0; }
static inline const char *mote_tls_version(const struct mote_tls *t) { (void)t; return ""; }
static inline const char *mote_tls_suite(const struct mote_tls *t) { (void)t; return ""; }
static inline const char *mote_tls_sni_name(const struct mote_tls *t) { (void)t; return ""; }
static inline uint32_t mote_tls_vhost(const struct mote_tls *t) { (void)t; return 0xffff; }
static inline void mote_tls_verify_info(const struct mote_tls *t, char *buf, size_t cap) { (void)t; if (cap) buf[0] = 0; }
static inline const char *mote_tls_strerror(int err, char *buf, size_t cap) { snprintf(buf, cap, "TLS error %d", err); return buf; }
static inline void mote_tls_heap(const struct mote_tls *t, size_t *now, size_t *peak) { (void)t; *now = *peak = 0; }

#endif
