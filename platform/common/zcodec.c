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
 * the only memory is zlib's own per-connection state, and that comes from a
 * fixed pool of sessions (below).
 */
#include "zcodec.h"

#include <stdlib.h>
#include <string.h>

#include "mote_abi.h"
#include "mote_opts.h"

static int z_enabled = 1;
void mote_z_enable(int on) { z_enabled = on != 0; }

static void put_res(uint8_t *res, uint32_t consumed, uint32_t produced) {
  memcpy(res, &consumed, 4); /* wasm memory is little-endian, as are our hosts */
  memcpy(res + 4, &produced, 4);
}

#if MOTE_HAVE_ZLIB

#include <zlib.h>

/* Compression level: 1 (zlib's fastest). The peers' inflaters do not care,
 * and a simulator echoing gigabytes in the Autobahn run does. */
#ifndef MOTE_Z_LEVEL
#define MOTE_Z_LEVEL 1
#endif
#define MOTE_Z_MEM_LEVEL 8

/* ---- the session pool ------------------------------------------------------
 *
 * At most MOTE_Z_SESSIONS codecs are open at once (mote_opts.h; mote-sim
 * --deflate-sessions N). Each session's zlib state lives in an arena of its
 * own, sized once for the largest configuration (15-bit windows, memLevel
 * 9) by counting what zlib allocates, and carved by a bump allocator (zlib
 * frees only at End). A z_open past the limit gets MOTE_Z_ERR_MEM: the core
 * declines the offer and the connection goes on uncompressed. The arenas
 * are one reservation of address space; a session's pages are touched only
 * as zlib uses them, and given back to the system when it closes (Linux:
 * madvise MADV_DONTNEED), so memory returns to its baseline. */

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

struct zc {
  z_stream inf, def;
  uint32_t flags;   /* MOTE_Z_RX_NO_CONTEXT | MOTE_Z_TX_NO_CONTEXT */
  uint8_t tail_fed; /* bytes of the inflate tail given to the inflater for this message */
  uint8_t nhold;    /* deflate output held back (see above) */
  uint8_t hold[4];
  uint8_t *arena;   /* this session's arena */
  size_t used;      /* bytes of it handed to zlib */
  int32_t next_free;
};

static struct zc **tab; /* by connection handle; grown on z_open */
static uint32_t tab_len;
static uint32_t n_open;

static uint32_t z_sessions = MOTE_Z_SESSIONS;
static struct zc *sess;   /* z_sessions of them, allocated at the first z_open */
static int32_t free_head = -1;
static uint8_t *arenas;
static size_t arena_bytes;

void mote_z_set_sessions(uint32_t n) {
  if (!sess) z_sessions = n;
}

static voidpf arena_alloc(voidpf opaque, uInt items, uInt size) {
  struct zc *s = opaque;
  size_t n = ((size_t)items * size + 15) & ~(size_t)15;
  if (n > arena_bytes - s->used) return Z_NULL;
  void *p = s->arena + s->used;
  s->used += n;
  return p;
}

static void arena_free(voidpf opaque, voidpf p) { (void)opaque, (void)p; }

/* Sizing: zlib's allocations for the largest configuration, counted. */
static size_t counted;
static voidpf count_alloc(voidpf opaque, uInt items, uInt size) {
  (void)opaque;
  counted += ((size_t)items * size + 15) & ~(size_t)15;
  return calloc(items, size);
}
static void count_free(voidpf opaque, voidpf p) {
  (void)opaque;
  free(p);
}

