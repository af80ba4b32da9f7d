// Logging without allocation: a line is assembled in a static buffer and
// handed to the port (log_emit). Levels are lws's (LOG_ERR..LOG_DEBUG); the
// mask comes from the port at init. When a level is off, the builder calls
// are cheap no-ops.
//
//   if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(id).s(" closed").end();

import { LOG_DEFAULT } from "../abi/constants";
import { log_emit } from "../abi/imports";

const LINE_MAX: u32 = 256;
const line = memory.data(256);
const digits = memory.data(24);

let mask: u32 = LOG_DEFAULT;
let level: u32 = 0;
let fill: u32 = 0;

export function setLogMask(m: u32): void {
  mask = m;
}

@inline export function logOn(lvl: u32): bool {
  return (mask & lvl) != 0;
}

@unmanaged
export class LogLine {
  /** Appends an ASCII string literal (UTF-16 in memory; non-ASCII becomes '?'). */
  s(str: string): LogLine {
    const p = changetype<usize>(str);
    const n = <u32>str.length;
    for (let i: u32 = 0; i < n && fill < LINE_MAX; i++) {
      const ch = load<u16>(p + (<usize>i << 1));
      store<u8>(line + fill++, ch < 0x80 ? <u8>ch : 0x3f);
    }
    return this;
  }
  /** Appends raw bytes, replacing controls and non-ASCII with '.' (peer data). */
  b(ptr: usize, len: u32): LogLine {
    for (let i: u32 = 0; i < len && fill < LINE_MAX; i++) {
      const ch = load<u8>(ptr + i);
      store<u8>(line + fill++, ch >= 0x20 && ch < 0x7f ? ch : 0x2e);
    }
    return this;
  }
  u(v: u64): LogLine {
    const tmp = digits;
    let n: u32 = 0;
    do {
      store<u8>(tmp + n++, <u8>(0x30 + <u32>(v % 10)));
      v /= 10;
    } while (v != 0);
    while (n > 0 && fill < LINE_MAX) store<u8>(line + fill++, load<u8>(tmp + --n));
    return this;
  }
  i(v: i64): LogLine {
    if (v < 0) {
      this.s("-");
      return this.u(<u64>-v);
    }
    return this.u(<u64>v);
  }
  end(): void {
    const lvl = level;
    const n = fill;
    level = 0;
    fill = 0;
    if (lvl == 0) return;
    const hook = emitHook;
    if (hook === null || inHook) {
      log_emit(lvl, line, n);
      return;
    }
    // the app's emitter gets its own copy: lines it logs meanwhile go
    // straight to the port (no recursion) and may reuse `line`
    memory.copy(hookLine, line, n);
    inHook = true;
    hook(lvl, hookLine, n);
    inHook = false;
  }
}

/** lws_set_log_level's emit function: (level, line, length), the line
 *  without level letter, time or newline, valid during the call only. */
export type LogEmit = (level: u32, line: usize, len: u32) => void;
let emitHook: LogEmit | null = null;
let inHook = false;
let hookLine: usize = 0; // LINE_MAX bytes, taken when an emitter is set

/** Routes the core's log lines (those the mask lets through) to `emit`
 *  instead of the port; null: back to the port. The port's own lines (C
 *  side: sockets, TLS, engine) still go to its sink. */
export function setLogEmit(emit: LogEmit | null): void {
  if (emit !== null && hookLine == 0) hookLine = heap.alloc(LINE_MAX); // apps without one pay nothing
  emitHook = emit;
}

/** The port's sink (stderr or syslog on the simulator, the console on a
 *  board), for an emitter that also wants the default. */
export function logEmitPort(level: u32, line: usize, len: u32): void {
  log_emit(level, line, len);
}

const builder = changetype<LogLine>(memory.data(8));
const dead = changetype<LogLine>(memory.data(8));

/** Starts a line at `lvl`. When the level is off the line is still built but
 *  not emitted; guard hot paths with logOn(). */
export function logStart(lvl: u32): LogLine {
  fill = 0;
  level = logOn(lvl) ? lvl : 0;
  return level != 0 ? builder : dead;
}

export function logErr(msg: string): void {
  logStart(1).s(msg).end();
}
export function logWarn(msg: string): void {
  logStart(2).s(msg).end();
}
export function logNotice(msg: string): void {
  logStart(4).s(msg).end();
}
export function logInfo(msg: string): void {
  logStart(8).s(msg).end();
}
