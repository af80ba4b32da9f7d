// WebSocket payload masking (RFC 6455 §5.3): XOR in place with the 4-byte
// masking key, resumable at any byte so a payload may arrive in pieces.
//
// Bytes one at a time up to an 8-byte boundary, then u64 XOR (32 bytes per
// iteration) over the aligned middle, then a u32 step and single bytes for
// the tail. Any alignment, length and phase.

/** XORs `len` bytes at `ptr` in place with the masking key. `key` is the 4
 *  mask bytes of the frame as one little-endian u32 (load<u32>(maskPtr)), and
 *  `phase` (0..3; only the low 2 bits are used) is the index of the key byte
 *  that applies to the byte at `ptr`, i.e. the payload offset mod 4. Returns
 *  the phase for the byte after the last one: (phase + len) & 3. Masking and
 *  unmasking are the same operation. */
export function unmask(ptr: usize, len: u32, key: u32, phase: u32): u32 {
  phase &= 3;
  // Rotate so the low byte of k is the key byte for the byte at p.
  let k = rotr<u32>(key, phase << 3);
  let p = ptr;
  const end = ptr + <usize>len;
  while (p < end && (p & 7) != 0) {
    store<u8>(p, load<u8>(p) ^ <u8>k);
    k = rotr<u32>(k, 8);
    p++;
  }
  // Whole words: 8 and 4 are multiples of the key length, so k stays put.
  if (end - p >= 8) {
    const k64 = (<u64>k << 32) | <u64>k;
    while (end - p >= 32) {
      store<u64>(p, load<u64>(p) ^ k64);
      store<u64>(p, load<u64>(p, 8) ^ k64, 8);
      store<u64>(p, load<u64>(p, 16) ^ k64, 16);
      store<u64>(p, load<u64>(p, 24) ^ k64, 24);
      p += 32;
    }
    while (end - p >= 8) {
      store<u64>(p, load<u64>(p) ^ k64);
      p += 8;
    }
  }
  if (end - p >= 4) {
    store<u32>(p, load<u32>(p) ^ k);
    p += 4;
  }
  while (p < end) {
    store<u8>(p, load<u8>(p) ^ <u8>k);
    k = rotr<u32>(k, 8);
    p++;
  }
  return (phase + len) & 3;
}
