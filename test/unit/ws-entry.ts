// Test entry for test/unit/ws-primitives.test.ts: exposes the WebSocket
// primitives plus a scratch buffer the host fills and reads through memory.
import { UTF8_ACCEPT, UTF8_REJECT } from "../../src/ws/utf8";
import { WS_ACCEPT_LEN } from "../../src/ws/accept";

export { sha1, sha1Init, sha1Update, sha1Final } from "../../src/util/sha1";
export { base64Encode, base64Decode, base64EncodedLen } from "../../src/util/base64";
export { wsAcceptKey, wsKeyValid } from "../../src/ws/accept";
export { utf8Step } from "../../src/ws/utf8";
export { unmask } from "../../src/ws/mask";

const SCRATCH_SIZE: u32 = 4 << 20;
// Test-only: the stub runtime's bump allocator, used once.
const scratch = heap.alloc(SCRATCH_SIZE);

export function scratchPtr(): usize {
  return scratch;
}
export function scratchSize(): u32 {
  return SCRATCH_SIZE;
}
export function utf8Accept(): u32 {
  return UTF8_ACCEPT;
}
export function utf8Reject(): u32 {
  return UTF8_REJECT;
}
export function wsAcceptLen(): u32 {
  return WS_ACCEPT_LEN;
}
