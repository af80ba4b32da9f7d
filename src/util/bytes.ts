// Byte helpers without allocation, for the core and for applications
// (exported by src/mote.ts). AssemblyScript string literals are UTF-16 in
// memory; these treat them as ASCII.

/** Copies an ASCII string into memory as bytes; returns the byte count. */
export function putAscii(dst: usize, s: string): u32 {
  const p = changetype<usize>(s);
  const n = <u32>s.length;
  for (let i: u32 = 0; i < n; i++) store<u8>(dst + i, <u8>load<u16>(p + (<usize>i << 1)));
  return n;
}

/** Writes v in decimal at dst; returns the byte count (1..20). */
export function putDecimal(dst: usize, v: u64): u32 {
  let n: u32 = 0;
  let t = v;
  do {
    n++;
    t /= 10;
  } while (t != 0);
  for (let i = n; i > 0; i--) {
    store<u8>(dst + i - 1, <u8>(0x30 + <u32>(v % 10)));
    v /= 10;
  }
  return n;
}

/** The n bytes at p equal the ASCII string s. */
export function bytesEqualAscii(p: usize, n: u32, s: string): bool {
  if (<u32>s.length != n) return false;
  const sp = changetype<usize>(s);
  for (let i: u32 = 0; i < n; i++) if (<u32>load<u8>(p + i) != <u32>load<u16>(sp + (<usize>i << 1))) return false;
  return true;
}
