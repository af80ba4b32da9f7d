// Byte classes and byte-string literals for the HTTP/1.1 parsers.
//
// Nothing here allocates: every table is a static data segment
// (memory.data), every literal is raw ASCII (not an AssemblyScript string,
// which would be UTF-16). Grammar references are RFC 9110 / 9112 / 3986.

// ---- single bytes -------------------------------------------------------------
export const HTAB: u32 = 0x09;
export const LF: u32 = 0x0a;
export const CR: u32 = 0x0d;
export const SP: u32 = 0x20;
export const DQUOTE: u32 = 0x22;
export const PERCENT: u32 = 0x25;
export const COMMA: u32 = 0x2c;
export const SLASH: u32 = 0x2f;
export const COLON: u32 = 0x3a;
export const SEMI: u32 = 0x3b;
export const EQUALS: u32 = 0x3d;
export const QMARK: u32 = 0x3f;
export const AT: u32 = 0x40;
export const LBRACKET: u32 = 0x5b;
export const BACKSLASH: u32 = 0x5c;
export const RBRACKET: u32 = 0x5d;
export const STAR: u32 = 0x2a;

// ---- character classes: one flag byte per octet -------------------------------
// C_TCHAR   token char: "!#$%&'*+-.^_`|~" DIGIT ALPHA          (RFC 9110 §5.6.2)
// C_FIELD   field-value octet: VCHAR / obs-text / SP / HTAB      (RFC 9110 §5.5)
// C_TARGET  request-target octet: VCHAR except "#" (no fragment in a request)
// C_HEX     HEXDIG
// C_REGNAME reg-name octet except "%": unreserved / sub-delims (RFC 3986 §3.2.2)
// C_IPLIT   inside "[...]": unreserved / sub-delims / ":" (IPv6 + IPvFuture)
// C_QDTEXT  qdtext: HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
export const C_TCHAR: u32 = 1;
export const C_FIELD: u32 = 2;
export const C_TARGET: u32 = 4;
export const C_HEX: u32 = 8;
export const C_REGNAME: u32 = 16;
export const C_IPLIT: u32 = 32;
export const C_QDTEXT: u32 = 64;

// Generated from the definitions above; each row is 16 octets.
export const CHAR_CLASS: usize = memory.data<u8>([
    0,  0,  0,  0,  0,  0,  0,  0,  0, 66,  0,  0,  0,  0,  0,  0, // 00  CTLs (HTAB is a field octet)
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, // 10  CTLs
   66,119,  6, 67,119, 71,119,119,118,118,119,119,118,119,119, 70, // 20  SP ! " # $ % & ' ( ) * + , - . /
  127,127,127,127,127,127,127,127,127,127,102,118, 70,118, 70, 70, // 30  0-9 : ; < = > ?
   70,127,127,127,127,127,127,119,119,119,119,119,119,119,119,119, // 40  @ A-O
  119,119,119,119,119,119,119,119,119,119,119, 70,  6, 70, 71,119, // 50  P-Z [ \ ] ^ _
   71,127,127,127,127,127,127,119,119,119,119,119,119,119,119,119, // 60  ` a-o
  119,119,119,119,119,119,119,119,119,119,119, 70, 71, 70,119,  0, // 70  p-z { | } ~ DEL
   66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, // 80  obs-text
   66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, // 90
   66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, // a0
   66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, // b0
   66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, // c0
   66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, // d0
   66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, // e0
   66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, // f0
]);

// @ts-ignore: decorator
@inline export function charIs(c: u32, cls: u32): bool {
  return (<u32>load<u8>(CHAR_CLASS + (c & 0xff)) & cls) != 0;
}

// @ts-ignore: decorator
@inline export function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}

// @ts-ignore: decorator
@inline export function isOws(c: u32): bool {
  return c == SP || c == HTAB;
}

