/* The service loop of the BSD-socket port, shared by every program that
 * runs it on its own thread (the Linux simulator's main, the ESP-IDF task):
 * the core's timers, the port's timers, one wait for socket readiness, and a
 * graceful stop. A program with a loop of its own calls sock_event() and the
 * timer functions of sock.h instead. */
#include <limits.h>

#include "../common/driver.h"
#include "mote_opts.h"
#include "port.h"
#include "sock.h"

int sock_run(const volatile int *stops) {
  int status = 0, draining = 0;
  uint32_t drain_deadline = 0, core_open = 0;
  for (;;) {
    uint32_t now = port_now_ms(), next = 0;
    if (mote_drv_tick(now, &next) == MOTE_DRV_FATAL) {
      status = 1;
      break;
    }
    if (draining && (core_open == 0 || sock_open_count() == 0) && sock_linger_count() == 0) break;

    int timeout = next == 0xffffffffu ? -1 : next > INT_MAX ? INT_MAX : (int)next;
    int t = sock_next_timeout(now);
    if (t >= 0 && (timeout < 0 || t < timeout)) timeout = t;
    if (draining) {
      int32_t d = (int32_t)(drain_deadline - now);
      t = d < 0 ? 0 : d;
      if (timeout < 0 || t < timeout) timeout = t;
    }

    if (sock_service(timeout) < 0) {
      status = 1;
      break;
    }
    now = sock_events_time();
    sock_timers(now);

    int asked = *stops;
    if (asked && !draining) {
      draining = 1;
      drain_deadline = now + MOTE_SHUTDOWN_GRACE_MS;
      sock_stop_accepting();
      if (mote_drv_shutdown(&core_open) == MOTE_DRV_FATAL) {
        status = 1;
        break;
      }
      mote_notice("shutting down: %u connections open (core), %u (port)", (unsigned)core_open, (unsigned)sock_open_count());
    } else if (asked > 1) {
      mote_notice("second stop: exiting now");
      break;
    }
    if (draining && (int32_t)(now - drain_deadline) >= 0) {
      mote_notice("shutdown: %u connections still open after %d ms; closing them", (unsigned)sock_open_count(),
                  MOTE_SHUTDOWN_GRACE_MS);
      break;
    }
  }
  sock_shutdown_all();
  return status;
}
