/* engine.h: the engine-neutral interface to the mote core module.
 *
 * One implementation per engine: platform/engines/wasm2c (the module
 * translated to C and compiled in) and platform/engines/wasm3 (the module
 * interpreted from an image handed over at run time, see
 * mote_engine_set_image). The driver (platform/common/driver.c) is the only
 * caller of the call wrappers; ports go through it.
 *
 * Every export wrapper returns a status:
 *   0                    the call completed; results are in the out-params
 *   MOTE_TRAP_* (> 0)    the module trapped (or handed the host a bad
 *                        pointer); the instance must be closed and reopened
 *   MOTE_ENGINE_* (< 0)  the call was not made (no instance, or re-entered)
 * Out-params are written only when the status is 0.
 *
 * Host pointers returned here (mote_engine_mem, rx buffer, limits block) are
 * valid only until the next call into the module: memory may grow and move.
 * Calls must not be nested: an import implementation (port_* function) must
 * never call back into the engine.
 */
#ifndef MOTE_ENGINE_H
#define MOTE_ENGINE_H

#include <stdint.h>
#include "mote_abi.h"

#define MOTE_ENGINE_NOT_OPEN (-1)  /* no instance */
#define MOTE_ENGINE_REENTERED (-2) /* called from inside an import */
#define MOTE_ENGINE_NO_MEMORY (-3) /* instantiation could not allocate */
#define MOTE_ENGINE_BAD_IMAGE (-4) /* no module image, or it cannot be loaded */

/* The module image: the bytes of a .wasm file. Engines that load the module
 * at run time (wasm3) parse it at every mote_engine_open() and keep pointers
 * into it while an instance is open, so the bytes must stay valid and
 * unchanged until the instance is closed. Replacing the image while an
 * instance is open is refused (MOTE_ENGINE_BAD_IMAGE): close, set, open.
 * The image is checked when it is opened, not here. Engines with the module
 * compiled in (wasm2c) ignore the image and return 0. */
int mote_engine_set_image(const uint8_t *image, uint32_t len);
/* 0 when `image` parses as a module this engine can load (wasm3: sections,
 * types and code are parsed, nothing is compiled or instantiated; the
 * running instance is untouched), else MOTE_ENGINE_BAD_IMAGE (logged).
 * Engines with the module compiled in refuse every image. */
int mote_engine_check_image(const uint8_t *image, uint32_t len);
/* 1 when the engine runs a module image (it needs mote_engine_set_image
 * before mote_engine_open), 0 when the module is compiled in. */
int mote_engine_uses_image(void);

/* Instantiate the module (runtime set-up on first use). Returns 0,
 * MOTE_TRAP_* (> 0) when instantiation trapped (data segments, the start
 * function), or a MOTE_ENGINE_* code (< 0); the reason has been logged. */
int mote_engine_open(void);
/* Free the instance (no-op when none). */
void mote_engine_close(void);
/* Engine name for logs ("wasm2c", "wasm3"). */
const char *mote_engine_name(void);

/* Linear memory of the current instance (NULL / 0 when none). */
uint8_t *mote_engine_mem(void);
uint32_t mote_engine_mem_size(void);

/* One wrapper per export of src/abi/exports.ts. */
int mote_engine_abi_version(uint32_t *version);
/* mote_limits_ptr(), checked for MOTE_LIM_SIZE bytes, as a host pointer. */
int mote_engine_limits_ptr(uint8_t **block);
int mote_engine_init(uint32_t now_ms, int32_t *result);
/* mote_rx_space(conn) then mote_rx_buffer(conn), checked against the memory
 * size, as a host pointer. *space == 0 (and *buf == NULL): do not read now. */
int mote_engine_rx_buffer(uint32_t conn, uint8_t **buf, uint32_t *space);
int mote_engine_rx_space(uint32_t conn, uint32_t *space);
int mote_engine_accepted(uint32_t listener, uint32_t conn, uint32_t vhost, int32_t *result);
int mote_engine_received(uint32_t conn, uint32_t n);
int mote_engine_writable(uint32_t conn);
int mote_engine_closed(uint32_t conn, uint32_t reason);
int mote_engine_connected(uint32_t conn);
int mote_engine_connect_failed(uint32_t conn, uint32_t reason);
int mote_engine_tick(uint32_t now_ms, uint32_t *next_ms);
int mote_engine_shutdown(uint32_t *open_conns);
/* Diagnostics (wasm2c only; the board's 'm' console command): the core's
 * heap top through mote_heap_probe(), which takes 16 bytes per call. */
int mote_engine_heap_probe(uint32_t *top);

/* Short name of a status: "none", "unreachable", "bad-pointer", ...
 * (engine-neutral: defined once, in platform/common/driver.c). */
const char *mote_trap_name(int status);

/* Test hook: when n > 0, every n-th import call made by the module fails
 * its pointer check (as MOTE_TRAP_BAD_POINTER). 0 disables. */
void mote_engine_debug_fault(uint32_t n);

#endif
