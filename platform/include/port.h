/* port.h: what every port (Linux simulator, lwIP board, ESP-IDF) provides
 * to the engine and to the common driver.
 *
 * The port_* functions of mote_imports.h implement the module's imports (see
 * src/abi/imports.ts); the engine has already bounds-checked every pointer and
 * passes host pointers that are valid only for the duration of the call.
 * None of these may call back into the engine or the driver's event
 * functions (mote_drv_*): they run inside a module call.
 */
#ifndef MOTE_PORT_H
#define MOTE_PORT_H

#include <stddef.h>
#include <stdint.h>

/* ---- module imports ---------------------------------------------------- */

/* port_NAME for each import NAME of src/abi/imports.ts, where its contract
 * is written; the prototypes are generated from it (tools/abi.ts). A port
 * implements the sockets (port_sock_*) and randomness (port_random_fill);
 * platform/common/ implements the rest for every port: log_emit (driver.c),
 * the app-image store (image_store.c, MOTE_IMG_ERR_NO_STORE when the port
 * started none) and the DEFLATE codec (zcodec.c). */
#include "mote_imports.h"

/* ---- services for the driver ------------------------------------------- */

/* Write one finished log line (prefix included, ends in '\n') to the
 * port's sink; level is the MOTE_LOG_* bit it was logged at. */
void port_log(int level, const char *line, size_t len);
/* Write the wall-clock time as "YYYY-MM-DD HH:MM:SS.mmm" into buf and return
 * its length, or return 0 when the port has no wall clock. */
size_t port_log_time(char *buf, size_t cap);
/* Monotonic milliseconds (wraps at 2^32). */
uint32_t port_now_ms(void);
/* The engine is being restarted after a trap: close every connection at
 * once, without calling into the core, and forget them and the listeners.
 * A port may keep its listening sockets open (unwatched) and hand them back
 * when the restarted core listens on the same port again, so that no
 * connection is refused meanwhile (Linux does); it closes those the new core
 * does not claim. */
void port_reset(void);

#endif
