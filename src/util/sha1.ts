// SHA-1 (FIPS 180-4), allocation-free.
//
// Used for the WebSocket handshake (Sec-WebSocket-Accept), so it is not a hot
// path; it is written to be small and obviously correct rather than unrolled.
// One static context: sha1Init / sha1Update / sha1Final are not reentrant
// (the core is single-threaded and nothing here calls out of the module).
// Static memory: 148 bytes.

// Chaining state H0..H4 (u32 each).
const H: usize = memory.data(20, 4);
// Pending partial block (0..63 bytes).
const BLK: usize = memory.data(64, 8);
// Message schedule, kept as a 16-word ring (W[t & 15]).
const W: usize = memory.data(64, 4);

let blkLen: u32 = 0;
let total: u64 = 0; // bytes fed so far

/** Compresses one 64-byte block at `p` (any alignment) into H. */
function block(p: usize): void {
  for (let i: usize = 0; i < 64; i += 4) {
    store<u32>(W + i, bswap<u32>(load<u32>(p + i)));
  }
  let a = load<u32>(H, 0);
  let b = load<u32>(H, 4);
  let c = load<u32>(H, 8);
  let d = load<u32>(H, 12);
  let e = load<u32>(H, 16);
  let t: u32 = 0;
  for (; t < 80; t++) {
    let w: u32;
    if (t < 16) {
      w = load<u32>(W + (<usize>t << 2));
    } else {
      // W[t] = rotl(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16], 1); W[t-16] is W[t & 15].
      const slot = W + (<usize>(t & 15) << 2);
      w = rotl<u32>(
        load<u32>(W + (<usize>((t - 3) & 15) << 2)) ^
          load<u32>(W + (<usize>((t - 8) & 15) << 2)) ^
          load<u32>(W + (<usize>((t - 14) & 15) << 2)) ^
          load<u32>(slot),
        1,
      );
      store<u32>(slot, w);
    }
    let f: u32;
    if (t < 20) f = ((b & c) | (~b & d)) + 0x5a827999;
    else if (t < 40) f = (b ^ c ^ d) + 0x6ed9eba1;
    else if (t < 60) f = ((b & c) | (b & d) | (c & d)) + 0x8f1bbcdc;
    else f = (b ^ c ^ d) + 0xca62c1d6;
    const tmp = rotl<u32>(a, 5) + f + e + w;
    e = d;
    d = c;
    c = rotl<u32>(b, 30);
    b = a;
    a = tmp;
  }
  store<u32>(H, load<u32>(H, 0) + a, 0);
  store<u32>(H, load<u32>(H, 4) + b, 4);
  store<u32>(H, load<u32>(H, 8) + c, 8);
  store<u32>(H, load<u32>(H, 12) + d, 12);
  store<u32>(H, load<u32>(H, 16) + e, 16);
}

/** Starts a new digest in the static context. */
export function sha1Init(): void {
  store<u32>(H, 0x67452301, 0);
  store<u32>(H, 0xefcdab89, 4);
  store<u32>(H, 0x98badcfe, 8);
  store<u32>(H, 0x10325476, 12);
  store<u32>(H, 0xc3d2e1f0, 16);
  blkLen = 0;
  total = 0;
}

/** Feeds `len` bytes at `data` (any split of the message gives the same digest). */
export function sha1Update(data: usize, len: u32): void {
  total += <u64>len;
  let p = data;
  let n = len;
  if (blkLen != 0) {
    const take = min<u32>(64 - blkLen, n);
    memory.copy(BLK + blkLen, p, take);
    blkLen += take;
    p += take;
    n -= take;
    if (blkLen < 64) return;
    block(BLK);
    blkLen = 0;
  }
  // Whole blocks straight from the input, no copy.
  while (n >= 64) {
    block(p);
    p += 64;
    n -= 64;
  }
  if (n != 0) {
    memory.copy(BLK, p, n);
    blkLen = n;
  }
}

/** Pads, finishes and writes the 20-byte digest (big-endian H0..H4) to `out20`. */
export function sha1Final(out20: usize): void {
  const bits = total << 3;
  let n = blkLen;
  store<u8>(BLK + n, 0x80);
  n++;
  if (n > 56) {
    memory.fill(BLK + n, 0, 64 - n);
    block(BLK);
    n = 0;
  }
  memory.fill(BLK + n, 0, 56 - n);
  store<u64>(BLK, bswap<u64>(bits), 56);
  block(BLK);
  for (let i: usize = 0; i < 20; i += 4) {
    store<u32>(out20 + i, bswap<u32>(load<u32>(H + i)));
  }
  blkLen = 0;
}

/** One-shot SHA-1 of `len` bytes at `data` into the 20 bytes at `out20`.
 *  `out20` may overlap `data`. Uses (and resets) the static context. */
export function sha1(data: usize, len: u32, out20: usize): void {
  sha1Init();
  sha1Update(data, len);
  sha1Final(out20);
}
