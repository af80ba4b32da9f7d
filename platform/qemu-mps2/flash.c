/* The app-image store's flash on the QEMU board.
 *
 * The region (imageStore.origin in the board file, in the code SSRAM above
 * the firmware) is read in place, as memory-mapped NOR flash is on a chip:
 * QEMU fills it at power-on from the store file (`-device loader`). Writes
 * follow NOR rules (erase = 0xff, program = AND) in memory and are written
 * through to that file at once with semihosting file calls, so killing QEMU
 * at any moment is a power cut that keeps exactly what was programmed.
 * Without `--flash PATH` on the semihosting command line the store works but
 * forgets everything at power-off (logged). */
#include <string.h>

#include "../common/driver.h"
#include "../common/image_store.h"
#include "board_config.h"
#include "mps2.h"

#ifdef MOTE_BOARD_IMAGE_ORIGIN

#define SYS_OPEN 0x01
#define SYS_WRITE 0x05
#define SYS_SEEK 0x0a
#define SYS_FLEN 0x0c
#define MODE_RPLUS_B 3 /* fopen "r+b" */

#define REGION (2u * MOTE_BOARD_IMAGE_SLOT_BYTES)
static uint8_t *const region = (uint8_t *)MOTE_BOARD_IMAGE_ORIGIN;
static int handle = -1;
static char host_path[128];

/* Write [off, off+len) of the region through to the host file. */
static int persist(uint32_t off, uint32_t len) {
  if (handle < 0) return 0;
  uint32_t seek[2] = {(uint32_t)handle, off};
  if (mps2_semihost(SYS_SEEK, seek) != 0) return -1;
  uint32_t wr[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)(region + off), len};
  return mps2_semihost(SYS_WRITE, wr) == 0 ? 0 : -1; /* returns the bytes NOT written */
}

static int flash_erase(uint32_t off, uint32_t len) {
  if (off > REGION || len > REGION - off || off % MOTE_BOARD_IMAGE_ERASE_BYTES || len % MOTE_BOARD_IMAGE_ERASE_BYTES) return -1;
  memset(region + off, 0xff, len);
  return persist(off, len);
}

static int flash_program(uint32_t off, const uint8_t *src, uint32_t len) {
  if (off > REGION || len > REGION - off) return -1;
  for (uint32_t i = 0; i < len; i++) region[off + i] &= src[i];
  return persist(off, len);
}

/* The value of `--flash PATH` on the semihosting command line, or NULL. */
static const char *flash_arg(void) {
  char line[256];
  if (mps2_cmdline(line, sizeof line) <= 0) return NULL;
  char *save = NULL;
  for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
    if (strcmp(w, "--flash") != 0) continue;
    char *v = strtok_r(NULL, " ", &save);
    if (!v || strlen(v) >= sizeof host_path) return NULL;
    strcpy(host_path, v);
    return host_path;
  }
  return NULL;
}

int mps2_flash_open(struct mote_flash *out) {
  const char *p = flash_arg();
  if (p) {
    uint32_t open_blk[3] = {(uint32_t)(uintptr_t)p, MODE_RPLUS_B, (uint32_t)strlen(p)};
    handle = mps2_semihost(SYS_OPEN, open_blk);
    if (handle < 0) {
      mote_err("flash: cannot open the host file %s; the store will not survive a power-off", p);
    } else {
      uint32_t len_blk[1] = {(uint32_t)handle};
      int len = mps2_semihost(SYS_FLEN, len_blk);
      if (len != (int)REGION) {
        mote_err("flash: the host file %s has %d bytes, the store %u: not using it", p, len, (unsigned)REGION);
        handle = -1;
      } else {
        mote_notice("flash: image store at 0x%08x (2 x %u bytes), persisted to %s", (unsigned)MOTE_BOARD_IMAGE_ORIGIN,
                    (unsigned)MOTE_BOARD_IMAGE_SLOT_BYTES, p);
      }
    }
  } else {
    mote_notice("flash: image store at 0x%08x not persisted (no --flash on the semihosting command line)",
                (unsigned)MOTE_BOARD_IMAGE_ORIGIN);
  }
  *out = (struct mote_flash){.base = region, .slot_bytes = MOTE_BOARD_IMAGE_SLOT_BYTES,
                             .erase_bytes = MOTE_BOARD_IMAGE_ERASE_BYTES, .erase = flash_erase, .program = flash_program};
  return 0;
}

#else

int mps2_flash_open(struct mote_flash *out) {
  (void)out;
  mote_err("flash: this board file has no imageStore");
  return -1;
}

#endif
