// Incremental decoder for the chunked transfer coding (RFC 9112 §7.1).
//
//   chunked-body   = *chunk last-chunk trailer-section CRLF
//   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-size     = 1*HEXDIG
//   last-chunk     = 1*("0") [ chunk-ext ] CRLF
//   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-name = token
//   chunk-ext-val  = token / quoted-string
//   trailer-section = *( field-line CRLF )
//
// Zero-copy and allocation-free. Each call consumes a prefix of buf[0, len)
// and returns its length (>= 0), or -400 on a framing error (the connection
// cannot be resynchronised: answer 400 and close). When the consumed prefix
// contains chunk data, spanOff/spanLen (relative to buf) give that one
// contiguous data span and the call stops right after it, so the caller
// hands buf[spanOff, spanOff+spanLen) to the application and calls again
// with the rest. Otherwise spanLen is 0 and every byte was consumed.
//
// After the final CRLF of the trailer section `done` is set and nothing more
// is consumed: the bytes that follow belong to the next (pipelined) request.
//
// Extensions and trailer fields are syntax-checked and dropped. Their sizes
// are bounded per body (maxExt, maxTrailer; Node caps extensions at 16 KiB
// per message after CVE-2024-22019, and counts trailers against its header
// limit).

import {
  CR, LF, COLON, SEMI, EQUALS, DQUOTE, BACKSLASH,
  C_TCHAR, C_FIELD, C_QDTEXT, charIs, isOws, hexValue,
} from "./tokens";

export const CHUNKED_ERROR: i32 = -400;
// Chunk sizes above 2^53 are refused (exact in a JS number, and more than
// any board could receive); so is a size written with more than 16 digits.
export const CHUNK_SIZE_MAX: u64 = 9007199254740992;
export const CHUNK_SIZE_MAX_DIGITS: u32 = 16;
export const DEFAULT_MAX_EXT: u32 = 4096; //      extension bytes per body
export const DEFAULT_MAX_TRAILER: u32 = 4096; //  trailer field-line bytes (final CRLF not counted)

// ---- states ----------------------------------------------------------------------
// BWS is allowed only where the grammar puts it: before ";" and around "=".
// "5 \r\n" and "5;a=b \r\n" are errors, as in llhttp's strict mode.
const S_SIZE_START: u32 = 0; //      first HEXDIG of chunk-size
const S_SIZE: u32 = 1; //            more HEXDIG, ";", BWS or CR
const S_EXT_BWS: u32 = 2; //         BWS not yet followed by ";"
const S_EXT_NAME_START: u32 = 3; //  after ";": BWS, then a token
const S_EXT_NAME: u32 = 4; //        tchar, "=", ";", CR or BWS
const S_EXT_AFTER_NAME: u32 = 5; //  BWS after the name: "=" or ";" must follow
const S_EXT_VAL_START: u32 = 6; //   after "=": BWS, then a token or DQUOTE
const S_EXT_VAL_TOKEN: u32 = 7; //   tchar, ";", CR or BWS
const S_EXT_QUOTED: u32 = 8; //      qdtext, a backslash or the closing DQUOTE
const S_EXT_QUOTED_PAIR: u32 = 9; // the octet after a backslash
const S_EXT_AFTER_VAL: u32 = 10; //  after the closing DQUOTE: ";", CR or BWS
const S_SIZE_LF: u32 = 11; //        LF ending the chunk line
const S_DATA: u32 = 12; //           `remaining` octets of chunk-data
const S_DATA_CR: u32 = 13; //        CRLF after chunk-data
const S_DATA_LF: u32 = 14;
const S_TRAILER_START: u32 = 15; //  a trailer line, or CR of the final CRLF
const S_TRAILER_NAME: u32 = 16; //   tchar until ":"
const S_TRAILER_VALUE: u32 = 17; //  field octets until CR
const S_TRAILER_LF: u32 = 18;
const S_END_LF: u32 = 19; //         LF of the final CRLF
const S_DONE: u32 = 20;
const S_FAILED: u32 = 21;

