/* zcodec.c: the z_* imports (RFC 7692 permessage-deflate) on zlib, or
 * stubs that answer "no codec" where the port has no zlib. See zcodec.h.
 *
 * The core frames, the codec only transforms bytes:
 * - inflate: the core hands over each compressed message's payload as it
 *   arrives; at its end (Z_FINAL) the codec appends the 00 00 ff ff that the
 *   sender removed (RFC 7692 section 7.2.2) and, under
 *   client_no_context_takeover, restarts the inflater.
 * - deflate: every call ends in a sync flush (Z_SYNC_FLUSH), so what it
 *   produced is a complete frame payload; at a message's end the flush's
 *   trailing 00 00 ff ff is removed (section 7.2.1). When the output area
 *   fills mid-flush, the last (up to) 4 bytes produced are held back and
 *   lead the next call's output, so the tail can be removed even when it
 *   straddles two calls.
 * Output is written into the caller's bounded area, never accumulated here:
 * the only memory is zlib's own per-connection state.
 */
#include "zcodec.h"

#include <stdlib.h>
#include <string.h>

#include "mote_abi.h"

static int z_enabled = 1;
void mote_z_enable(int on) { z_enabled = on != 0; }

static void put_res(uint8_t *res, uint32_t consumed, uint32_t produced) {
  memcpy(res, &consumed, 4); /* wasm memory is little-endian, as are our hosts */
  memcpy(res + 4, &produced, 4);
}

#ifdef MOTE_HAVE_ZLIB

#include <zlib.h>

/* Compression level: 1 (zlib's fastest). The peers' inflaters do not care,
 * and a simulator echoing gigabytes in the Autobahn run does. */
#ifndef MOTE_Z_LEVEL
#define MOTE_Z_LEVEL 1
#endif
#define MOTE_Z_MEM_LEVEL 8

struct zc {
  z_stream inf, def;
  uint32_t flags;   /* MOTE_Z_RX_NO_CONTEXT | MOTE_Z_TX_NO_CONTEXT */
  uint8_t tail_fed; /* bytes of the inflate tail given to the inflater for this message */
  uint8_t nhold;    /* deflate output held back (see above) */
  uint8_t hold[4];
};

static struct zc **tab; /* by connection handle; grown on z_open */
static uint32_t tab_len;
static uint32_t n_open;

static const uint8_t TAIL[4] = {0x00, 0x00, 0xff, 0xff};

int mote_z_available(void) { return z_enabled; }
uint32_t mote_z_open_count(void) { return n_open; }

static struct zc *get(uint32_t conn) { return conn < tab_len ? tab[conn] : NULL; }

void port_z_close(uint32_t conn) {
  struct zc *s = get(conn);
  if (!s) return;
  inflateEnd(&s->inf);
  deflateEnd(&s->def);
  free(s);
  tab[conn] = NULL;
  n_open--;
}

void mote_z_close_all(void) {
  for (uint32_t i = 0; i < tab_len; i++) port_z_close(i);
  free(tab);
  tab = NULL;
  tab_len = 0;
}

