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

/* ---- imports ------------------------------------------------------------ */

/* Every import of src/abi/imports.ts, declared here too: core.h declares only
 * those the current core uses, and a mismatch must not compile. */
u32 Z_envZ_sock_listen(struct Z_env_instance_t *, u32, u32, u32, u32);
u32 Z_envZ_sock_keepalive(struct Z_env_instance_t *, u32, u32, u32, u32);
u32 Z_envZ_sock_tls(struct Z_env_instance_t *, u32, u32, u32, u32);
u32 Z_envZ_sock_connect(struct Z_env_instance_t *, u32, u32, u32, u32);
u32 Z_envZ_sock_send(struct Z_env_instance_t *, u32, u32, u32);
void Z_envZ_sock_want_writable(struct Z_env_instance_t *, u32, u32);
void Z_envZ_sock_pause_rx(struct Z_env_instance_t *, u32, u32);
void Z_envZ_sock_close(struct Z_env_instance_t *, u32, u32);
void Z_envZ_log_emit(struct Z_env_instance_t *, u32, u32, u32);
void Z_envZ_random_fill(struct Z_env_instance_t *, u32, u32);
void Z_envZ_abort(struct Z_env_instance_t *, u32, u32, u32, u32);
u32 Z_envZ_image_begin(struct Z_env_instance_t *, u32, u32, u32);
u32 Z_envZ_image_write(struct Z_env_instance_t *, u32, u32, u32);
u32 Z_envZ_image_finish(struct Z_env_instance_t *);
void Z_envZ_image_abort(struct Z_env_instance_t *);
void Z_envZ_image_activate(struct Z_env_instance_t *);
u32 Z_envZ_z_open(struct Z_env_instance_t *, u32, u32, u32, u32);
u32 Z_envZ_z_inflate(struct Z_env_instance_t *, u32, u32, u32, u32, u32, u32, u32);
u32 Z_envZ_z_deflate(struct Z_env_instance_t *, u32, u32, u32, u32, u32, u32, u32);
void Z_envZ_z_close(struct Z_env_instance_t *, u32);

u32 Z_envZ_sock_listen(struct Z_env_instance_t *e, u32 port, u32 iface, u32 iface_len, u32 flags) {
  (void)e;
  const char *p = (const char *)host_ptr(iface, iface_len, "sock_listen");
  return (u32)port_sock_listen(port, p, iface_len, flags);
}

u32 Z_envZ_sock_keepalive(struct Z_env_instance_t *e, u32 listener, u32 time_s, u32 probes, u32 interval_s) {
  (void)e;
  return (u32)port_sock_keepalive(listener, time_s, probes, interval_s);
}

u32 Z_envZ_sock_tls(struct Z_env_instance_t *e, u32 listener, u32 vhost, u32 opts, u32 opts_len) {
  (void)e;
  const uint8_t *o = host_ptr(opts, opts_len, "sock_tls");
  return (u32)port_sock_tls(listener, vhost, o, opts_len);
}

u32 Z_envZ_sock_connect(struct Z_env_instance_t *e, u32 host, u32 host_len, u32 port, u32 flags) {
  (void)e;
  const char *h = (const char *)host_ptr(host, host_len, "sock_connect");
  return (u32)port_sock_connect(h, host_len, port, flags);
}

u32 Z_envZ_sock_send(struct Z_env_instance_t *e, u32 conn, u32 ptr, u32 len) {
  (void)e;
  const uint8_t *p = host_ptr(ptr, len, "sock_send");
  return (u32)port_sock_send(conn, p, len);
}

void Z_envZ_sock_want_writable(struct Z_env_instance_t *e, u32 conn, u32 on) {
  (void)e;
  port_sock_want_writable(conn, on);
}

void Z_envZ_sock_pause_rx(struct Z_env_instance_t *e, u32 conn, u32 paused) {
  (void)e;
  port_sock_pause_rx(conn, paused);
}

void Z_envZ_sock_close(struct Z_env_instance_t *e, u32 conn, u32 mode) {
  (void)e;
  port_sock_close(conn, mode);
}

void Z_envZ_log_emit(struct Z_env_instance_t *e, u32 level, u32 ptr, u32 len) {
  (void)e;
  const char *p = (const char *)host_ptr(ptr, len, "log_emit");
  mote_log_emit((int)level, p, len);
}

void Z_envZ_random_fill(struct Z_env_instance_t *e, u32 ptr, u32 len) {
  (void)e;
  uint8_t *p = host_ptr(ptr, len, "random_fill");
  port_random(p, len);
}

/* The image store is engine-neutral (platform/common/image_store.c); a
 * wasm2c firmware has the module compiled in and no store, and answers
 * MOTE_IMG_ERR_NO_STORE there. */
