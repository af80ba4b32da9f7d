// Test entry for the HTTP/1.1 parsers: thin exports over src/http/*, nothing
// else. Inputs are placed by the test either in the scratch buffer or at the
// very end of linear memory, so that a read past `len` traps (the
// picohttpparser guard-page trick).
import {
  MessageHead, scanHeadEnd, parseRequestHead, findHeaderFrom, headerHasToken,
  headerNameOff, headerNameLen, headerValueOff, headerValueLen, HEADER_ENTRY_SIZE,
} from "../../src/http/head";
import { ChunkedDecoder, chunkedReset, chunkedResetLimits, chunkedDecode } from "../../src/http/chunked";

const SCRATCH_SIZE: u32 = 65536;
const MAX_TABLE: u32 = 1024;
const scratch = memory.data(SCRATCH_SIZE, 16);
const names = memory.data(256, 16);
const tokens = memory.data(256, 16);
const table = memory.data(MAX_TABLE * HEADER_ENTRY_SIZE, 16);
const headMem = memory.data(offsetof<MessageHead>(), 16);
const decMem = memory.data(offsetof<ChunkedDecoder>(), 16);

// @ts-ignore: decorator
@inline function head(): MessageHead { return changetype<MessageHead>(headMem); }
// @ts-ignore: decorator
@inline function dec(): ChunkedDecoder { return changetype<ChunkedDecoder>(decMem); }

export function scratchPtr(): usize { return scratch; }
export function scratchSize(): u32 { return SCRATCH_SIZE; }
export function namePtr(): usize { return names; }
export function tokenPtr(): usize { return tokens; }
export function heapBase(): usize { return __heap_base; }
export function headSize(): u32 { return offsetof<MessageHead>(); }
export function decoderSize(): u32 { return offsetof<ChunkedDecoder>(); }

// ---- request head ----
export function scan(buf: usize, len: u32, from: u32, maxHead: u32, maxRequestLine: u32): i32 {
  return scanHeadEnd(buf, len, from, maxHead, maxRequestLine);
}
export function parse(buf: usize, headLen: u32, maxHeaders: u32): i32 {
  return parseRequestHead(buf, headLen, head(), table, maxHeaders < MAX_TABLE ? maxHeaders : MAX_TABLE);
}
export function h_contentLength(): i64 { return head().contentLength; }
export function h_method(): u32 { return head().method; }
export function h_methodOff(): u32 { return head().methodOff; }
export function h_methodLen(): u32 { return head().methodLen; }
export function h_targetOff(): u32 { return head().targetOff; }
export function h_targetLen(): u32 { return head().targetLen; }
export function h_targetForm(): u32 { return head().targetForm; }
export function h_pathOff(): u32 { return head().pathOff; }
export function h_pathLen(): u32 { return head().pathLen; }
export function h_queryOff(): u32 { return head().queryOff; }
export function h_queryLen(): u32 { return head().queryLen; }
export function h_hostOff(): u32 { return head().hostOff; }
export function h_hostLen(): u32 { return head().hostLen; }
export function h_versionMinor(): u32 { return head().versionMinor; }
export function h_headerCount(): u32 { return head().headerCount; }
export function h_headLen(): u32 { return head().headLen; }
export function h_hasQuery(): bool { return head().hasQuery; }
export function h_hasHost(): bool { return head().hasHost; }
export function h_chunked(): bool { return head().chunked; }
export function h_keepAlive(): bool { return head().keepAlive; }
export function h_expectContinue(): bool { return head().expectContinue; }
export function h_expectOther(): bool { return head().expectOther; }
export function h_upgradeWebsocket(): bool { return head().upgradeWebsocket; }
export function h_connectionUpgrade(): bool { return head().connectionUpgrade; }

export function hdr_nameOff(i: u32): u32 { return headerNameOff(table, i); }
export function hdr_nameLen(i: u32): u32 { return headerNameLen(table, i); }
export function hdr_valueOff(i: u32): u32 { return headerValueOff(table, i); }
export function hdr_valueLen(i: u32): u32 { return headerValueLen(table, i); }
/** The name is in namePtr(), the token in tokenPtr(). */
export function find(buf: usize, nameLen: u32): i32 { return findHeaderFrom(buf, head(), table, names, nameLen, 0); }
export function findFrom(buf: usize, nameLen: u32, start: u32): i32 { return findHeaderFrom(buf, head(), table, names, nameLen, start); }
/** Lines with that name, counted the way the core walks them (findHeaderFrom). */
export function count(buf: usize, nameLen: u32): u32 {
  let n: u32 = 0;
  for (let i = findHeaderFrom(buf, head(), table, names, nameLen, 0); i >= 0; i = findHeaderFrom(buf, head(), table, names, nameLen, <u32>i + 1)) n++;
  return n;
}
export function hasToken(buf: usize, nameLen: u32, tokenLen: u32): bool {
  return headerHasToken(buf, head(), table, names, nameLen, tokens, tokenLen);
}

// ---- chunked body ----
export function ch_reset(): void { chunkedReset(dec()); }
export function ch_resetLimits(maxExt: u32, maxTrailer: u32): void { chunkedResetLimits(dec(), maxExt, maxTrailer); }
export function ch_decode(buf: usize, len: u32): i32 { return chunkedDecode(dec(), buf, len); }
export function ch_spanOff(): u32 { return dec().spanOff; }
export function ch_spanLen(): u32 { return dec().spanLen; }
export function ch_done(): bool { return dec().done; }
export function ch_remaining(): u64 { return dec().remaining; }
export function ch_total(): u64 { return dec().total; }
