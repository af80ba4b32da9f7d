/* libFuzzer targets over the whole core (test/apps/core-test.ts built with
 * wasm2c), driven through the engine API as a port would drive it, with a
 * fake port in memory: each input is what one peer sends on one connection.
 *
 * The invariant: the core parses an input or answers it with a protocol
 * error (an HTTP status, a close code, a closed connection); nothing else.
 * Any trap of the module (an AssemblyScript abort, an out-of-bounds access,
 * a stub-runtime heap exhaustion), any sanitizer report (ASan, UBSan over
 * the generated C and over the port code linked in: the DEFLATE codec and
 * the image store) and any hang is a finding.
 *
 * Targets (FUZZ_TARGET at build time, tools/fuzz.ts):
 *   http     request heads and bodies (chunked too), keep-alive and pipelining
 *   ws       WebSocket frames after an upgrade (the echo protocol)
 *   deflate  frames after an upgrade that negotiated permessage-deflate
 *   mounts   the request target of a GET to the file mounts
 *   image    PUT /.mote/image: the manifest (from the input's first bytes,
 *            most of the time signed here with the device key, its length,
 *            device and a fresh version set, and half of those with the
 *            body's true SHA-256, so mutated uploads get past the HMAC to
 *            the erase, the writes and the digest check) and the body,
 *            against an image store in RAM
 *   wasmcheck  the allocation-free WebAssembly walk the image store's
 *            format check uses (platform/common/wasm_check.c)
 *   client   the server's answer to a client connection: the response head
 *            and the frames after it
 * The first input byte seeds how the rest is cut into reads and how much
 * the socket takes per send, so split points and partial sends are fuzzed
 * too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../platform/common/image_store.h"
#include "../../platform/common/sha256.h"
#include "../../platform/common/wasm_check.h"
#include "../../platform/common/zcodec.h"
#include "engine.h"
#include "mote_abi.h"
#include "port.h"

#define MAXC 16
static uint32_t now = 1000;
static uint32_t window = 0xffffffffu; /* bytes the socket takes per send */
static uint8_t open_[MAXC], want_wr[MAXC];
static uint32_t next_listener;
static int32_t connect_id = -1;

/* ---- the fake port ------------------------------------------------------- */
int32_t port_sock_listen(uint32_t port, const char *iface, uint32_t iface_len, uint32_t flags) { return (int32_t)next_listener++; }
int32_t port_sock_keepalive(uint32_t l, uint32_t t, uint32_t p, uint32_t i) { return 0; }
int32_t port_sock_connect(const char *host, uint32_t host_len, uint32_t port, uint32_t flags) {
  for (uint32_t i = 8; i < MAXC; i++)
    if (!open_[i]) {
      open_[i] = 1;
      connect_id = (int32_t)i;
      return (int32_t)i;
    }
  return -24; /* EMFILE */
}
int32_t port_sock_tls(uint32_t l, uint32_t v, const uint8_t *o, uint32_t n) { return 0; }
int32_t port_sock_send(uint32_t conn, const uint8_t *p, uint32_t len) {
  if (conn >= MAXC || !open_[conn]) return -1;
  volatile uint8_t sink = 0;
  uint32_t n = len < window ? len : window;
  for (uint32_t i = 0; i < n; i += 512) sink ^= p[i]; /* touch what was sent */
  (void)sink;
  return (int32_t)n;
}
void port_sock_want_writable(uint32_t conn, uint32_t on) { if (conn < MAXC) want_wr[conn] = on != 0; }
void port_sock_pause_rx(uint32_t conn, uint32_t paused) {}
void port_sock_close(uint32_t conn, uint32_t mode) { if (conn < MAXC) open_[conn] = 0; }
void port_log_emit(uint32_t level, const char *p, uint32_t len) {}
void port_random_fill(uint8_t *p, uint32_t len) { memset(p, 0x5a, len); }
uint32_t port_now_ms(void) { return now; }

/* the image store, in RAM (image target) */
#define SLOT (64u * 1024u)
static uint8_t flash_mem[2 * SLOT];
static int f_erase(uint32_t off, uint32_t len) {
  if (off > sizeof flash_mem || len > sizeof flash_mem - off) return -1;
  memset(flash_mem + off, 0xff, len);
  return 0;
}
static int f_program(uint32_t off, const uint8_t *src, uint32_t len) {
  if (off > sizeof flash_mem || len > sizeof flash_mem - off) return -1;
  for (uint32_t i = 0; i < len; i++) flash_mem[off + i] &= src[i];
  return 0;
}
/* the driver's, for the engine, the codec and the store */
void mote_logf(int level, const char *fmt, ...) {}
const char *mote_trap_name(int st) {
  static char b[16];
  snprintf(b, sizeof b, "status %d", st);
  return b;
}

