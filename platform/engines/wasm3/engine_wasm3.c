/* engine.h over the wasm3 0.5.0 interpreter (vendor/wasm3, configured by
 * m3_mote_config.h, which the build forces in front of this file and of
 * wasm3's sources).
 *
 * The module is data: mote_engine_set_image() hands over the bytes of a
 * .wasm file, and every mote_engine_open() parses, links and compiles them
 * into a fresh runtime. Everything that can fail about an image (not wasm,
 * an opcode wasm3 lacks, an import this firmware does not provide, an
 * export missing or of the wrong type) fails there, at open, with one log
 * line naming it; never later, in the middle of a call.
 *
 * Traps need no longjmp here: wasm3 unwinds by returning an M3Result from
 * every operation, and an import that refuses a pointer returns its own
 * result, which comes back out of m3_Call and is mapped to MOTE_TRAP_*.
 * One instance, calls must not nest (guarded), as with wasm2c.
 */
#include <stdio.h>
#include <string.h>

#include "wasm3.h"
#include "m3_env.h" /* module and runtime internals: import list, stack, code pages */

#include "../../common/driver.h"
#include "../../common/wasm_check.h"
#include "../../common/zcodec.h"
#include "engine.h"
#include "port.h"

static IM3Environment env;   /* freed with the runtime (see free_runtime) */
static IM3Runtime rt;
static IM3Module mod;        /* owned by rt once loaded */
static const uint8_t *image; /* the module image (owned by the caller) */
static uint32_t image_len;
static int is_open;
static int in_call;
static uint32_t fault_every; /* test hook */
static uint32_t fault_count;

const char *mote_engine_name(void) { return "wasm3"; }

/* Results our imports return to unwind the call; compared by address. */
static const char trap_bad_pointer[] = "[trap] mote: bad pointer from module";

int mote_engine_uses_image(void) { return 1; }

int mote_engine_set_image(const uint8_t *bytes, uint32_t len) {
  if (is_open) return MOTE_ENGINE_BAD_IMAGE;
  image = bytes;
  image_len = len;
  return 0;
}

int mote_engine_check_image(const uint8_t *bytes, uint32_t len) {
  const char *why = mote_wasm_check(bytes, len); /* allocates nothing: see wasm_check.h */
  if (why) {
    mote_warn("wasm3: the image is not a module this firmware can load: %s", why);
    return MOTE_ENGINE_BAD_IMAGE;
  }
  return 0;
}

uint8_t *mote_engine_mem(void) { return is_open ? m3_GetMemory(rt, NULL, 0) : NULL; }
uint32_t mote_engine_mem_size(void) { return is_open ? m3_GetMemorySize(rt) : 0; }

void mote_engine_debug_fault(uint32_t n) {
  fault_every = n;
  fault_count = 0;
}

/* ---- bounds checks ------------------------------------------------------ */

static inline int range_ok(uint32_t size, uint32_t ptr, uint32_t len) { return !(ptr > size || len > size - ptr); }

/* (ptr,len) from the module for import `what`, as a host pointer, or NULL
 * (logged) when it is outside linear memory: the import then returns
 * trap_bad_pointer. m3ApiCheckMem does the same check, but reports an
 * out-of-bounds trap; the host's refusal must be told apart. */
static uint8_t *host_ptr(IM3Runtime runtime, void *mem, uint32_t ptr, uint32_t len, const char *what) {
  uint32_t size = m3_GetMemorySize(runtime);
  int fault = fault_every && ++fault_count % fault_every == 0;
  if (!range_ok(size, ptr, len) || fault) {
    mote_err("bad pointer from core: %s(ptr %u, len %u), memory %u bytes%s", what, (unsigned)ptr, (unsigned)len, (unsigned)size,
             fault ? " (injected)" : "");
    return NULL;
  }
  return (uint8_t *)mem + ptr;
}

#define CHECKED(var, type, ptr, len, what)                                  \
  type var = (type)host_ptr(runtime, _mem, (ptr), (len), (what));           \
  if (!var) return trap_bad_pointer

/* ---- imports and exports ------------------------------------------------ */

/* An AssemblyScript string (UTF-16LE, byte length as u32 at ptr-4) as
 * ASCII, '?' for anything else. Never traps. */
