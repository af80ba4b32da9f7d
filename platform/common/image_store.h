/* image_store.h: the app-image store, shared by every port whose engine
 * runs a module image (wasm3).
 *
 * A flash region of two equal slots; the layout (IMG_* in
 * src/abi/constants.ts) is also written by tools/image.ts, which provisions
 * a store. A slot is valid when its header has the magic and format, is not
 * revoked, its length fits, and its tag is HMAC-SHA256(device key, image).
 * At boot the valid slot with the highest sequence number runs.
 *
 * Why a shared secret (HMAC-SHA256) and not a signature: it needs no
 * public-key code on the device (ECDSA verification would add mbedTLS's
 * bignum and curve code, an estimated 20-30 KB of flash, to a firmware of
 * 130-175 KB; SHA-256 + HMAC here are ~1.1 KB), and a per-device key
 * (ESP32: an eFuse key block read by its HMAC peripheral) limits what one
 * extracted key can do to that one device. The header has a tag-type field
 * so a signature type can be added beside it.
 *
 * Upload (the port_image_* imports, called by the core's PUT /.mote/image):
 * begin erases the slot that is not running; write programs the image in
 * order; finish checks length, tag and format and then programs the header
 * (last: a torn upload never leaves a valid header); activate asks the
 * driver to switch to it after the current call. If the new image fails to
 * start, its header is revoked and the previous image starts again.
 */
#ifndef MOTE_IMAGE_STORE_H
#define MOTE_IMAGE_STORE_H

#include <stdint.h>

#define MOTE_IMAGE_KEY_BYTES 32

/* NOR-flash semantics: erase sets bytes to 0xff; program can only clear
 * bits (a byte programmed twice holds the AND). Reads go through base
 * (memory-mapped: XIP flash, mmap of a file, QEMU's SSRAM window). */
struct mote_flash {
  const uint8_t *base;
  uint32_t slot_bytes;  /* each of the two slots; a multiple of erase_bytes */
  uint32_t erase_bytes; /* erase granule */
  int (*erase)(uint32_t off, uint32_t len);
  int (*program)(uint32_t off, const uint8_t *src, uint32_t len);
};

/* Start the store over a flash region with the device key; selects the
 * slot to run and hands it to the engine (mote_engine_set_image). Returns
 * 0, or -1 when no slot holds a valid image (logged, with what to do). */
int mote_image_store_init(const struct mote_flash *flash, const uint8_t key[MOTE_IMAGE_KEY_BYTES]);
/* 1 when a store is running. */
int mote_image_store_active(void);
/* The slot running (0 or 1) and its sequence number. */
int mote_image_store_slot(uint32_t *seq);

/* For the driver (platform/common/driver.c). */
/* 1 when the core asked for a switch to a committed image. */
int mote_image_switch_pending(void);
/* Point the engine at the committed image (the engine is closed). */
void mote_image_switch_begin(void);
/* The running image failed to start: revoke it (unless `revoke` is 0: the
 * engine ran out of memory, which is not the image's fault, and the next
 * boot may try it again) and point the engine at the other valid slot that
 * has not been tried since the store started. 0, or -1 when none is left. */
int mote_image_fallback(int revoke);

#endif
