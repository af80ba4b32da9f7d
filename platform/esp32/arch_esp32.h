/* arch_esp32.h: the BSD-socket port on ESP-IDF's lwIP sockets (see
 * platform/posix/arch.h): arch_posix.h, except the half-close of a lingering
 * close, which esp32_lwip.c does inside lwIP's own thread. */
#ifndef MOTE_ARCH_ESP32_H
#define MOTE_ARCH_ESP32_H

#define MOTE_ARCH_OWN_SHUT_WR 1
#include "arch_posix.h"

int mote_arch_shut_wr(int fd);

#endif
