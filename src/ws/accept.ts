// Sec-WebSocket-Key / Sec-WebSocket-Accept (RFC 6455 §4.2.1, §4.2.2).
import { sha1Init, sha1Update, sha1Final } from "../util/sha1";
import { base64Encode, base64Decode } from "../util/base64";

// "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
const GUID: usize = memory.data<u8>([
  0x32, 0x35, 0x38, 0x45, 0x41, 0x46, 0x41, 0x35, 0x2D, 0x45, 0x39, 0x31,
  0x34, 0x2D, 0x34, 0x37, 0x44, 0x41, 0x2D, 0x39, 0x35, 0x43, 0x41, 0x2D,
  0x43, 0x35, 0x41, 0x42, 0x30, 0x44, 0x43, 0x38, 0x35, 0x42, 0x31, 0x31,
]);
const GUID_LEN: u32 = 36;

// SHA-1 digest, then the decoded key in wsKeyValid.
const SCRATCH: usize = memory.data(20, 4);

/** Length of the Sec-WebSocket-Accept value. */
export const WS_ACCEPT_LEN: u32 = 28;

/** Writes base64(SHA-1(key ++ GUID)), 28 bytes, to `out28`. `key` is the
 *  OWS-trimmed Sec-WebSocket-Key value as received (any length; it is hashed
 *  as-is, not decoded). `out28` may overlap `key`. */
export function wsAcceptKey(key: usize, keyLen: u32, out28: usize): void {
  sha1Init();
  sha1Update(key, keyLen);
  sha1Update(GUID, GUID_LEN);
  sha1Final(SCRATCH);
  base64Encode(SCRATCH, 20, out28);
}

/** True iff the (OWS-trimmed) Sec-WebSocket-Key is base64 that decodes to
 *  exactly 16 bytes (RFC 6455 §4.2.1 item 5), i.e. 22 alphabet characters
 *  followed by "==". */
export function wsKeyValid(key: usize, keyLen: u32): bool {
  // 16 bytes encode to exactly 24 characters; checking first also keeps a
  // long header from being decoded at all.
  if (keyLen != 24) return false;
  return base64Decode(key, keyLen, SCRATCH, 16) == 16;
}