/** HEXDIG value, or 16 for a non-hex octet. */
// @ts-ignore: decorator
@inline export function hexValue(c: u32): u32 {
  if (c - 0x30 < 10) return c - 0x30;
  const l = c | 0x20;
  if (l - 0x61 < 6) return l - 0x61 + 10;
  return 16;
}

/** ASCII lower case of one octet (other octets unchanged). */
// @ts-ignore: decorator
@inline export function lower(c: u32): u32 {
  return c - 0x41 < 26 ? c | 0x20 : c;
}

/** `n` octets at `p` equal the lower-case literal `lit`, ignoring ASCII case. */
export function eqLower(p: usize, lit: usize, n: u32): bool {
  for (let i: u32 = 0; i < n; i++) {
    if (lower(<u32>load<u8>(p + i)) != <u32>load<u8>(lit + i)) return false;
  }
  return true;
}

/** `n` octets at `a` and `b` are equal, ignoring ASCII case (both sides any case). */
export function eqIgnoreCase(a: usize, b: usize, n: u32): bool {
  for (let i: u32 = 0; i < n; i++) {
    if (lower(<u32>load<u8>(a + i)) != lower(<u32>load<u8>(b + i))) return false;
  }
  return true;
}

/** `n` octets at `a` and `b` are equal (case-sensitive). */
export function eqBytes(a: usize, b: usize, n: u32): bool {
  for (let i: u32 = 0; i < n; i++) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
  }
  return true;
}

// ---- lower-case field names (pass with their *_LEN to findHeaderFrom) --------------
export const NAME_HOST: usize = memory.data<u8>([0x68, 0x6f, 0x73, 0x74]); // "host"
export const NAME_HOST_LEN: u32 = 4;
export const NAME_CONTENT_LENGTH: usize = memory.data<u8>([0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x6c, 0x65, 0x6e, 0x67, 0x74, 0x68]); // "content-length"
export const NAME_CONTENT_LENGTH_LEN: u32 = 14;
export const NAME_TRANSFER_ENCODING: usize = memory.data<u8>([0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72, 0x2d, 0x65, 0x6e, 0x63, 0x6f, 0x64, 0x69, 0x6e, 0x67]); // "transfer-encoding"
export const NAME_TRANSFER_ENCODING_LEN: u32 = 17;
export const NAME_CONNECTION: usize = memory.data<u8>([0x63, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e]); // "connection"
export const NAME_CONNECTION_LEN: u32 = 10;
export const NAME_UPGRADE: usize = memory.data<u8>([0x75, 0x70, 0x67, 0x72, 0x61, 0x64, 0x65]); // "upgrade"
export const NAME_UPGRADE_LEN: u32 = 7;
export const NAME_EXPECT: usize = memory.data<u8>([0x65, 0x78, 0x70, 0x65, 0x63, 0x74]); // "expect"
export const NAME_EXPECT_LEN: u32 = 6;
export const NAME_SEC_WEBSOCKET_KEY: usize = memory.data<u8>([0x73, 0x65, 0x63, 0x2d, 0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74, 0x2d, 0x6b, 0x65, 0x79]); // "sec-websocket-key"
export const NAME_SEC_WEBSOCKET_KEY_LEN: u32 = 17;
export const NAME_SEC_WEBSOCKET_VERSION: usize = memory.data<u8>([0x73, 0x65, 0x63, 0x2d, 0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74, 0x2d, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e]); // "sec-websocket-version"
export const NAME_SEC_WEBSOCKET_VERSION_LEN: u32 = 21;
export const NAME_SEC_WEBSOCKET_PROTOCOL: usize = memory.data<u8>([0x73, 0x65, 0x63, 0x2d, 0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74, 0x2d, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x63, 0x6f, 0x6c]); // "sec-websocket-protocol"
export const NAME_SEC_WEBSOCKET_PROTOCOL_LEN: u32 = 22;
export const NAME_SEC_WEBSOCKET_EXTENSIONS: usize = memory.data<u8>([0x73, 0x65, 0x63, 0x2d, 0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74, 0x2d, 0x65, 0x78, 0x74, 0x65, 0x6e, 0x73, 0x69, 0x6f, 0x6e, 0x73]); // "sec-websocket-extensions"
export const NAME_SEC_WEBSOCKET_EXTENSIONS_LEN: u32 = 24;
export const NAME_SEC_WEBSOCKET_ACCEPT: usize = memory.data<u8>([0x73, 0x65, 0x63, 0x2d, 0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74, 0x2d, 0x61, 0x63, 0x63, 0x65, 0x70, 0x74]); // "sec-websocket-accept"
export const NAME_SEC_WEBSOCKET_ACCEPT_LEN: u32 = 20;
export const NAME_IF_NONE_MATCH: usize = memory.data<u8>([0x69, 0x66, 0x2d, 0x6e, 0x6f, 0x6e, 0x65, 0x2d, 0x6d, 0x61, 0x74, 0x63, 0x68]); // "if-none-match"
export const NAME_IF_NONE_MATCH_LEN: u32 = 13;

