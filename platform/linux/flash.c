/* The simulator's flash: the app-image store's region as a file (--flash),
 * mapped read-only for the engine (which runs the image in place, as from
 * memory-mapped flash on a board) and changed with pwrite under NOR rules:
 * erase writes 0xff, program ANDs, so a store bug that relies on
 * overwriting without an erase shows here as it would on a chip. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/driver.h"
#include "../common/image_store.h"
#include "linux.h"

static int fd = -1;
static uint32_t region;

static int io(int wr, uint8_t *buf, uint32_t off, uint32_t len) {
  uint32_t done = 0;
  while (done < len) {
    ssize_t r = wr ? pwrite(fd, buf + done, len - done, off + done) : pread(fd, buf + done, len - done, off + done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    done += (uint32_t)r;
  }
  return 0;
}

static int flash_erase(uint32_t off, uint32_t len) {
  if (off > region || len > region - off) return -1;
  uint8_t ff[4096];
  memset(ff, 0xff, sizeof ff);
  for (uint32_t at = 0; at < len; at += sizeof ff) {
    uint32_t n = len - at < sizeof ff ? len - at : (uint32_t)sizeof ff;
    if (io(1, ff, off + at, n) < 0) return -1;
  }
  return 0;
}

static int flash_program(uint32_t off, const uint8_t *src, uint32_t len) {
  if (off > region || len > region - off) return -1;
  uint8_t cur[4096];
  for (uint32_t at = 0; at < len; at += sizeof cur) {
    uint32_t n = len - at < sizeof cur ? len - at : (uint32_t)sizeof cur;
    if (io(0, cur, off + at, n) < 0) return -1;
    for (uint32_t i = 0; i < n; i++) cur[i] &= src[at + i];
    if (io(1, cur, off + at, n) < 0) return -1;
  }
  return 0;
}

int sim_flash_open(const char *path, uint32_t slot_bytes, uint32_t erase_bytes, struct mote_flash *out) {
  region = 2 * slot_bytes;
  fd = open(path, O_RDWR | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    fprintf(stderr, "mote-sim: cannot open the flash file %s: %s\n", path, strerror(errno));
    return -1;
  }
  if ((uint64_t)st.st_size != region) {
    fprintf(stderr, "mote-sim: the flash file %s has %lld bytes; this board's store is %u (2 slots of %u): "
            "provision it with mote sim --flash\n", path, (long long)st.st_size, region, slot_bytes);
    close(fd);
    return -1;
  }
  void *map = mmap(NULL, region, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    fprintf(stderr, "mote-sim: cannot map the flash file %s: %s\n", path, strerror(errno));
    close(fd);
    return -1;
  }
  *out = (struct mote_flash){.base = map, .slot_bytes = slot_bytes, .erase_bytes = erase_bytes,
                             .erase = flash_erase, .program = flash_program};
  return 0;
}
