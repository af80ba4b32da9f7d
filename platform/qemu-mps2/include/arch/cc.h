/* lwIP's compiler/platform hooks for arm-none-eabi-gcc + newlib. */
#ifndef MOTE_LWIP_ARCH_CC_H
#define MOTE_LWIP_ARCH_CC_H

#include <stdint.h>
#include <stdlib.h>

#ifndef BYTE_ORDER /* newlib's <machine/endian.h> usually has it */
#define BYTE_ORDER LITTLE_ENDIAN
#endif
#define LWIP_TIMEVAL_PRIVATE 0
#define LWIP_ERRNO_STDINCLUDE 1

void mote_lwip_assert(const char *msg, const char *file, int line) __attribute__((noreturn));
void mote_lwip_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define LWIP_PLATFORM_DIAG(x) \
  do {                        \
    mote_lwip_diag x;         \
  } while (0)
#define LWIP_PLATFORM_ASSERT(x) mote_lwip_assert((x), __FILE__, __LINE__)

#endif
