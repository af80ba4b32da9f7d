/* m3_mote_config.h: mote's configuration of wasm3 0.5.0.
 *
 * Forced in front of every wasm3 source and of engine_wasm3.c with
 * `-include` (tools/build.ts), so it takes precedence over the #ifndef
 * defaults in wasm3's m3_config.h. The choices aim at small RAM, and the
 * Linux simulator uses the same ones as a board (the memory cap aside), so
 * what CI measures is what a board runs. A board may override any of them
 * with -D. docs/engines.md has the figures.
 *
 * RAM of one instance, besides linear memory:
 *   runtime struct (holds the compiler's scratch arrays, sized below)
 *   + wasm value stack (MOTE_WASM3_STACK_BYTES)
 *   + compiled code pages: wasm3's threaded code is one pointer per
 *     operation and per immediate, ~6.7x the code section on x86-64 (the
 *     demo: 37 KB of wasm code -> 249 KB), about half that with 32-bit
 *     pointers; the info log at open gives the figure
 *   + the parsed module (function table, a few hundred bytes).
 * The module image itself is read in place (wasm3 keeps pointers into it).
 */
#ifndef MOTE_M3_CONFIG_H
#define MOTE_M3_CONFIG_H

/* Compiled code lives in pages of this size, allocated as the module is
 * compiled; a function that does not fit the rest of a page continues on a
 * new one (a bridge), and the page tail is lost. Measured on the demo module
 * (heap taken by code pages on x86-64, -O3 build / -Oz build):
 *   512: 286 / 188 KB   1024: 264 / 174 KB   2048: 256 / 168 KB
 *   4096: 254 / 168 KB  8192: 262 / 172 KB
 * 2048 is as small as 4096 (wasm3's default) and a smaller block to place in
 * a fragmented microcontroller heap; 1024 (wasm3's Arduino/ESP32 default)
 * wastes 4% more and adds bridges (+2% instructions per echoed message). */
#ifndef d_m3CodePageAlignSize
#define d_m3CodePageAlignSize 2048
#endif

/* Deepest operand stack (arguments + locals + temporaries) a function may
 * need while it is compiled; sizes the compiler's scratch arrays inside the
 * runtime struct (wasmStack/typeStack: 3 bytes, slot map: 2 bytes per unit).
 * wasm3's default 2000 costs ~10 KB of RAM per runtime for nothing. Measured
 * by compiling: the demo and test cores at -O3 need 53..56, at -Oz 57..60;
 * 128 leaves twice that for applications. Too small a value fails at load
 * time with "compiling function overran its stack height limit", never at
 * run time (wasm3 0.5.0 itself did not check every path: see
 * wasm3-0.5.0-slot-bounds.patch). */
#ifndef d_m3MaxFunctionStackHeight
#define d_m3MaxFunctionStackHeight 128
#endif
/* Slots for that stack: twice the height, since an i64 takes two 32-bit
 * slots (wasm3's own relation; stated here so the two move together). */
#ifndef d_m3MaxFunctionSlots
#define d_m3MaxFunctionSlots (d_m3MaxFunctionStackHeight * 2)
#endif

/* Per-function constant table (32-bit slots). Constants beyond it are
 * emitted inline, which is correct, only slightly slower. 64 is wasm3's
 * embedded default (120 on desktop) and saves 224 bytes in the runtime
 * struct; measured on the demo: no difference in instructions per echoed
 * message (15143 vs 15152) or code size (246920 vs 246352 bytes). */
#ifndef d_m3MaxConstantTableSize
#define d_m3MaxConstantTableSize 64
#endif

/* 32-bit value-stack slots (wasm3's default, stated for clarity): the core is
 * almost all i32, so the value stack needs half the RAM of 64-bit slots. */
#ifndef d_m3Use32BitSlots
#define d_m3Use32BitSlots 1
#endif

