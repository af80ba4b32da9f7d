/* The app-image store; see image_store.h. */
#include "image_store.h"

#include <string.h>

#include "driver.h"
#include "engine.h"
#include "mote_abi.h"
#include "port.h"
#include "sha256.h"

/* Builds whose engine has the module compiled in (wasm2c) have no store:
 * the build defines MOTE_IMAGE_STORE=1 only for engines that run images,
 * and everything below shrinks to "no store here". */
#if MOTE_IMAGE_STORE

enum { UP_IDLE, UP_WRITING, UP_COMMITTED };

static struct mote_flash fl;
static uint8_t key[MOTE_IMAGE_KEY_BYTES];
static int active;
static int running = -1;  /* slot the engine was pointed at */
static uint32_t running_seq;
static int up_state = UP_IDLE;
static int up_slot;       /* slot being written (never the running one) */
static uint32_t up_len, up_written;
static int switch_wanted;
static uint32_t tried; /* slots that failed to start since the store started (bit per slot) */
static uint32_t up_version;
static uint8_t up_sha[MOTE_SHA256_BYTES];     /* the manifest's digest of the image */
static uint8_t device_id[MOTE_IMG_DEVICE_ID_BYTES];
/* Refused manifests back the next attempt off: 1 s, doubling to 64 s. */
static uint32_t auth_fails, retry_at;

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static const uint8_t *slot_hdr(int s) { return fl.base + (uint32_t)s * fl.slot_bytes; }
static const uint8_t *slot_image(int s) { return slot_hdr(s) + MOTE_IMG_HDR_BYTES; }
static uint32_t slot_capacity(void) { return fl.slot_bytes - MOTE_IMG_HDR_BYTES; }

static void tag_of(const uint8_t *image, uint32_t len, uint8_t out[MOTE_IMG_TAG_BYTES]) {
  struct mote_hmac m;
  mote_hmac_init(&m, key, sizeof key);
  mote_hmac_update(&m, image, len);
  mote_hmac_final(&m, out);
}

/* Why slot s cannot run (NULL: it can); *seq gets its sequence number. */
static const char *slot_problem(int s, uint32_t *seq) {
  const uint8_t *h = slot_hdr(s);
  if (rd32(h + MOTE_IMG_HDR_MAGIC) != (uint32_t)MOTE_IMG_MAGIC) return "empty";
  if (rd32(h + MOTE_IMG_HDR_FORMAT) != MOTE_IMG_FORMAT) return "unknown header format";
  if (rd32(h + MOTE_IMG_HDR_REVOKED) != 0xffffffffu) return "revoked (it failed to start)";
  uint32_t len = rd32(h + MOTE_IMG_HDR_LEN);
  if (len < 8 || len > slot_capacity()) return "bad length";
  if (rd32(h + MOTE_IMG_HDR_TAG_TYPE) != MOTE_IMG_TAG_HMAC_SHA256) return "unknown tag type";
  uint8_t t[MOTE_IMG_TAG_BYTES];
  tag_of(slot_image(s), len, t);
  if (!mote_equal_ct(t, h + MOTE_IMG_HDR_TAG, sizeof t)) return "tag mismatch (not written with this device's key, or corrupt)";
  *seq = rd32(h + MOTE_IMG_HDR_SEQ);
  return NULL;
}

/* The highest version slot s holds or was tried with: its header's (a
 * revoked slot's too: what was once installed is never undercut) and the
 * floor an upload into it programmed right after the erase (an interrupted
 * or refused upload's version stays used). 0 when none. */
static uint32_t slot_version(int s) {
  const uint8_t *h = slot_hdr(s);
  uint32_t v = 0;
  if (rd32(h + MOTE_IMG_HDR_MAGIC) == (uint32_t)MOTE_IMG_MAGIC && rd32(h + MOTE_IMG_HDR_FORMAT) == MOTE_IMG_FORMAT) {
    uint32_t hv = rd32(h + MOTE_IMG_HDR_VERSION);
    if (hv != 0xffffffffu) v = hv;
  }
  uint32_t floor = rd32(h + MOTE_IMG_HDR_FLOOR);
  return floor != 0xffffffffu && floor > v ? floor : v;
}

