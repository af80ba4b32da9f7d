/* engine.h over the wasm2c translation of the core (build/.../gen/core.c).
 *
 * Each export call runs under wasm_rt_impl_try(): a trap anywhere inside
 * (generated code, or an import below that refuses a pointer) longjmps back
 * here and is reported as a MOTE_TRAP_* status. The runtime's trap state is
 * process-global, so there is one instance and calls must not nest.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "wasm-rt-impl.h"
#include "wasm-rt.h"

#include "../../common/driver.h"
#include "../../common/zcodec.h"
#include "engine.h"
#include "port.h"

/* Our side of the module's "env" imports. */
struct Z_env_instance_t {
  Z_core_instance_t *core;
};

static Z_core_instance_t inst;
static struct Z_env_instance_t env = {&inst};
static int rt_ready;
static int is_open;
static int in_call;
static int pending_trap;      /* set by an import just before it traps */
static uint32_t fault_every;  /* test hook */
static uint32_t fault_count;

const char *mote_engine_name(void) { return "wasm2c"; }

static inline wasm_rt_memory_t *mem(void) { return Z_coreZ_memory(&inst); }
uint8_t *mote_engine_mem(void) { return is_open ? mem()->data : NULL; }
uint32_t mote_engine_mem_size(void) { return is_open ? mem()->size : 0; }

void mote_engine_debug_fault(uint32_t n) {
  fault_every = n;
  fault_count = 0;
}

int mote_engine_check_image(const uint8_t *image, uint32_t len) {
  (void)image;
  (void)len;
  return MOTE_ENGINE_BAD_IMAGE;
}

/* The module is compiled in: there is no image to load. */
int mote_engine_set_image(const uint8_t *image, uint32_t len) {
  (void)image;
  (void)len;
  return 0;
}
int mote_engine_uses_image(void) { return 0; }

/* The status for a trap that reached our wasm_rt_impl_try(). Not inlined:
 * its locals must not live in the frame that called setjmp. */
static __attribute__((noinline)) int trap_status(wasm_rt_trap_t t) {
  int p = pending_trap;
  pending_trap = 0;
  in_call = 0;
  if (p) return p;
  switch (t) {
    case WASM_RT_TRAP_OOB: return MOTE_TRAP_OOB;
    case WASM_RT_TRAP_INT_OVERFLOW: return MOTE_TRAP_INT_OVERFLOW;
    case WASM_RT_TRAP_DIV_BY_ZERO: return MOTE_TRAP_DIV_BY_ZERO;
    case WASM_RT_TRAP_INVALID_CONVERSION: return MOTE_TRAP_INVALID_CONVERSION;
    case WASM_RT_TRAP_CALL_INDIRECT: return MOTE_TRAP_CALL_INDIRECT;
#if !WASM_RT_MERGED_OOB_AND_EXHAUSTION_TRAPS
    case WASM_RT_TRAP_EXHAUSTION: return MOTE_TRAP_EXHAUSTION;
#endif
    default: return MOTE_TRAP_UNREACHABLE; /* unreachable, uncaught exception */
  }
}

/* Runs `body` (which calls into the module) with the trap handler armed.
 * Locals assigned inside body and read afterwards must be volatile or
 * statics (setjmp rules); we write results through pointers only. */
#define ENGINE_CALL(body)                                    \
  do {                                                       \
    if (!is_open) return MOTE_ENGINE_NOT_OPEN;               \
    if (in_call) return MOTE_ENGINE_REENTERED;               \
    in_call = 1;                                             \
    pending_trap = 0;                                        \
    wasm_rt_trap_t t_ = wasm_rt_impl_try();                  \
    if (t_ != WASM_RT_TRAP_NONE) return trap_status(t_);     \
    body;                                                    \
    in_call = 0;                                             \
  } while (0)

/* ---- instance ----------------------------------------------------------- */

int mote_engine_open(void) {
  if (is_open) return 0;
  if (!rt_ready) {
    wasm_rt_init();
    Z_core_init_module();
    rt_ready = 1;
  }
  memset(&inst, 0, sizeof inst);
  in_call = 1;
  pending_trap = 0;
  wasm_rt_trap_t t = wasm_rt_impl_try(); /* data segments and start can trap */
  if (t != WASM_RT_TRAP_NONE) {
    int st = trap_status(t);
    mote_err("instantiate trapped: %s", mote_trap_name(st));
    if (mem()->data) Z_core_free(&inst);
    memset(&inst, 0, sizeof inst);
    return st;
  }
  Z_core_instantiate(&inst, &env);
  in_call = 0;
  if (!mem()->data) {
    mote_err("instantiate: cannot allocate linear memory");
    return MOTE_ENGINE_NO_MEMORY;
  }
  is_open = 1;
  return 0;
}