/** Decoder state; place it in memory the caller owns and reach it with
 *  changetype<ChunkedDecoder>(ptr) (size offsetof<ChunkedDecoder>()). Call
 *  chunkedReset() before the first body and between bodies. */
@unmanaged export class ChunkedDecoder {
  /** Chunk-data bytes still to come in the current chunk (also the chunk
   *  size being read while in the size states). */
  remaining: u64 = 0;
  /** Decoded body bytes so far (sum of every span). */
  total: u64 = 0;
  phase: u32 = 0;
  /** The data span of the last call, relative to its buf; spanLen 0: none. */
  spanOff: u32 = 0;
  spanLen: u32 = 0;
  /** HEXDIGs of the current chunk-size. */
  digits: u32 = 0;
  /** Extension / trailer bytes so far, and their limits. */
  extBytes: u32 = 0;
  trailerBytes: u32 = 0;
  maxExt: u32 = 0;
  maxTrailer: u32 = 0;
  /** The last chunk is being read (size 0). */
  last: bool = false;
  /** The whole chunked body, trailers included, has been consumed. */
  done: bool = false;
}

/** Prepares `d` for a new body, with the default limits. */
export function chunkedReset(d: ChunkedDecoder): void {
  chunkedResetLimits(d, DEFAULT_MAX_EXT, DEFAULT_MAX_TRAILER);
}

/** Prepares `d` for a new body: at most maxExt bytes of chunk extensions and
 *  maxTrailer bytes of trailer section in total. */
export function chunkedResetLimits(d: ChunkedDecoder, maxExt: u32, maxTrailer: u32): void {
  d.remaining = 0;
  d.total = 0;
  d.phase = S_SIZE_START;
  d.spanOff = 0;
  d.spanLen = 0;
  d.digits = 0;
  d.extBytes = 0;
  d.trailerBytes = 0;
  d.maxExt = maxExt;
  d.maxTrailer = maxTrailer;
  d.last = false;
  d.done = false;
}

/** Consumes a prefix of buf[0, len); see the file comment. Returns the bytes
 *  consumed, or CHUNKED_ERROR (-400). After an error the decoder stays
 *  unusable until chunkedReset. */