static uint32_t installed_version(void) {
  uint32_t a = slot_version(0), b = slot_version(1);
  return a > b ? a : b;
}

static void point_engine_at(int s) {
  const uint8_t *h = slot_hdr(s);
  running = s;
  running_seq = rd32(h + MOTE_IMG_HDR_SEQ);
  mote_engine_set_image(slot_image(s), rd32(h + MOTE_IMG_HDR_LEN));
  mote_notice("image store: running slot %d (sequence %u, %u bytes)", s, (unsigned)running_seq,
              (unsigned)rd32(h + MOTE_IMG_HDR_LEN));
}

/* The best valid slot other than `except` (-1: any); -1 when none. */
static int best_slot(int except, int log) {
  int best = -1;
  uint32_t best_seq = 0;
  for (int s = 0; s < 2; s++) {
    if (s == except) continue;
    uint32_t seq = 0;
    const char *why = slot_problem(s, &seq);
    if (why) {
      if (log) mote_info("image store: slot %d: %s", s, why);
      continue;
    }
    if (best < 0 || (int32_t)(seq - best_seq) > 0) {
      best = s;
      best_seq = seq;
    }
  }
  return best;
}

int mote_image_store_init(const struct mote_flash *flash, const uint8_t k[MOTE_IMAGE_KEY_BYTES]) {
  fl = *flash;
  memcpy(key, k, sizeof key);
  {
    static const char label[] = "mote device id";
    uint8_t id[MOTE_SHA256_BYTES];
    struct mote_hmac m;
    mote_hmac_init(&m, key, sizeof key);
    mote_hmac_update(&m, (const uint8_t *)label, sizeof label - 1);
    mote_hmac_final(&m, id);
    memcpy(device_id, id, sizeof device_id);
  }
  auth_fails = 0;
  active = 1;
  up_state = UP_IDLE;
  switch_wanted = 0;
  tried = 0;
  int s = best_slot(-1, 1);
  if (s < 0) {
    mote_err("image store: no slot holds a valid image for this device's key; provision the store "
             "(mote qemu/sim provision it from the built app) or check the key");
    return -1;
  }
  point_engine_at(s);
  return 0;
}

int mote_image_store_active(void) { return active; }

int mote_image_store_slot(uint32_t *seq) {
  if (seq) *seq = running_seq;
  return running;
}

int mote_image_switch_pending(void) { return active && switch_wanted; }

void mote_image_switch_begin(void) {
  switch_wanted = 0;
  up_state = UP_IDLE;
  tried = 0; /* a new image: both slots get their chance again */
  point_engine_at(up_slot);
}

int mote_image_fallback(int revoke) {
  if (!active || running < 0) return -1;
  tried |= 1u << running;
  if (!revoke) {
    mote_warn("image store: slot %d (sequence %u) did not start for want of memory; kept for the next boot", running,
              (unsigned)running_seq);
  } else {
    uint8_t zero[4] = {0, 0, 0, 0};
    if (fl.program((uint32_t)running * fl.slot_bytes + MOTE_IMG_HDR_REVOKED, zero, 4) < 0)
      mote_err("image store: cannot revoke slot %d", running);
    else
      mote_warn("image store: slot %d (sequence %u) revoked: it failed to start", running, (unsigned)running_seq);
  }
  int s = best_slot(running, 0);
  if (s < 0 || (tried & (1u << s))) return -1;
  point_engine_at(s);
  return 0;
}

/* ---- the upload imports ----------------------------------------------- */

/* A refused manifest: the next attempt waits (IMG_ERR_RATE until then). */
static int32_t refuse_manifest(int32_t err, const char *why) {
  auth_fails++;
  uint32_t wait = 1000u << (auth_fails > 7 ? 6 : auth_fails - 1);
  retry_at = port_now_ms() + wait;
  mote_warn("image store: upload refused before anything was erased: %s (next attempt in %u s)", why, (unsigned)(wait / 1000));
  return err;
}

/* The manifest (IMG_MAN_*) is checked before anything is erased: its HMAC
 * under the device key, the device it names, its version against every
 * version the store holds or was tried with (anti-rollback: a replayed or
 * older upload is refused; each version is used once), and the length. */