u32 Z_envZ_image_begin(struct Z_env_instance_t *e, u32 len, u32 tag, u32 tag_len) {
  (void)e;
  const uint8_t *p = host_ptr(tag, tag_len, "image_begin");
  return (u32)port_image_begin(len, p, tag_len);
}

u32 Z_envZ_image_write(struct Z_env_instance_t *e, u32 offset, u32 ptr, u32 len) {
  (void)e;
  const uint8_t *p = host_ptr(ptr, len, "image_write");
  return (u32)port_image_write(offset, p, len);
}

u32 Z_envZ_image_finish(struct Z_env_instance_t *e) {
  (void)e;
  return (u32)port_image_finish();
}

void Z_envZ_image_abort(struct Z_env_instance_t *e) {
  (void)e;
  port_image_abort();
}

void Z_envZ_image_activate(struct Z_env_instance_t *e) {
  (void)e;
  port_image_activate();
}

/* The DEFLATE codec (platform/common/zcodec.c): input, output and the
 * 8-byte result block are each checked against linear memory. */
u32 Z_envZ_z_open(struct Z_env_instance_t *e, u32 conn, u32 rx_bits, u32 tx_bits, u32 flags) {
  (void)e;
  return (u32)port_z_open(conn, rx_bits, tx_bits, flags);
}

u32 Z_envZ_z_inflate(struct Z_env_instance_t *e, u32 conn, u32 in, u32 in_len, u32 out, u32 out_cap, u32 flags, u32 res) {
  (void)e;
  const uint8_t *i = host_ptr(in, in_len, "z_inflate");
  uint8_t *o = host_ptr(out, out_cap, "z_inflate");
  uint8_t *r = host_ptr(res, MOTE_Z_RESULT_BYTES, "z_inflate");
  return (u32)port_z_inflate(conn, i, in_len, o, out_cap, flags, r);
}

u32 Z_envZ_z_deflate(struct Z_env_instance_t *e, u32 conn, u32 in, u32 in_len, u32 out, u32 out_cap, u32 flags, u32 res) {
  (void)e;
  const uint8_t *i = host_ptr(in, in_len, "z_deflate");
  uint8_t *o = host_ptr(out, out_cap, "z_deflate");
  uint8_t *r = host_ptr(res, MOTE_Z_RESULT_BYTES, "z_deflate");
  return (u32)port_z_deflate(conn, i, in_len, o, out_cap, flags, r);
}

void Z_envZ_z_close(struct Z_env_instance_t *e, u32 conn) {
  (void)e;
  port_z_close(conn);
}

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

/* ---- exports ------------------------------------------------------------ */

int mote_engine_abi_version(uint32_t *version) {
  ENGINE_CALL(*version = Z_coreZ_mote_abi_version(&inst));
  return 0;
}

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

int mote_engine_init(uint32_t now_ms, int32_t *result) {
  ENGINE_CALL(*result = (int32_t)Z_coreZ_mote_init(&inst, now_ms));
  return 0;
}

int mote_engine_rx_space(uint32_t conn, uint32_t *space) {
  ENGINE_CALL(*space = Z_coreZ_mote_rx_space(&inst, conn));
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

int mote_engine_accepted(uint32_t listener, uint32_t conn, uint32_t vhost, int32_t *result) {
  ENGINE_CALL(*result = (int32_t)Z_coreZ_mote_accepted(&inst, listener, conn, vhost));
  return 0;
}

int mote_engine_received(uint32_t conn, uint32_t n) {
  ENGINE_CALL(Z_coreZ_mote_received(&inst, conn, n));
  return 0;
}

int mote_engine_writable(uint32_t conn) {
  ENGINE_CALL(Z_coreZ_mote_writable(&inst, conn));
  return 0;
}

int mote_engine_connected(uint32_t conn) {
  ENGINE_CALL(Z_coreZ_mote_connected(&inst, conn));
  return 0;
}

int mote_engine_connect_failed(uint32_t conn, uint32_t reason) {
  ENGINE_CALL(Z_coreZ_mote_connect_failed(&inst, conn, reason));
  return 0;
}

int mote_engine_closed(uint32_t conn, uint32_t reason) {
  ENGINE_CALL(Z_coreZ_mote_closed(&inst, conn, reason));
  return 0;
}

int mote_engine_tick(uint32_t now_ms, uint32_t *next_ms) {
  ENGINE_CALL(*next_ms = Z_coreZ_mote_tick(&inst, now_ms));
  return 0;
}

int mote_engine_shutdown(uint32_t *open_conns) {
  ENGINE_CALL(*open_conns = Z_coreZ_mote_shutdown(&inst));
  return 0;
}

int mote_engine_heap_probe(uint32_t *top) {
  ENGINE_CALL(*top = Z_coreZ_mote_heap_probe(&inst));
  return 0;
}