export function chunkedDecode(d: ChunkedDecoder, buf: usize, len: u32): i32 {
  d.spanOff = 0;
  d.spanLen = 0;
  let state = d.phase;
  let i: u32 = 0;
  while (i < len) {
    if (state == S_DONE) break;
    if (state == S_DATA) {
      // The one place bytes are not inspected: hand out as much as is here.
      let n = len - i;
      if (<u64>n > d.remaining) n = <u32>d.remaining;
      d.spanOff = i;
      d.spanLen = n;
      d.remaining -= n;
      d.total += n;
      i += n;
      if (d.remaining == 0) state = S_DATA_CR;
      break;
    }
    const c = <u32>load<u8>(buf + i);
    i++;
    // Extension octets and trailer field lines count against their limits.
    if (state >= S_EXT_BWS && state <= S_EXT_AFTER_VAL) {
      if (++d.extBytes > d.maxExt) return fail(d);
    } else if (state >= S_TRAILER_NAME && state <= S_TRAILER_LF) {
      if (++d.trailerBytes > d.maxTrailer) return fail(d);
    }
    switch (state) {
      case S_SIZE_START: {
        const h = hexValue(c);
        if (h > 15) return fail(d);
        d.remaining = h;
        d.digits = 1;
        state = S_SIZE;
        break;
      }
      case S_SIZE: {
        const h = hexValue(c);
        if (h <= 15) {
          if (++d.digits > CHUNK_SIZE_MAX_DIGITS) return fail(d);
          const v = (d.remaining << 4) | <u64>h;
          if (v > CHUNK_SIZE_MAX) return fail(d);
          d.remaining = v;
        } else if (c == CR) {
          state = S_SIZE_LF;
        } else if (c == SEMI) {
          if (++d.extBytes > d.maxExt) return fail(d);
          state = S_EXT_NAME_START;
        } else if (isOws(c)) {
          if (++d.extBytes > d.maxExt) return fail(d);
          state = S_EXT_BWS;
        } else {
          return fail(d);
        }
        break;
      }
      case S_EXT_BWS: {
        if (c == SEMI) state = S_EXT_NAME_START;
        else if (!isOws(c)) return fail(d);
        break;
      }
      case S_EXT_NAME_START: {
        if (charIs(c, C_TCHAR)) state = S_EXT_NAME;
        else if (!isOws(c)) return fail(d);
        break;
      }
      case S_EXT_NAME: {
        if (charIs(c, C_TCHAR)) break;
        if (c == EQUALS) state = S_EXT_VAL_START;
        else if (c == SEMI) state = S_EXT_NAME_START;
        else if (c == CR) state = S_SIZE_LF;
        else if (isOws(c)) state = S_EXT_AFTER_NAME;
        else return fail(d);
        break;
      }
      case S_EXT_AFTER_NAME: {
        if (c == EQUALS) state = S_EXT_VAL_START;
        else if (c == SEMI) state = S_EXT_NAME_START;
        else if (!isOws(c)) return fail(d);
        break;
      }
      case S_EXT_VAL_START: {
        if (c == DQUOTE) state = S_EXT_QUOTED;
        else if (charIs(c, C_TCHAR)) state = S_EXT_VAL_TOKEN;
        else if (!isOws(c)) return fail(d);
        break;
      }
      case S_EXT_VAL_TOKEN: {
        if (charIs(c, C_TCHAR)) break;
        if (c == SEMI) state = S_EXT_NAME_START;
        else if (c == CR) state = S_SIZE_LF;
        else if (isOws(c)) state = S_EXT_BWS;
        else return fail(d);
        break;
      }
      case S_EXT_QUOTED: {
        if (c == DQUOTE) state = S_EXT_AFTER_VAL;
        else if (c == BACKSLASH) state = S_EXT_QUOTED_PAIR;
        else if (!charIs(c, C_QDTEXT)) return fail(d);
        break;
      }
      case S_EXT_QUOTED_PAIR: {
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        if (!charIs(c, C_FIELD)) return fail(d);
        state = S_EXT_QUOTED;
        break;
      }
      case S_EXT_AFTER_VAL: {
        if (c == SEMI) state = S_EXT_NAME_START;
        else if (c == CR) state = S_SIZE_LF;
        else if (isOws(c)) state = S_EXT_BWS;
        else return fail(d);
        break;
      }
      case S_SIZE_LF: {
        if (c != LF) return fail(d);
        if (d.remaining == 0) {
          d.last = true;
          state = S_TRAILER_START;
        } else {
          state = S_DATA;
        }
        break;
      }
      case S_DATA_CR: {
        if (c != CR) return fail(d);
        state = S_DATA_LF;
        break;
      }
      case S_DATA_LF: {
        if (c != LF) return fail(d);
        state = S_SIZE_START;
        break;
      }
      case S_TRAILER_START: {
        // CR: the final CRLF. A line starting with SP/HTAB would be obs-fold.
        if (c == CR) {
          state = S_END_LF;
        } else if (charIs(c, C_TCHAR)) {
          if (++d.trailerBytes > d.maxTrailer) return fail(d);
          state = S_TRAILER_NAME;
        } else {
          return fail(d);
        }
        break;
      }
      case S_TRAILER_NAME: {
        if (c == COLON) state = S_TRAILER_VALUE;
        else if (!charIs(c, C_TCHAR)) return fail(d);
        break;
      }
      case S_TRAILER_VALUE: {
        if (c == CR) state = S_TRAILER_LF;
        else if (!charIs(c, C_FIELD)) return fail(d);
        break;
      }
      case S_TRAILER_LF: {
        if (c != LF) return fail(d);
        state = S_TRAILER_START;
        break;
      }
      case S_END_LF: {
        if (c != LF) return fail(d);
        state = S_DONE;
        d.done = true;
        break;
      }
      default: return fail(d);
    }
  }
  d.phase = state;
  return <i32>i;
}

function fail(d: ChunkedDecoder): i32 {
  d.phase = S_FAILED;
  d.spanOff = 0;
  d.spanLen = 0;
  return CHUNKED_ERROR;
}
