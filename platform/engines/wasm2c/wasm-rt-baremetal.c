/* mote's wasm2c runtime for bare-metal targets (arm-none-eabi + newlib),
 * used instead of wabt's wasm-rt-impl.c, which needs <sys/mman.h> and reads
 * its variadic type list as an enum (a fault with -fshort-enums).
 *
 * - Linear memory is one static array of MOTE_BOARD_WASM_MEMORY_BYTES (the
 *   board file's wasm.memoryBytes, a multiple of 64 KiB): memory.grow
 *   succeeds up to that size (or the module's own maximum) and returns -1
 *   beyond it, which the core's allocator reports as out of memory.
 * - Function tables come from a small static pool.
 * - Traps longjmp to wasm_rt_jmp_buf (armed by wasm_rt_impl_try()).
 *
 * One instance at a time (the core), as everywhere in mote. The file is
 * compiled only when the build defines MOTE_WASM_RT_BAREMETAL; elsewhere it
 * is an empty unit. */
#if defined(MOTE_WASM_RT_BAREMETAL) && MOTE_WASM_RT_BAREMETAL

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "board_config.h"
#include "wasm-rt-impl.h"
#include "wasm-rt.h"

#define PAGE_BYTES 65536u

#ifndef MOTE_BOARD_WASM_MEMORY_BYTES
#error "board_config.h must define MOTE_BOARD_WASM_MEMORY_BYTES"
#endif
#if MOTE_BOARD_WASM_MEMORY_BYTES % 65536 != 0
#error "MOTE_BOARD_WASM_MEMORY_BYTES must be a multiple of 64 KiB"
#endif

/* Function types: enough for the core (it registers about a dozen). */
#define MAX_FUNC_TYPES 64
#define MAX_SIG_VALUES 24
/* Function table elements (the core's indirect-call table is tiny). */
#define MAX_TABLE_ELEMS 64

/* ---- trap state ---------------------------------------------------------- */

#if WASM_RT_USE_STACK_DEPTH_COUNT
uint32_t wasm_rt_call_stack_depth;
uint32_t wasm_rt_saved_call_stack_depth;
#endif

jmp_buf wasm_rt_jmp_buf;
static jmp_buf *unwind_target;
static bool initialized;

void wasm_rt_init(void) { initialized = true; }
bool wasm_rt_is_initialized(void) { return initialized; }
void wasm_rt_free(void) { initialized = false; }

void wasm_rt_trap(wasm_rt_trap_t code) {
#if WASM_RT_USE_STACK_DEPTH_COUNT
  wasm_rt_call_stack_depth = wasm_rt_saved_call_stack_depth;
#endif
  longjmp(wasm_rt_jmp_buf, code == WASM_RT_TRAP_NONE ? WASM_RT_TRAP_UNREACHABLE : (int)code);
}

WASM_RT_UNWIND_TARGET *wasm_rt_get_unwind_target(void) { return unwind_target; }
void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET *target) { unwind_target = target; }

const char *wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE: return "No error";
    case WASM_RT_TRAP_OOB: return "Out-of-bounds access in linear memory or a table";
    case WASM_RT_TRAP_INT_OVERFLOW: return "Integer overflow on divide or truncation";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "Integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "Conversion from NaN to integer";
    case WASM_RT_TRAP_UNREACHABLE: return "Unreachable instruction executed";
    case WASM_RT_TRAP_CALL_INDIRECT: return "Invalid call_indirect";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "Uncaught exception";
#if !WASM_RT_MERGED_OOB_AND_EXHAUSTION_TRAPS
    case WASM_RT_TRAP_EXHAUSTION: return "Call stack exhausted";
#endif
  }
  return "invalid trap code";
}

/* ---- function types ------------------------------------------------------ */

struct sig {
  uint8_t params, results;
  uint8_t types[MAX_SIG_VALUES];
};
static struct sig sigs[MAX_FUNC_TYPES];
static uint32_t nsigs;
static uint32_t overflow_ids = MAX_FUNC_TYPES + 1;