static void as_string(const uint8_t *mem, uint32_t size, uint32_t ptr, char *out, size_t cap, const char *none) {
  if (ptr == 0) {
    snprintf(out, cap, "%s", none);
    return;
  }
  uint32_t bytes;
  if (ptr < 4 || !range_ok(size, ptr - 4, 4)) goto bad;
  memcpy(&bytes, mem + ptr - 4, 4); /* wasm memory is little-endian */
  if (!range_ok(size, ptr, bytes)) goto bad;
  size_t n = 0;
  for (uint32_t i = 0; i + 1 < bytes && n + 1 < cap; i += 2) {
    uint16_t c = (uint16_t)(mem[ptr + i] | mem[ptr + i + 1] << 8);
    out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
  }
  out[n] = 0;
  return;
bad:
  snprintf(out, cap, "(bad string %u)", (unsigned)ptr);
}

static m3ApiRawFunction(imp_abort) {
  m3ApiGetArg(uint32_t, msg);
  m3ApiGetArg(uint32_t, file);
  m3ApiGetArg(uint32_t, line);
  m3ApiGetArg(uint32_t, col);
  char m[160], f[160];
  uint32_t size = m3_GetMemorySize(runtime);
  as_string(_mem, size, msg, m, sizeof m, "(no message)");
  as_string(_mem, size, file, f, sizeof f, "(unknown)");
  mote_err("abort: %s at %s:%u:%u", m, f, (unsigned)line, (unsigned)col);
  return m3Err_trapAbort;
}

/* Generated from src/abi/ by tools/abi.ts: an import function per import
 * (each pointer through CHECKED), their link table (idef, with imp_abort
 * above), the export table (X_*, xdef, xfn) and the export wrappers over
 * call3(). */
#include "mote_wasm3.h"

/* ---- calls into the module ---------------------------------------------- */

/* The status of a call that returned r (not m3Err_none). */
static int trap_status(M3Result r) {
  if (r == trap_bad_pointer) return MOTE_TRAP_BAD_POINTER;
  if (r == m3Err_trapAbort) return MOTE_TRAP_ABORT;
  if (r == m3Err_trapOutOfBoundsMemoryAccess) return MOTE_TRAP_OOB;
  if (r == m3Err_trapDivisionByZero) return MOTE_TRAP_DIV_BY_ZERO;
  if (r == m3Err_trapIntegerOverflow) return MOTE_TRAP_INT_OVERFLOW;
  if (r == m3Err_trapIntegerConversion) return MOTE_TRAP_INVALID_CONVERSION;
  if (r == m3Err_trapUnreachable) return MOTE_TRAP_UNREACHABLE;
  if (r == m3Err_trapStackOverflow) return MOTE_TRAP_EXHAUSTION;
  if (r == m3Err_trapIndirectCallTypeMismatch || r == m3Err_trapTableIndexOutOfRange ||
      r == m3Err_trapTableElementIsNull)
    return MOTE_TRAP_CALL_INDIRECT;
  /* Not a trap of the module (the interpreter failed, e.g. out of heap):
   * still fatal for this instance. */
  mote_err("wasm3: %s", r);
  return MOTE_TRAP_UNREACHABLE;
}

/* Calls export x with up to two i32 arguments; its i32 result (if any) goes
 * to *ret. Returns 0 or a status (engine.h). */
static int call3(int x, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t *ret) {
  if (!is_open) return MOTE_ENGINE_NOT_OPEN;
  if (in_call) return MOTE_ENGINE_REENTERED;
  in_call = 1;
  const void *argv[3] = {&a0, &a1, &a2};
  M3Result r = m3_Call(xfn[x], xdef[x].args, argv);
  if (!r && xdef[x].rets) {
    const void *retv[1] = {ret};
    r = m3_GetResults(xfn[x], 1, retv);
  }
  in_call = 0;
  return r ? trap_status(r) : 0;
}

static int call(int x, uint32_t a0, uint32_t a1, uint32_t *ret) { return call3(x, a0, a1, 0, ret); }

/* ---- instance ----------------------------------------------------------- */

/* Stack high-water mark: the value stack is filled with this byte at open
 * and scanned at close (wasm3 zeroes each frame it enters). */
#define STACK_FILL 0xa5

static size_t stack_used(void) {
  const uint8_t *s = rt->stack;
  size_t n = (size_t)rt->numStackSlots * sizeof(m3slot_t);
  while (n > 0 && s[n - 1] == STACK_FILL) n--;
  return n;
}