int32_t port_image_begin(uint32_t len, uint8_t *man, uint32_t man_len) {
  if (!active) return MOTE_IMG_ERR_NO_STORE;
  if (switch_wanted || up_state == UP_COMMITTED) return MOTE_IMG_ERR_BUSY;
  if (up_state == UP_WRITING) return MOTE_IMG_ERR_BUSY;
  if (man_len != MOTE_IMG_MAN_BYTES) return MOTE_IMG_ERR_STATE;
  /* The HMAC first: a manifest signed with the key is never held back by
   * the back-off, which forged ones run into, so nobody can lock out
   * updates by sending garbage. */
  uint8_t mac[MOTE_SHA256_BYTES];
  struct mote_hmac m;
  mote_hmac_init(&m, key, sizeof key);
  mote_hmac_update(&m, man, MOTE_IMG_MAN_HMAC);
  mote_hmac_final(&m, mac);
  if (!mote_equal_ct(mac, man + MOTE_IMG_MAN_HMAC, sizeof mac)) {
    uint32_t now = port_now_ms();
    if (auth_fails && (int32_t)(retry_at - now) > 0) {
      wr32(man, (retry_at - now + 999) / 1000); /* the seconds to wait, for Retry-After */
      return MOTE_IMG_ERR_RATE;
    }
    return refuse_manifest(MOTE_IMG_ERR_AUTH, "its manifest is not signed with this device's key");
  }
  auth_fails = 0;
  if (rd32(man) != (uint32_t)MOTE_IMG_MAN_MAGIC || rd32(man + MOTE_IMG_MAN_LEN) != len) {
    mote_warn("image store: upload refused before anything was erased: its manifest does not describe this request");
    return MOTE_IMG_ERR_AUTH;
  }
  if (memcmp(man + MOTE_IMG_MAN_DEVICE, device_id, sizeof device_id) != 0) {
    mote_warn("image store: upload refused before anything was erased: its manifest is for another device");
    return MOTE_IMG_ERR_DEVICE;
  }
  uint32_t version = rd32(man + MOTE_IMG_MAN_VERSION), have = installed_version();
  if (version <= have || version == 0xffffffffu) {
    mote_warn("image store: version %u is not above the installed %u (a replay or a rollback; a version is used once, "
              "even by an upload that did not finish)", (unsigned)version, (unsigned)have);
    return MOTE_IMG_ERR_ROLLBACK;
  }
  if (len < 8) return MOTE_IMG_ERR_FORMAT;
  if (len > slot_capacity()) return MOTE_IMG_ERR_TOO_BIG;
  up_slot = running == 0 ? 1 : 0;
  uint32_t span = MOTE_IMG_HDR_BYTES + len;
  span = (span + fl.erase_bytes - 1) / fl.erase_bytes * fl.erase_bytes;
  if (fl.erase((uint32_t)up_slot * fl.slot_bytes, span) < 0) {
    mote_err("image store: erasing slot %d failed", up_slot);
    return MOTE_IMG_ERR_FLASH;
  }
  /* the version is used from now on, whatever becomes of this upload */
  uint8_t fv[4];
  wr32(fv, version);
  if (fl.program((uint32_t)up_slot * fl.slot_bytes + MOTE_IMG_HDR_FLOOR, fv, 4) < 0) {
    mote_err("image store: programming slot %d failed", up_slot);
    return MOTE_IMG_ERR_FLASH;
  }
  memcpy(up_sha, man + MOTE_IMG_MAN_SHA256, sizeof up_sha);
  up_version = version;
  up_len = len;
  up_written = 0;
  up_state = UP_WRITING;
  mote_notice("image store: receiving %u bytes into slot %d", (unsigned)len, up_slot);
  return MOTE_IMG_OK;
}

int32_t port_image_write(uint32_t offset, const uint8_t *p, uint32_t n) {
  if (up_state != UP_WRITING || offset != up_written) return MOTE_IMG_ERR_STATE;
  if (n > up_len - up_written) return MOTE_IMG_ERR_TOO_BIG;
  if (n && fl.program((uint32_t)up_slot * fl.slot_bytes + MOTE_IMG_HDR_BYTES + offset, p, n) < 0) {
    up_state = UP_IDLE;
    mote_err("image store: programming slot %d failed", up_slot);
    return MOTE_IMG_ERR_FLASH;
  }
  up_written += n;
  return MOTE_IMG_OK;
}