// ---- lower-case tokens -----------------------------------------------------------
export const TOK_CHUNKED: usize = memory.data<u8>([0x63, 0x68, 0x75, 0x6e, 0x6b, 0x65, 0x64]); // "chunked"
export const TOK_CHUNKED_LEN: u32 = 7;
export const TOK_CLOSE: usize = memory.data<u8>([0x63, 0x6c, 0x6f, 0x73, 0x65]); // "close"
export const TOK_CLOSE_LEN: u32 = 5;
export const TOK_KEEP_ALIVE: usize = memory.data<u8>([0x6b, 0x65, 0x65, 0x70, 0x2d, 0x61, 0x6c, 0x69, 0x76, 0x65]); // "keep-alive"
export const TOK_KEEP_ALIVE_LEN: u32 = 10;
export const TOK_UPGRADE: usize = NAME_UPGRADE; // "upgrade"
export const TOK_UPGRADE_LEN: u32 = 7;
export const TOK_WEBSOCKET: usize = memory.data<u8>([0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74]); // "websocket"
export const TOK_WEBSOCKET_LEN: u32 = 9;
export const TOK_100_CONTINUE: usize = memory.data<u8>([0x31, 0x30, 0x30, 0x2d, 0x63, 0x6f, 0x6e, 0x74, 0x69, 0x6e, 0x75, 0x65]); // "100-continue"
export const TOK_100_CONTINUE_LEN: u32 = 12;
export const TOK_HTTP: usize = memory.data<u8>([0x68, 0x74, 0x74, 0x70]); // "http" (also the prefix of "https")

// ---- methods (case-sensitive, RFC 9110 §9.1) --------------------------------------
export const M_GET: usize = memory.data<u8>([0x47, 0x45, 0x54]);
export const M_HEAD: usize = memory.data<u8>([0x48, 0x45, 0x41, 0x44]);
export const M_POST: usize = memory.data<u8>([0x50, 0x4f, 0x53, 0x54]);
export const M_PUT: usize = memory.data<u8>([0x50, 0x55, 0x54]);
export const M_DELETE: usize = memory.data<u8>([0x44, 0x45, 0x4c, 0x45, 0x54, 0x45]);
export const M_OPTIONS: usize = memory.data<u8>([0x4f, 0x50, 0x54, 0x49, 0x4f, 0x4e, 0x53]);
export const M_PATCH: usize = memory.data<u8>([0x50, 0x41, 0x54, 0x43, 0x48]);
export const M_CONNECT: usize = memory.data<u8>([0x43, 0x4f, 0x4e, 0x4e, 0x45, 0x43, 0x54]);
export const M_TRACE: usize = memory.data<u8>([0x54, 0x52, 0x41, 0x43, 0x45]);
// "HTTP/" (case-sensitive, RFC 9112 §2.3)
export const HTTP_SLASH: usize = memory.data<u8>([0x48, 0x54, 0x54, 0x50, 0x2f]);
