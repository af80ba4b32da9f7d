// Incremental UTF-8 validation for WebSocket text messages (RFC 6455 §8.1,
// Unicode Table 3-7): rejects overlong forms, surrogates U+D800..U+DFFF,
// code points above U+10FFFF and the bytes C0, C1, F5..FF.
//
// It fails fast: the state becomes UTF8_REJECT on the first byte that cannot
// continue any valid sequence (F4 90 fails at the 90, E0 80 at the 80, ED A0
// at the A0), so a bad fragment is refused before the message completes.
//
// A Hoehrmann-style DFA: each byte maps to one of 12 character classes, and
// the state is a row offset (state index * 16) into a transition table, so a
// step is two byte loads and an add. While the state is UTF8_ACCEPT an ASCII
// fast path tests 8 bytes per u64 load (16 per iteration) on aligned addresses.
// Static memory: 400 bytes of tables.

/** At a code point boundary: the only state in which a message may end. */
export const UTF8_ACCEPT: u32 = 0;
/** Invalid; sticky. Any other value means "inside a multi-byte sequence". */
export const UTF8_REJECT: u32 = 16;

// Byte -> class.
//  0: 00..7F   1: 80..8F   2: 90..9F   3: A0..BF   4: C2..DF   5: E0
//  6: E1..EC, EE..EF       7: ED       8: F0       9: F1..F3  10: F4
// 11: C0, C1, F5..FF (never valid)
const CLS: usize = memory.data<u8>([
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 00
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 20
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 40
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 60
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, // 80
  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, // A0
  11, 11, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, // C0
  5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 6, 6, 8, 9, 9, 9, 10, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, // E0
]);

// States, as row offsets into TRANS (index * 16):
//   0 ACCEPT   16 REJECT
//  32 one continuation byte (80..BF) left
//  48 two left   64 three left
//  80 after E0: next must be A0..BF (no overlong 3-byte), then one
//  96 after ED: next must be 80..9F (no surrogates), then one
// 112 after F0: next must be 90..BF (no overlong 4-byte), then two
// 128 after F4: next must be 80..8F (<= U+10FFFF), then two
// Columns are classes 0..11; 12..15 are padding (never indexed).
const TRANS: usize = memory.data<u8>([
  //  0   1    2    3    4   5   6   7    8   9   10   11  pad
  0, 16, 16, 16, 32, 80, 48, 96, 112, 64, 128, 16, 16, 16, 16, 16, // 0 ACCEPT
  16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, // 16 REJECT
  16, 0, 0, 0, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, // 32 one left
  16, 32, 32, 32, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, // 48 two left
  16, 48, 48, 48, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, // 64 three left
  16, 16, 16, 32, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, // 80 after E0
  16, 32, 32, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, // 96 after ED
  16, 16, 48, 48, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, // 112 after F0
  16, 48, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, // 128 after F4
]);

const HI: u64 = 0x8080808080808080;

@inline function step(state: u32, b: u32): u32 {
  return <u32>load<u8>(TRANS + <usize>(state + <u32>load<u8>(CLS + <usize>b)));
}

/** Given p < end with load<u8>(p) < 0x80, returns the address of the first
 *  byte >= 0x80 at or after p, or end. */
@inline function skipAscii(p: usize, end: usize): usize {
  p++;
  // Up to 7 single bytes to reach an 8-byte boundary.
  while ((p & 7) != 0) {
    if (p >= end || load<u8>(p) >= 0x80) return p;
    p++;
  }
  while (end - p >= 16) {
    if (((load<u64>(p) | load<u64>(p, 8)) & HI) != 0) break;
    p += 16;
  }
  // The rest, or the chunk that held a non-ASCII byte.
  while (end - p >= 8) {
    const m = load<u64>(p) & HI;
    // Little-endian: the lowest set high bit marks the first non-ASCII byte.
    if (m != 0) return p + <usize>(ctz<u64>(m) >> 3);
    p += 8;
  }
  while (p < end && load<u8>(p) < 0x80) p++;
  return p;
}

/** Validates `len` bytes at `ptr` continuing from `state` (UTF8_ACCEPT at the
 *  start of a message) and returns the new state: UTF8_ACCEPT at a code point
 *  boundary, UTF8_REJECT (sticky) as soon as a byte makes the input invalid,
 *  otherwise a nonzero "pending" state (a sequence continues in the next
 *  fragment or read). A message is valid iff the state after its last byte is
 *  UTF8_ACCEPT. `state` must be UTF8_ACCEPT or a value this function
 *  returned (it indexes the table). Does not modify memory. */
export function utf8Step(state: u32, ptr: usize, len: u32): u32 {
  let p = ptr;
  const end = ptr + <usize>len;
  if (state == UTF8_REJECT) return UTF8_REJECT;
  while (p < end) {
    if (state == UTF8_ACCEPT && load<u8>(p) < 0x80) {
      p = skipAscii(p, end);
      if (p >= end) return UTF8_ACCEPT;
    }
    // A lead byte at a boundary, or the rest of a pending sequence: run the
    // DFA until a boundary followed by an ASCII byte (so runs of multi-byte
    // characters stay in this loop).
    let b = <u32>load<u8>(p);
    while (true) {
      state = step(state, b);
      p++;
      if (state == UTF8_REJECT) return UTF8_REJECT;
      if (p >= end) return state;
      b = <u32>load<u8>(p);
      if (state == UTF8_ACCEPT && b < 0x80) break;
    }
  }
  return state;
}