int32_t port_image_finish(void) {
  if (up_state != UP_WRITING) return MOTE_IMG_ERR_STATE;
  up_state = UP_IDLE;
  if (up_written != up_len) return MOTE_IMG_ERR_SHORT;
  /* what was programmed, read back, against the manifest's digest */
  const uint8_t *img = slot_image(up_slot);
  uint8_t d[MOTE_SHA256_BYTES];
  struct mote_sha256 sh;
  mote_sha256_init(&sh);
  mote_sha256_update(&sh, img, up_len);
  mote_sha256_final(&sh, d);
  if (!mote_equal_ct(d, up_sha, sizeof d)) {
    mote_warn("image store: upload refused: the image does not match its manifest's digest (altered in transit)");
    return MOTE_IMG_ERR_TAG;
  }
  uint8_t t[MOTE_IMG_TAG_BYTES];
  tag_of(img, up_len, t);
  if (mote_engine_check_image(img, up_len) != 0) {
    mote_warn("image store: upload refused: not a module image %s can load", mote_engine_name());
    return MOTE_IMG_ERR_FORMAT;
  }
  uint8_t h[MOTE_IMG_HDR_BYTES];
  memset(h, 0xff, sizeof h);
  wr32(h + MOTE_IMG_HDR_MAGIC, (uint32_t)MOTE_IMG_MAGIC);
  wr32(h + MOTE_IMG_HDR_FORMAT, MOTE_IMG_FORMAT);
  wr32(h + MOTE_IMG_HDR_SEQ, running_seq + 1);
  wr32(h + MOTE_IMG_HDR_LEN, up_len);
  wr32(h + MOTE_IMG_HDR_TAG_TYPE, MOTE_IMG_TAG_HMAC_SHA256);
  memcpy(h + MOTE_IMG_HDR_TAG, t, sizeof t);
  wr32(h + MOTE_IMG_HDR_VERSION, up_version);
  if (fl.program((uint32_t)up_slot * fl.slot_bytes, h, sizeof h) < 0) {
    mote_err("image store: writing the header of slot %d failed", up_slot);
    return MOTE_IMG_ERR_FLASH;
  }
  up_state = UP_COMMITTED;
  mote_notice("image store: slot %d committed (sequence %u, version %u, %u bytes); it runs after the switch", up_slot,
              (unsigned)(running_seq + 1), (unsigned)up_version, (unsigned)up_len);
  return MOTE_IMG_OK;
}

void port_image_abort(void) {
  if (up_state == UP_WRITING) mote_notice("image store: upload abandoned after %u of %u bytes", (unsigned)up_written, (unsigned)up_len);
  if (up_state != UP_COMMITTED) up_state = UP_IDLE;
}

void port_image_activate(void) {
  if (up_state == UP_COMMITTED) switch_wanted = 1;
}

#else /* !MOTE_IMAGE_STORE */

int mote_image_store_init(const struct mote_flash *flash, const uint8_t k[MOTE_IMAGE_KEY_BYTES]) {
  (void)flash;
  (void)k;
  mote_err("image store: this build has none (engine %s has the module compiled in)", mote_engine_name());
  return -1;
}
int mote_image_store_active(void) { return 0; }
int mote_image_store_slot(uint32_t *seq) {
  if (seq) *seq = 0;
  return -1;
}
int mote_image_switch_pending(void) { return 0; }
void mote_image_switch_begin(void) {}
int mote_image_fallback(int revoke) {
  (void)revoke;
  return -1;
}
int32_t port_image_begin(uint32_t len, uint8_t *man, uint32_t man_len) {
  (void)len;
  (void)man;
  (void)man_len;
  return MOTE_IMG_ERR_NO_STORE;
}
int32_t port_image_write(uint32_t offset, const uint8_t *p, uint32_t n) {
  (void)offset;
  (void)p;
  (void)n;
  return MOTE_IMG_ERR_NO_STORE;
}
int32_t port_image_finish(void) { return MOTE_IMG_ERR_NO_STORE; }
void port_image_abort(void) {}
void port_image_activate(void) {}

#endif
