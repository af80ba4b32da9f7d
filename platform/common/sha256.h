/* SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104): the app-image store's tag
 * check. Small and portable; no tables beyond the 64 round constants. */
#ifndef MOTE_SHA256_H
#define MOTE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define MOTE_SHA256_BYTES 32
#define MOTE_SHA256_BLOCK 64

struct mote_sha256 {
  uint32_t h[8];
  uint64_t total; /* bytes hashed so far */
  uint8_t buf[MOTE_SHA256_BLOCK];
  uint32_t fill;
};

void mote_sha256_init(struct mote_sha256 *s);
void mote_sha256_update(struct mote_sha256 *s, const uint8_t *p, size_t n);
void mote_sha256_final(struct mote_sha256 *s, uint8_t out[MOTE_SHA256_BYTES]);

struct mote_hmac {
  struct mote_sha256 inner, outer;
};
/* Keys longer than a block are hashed first (RFC 2104 section 2). */
void mote_hmac_init(struct mote_hmac *m, const uint8_t *key, size_t key_len);
void mote_hmac_update(struct mote_hmac *m, const uint8_t *p, size_t n);
void mote_hmac_final(struct mote_hmac *m, uint8_t out[MOTE_SHA256_BYTES]);

/* 1 when the n bytes are equal; time independent of where they differ. */
int mote_equal_ct(const uint8_t *a, const uint8_t *b, size_t n);

#endif