/* ---- driving the core ------------------------------------------------------- */
static void check(int st, const char *what) {
  if (st != 0) {
    fprintf(stderr, "fuzz: the core trapped in %s: %s\n", what, mote_trap_name(st));
    abort();
  }
}

static uint32_t rng;
static uint32_t next_rand(void) {
  rng = rng * 1103515245u + 12345u;
  return rng >> 16;
}

static void pump(void) {
  for (int round = 0; round < 8; round++) {
    int any = 0;
    for (uint32_t i = 0; i < MAXC; i++)
      if (open_[i] && want_wr[i]) {
        any = 1;
        check(mote_engine_writable(i), "mote_writable");
      }
    if (!any) return;
  }
}

/* Delivers data to conn as reads of fuzzed sizes; stops when the core has
 * no room (it paused the connection) or closed it. */
static void feed(uint32_t conn, const uint8_t *data, size_t n) {
  size_t off = 0;
  int stalls = 0;
  while (off < n && open_[conn]) {
    uint8_t *buf;
    uint32_t space;
    check(mote_engine_rx_buffer(conn, &buf, &space), "mote_rx_buffer");
    if (space == 0) {
      /* paused: let the queue drain, time pass, then give up on the rest */
      window = 0xffffffffu;
      pump();
      now += 50;
      uint32_t next;
      check(mote_engine_tick(now, &next), "mote_tick");
      if (++stalls > 4) return;
      continue;
    }
    uint32_t take = (next_rand() % 3 == 0) ? 1 + next_rand() % 64 : space;
    if (take > space) take = space;
    if (take > n - off) take = (uint32_t)(n - off);
    memcpy(buf, data + off, take);
    off += take;
    check(mote_engine_received(conn, take), "mote_received");
    if (next_rand() % 4 == 0) window = next_rand() % 300; /* a partial send, sometimes */
    pump();
  }
}

static void finish(uint32_t conn) {
  window = 0xffffffffu;
  pump();
  now += 70000; /* every timer expires */
  uint32_t next;
  check(mote_engine_tick(now, &next), "mote_tick");
  for (uint32_t i = 0; i < MAXC; i++)
    if (open_[i]) {
      open_[i] = 0;
      want_wr[i] = 0;
      check(mote_engine_closed(i, MOTE_CLOSED_PEER), "mote_closed");
    }
  now += 10;
}

static uint32_t accept_one(void) {
  open_[1] = 1;
  int32_t r = 0;
  check(mote_engine_accepted(0, 1, MOTE_VHOST_ANY, &r), "mote_accepted");
  return 1;
}

static void feed_str(uint32_t conn, const char *s) { feed(conn, (const uint8_t *)s, strlen(s)); }

static const char UPGRADE[] =
    "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: echo\r\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  static const uint8_t key[MOTE_IMAGE_KEY_BYTES] = {1};
  struct mote_flash fl = {.base = flash_mem, .slot_bytes = SLOT, .erase_bytes = 4096, .erase = f_erase, .program = f_program};
  memset(flash_mem, 0xff, sizeof flash_mem);
#if FUZZ_image
  mote_image_store_init(&fl, key); /* empty: "no valid slot", but uploads are taken */
#else
  (void)fl;
  (void)key;
#endif
  if (mote_engine_open() != 0) abort();
  uint8_t *blk;
  check(mote_engine_limits_ptr(&blk), "mote_limits_ptr");
  uint32_t lim[MOTE_LIM_SIZE / 4] = {0};
  lim[MOTE_LIM_MAX_CONNS / 4] = MAXC;
  lim[MOTE_LIM_RX_BUF / 4] = 4096;
  lim[MOTE_LIM_HDR_POOL / 4] = 4;
  lim[MOTE_LIM_HDR_BYTES / 4] = 2048;
  lim[MOTE_LIM_TX_BLOCKS / 4] = 64;
  lim[MOTE_LIM_TX_BLOCK_BYTES / 4] = 512;
  lim[MOTE_LIM_LOG_LEVEL / 4] = 0;
  lim[MOTE_LIM_MAX_MESSAGE / 4] = 65536;
  lim[MOTE_LIM_FLAGS / 4] = MOTE_INIT_DEFLATE | (FUZZ_image ? MOTE_INIT_IMAGE_STORE : 0);
  lim[MOTE_LIM_WS_PING_S / 4] = 1;
  lim[MOTE_LIM_WS_HANGUP_S / 4] = 3;
  lim[MOTE_LIM_WS_MESSAGE_S / 4] = 2;
  memcpy(blk, lim, sizeof lim);
  int32_t r = 0;
  check(mote_engine_init(now, &r), "mote_init");
  if (r != 0) abort();
  /* proof that a trap is a finding: every n-th import call fails its
   * pointer check (test/fuzz/fuzz.test.ts) */
  const char *fault = getenv("FUZZ_DEBUG_FAULT");
  if (fault) mote_engine_debug_fault((uint32_t)atoi(fault));
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  rng = data[0] * 2654435761u + 1;
  window = 0xffffffffu;
  data++;
  size--;