static int pool_init(void) {
  if (sess) return 0;
  if (z_sessions == 0) return -1;
  z_stream a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  a.zalloc = b.zalloc = count_alloc;
  a.zfree = b.zfree = count_free;
  counted = 0;
  uint8_t in[1] = {0x03}, out[64];
  if (inflateInit2(&a, -15) != Z_OK) return -1;
  a.next_in = in; /* inflate takes its window at the first output: make one */
  a.avail_in = 0;
  a.next_out = out;
  a.avail_out = sizeof out;
  inflate(&a, Z_SYNC_FLUSH);
  inflateEnd(&a);
  if (deflateInit2(&b, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
  deflateEnd(&b);
  /* the inflater's window (lazily allocated) and slack, in whole pages:
   * madvise() on one arena must not reach into the next */
  size_t page = 4096;
#if defined(__linux__)
  long ps = sysconf(_SC_PAGESIZE);
  if (ps > 0) page = (size_t)ps;
#endif
  arena_bytes = (counted + ((size_t)1 << 15) + 4096 + page - 1) / page * page;
  if (z_sessions > SIZE_MAX / arena_bytes) return -1;
  size_t total = arena_bytes * z_sessions;
#if defined(__linux__)
  void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  arenas = m == MAP_FAILED ? NULL : m;
#else
  arenas = malloc(total);
#endif
  sess = calloc(z_sessions, sizeof *sess);
  if (!arenas || !sess) {
    free(sess);
    sess = NULL;
#if defined(__linux__)
    if (arenas) munmap(arenas, total);
#else
    free(arenas);
#endif
    arenas = NULL;
    z_sessions = 0; /* do not try again on every offer: the codec is out */
    return -1;
  }
  for (uint32_t i = 0; i < z_sessions; i++) {
    sess[i].arena = arenas + (size_t)i * arena_bytes;
    sess[i].next_free = i + 1 < z_sessions ? (int32_t)(i + 1) : -1;
  }
  free_head = 0;
  return 0;
}

static struct zc *session_take(void) {
  if (pool_init() < 0 || free_head < 0) return NULL;
  struct zc *s = &sess[free_head];
  free_head = s->next_free;
  uint8_t *arena = s->arena;
  memset(s, 0, sizeof *s);
  s->arena = arena;
  s->inf.zalloc = s->def.zalloc = arena_alloc;
  s->inf.zfree = s->def.zfree = arena_free;
  s->inf.opaque = s->def.opaque = s;
  return s;
}

static void session_give(struct zc *s) {
#if defined(__linux__)
  madvise(s->arena, arena_bytes, MADV_DONTNEED); /* its pages back to the system */
#endif
  s->used = 0;
  s->next_free = free_head;
  free_head = (int32_t)(s - sess);
}

static const uint8_t TAIL[4] = {0x00, 0x00, 0xff, 0xff};

int mote_z_available(void) { return z_enabled; }
uint32_t mote_z_open_count(void) { return n_open; }

static struct zc *get(uint32_t conn) { return conn < tab_len ? tab[conn] : NULL; }

void port_z_close(uint32_t conn) {
  struct zc *s = get(conn);
  if (!s) return;
  inflateEnd(&s->inf);
  deflateEnd(&s->def);
  session_give(s);
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
  uint32_t mem_level = (flags >> MOTE_Z_MEM_LEVEL_SHIFT) & 15;
  if (mem_level == 0) mem_level = MOTE_Z_MEM_LEVEL;
  if (mem_level > 9) return MOTE_Z_ERR_STATE;
  struct zc *s = session_take();
  if (!s) return MOTE_Z_ERR_MEM; /* every session in use: the core declines the offer */
  if (inflateInit2(&s->inf, -(int)rx_bits) != Z_OK) {
    session_give(s);
    return MOTE_Z_ERR_MEM;
  }
  if (deflateInit2(&s->def, MOTE_Z_LEVEL, Z_DEFLATED, -(int)tx_bits, (int)mem_level, Z_DEFAULT_STRATEGY) != Z_OK) {
    inflateEnd(&s->inf);
    session_give(s);
    return MOTE_Z_ERR_MEM;
  }
  flags &= MOTE_Z_RX_NO_CONTEXT | MOTE_Z_TX_NO_CONTEXT;
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
void mote_z_set_sessions(uint32_t n) { (void)n; }
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