/* Upper bound on linear memory the module may grow to, checked by
 * memory.grow (which then returns -1; the core answers with its "no memory"
 * error at init). A board build passes its RAM budget
 * (-DMOTE_WASM3_MAX_PAGES=<wasm.memoryBytes of boards/<name>.json / 65536>). The
 * Linux simulator keeps wasm3's own default (2 GiB), so both engines grow
 * memory the same way there (asc's runtime first tries to double memory and
 * falls back to the exact size: a tighter cap changes the sizes seen). */
#ifndef MOTE_WASM3_MAX_PAGES
#define MOTE_WASM3_MAX_PAGES 32768
#endif
#ifndef d_m3MaxLinearMemoryPages
#define d_m3MaxLinearMemoryPages MOTE_WASM3_MAX_PAGES
#endif

/* The wasm value stack of the runtime (bytes, allocated at open). The core's
 * deepest call chain under mixed HTTP and WebSocket traffic (large and
 * fragmented messages) used 1.7 KB; the high-water mark is logged at info
 * level when the engine closes ("wasm3: value stack high-water ..."). 16 KiB
 * leaves room for applications. A runaway recursion hits this limit and
 * traps as "stack-exhausted". Each wasm call also nests a native call in the
 * interpreter, so a board's main stack must cover the depth this allows. */
#ifndef MOTE_WASM3_STACK_BYTES
#define MOTE_WASM3_STACK_BYTES (16 * 1024)
#endif

/* Load-time error strings only (the M3Result constants stay): the 256-byte
 * message buffer in the runtime and the formatting code go. The engine names
 * what failed itself (which step, which import is missing). */
#ifndef d_m3VerboseErrorMessages
#define d_m3VerboseErrorMessages 0
#endif

/* No fixed heap: wasm3's fixed heap is a bump allocator that cannot free,
 * and mote frees and re-creates the runtime after every trap. The system
 * heap (newlib / ESP-IDF malloc) is used, once per open. */
#ifndef d_m3FixedHeap
#define d_m3FixedHeap 0
#endif

/* Traps are reported by kind only; recording backtraces mallocs a frame list
 * on every trap and a code map for every code page. */
#ifndef d_m3RecordBacktraces
#define d_m3RecordBacktraces 0
#endif

/* Keep every check: stack overflow on function entry, bounds on every load
 * and store (design rule 3: nothing the module does may touch host memory). */
#ifndef d_m3SkipStackCheck
#define d_m3SkipStackCheck 0
#endif
#ifndef d_m3SkipMemoryBoundsCheck
#define d_m3SkipMemoryBoundsCheck 0
#endif

/* Floats stay: the core uses none, but an application image may, and with
 * floats compiled out wasm3 would refuse or trap on such an app. */
#ifndef d_m3HasFloat
#define d_m3HasFloat 1
#endif

/* No tracing, profiling or logging: they print to stdio and cost code and
 * RAM. (wasm3 0.5.0 has no d_m3LogOutput or d_m3HasWASI switches; there is
 * nothing to turn off for WASI because mote compiles none of its API files:
 * only the m3_*.c core.) */
#ifndef d_m3EnableOpProfiling
#define d_m3EnableOpProfiling 0
#endif
#ifndef d_m3EnableOpTracing
#define d_m3EnableOpTracing 0
#endif
#ifndef d_m3EnableStrace
#define d_m3EnableStrace 0
#endif
#ifndef d_m3LogParse
#define d_m3LogParse 0
#endif
#ifndef d_m3LogModule
#define d_m3LogModule 0
#endif
#ifndef d_m3LogCompile
#define d_m3LogCompile 0
#endif
#ifndef d_m3LogWasmStack
#define d_m3LogWasmStack 0
#endif
#ifndef d_m3LogEmit
#define d_m3LogEmit 0
#endif
#ifndef d_m3LogCodePages
#define d_m3LogCodePages 0
#endif
#ifndef d_m3LogRuntime
#define d_m3LogRuntime 0
#endif
#ifndef d_m3LogNativeStack
#define d_m3LogNativeStack 0
#endif

#endif