#if FUZZ_http
  feed(accept_one(), data, size);
#elif FUZZ_ws || FUZZ_deflate
  uint32_t c = accept_one();
#if FUZZ_deflate
  feed_str(c, UPGRADE);
  feed_str(c, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n");
#else
  feed_str(c, UPGRADE);
  feed_str(c, "\r\n");
#endif
  feed(c, data, size);
#elif FUZZ_mounts
  uint32_t c = accept_one();
  static const char *pre[] = {"GET /static", "GET /nocache/", "GET /plain", "HEAD /static/", "GET /old"};
  feed_str(c, pre[next_rand() % 5]);
  feed(c, data, size);
  feed_str(c, " HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\"\r\n\r\n");
#elif FUZZ_image
  uint32_t c = accept_one();
  char head[512];
  char hex[2 * MOTE_IMG_MAN_BYTES + 1];
  uint8_t man[MOTE_IMG_MAN_BYTES] = {0};
  size_t m = size < MOTE_IMG_MAN_BYTES ? size : MOTE_IMG_MAN_BYTES;
  memcpy(man, data, m);
  uint32_t mode = next_rand() % 4;
  if (mode != 0) { /* signed, describing this request, for this device, a new version */
    static uint32_t version = 1;
    static const uint8_t key[MOTE_IMAGE_KEY_BYTES] = {1};
    static const char label[] = "mote device id";
    uint8_t id[MOTE_SHA256_BYTES];
    struct mote_hmac h;
    uint32_t body = (uint32_t)(size - m), magic = (uint32_t)MOTE_IMG_MAN_MAGIC;
    version++;
    memcpy(man, &magic, 4);
    memcpy(man + MOTE_IMG_MAN_LEN, &body, 4);
    memcpy(man + MOTE_IMG_MAN_VERSION, &version, 4);
    mote_hmac_init(&h, key, sizeof key);
    mote_hmac_update(&h, (const uint8_t *)label, sizeof label - 1);
    mote_hmac_final(&h, id);
    memcpy(man + MOTE_IMG_MAN_DEVICE, id, MOTE_IMG_DEVICE_ID_BYTES);
    if (mode >= 2) { /* the body's true digest: the upload reaches the format check */
      struct mote_sha256 sh;
      mote_sha256_init(&sh);
      mote_sha256_update(&sh, data + m, size - m);
      mote_sha256_final(&sh, man + MOTE_IMG_MAN_SHA256);
    }
    mote_hmac_init(&h, key, sizeof key);
    mote_hmac_update(&h, man, MOTE_IMG_MAN_HMAC);
    mote_hmac_final(&h, man + MOTE_IMG_MAN_HMAC);
  }
  for (size_t i = 0; i < MOTE_IMG_MAN_BYTES; i++) sprintf(hex + 2 * i, "%02x", man[i]);
  snprintf(head, sizeof head, "PUT /.mote/image HTTP/1.1\r\nHost: a\r\nContent-Length: %u\r\nX-Mote-Image-Manifest: %s\r\n\r\n",
           (unsigned)(size - m), hex);
  feed_str(c, head);
  feed(c, data + m, size - m);
#elif FUZZ_client
  uint32_t c = accept_one();
  connect_id = -1;
  feed_str(c, "GET /connect/9/x HTTP/1.1\r\nHost: a\r\n\r\n");
  if (connect_id >= 0) {
    check(mote_engine_connected((uint32_t)connect_id), "mote_connected");
    pump();
    feed((uint32_t)connect_id, data, size);
  }
#elif FUZZ_wasmcheck
  (void)mote_wasm_check(data, (uint32_t)size); /* any answer is fine; a crash or a sanitizer report is not */
  return 0;
#else
#error "FUZZ_<target> not defined"
#endif
  finish(1);
  return 0;
}
