/* lwIP's platform hooks (arch/cc.h): diagnostics and assertions go to the
 * console through the driver's log. */
#include <stdarg.h>
#include <stdio.h>

#include "../common/driver.h"
#include "arch/cc.h"
#include "mps2.h"

void mote_lwip_diag(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mote_vlogf(MOTE_LOG_DEBUG, fmt, ap);
  va_end(ap);
}

void mote_lwip_assert(const char *msg, const char *file, int line) {
  mote_err("lwIP assertion failed: %s at %s:%d", msg, file, line);
  mps2_panic("lwIP assertion", (uint32_t)line, 0);
}