/* Compiled code: bytes in use and bytes allocated, over the runtime's pages. */
static void code_bytes(size_t *used, size_t *alloc) {
  *used = *alloc = 0;
  for (int l = 0; l < 2; l++)
    for (IM3CodePage p = l ? rt->pagesFull : rt->pagesOpen; p; p = p->info.next) {
      *used += (size_t)p->info.lineIndex * sizeof(code_t);
      *alloc += sizeof(M3CodePageHeader) + (size_t)p->info.numLines * sizeof(code_t);
    }
}

static void free_runtime(void) {
  if (mod) { /* parsed but not loaded: still ours */
    m3_FreeModule(mod);
    mod = NULL;
  }
  if (rt) {
    m3_FreeRuntime(rt);
    rt = NULL;
  }
  /* The environment goes too: it keeps the released code pages for reuse,
   * and on a board those ~140 KB, scattered through the heap, left the next
   * open (a switch to an uploaded image) without a contiguous block for its
   * linear memory. With everything freed, every open lays the heap out as
   * the first one did. */
  if (env) {
    m3_FreeEnvironment(env);
    env = NULL;
  }
  memset(xfn, 0, sizeof xfn);
}

/* A failed open: log `what` (+ wasm3's reason), free everything. */
static int refuse(int status, const char *what, M3Result r) {
  if (r) mote_err("wasm3: %s: %s", what, r);
  else mote_err("wasm3: %s", what);
  free_runtime();
  return status;
}

/* The module's imports must all be ours ("env", a name in idef). */
static int check_imports(IM3Module m) {
  for (uint32_t i = 0; i < m->numFuncImports; i++) {
    const char *mn = m->functions[i].import.moduleUtf8, *fn = m->functions[i].import.fieldUtf8;
    int known = 0;
    for (size_t k = 0; k < N_IMPORTS && !known; k++) known = mn && fn && !strcmp(mn, "env") && !strcmp(fn, idef[k].name);
    if (!known) {
      mote_err("wasm3: the module imports %s.%s, which this firmware does not provide", mn ? mn : "?", fn ? fn : "?");
      return -1;
    }
  }
  if (m->memoryImported) {
    mote_err("wasm3: the module imports its memory; it must define its own");
    return -1;
  }
  return 0;
}

