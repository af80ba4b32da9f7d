/* lwIP's platform hooks (arch/cc.h): diagnostics and assertions go to the
 * console through the driver's log. */
#include <stdarg.h>
#include <stdio.h>

#include "../common/driver.h"
#include "arch/cc.h"
#include "mps2.h"

void mote_lwip_diag(const char *fmt, ...) {
  char buf[160];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  while (n > 0 && buf[n - 1] == '\n') n--;
  mote_log_emit(MOTE_LOG_DEBUG, buf, (size_t)n);
}

void mote_lwip_assert(const char *msg, const char *file, int line) {
  mote_err("lwIP assertion failed: %s at %s:%d", msg, file, line);
  mps2_panic("lwIP assertion", (uint32_t)line, 0);
}
