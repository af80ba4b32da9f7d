/* wasm_check.h: whether bytes are a WebAssembly 1.0 binary an engine can
 * try to load, by a walk of the binary format (core spec, section 5) that
 * allocates nothing: the header, every section in order and within bounds,
 * the type section's signatures, one code body per declared function.
 *
 * The image store asks before it commits an upload (through the engine's
 * mote_engine_check_image). Parsing with the engine would take a second
 * module's worth of heap beside the running one; on a board running a
 * large app there is not that much (wasm3's parse failed half-way and its
 * clean-up faulted). What passes here and still cannot load fails at the
 * switch, where the store revokes it and starts the previous image. Fuzzed
 * by test/fuzz (target wasmcheck). */
#ifndef MOTE_WASM_CHECK_H
#define MOTE_WASM_CHECK_H

#include <stdint.h>

/* NULL when the walk finds nothing wrong, else why (a static string). */
const char *mote_wasm_check(const uint8_t *bytes, uint32_t len);

#endif