int32_t port_z_open(uint32_t conn, uint32_t rx_bits, uint32_t tx_bits, uint32_t flags) {
  /* raw DEFLATE: zlib's inflater takes 8..15, its deflater 9..15 */
  if (rx_bits < 8 || rx_bits > 15 || tx_bits < 9 || tx_bits > 15 || conn > 0xffffff) return MOTE_Z_ERR_STATE;
  port_z_close(conn); /* a handle the core reuses starts clean */
  if (conn >= tab_len) {
    uint32_t n = tab_len ? tab_len : 64;
    while (n <= conn) n *= 2;
    struct zc **t = realloc(tab, n * sizeof *t);
    if (!t) return MOTE_Z_ERR_MEM;
    memset(t + tab_len, 0, (n - tab_len) * sizeof *t);
    tab = t;
    tab_len = n;
  }
  struct zc *s = calloc(1, sizeof *s);
  if (!s) return MOTE_Z_ERR_MEM;
  if (inflateInit2(&s->inf, -(int)rx_bits) != Z_OK) {
    free(s);
    return MOTE_Z_ERR_MEM;
  }
  if (deflateInit2(&s->def, MOTE_Z_LEVEL, Z_DEFLATED, -(int)tx_bits, MOTE_Z_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
    inflateEnd(&s->inf);
    free(s);
    return MOTE_Z_ERR_MEM;
  }
  s->flags = flags;
  tab[conn] = s;
  n_open++;
  return MOTE_Z_DONE;
}

/* One inflate step over the stream's current input; 0, or an error. A
 * sender's BFINAL block ends its DEFLATE stream: what follows in the
 * message (our tail at least) starts a fresh one. */
static int inflate_step(z_stream *z) {
  int r = inflate(z, Z_SYNC_FLUSH);
  if (r == Z_STREAM_END) return inflateReset(z) == Z_OK ? 0 : -1;
  return r == Z_OK || r == Z_BUF_ERROR ? 0 : -1;
}

int32_t port_z_inflate(uint32_t conn, const uint8_t *in, uint32_t in_len, uint8_t *out, uint32_t out_cap, uint32_t flags,
                       uint8_t *res) {
  put_res(res, 0, 0);
  struct zc *s = get(conn);
  if (!s || out_cap == 0) return MOTE_Z_ERR_STATE;
  z_stream *z = &s->inf;
  z->next_out = out;
  z->avail_out = out_cap;
  /* the message's bytes; bounded: each pass consumes input or fills the output */
  z->next_in = (Bytef *)in;
  z->avail_in = in_len;
  for (int pass = 0; pass < 64; pass++) {
    if (inflate_step(z) < 0) return MOTE_Z_ERR_DATA;
    if (z->avail_in == 0 || z->avail_out == 0) break;
  }
  uint32_t consumed = in_len - z->avail_in;
  z->next_in = NULL;
  z->avail_in = 0;
  if (z->avail_out == 0) { /* output full: more may be pending */
    put_res(res, consumed, out_cap);
    return MOTE_Z_MORE;
  }
  if (consumed < in_len) return MOTE_Z_ERR_DATA; /* stuck with output room left */
  if (flags & MOTE_Z_FINAL) {
    /* the tail the sender removed (section 7.2.2), possibly over several calls */
    z->next_in = (Bytef *)(TAIL + s->tail_fed);
    z->avail_in = 4u - s->tail_fed;
    for (int pass = 0; pass < 4; pass++) {
      if (inflate_step(z) < 0) return MOTE_Z_ERR_DATA;
      if (z->avail_in == 0 || z->avail_out == 0) break;
    }
    s->tail_fed = (uint8_t)(4u - z->avail_in);
    z->next_in = NULL;
    z->avail_in = 0;
    if (z->avail_out == 0) {
      put_res(res, consumed, out_cap);
      return MOTE_Z_MORE;
    }
    if (s->tail_fed < 4) return MOTE_Z_ERR_DATA; /* stuck with output room left */
    s->tail_fed = 0;
    if (s->flags & MOTE_Z_RX_NO_CONTEXT) inflateReset(z);
  }
  put_res(res, consumed, out_cap - z->avail_out);
  return MOTE_Z_DONE;
}

int32_t port_z_deflate(uint32_t conn, const uint8_t *in, uint32_t in_len, uint8_t *out, uint32_t out_cap, uint32_t flags,
                       uint8_t *res) {
  put_res(res, 0, 0);
  struct zc *s = get(conn);
  if (!s || out_cap < 64) return MOTE_Z_ERR_STATE;
  z_stream *z = &s->def;
  uint32_t p = s->nhold;
  memcpy(out, s->hold, p);
  s->nhold = 0;
  z->next_in = (Bytef *)in;
  z->avail_in = in_len;
  z->next_out = out + p;
  z->avail_out = out_cap - p;
  int r = deflate(z, Z_SYNC_FLUSH);
  if (r != Z_OK && r != Z_BUF_ERROR) return MOTE_Z_ERR_STATE;
  uint32_t consumed = in_len - z->avail_in;
  p = out_cap - z->avail_out;
  z->next_in = NULL;
  z->avail_in = 0;
  if (z->avail_out == 0) {
    /* the flush may not be complete: hold the last bytes back (see above) */
    uint32_t k = p < 4 ? p : 4;
    memcpy(s->hold, out + p - k, k);
    s->nhold = (uint8_t)k;
    put_res(res, consumed, p - k);
    return MOTE_Z_MORE;
  }
  if (flags & MOTE_Z_FINAL) {
    if (p == 0) {
      /* nothing new since the last flush (zlib emits no second marker): the
       * message is empty, sent as one 0x00 byte (section 7.2.3.6); the
       * receiver's 00 00 ff ff completes it into an empty stored block */
      out[0] = 0x00;
      p = 1;
    } else {
      /* a complete sync flush ends in 00 00 ff ff: remove it (section 7.2.1) */
      if (p < 4 || memcmp(out + p - 4, TAIL, 4) != 0) return MOTE_Z_ERR_STATE;
      p -= 4;
    }
    if (s->flags & MOTE_Z_TX_NO_CONTEXT) deflateReset(z);
  }
  put_res(res, consumed, p);
  return MOTE_Z_DONE;
}

#else /* no zlib in this firmware: the core is never told it may offer */

int mote_z_available(void) { return 0; }
uint32_t mote_z_open_count(void) { return 0; }
void mote_z_close_all(void) {}

int32_t port_z_open(uint32_t conn, uint32_t rx_bits, uint32_t tx_bits, uint32_t flags) {
  (void)conn, (void)rx_bits, (void)tx_bits, (void)flags;
  return MOTE_Z_ERR_STATE;
}

int32_t port_z_inflate(uint32_t conn, const uint8_t *in, uint32_t in_len, uint8_t *out, uint32_t out_cap, uint32_t flags,
                       uint8_t *res) {
  (void)conn, (void)in, (void)in_len, (void)out, (void)out_cap, (void)flags;
  put_res(res, 0, 0);
  return MOTE_Z_ERR_STATE;
}

int32_t port_z_deflate(uint32_t conn, const uint8_t *in, uint32_t in_len, uint8_t *out, uint32_t out_cap, uint32_t flags,
                       uint8_t *res) {
  (void)conn, (void)in, (void)in_len, (void)out, (void)out_cap, (void)flags;
  put_res(res, 0, 0);
  return MOTE_Z_ERR_STATE;
}

void port_z_close(uint32_t conn) { (void)conn; }

#endif
