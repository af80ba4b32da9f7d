// Time and the connections' timers. Time enters only through mote_tick (the
// port's clock, u32 ms, wrapping: compare with wrap-safe subtraction). A
// connection has at most one timer (c.timer, c.deadline); the earliest
// deadline is tracked so that a tick scans the table only when one is due.

import { ConnRecord, TM_NONE } from "./record";

export let now: u32 = 0;
let nextDue: u32 = 0;
let haveDue = false;

export function setNow(ms: u32): void {
  now = ms;
}

export function setTimer(c: ConnRecord, kind: u8, ms: u32): void {
  c.timer = kind;
  c.deadline = now + ms;
  noteDeadline(c.deadline);
}

export function clearTimer(c: ConnRecord): void {
  c.timer = TM_NONE;
}

/** A deadline that must be seen again by a later tick. */
export function noteDeadline(d: u32): void {
  if (!haveDue || <i32>(d - nextDue) < 0) {
    nextDue = d;
    haveDue = true;
  }
}

/** True (once) when the earliest deadline has come: the caller scans every
 *  timer, expiring those due and noting the others again (noteDeadline). */
export function timersDue(): bool {
  if (!haveDue || <i32>(now - nextDue) < 0) return false;
  haveDue = false;
  return true;
}

/** Milliseconds until the earliest deadline (0: overdue; 0xffffffff: none). */
export function timersLeft(): u32 {
  if (!haveDue) return 0xffffffff;
  return <i32>(nextDue - now) < 0 ? 0 : nextDue - now;
}