int mote_engine_open(void) {
  if (is_open) return 0;
  if (!image || image_len < 8) {
    mote_err("wasm3: no module image");
    return MOTE_ENGINE_BAD_IMAGE;
  }
  if (!env && !(env = m3_NewEnvironment())) return refuse(MOTE_ENGINE_NO_MEMORY, "cannot allocate the environment", NULL);
  rt = m3_NewRuntime(env, MOTE_WASM3_STACK_BYTES, NULL);
  if (!rt) return refuse(MOTE_ENGINE_NO_MEMORY, "cannot allocate the runtime and its stack", NULL);
  memset(rt->stack, STACK_FILL, (size_t)rt->numStackSlots * sizeof(m3slot_t));

  M3Result r = m3_ParseModule(env, &mod, image, image_len);
  if (r) {
    mod = NULL;
    return refuse(r == m3Err_mallocFailed ? MOTE_ENGINE_NO_MEMORY : MOTE_ENGINE_BAD_IMAGE, "the module image cannot be parsed", r);
  }
  if (check_imports(mod) < 0) return refuse(MOTE_ENGINE_BAD_IMAGE, "the module image does not fit this firmware", NULL);
  /* linear memory allocated, globals, data segments and the element table set */
  r = m3_LoadModule(rt, mod);
  if (r) return refuse(r == m3Err_mallocFailed ? MOTE_ENGINE_NO_MEMORY : MOTE_ENGINE_BAD_IMAGE, "the module cannot be loaded", r);
  mod = NULL; /* the runtime owns it now */
  IM3Module m = rt->modules;
  if (!rt->memory.mallocated) return refuse(MOTE_ENGINE_BAD_IMAGE, "the module has no memory", NULL);

  for (size_t k = 0; k < N_IMPORTS; k++) {
    r = m3_LinkRawFunction(m, "env", idef[k].name, idef[k].sig, idef[k].fn);
    if (r && r != m3Err_functionLookupFailed) { /* lookup failed: the module does not use it */
      mote_err("wasm3: import env.%s: the module's type differs from this firmware's %s", idef[k].name, idef[k].sig);
      return refuse(MOTE_ENGINE_BAD_IMAGE, "the module image does not fit this firmware", r);
    }
  }
  /* Compile every function now: an opcode wasm3 lacks fails here, not in
   * the middle of a request, and all code memory is taken at start-up. */
  r = m3_CompileModule(m);
  if (r) {
    return refuse(r == m3Err_mallocFailed || r == m3Err_mallocFailedCodePage ? MOTE_ENGINE_NO_MEMORY : MOTE_ENGINE_BAD_IMAGE,
                  "the module cannot be compiled", r);
  }
  /* The start function (the module's top-level statements): may call
   * imports (log) and may trap. Run before the exports are looked up:
   * m3_FindFunction would otherwise run it, unguarded. */
  in_call = 1;
  r = m3_RunStart(m);
  in_call = 0;
  if (r) {
    int st = trap_status(r);
    mote_err("instantiate trapped: %s", mote_trap_name(st));
    free_runtime();
    return st;
  }
  for (int x = 0; x < X_COUNT; x++) {
    r = m3_FindFunction(&xfn[x], rt, xdef[x].name);
    int ok = !r && m3_GetArgCount(xfn[x]) == xdef[x].args && m3_GetRetCount(xfn[x]) == xdef[x].rets;
    for (uint32_t i = 0; ok && i < xdef[x].args; i++) ok = m3_GetArgType(xfn[x], i) == c_m3Type_i32;
    if (ok && xdef[x].rets) ok = m3_GetRetType(xfn[x], 0) == c_m3Type_i32;
    if (!ok) {
      char what[96];
      snprintf(what, sizeof what, "export %s is missing or has the wrong type", xdef[x].name);
      return refuse(MOTE_ENGINE_BAD_IMAGE, what, NULL);
    }
  }
  is_open = 1;
  /* notice: on a board this is the engine's RAM bill, worth one line per start */
  if (MOTE_LOG_ENABLED(MOTE_LOG_NOTICE)) {
    size_t used, alloc;
    code_bytes(&used, &alloc);
    mote_notice("wasm3: module image %u bytes; compiled code %u bytes in %u pages (%u bytes); runtime %u bytes; "
              "value stack %u bytes",
              (unsigned)image_len, (unsigned)used, (unsigned)rt->numCodePages, (unsigned)alloc, (unsigned)sizeof(M3Runtime),
              (unsigned)MOTE_WASM3_STACK_BYTES);
  }
  return 0;
}

void mote_engine_close(void) {
  if (!is_open) return;
  if (MOTE_LOG_ENABLED(MOTE_LOG_INFO)) mote_info("wasm3: value stack high-water %u of %u bytes", (unsigned)stack_used(),
                                                 (unsigned)MOTE_WASM3_STACK_BYTES);
  free_runtime();
  is_open = 0;
  in_call = 0;
}

/* ---- exports that return pointers (the rest: mote_wasm3.h) ----------------- */

int mote_engine_limits_ptr(uint8_t **block) {
  uint32_t off = 0;
  int st = call(X_LIMITS_PTR, 0, 0, &off);
  if (st) return st;
  uint32_t size = m3_GetMemorySize(rt);
  if (!range_ok(size, off, MOTE_LIM_SIZE)) {
    mote_err("bad pointer from core: mote_limits_ptr %u, memory %u bytes", (unsigned)off, (unsigned)size);
    return MOTE_TRAP_BAD_POINTER;
  }
  *block = m3_GetMemory(rt, NULL, 0) + off;
  return 0;
}

int mote_engine_rx_buffer(uint32_t conn, uint8_t **buf, uint32_t *space) {
  uint32_t sp = 0, off = 0;
  /* space first, buffer last: the buffer is valid until the next call */
  int st = call(X_RX_SPACE, conn, 0, &sp);
  if (st == 0 && sp) st = call(X_RX_BUFFER, conn, 0, &off);
  if (st) return st;
  if (sp == 0) {
    *buf = NULL;
    *space = 0;
    return 0;
  }
  uint32_t size = m3_GetMemorySize(rt);
  if (!range_ok(size, off, sp)) {
    mote_err("bad pointer from core: mote_rx_buffer(%u) = %u, space %u, memory %u bytes", (unsigned)conn, (unsigned)off, (unsigned)sp, (unsigned)size);
    return MOTE_TRAP_BAD_POINTER;
  }
  *buf = m3_GetMemory(rt, NULL, 0) + off;
  *space = sp;
  return 0;
}