/* The variadic arguments are wasm_rt_type_t values, promoted to int. */
uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  struct sig s;
  memset(&s, 0, sizeof s);
  uint32_t n = params + results;
  va_list ap;
  va_start(ap, results);
  for (uint32_t i = 0; i < n; i++) {
    int t = va_arg(ap, int);
    if (i < MAX_SIG_VALUES) s.types[i] = (uint8_t)t;
  }
  va_end(ap);
  if (n > MAX_SIG_VALUES || nsigs == MAX_FUNC_TYPES) {
    /* Cannot be compared: give it an id of its own, so a call_indirect
     * through it traps instead of calling a mismatched function. */
    return ++overflow_ids;
  }
  s.params = (uint8_t)params;
  s.results = (uint8_t)results;
  for (uint32_t i = 0; i < nsigs; i++)
    if (memcmp(&sigs[i], &s, sizeof s) == 0) return i + 1;
  sigs[nsigs] = s;
  return ++nsigs;
}

/* ---- linear memory -------------------------------------------------------- */

/* Not zeroed by the start-up code: allocate and grow zero what they hand out. */
static uint8_t wasm_memory[MOTE_BOARD_WASM_MEMORY_BYTES] __attribute__((aligned(8), section(".noinit.wasm")));
static bool memory_taken;

static uint32_t board_pages(uint32_t max_pages) {
  uint32_t cap = MOTE_BOARD_WASM_MEMORY_BYTES / PAGE_BYTES;
  return max_pages < cap ? max_pages : cap;
}

void wasm_rt_allocate_memory(wasm_rt_memory_t *mem, uint32_t initial_pages, uint32_t max_pages) {
  memset(mem, 0, sizeof *mem);
  if (memory_taken || initial_pages > board_pages(max_pages)) {
    /* data stays NULL: the engine reports "cannot allocate linear memory" */
    return;
  }
  memory_taken = true;
  mem->data = wasm_memory;
  mem->pages = initial_pages;
  mem->max_pages = max_pages;
  mem->size = initial_pages * PAGE_BYTES;
  memset(wasm_memory, 0, mem->size);
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *mem, uint32_t delta) {
  uint32_t old = mem->pages;
  uint32_t cap = board_pages(mem->max_pages);
  if (delta > cap || old > cap - delta) return (uint32_t)-1;
  if (delta == 0) return old;
  memset(mem->data + mem->size, 0, (size_t)delta * PAGE_BYTES);
  mem->pages = old + delta;
  mem->size = mem->pages * PAGE_BYTES;
  return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t *mem) {
  if (mem->data == wasm_memory) memory_taken = false;
  memset(mem, 0, sizeof *mem);
}

/* ---- tables ----------------------------------------------------------------- */

static wasm_rt_funcref_t funcref_pool[MAX_TABLE_ELEMS];
static uint32_t funcref_used;

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t *table, uint32_t elements, uint32_t max_elements) {
  if (elements > MAX_TABLE_ELEMS - funcref_used) wasm_rt_trap(WASM_RT_TRAP_OOB);
  table->data = funcref_pool + funcref_used;
  funcref_used += elements;
  table->size = elements;
  table->max_size = elements; /* no table.grow on this runtime */
  (void)max_elements;
  for (uint32_t i = 0; i < elements; i++) table->data[i] = wasm_rt_funcref_null_value;
}

void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t *table) {
  /* tables are freed in reverse order of allocation (one instance) */
  if (table->data && table->data + table->size == funcref_pool + funcref_used) funcref_used -= table->size;
  memset(table, 0, sizeof *table);
}

uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t *table, uint32_t delta, wasm_rt_funcref_t init) {
  (void)init;
  return delta == 0 ? table->size : (uint32_t)-1;
}

void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t *table, uint32_t elements, uint32_t max_elements) {
  (void)max_elements;
  memset(table, 0, sizeof *table);
  if (elements) wasm_rt_trap(WASM_RT_TRAP_OOB); /* not used by the core */
}

void wasm_rt_free_externref_table(wasm_rt_externref_table_t *table) { memset(table, 0, sizeof *table); }

uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t *table, uint32_t delta, wasm_rt_externref_t init) {
  (void)init;
  return delta == 0 ? table->size : (uint32_t)-1;
}

#endif /* MOTE_WASM_RT_BAREMETAL */
