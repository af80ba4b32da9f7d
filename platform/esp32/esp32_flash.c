/* The app-image store on ESP-IDF: the two slots of platform/common/
 * image_store.c in a data partition of its own (partitions.csv: type data,
 * subtype 0x40, label "moteimg"), read in place through the flash cache
 * (esp_partition_mmap) and written with esp_partition_erase_range / _write,
 * which keep the mapped view coherent. Flash is NOR: erase sets 0xff and a
 * write can only clear bits, the semantics the store is built on, so a
 * power cut at any moment leaves what was programmed (the header last).
 *
 * The device key: this build compiles it in (image_key.h, generated from
 * the key file by `mote gen`), as the QEMU boards do. */
#include <string.h>

#include "esp_partition.h"
#include "sdkconfig.h"

#include "../common/driver.h"
#include "../common/image_store.h"
#include "engine.h"
#include "esp32_board.h"
#if __has_include("image_key.h")
#include "image_key.h"
#endif

#if defined(MOTE_IMAGE_KEY) && defined(MOTE_BOARD_IMAGE_SLOT_BYTES)

#define MOTE_PARTITION_SUBTYPE 0x40
static const esp_partition_t *part;

static int flash_erase(uint32_t off, uint32_t len) {
  return esp_partition_erase_range(part, off, len) == ESP_OK ? 0 : -1;
}

static int flash_program(uint32_t off, const uint8_t *src, uint32_t len) {
  return esp_partition_write(part, off, src, len) == ESP_OK ? 0 : -1;
}

int esp32_image_store_start(void) {
  part = esp_partition_find_first(ESP_PARTITION_TYPE_DATA, MOTE_PARTITION_SUBTYPE, "moteimg");
  if (!part) {
    mote_err("flash: no app-image partition (data, subtype 0x40, label moteimg) in the partition table");
    return -1;
  }
  uint32_t need = 2u * MOTE_BOARD_IMAGE_SLOT_BYTES;
  if (part->size < need) {
    mote_err("flash: partition moteimg has %u bytes, the store needs %u", (unsigned)part->size, (unsigned)need);
    return -1;
  }
  const void *base = NULL;
  esp_partition_mmap_handle_t map;
  esp_err_t err = esp_partition_mmap(part, 0, need, ESP_PARTITION_MMAP_DATA, &base, &map);
  if (err != ESP_OK) {
    mote_err("flash: cannot map partition moteimg: %s", esp_err_to_name(err));
    return -1;
  }
  mote_notice("flash: image store in partition moteimg at 0x%06x (2 x %u bytes)", (unsigned)part->address,
              (unsigned)MOTE_BOARD_IMAGE_SLOT_BYTES);
  static const uint8_t key[MOTE_IMAGE_KEY_BYTES] = MOTE_IMAGE_KEY;
  struct mote_flash fl = {.base = base, .slot_bytes = MOTE_BOARD_IMAGE_SLOT_BYTES,
                          .erase_bytes = MOTE_BOARD_IMAGE_ERASE_BYTES, .erase = flash_erase, .program = flash_program};
  return mote_image_store_init(&fl, key);
}

#else

int esp32_image_store_start(void) {
  if (!mote_engine_uses_image()) return 0; /* the core is compiled in */
  mote_err("engine %s needs an image store, and this build has no device key or store layout", mote_engine_name());
  return -1;
}

#endif