void mote_engine_close(void) {
  if (!is_open) return;
  Z_core_free(&inst);
  memset(&inst, 0, sizeof inst);
  is_open = 0;
  in_call = 0;
}

/* ---- bounds checks ------------------------------------------------------ */

static inline int range_ok(uint32_t ptr, uint32_t len) {
  uint32_t size = mem()->size;
  return !(ptr > size || len > size - ptr);
}

/* Unwind the current export call, reported as `status`. */
static void __attribute__((noreturn)) trap_with(int status) {
  pending_trap = status;
  wasm_rt_trap(WASM_RT_TRAP_OOB);
}

/* (ptr,len) from the module for import `what`, as a host pointer; traps
 * (MOTE_TRAP_BAD_POINTER) when it is outside linear memory. */
static uint8_t *host_ptr(uint32_t ptr, uint32_t len, const char *what) {
  int fault = fault_every && ++fault_count % fault_every == 0;
  if (!range_ok(ptr, len) || fault) {
    mote_err("bad pointer from core: %s(ptr %u, len %u), memory %u bytes%s", what, (unsigned)ptr, (unsigned)len, (unsigned)mem()->size,
             fault ? " (injected)" : "");
    trap_with(MOTE_TRAP_BAD_POINTER);
  }
  return mem()->data + ptr;
}

/* ---- imports and exports ------------------------------------------------ */

/* Generated from src/abi/ by tools/abi.ts: an import function per import
 * (each pointer through host_ptr), the export wrappers under ENGINE_CALL. */
#include "mote_wasm2c.h"

/* AssemblyScript's runtime import (not part of mote's ABI). */
void Z_envZ_abort(struct Z_env_instance_t *, u32, u32, u32, u32);

/* An AssemblyScript string (UTF-16LE, byte length as u32 at ptr-4) as
 * ASCII, '?' for anything else. Never traps. */
static void as_string(uint32_t ptr, char *out, size_t cap, const char *none) {
  if (ptr == 0) {
    snprintf(out, cap, "%s", none);
    return;
  }
  uint32_t bytes;
  if (ptr < 4 || !range_ok(ptr - 4, 4)) goto bad;
  memcpy(&bytes, mem()->data + ptr - 4, 4); /* wasm memory is little-endian */
  if (!range_ok(ptr, bytes)) goto bad;
  size_t n = 0;
  for (uint32_t i = 0; i + 1 < bytes && n + 1 < cap; i += 2) {
    uint16_t c = (uint16_t)(mem()->data[ptr + i] | mem()->data[ptr + i + 1] << 8);
    out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
  }
  out[n] = 0;
  return;
bad:
  snprintf(out, cap, "(bad string %u)", (unsigned)ptr);
}

void Z_envZ_abort(struct Z_env_instance_t *e, u32 msg, u32 file, u32 line, u32 col) {
  (void)e;
  char m[160], f[160];
  as_string(msg, m, sizeof m, "(no message)");
  as_string(file, f, sizeof f, "(unknown)");
  mote_err("abort: %s at %s:%u:%u", m, f, (unsigned)line, (unsigned)col);
  trap_with(MOTE_TRAP_ABORT);
}

/* ---- exports that return pointers (the rest: mote_wasm2c.h) ---------------- */

int mote_engine_limits_ptr(uint8_t **block) {
  static uint32_t off;
  ENGINE_CALL(off = Z_coreZ_mote_limits_ptr(&inst));
  if (!range_ok(off, MOTE_LIM_SIZE)) {
    mote_err("bad pointer from core: mote_limits_ptr %u, memory %u bytes", (unsigned)off, (unsigned)mem()->size);
    return MOTE_TRAP_BAD_POINTER;
  }
  *block = mem()->data + off;
  return 0;
}

int mote_engine_rx_buffer(uint32_t conn, uint8_t **buf, uint32_t *space) {
  static uint32_t off, sp;
  /* space first, buffer last: the buffer is valid until the next call */
  ENGINE_CALL(sp = Z_coreZ_mote_rx_space(&inst, conn); off = sp ? Z_coreZ_mote_rx_buffer(&inst, conn) : 0);
  if (sp == 0) {
    *buf = NULL;
    *space = 0;
    return 0;
  }
  if (!range_ok(off, sp)) {
    mote_err("bad pointer from core: mote_rx_buffer(%u) = %u, space %u, memory %u bytes", (unsigned)conn, (unsigned)off, (unsigned)sp, (unsigned)mem()->size);
    return MOTE_TRAP_BAD_POINTER;
  }
  *buf = mem()->data + off;
  *space = sp;
  return 0;
}
