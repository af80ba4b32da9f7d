// The core's file and redirect answers: the mount server (lws LWSMPRO_FILE
// and LWSMPRO_REDIR_HTTP(S) mounts, src/core/mount.ts), and Conn.serveFile()
// for an app's own handler. Files are the ones linked into the module
// (src/vfs/vfs.ts), served from module memory without a copy.

import { LOG_INFO } from "../abi/constants";
import { logStart, logOn } from "../core/log";
import { Conn } from "../core/conn";
import { Protocol } from "../core/protocol";
import { Mount, findMount, matchedLen, MOUNT_REDIR_HTTP, MOUNT_REDIR_HTTPS } from "../core/mount";
import { vfsFind, VfsFile } from "../vfs/vfs";
import { hexValue, NAME_IF_NONE_MATCH, NAME_IF_NONE_MATCH_LEN } from "./tokens";
import { METHOD_GET, METHOD_HEAD } from "./head";
import { headOf, rawOf, freePtr, freeSpace, findHeaderOf, valuePtr, valueLen } from "./hdrbuf";
import { respondHead, respondBody, httpAppError } from "./response";

// Work areas of one answer: the free end of the connection's own header
// buffer, after the raw request bytes (nothing static): the decoded file
// path (PATH_MAX bytes), then the extra header lines (ETag, Cache-Control,
// Location; HDR_MAX bytes). Past them starts the next header buffer, another
// connection's parsed request: every write below is bounded by these two.
let pathBuf: usize = 0;
let PATH_MAX: u32 = 0;
let hdrBuf: usize = 0;
let HDR_MAX: u32 = 0;
/** The request itself left less than the full work area. */
let scratchShort = false;

const PATH_LIMIT: u32 = 512;

function useScratch(c: Conn): void {
  const space = freeSpace(c);
  scratchShort = space >> 1 < PATH_LIMIT;
  PATH_MAX = scratchShort ? space >> 1 : PATH_LIMIT;
  pathBuf = freePtr(c);
  hdrBuf = pathBuf + PATH_MAX;
  HDR_MAX = space - PATH_MAX;
}

/** The answer does not fit the work area: 431 when the request's own size
 *  left too little of it (RFC 6585 section 5: smaller header fields would
 *  do), else 414 (the path is too long to answer). */
function tooLarge(c: Conn): i32 {
  return httpAppError(c, scratchShort ? 431 : 414);
}

/** Percent-decodes the path at p (n bytes) into pathBuf after `at` bytes
 *  already there. Returns the new length, or -400 for a malformed escape,
 *  an encoded "/" or NUL, or a dot segment ("." or ".."), -414 when it
 *  does not fit. */
function decodePath(p: usize, n: u32, at: u32): i32 {
  let o = at;
  let segStart = at;
  for (let i: u32 = 0; i <= n; i++) {
    const end = i == n;
    let b: u32 = end ? 0x2f : <u32>load<u8>(p + i);
    if (b == 0x2f) {
      // RFC 3986 section 3.3: "." and ".." segments must not reach the file system
      const len = o - segStart;
      if ((len == 1 && load<u8>(pathBuf + segStart) == 0x2e) ||
          (len == 2 && load<u8>(pathBuf + segStart) == 0x2e && load<u8>(pathBuf + segStart + 1) == 0x2e)) return -400;
      if (end) break;
      if (o >= PATH_MAX) return -414;
      store<u8>(pathBuf + o++, 0x2f);
      segStart = o;
      continue;
    }
    if (b == 0x25) {
      if (i + 2 >= n) return -400;
      const h = hexValue(load<u8>(p + i + 1));
      const l = hexValue(load<u8>(p + i + 2));
      if (h > 15 || l > 15) return -400;
      b = <u32>((h << 4) | l);
      if (b == 0x2f || b == 0) return -400;
      i += 2;
    }
    if (o >= PATH_MAX) return -414;
    store<u8>(pathBuf + o++, <u8>b);
  }
  return <i32>o;
}

function putStr(dst: usize, s: string): u32 {
  for (let i = 0; i < s.length; i++) store<u8>(dst + i, <u8>s.charCodeAt(i));
  return <u32>s.length;
}

/** The URL's query ("?..." or "") as raw bytes: appended to redirects. */
function queryOf(c: Conn, dst: usize, cap: u32): u32 {
  const head = headOf(c);
  if (!head.hasQuery) return 0;
  const n = head.queryLen + 1;
  if (n > cap) return 0;
  store<u8>(dst, 0x3f);
  memory.copy(dst + 1, rawOf(c) + head.queryOff, head.queryLen);
  return n;
}

/** 301 with Location: prefix + rest + slash + query (raw bytes, no
 *  allocation). Returns 0. */
function redirect(c: Conn, prefix: usize, prefixLen: u32, rest: usize, restLen: u32, slash: bool): i32 {
  if (prefixLen + restLen + 1 + 12 > HDR_MAX) return tooLarge(c);
  let n = putStr(hdrBuf, "Location: ");
  memory.copy(hdrBuf + n, prefix, prefixLen);
  n += prefixLen;
  memory.copy(hdrBuf + n, rest, restLen);
  n += restLen;
  if (slash) store<u8>(hdrBuf + n++, 0x2f);
  n += queryOf(c, hdrBuf + n, HDR_MAX - 2 - n); // the query fits, or is left out
  store<u8>(hdrBuf + n++, 0x0d);
  store<u8>(hdrBuf + n++, 0x0a);
  return httpAppError(c, 301, null, hdrBuf, n);
}

/** RFC 9110 section 13.1.2: If-None-Match names the file's entity tag (weak
 *  comparison: a W/ prefix does not matter), or is "*". */
function noneMatch(c: Conn, etag: string): bool {
  for (let i = findHeaderOf(c, NAME_IF_NONE_MATCH, NAME_IF_NONE_MATCH_LEN); i >= 0; i = findHeaderOf(c, NAME_IF_NONE_MATCH, NAME_IF_NONE_MATCH_LEN, <u32>i + 1)) {
    const v = valuePtr(c, <u32>i);
    const n = valueLen(c, <u32>i);
    let s: u32 = 0;
    while (s < n) {
      while (s < n && (load<u8>(v + s) == 0x20 || load<u8>(v + s) == 0x09 || load<u8>(v + s) == 0x2c)) s++;
      let e = s;
      while (e < n && load<u8>(v + e) != 0x2c) e++;
      let t = e;
      while (t > s && (load<u8>(v + t - 1) == 0x20 || load<u8>(v + t - 1) == 0x09)) t--;
      if (t - s == 1 && load<u8>(v + s) == 0x2a) return true;
      let q = s;
      if (t - q >= 2 && load<u8>(v + q) == 0x57 && load<u8>(v + q + 1) == 0x2f) q += 2; // W/
      if (t - q == <u32>etag.length) {
        let same = true;
        for (let j: u32 = 0; j < t - q; j++) {
          if (<u32>load<u8>(v + q + j) != <u32>etag.charCodeAt(j)) {
            same = false;
            break;
          }
        }
        if (same) return true;
      }
      s = e;
    }
  }
  return false;
}

/** The core's answer for MOUNT_FILE and MOUNT_REDIR_* mounts (the
 *  connection's HTTP handler while F_MOUNT flags the request). */
class MountServer extends Protocol {
  constructor() { super("mote-mount", 0); }

  http(c: Conn): i32 {
    const vh = c.getVhost();
    const head = headOf(c);
    const p = rawOf(c) + head.pathOff;
    const n = head.pathLen;
    useScratch(c);
    const mi = findMount(vh.mounts, p, n);
    if (mi < 0) return httpAppError(c, 404);
    const m = unchecked(vh.mounts[mi]);
    const k = matchedLen(m);
    if (m.kind == MOUNT_REDIR_HTTP || m.kind == MOUNT_REDIR_HTTPS) {
      return redirect(c, changetype<usize>(m.target), <u32>m.target.byteLength, p + k, n - k, false);
    }
    if (head.method != METHOD_GET && head.method != METHOD_HEAD) return httpAppError(c, 405, "Allow: GET, HEAD\r\n");
    // "/docs" for the mount "/docs/": the same URL with its slash, so that
    // relative links in the index resolve under it
    if (n == k && k > 1) return redirect(c, p, n, 0, 0, true);
    const len = <u32>m.originBytes.byteLength;
    if (len > PATH_MAX) return tooLarge(c);
    memory.copy(pathBuf, changetype<usize>(m.originBytes), len);
    const d = decodePath(p + k, n - k, len);
    if (d == -414) return tooLarge(c);
    if (d < 0) return httpAppError(c, <u32>-d);
    let o = <u32>d;
    if (o == 0 || load<u8>(pathBuf + o - 1) == 0x2f) {
      if (o == 0) {
        if (PATH_MAX == 0) return tooLarge(c);
        store<u8>(pathBuf + o++, 0x2f);
      }
      const dn = <u32>m.defBytes.byteLength;
      if (o + dn > PATH_MAX) return tooLarge(c);
      memory.copy(pathBuf + o, changetype<usize>(m.defBytes), dn);
      o += dn;
    }
    const f = vfsFind(pathBuf, o);
    if (f === null) {
      if (logOn(LOG_INFO)) logStart(LOG_INFO).s("conn ").u(c.id).s(": no file ").b(pathBuf, o).s(" for mount ").s(m.mountpoint).end();
      return httpAppError(c, 404);
    }
    return serve(c, m, f);
  }
}

function serve(c: Conn, m: Mount, f: VfsFile): i32 {
  let n: u32 = 0;
  if (<u32>f.etag.length + 8 + <u32>m.cacheLine.byteLength > HDR_MAX) return tooLarge(c);
  if (f.etag.length > 0) {
    n += putStr(hdrBuf + n, "ETag: ");
    n += putStr(hdrBuf + n, f.etag);
    n += putStr(hdrBuf + n, "\r\n");
  }
  const cl = <u32>m.cacheLine.byteLength;
  memory.copy(hdrBuf + n, changetype<usize>(m.cacheLine), cl);
  n += cl;
  if (f.etag.length > 0 && noneMatch(c, f.etag)) {
    // RFC 9110 section 15.4.5: the fields a 200 would carry, no body
    return respondHead(c, 304, null, 0, null, hdrBuf, n) ? 0 : -1;
  }
  if (!respondHead(c, 200, f.mime, f.len, null, hdrBuf, n)) return -1;
  return respondBody(c, f.ptr, f.len, true) < 0 ? -1 : 0;
}

let server: MountServer | null = null;

/** The handler of requests a core-served mount answers. */
export function mountServer(): Protocol {
  let s = server;
  if (s === null) server = s = new MountServer();
  return s;
}

const INDEX_HTML = memory.data<u8>([0x2f, 0x69, 0x6e, 0x64, 0x65, 0x78, 0x2e, 0x68, 0x74, 0x6d, 0x6c]); // "/index.html"

/** Conn.serveFile(): the request's path from the linked-in files ("/" means
 *  "/index.html"), with its type and length. 0, or -1 when there is no such
 *  file (nothing was sent). */
export function serveLinkedFile(c: Conn): i32 {
  const head = headOf(c);
  const p = rawOf(c) + head.pathOff;
  const n = head.pathLen;
  const f = n == 1 && load<u8>(p) == 0x2f ? vfsFind(INDEX_HTML, 11) : vfsFind(p, n);
  if (!f) return -1;
  if (!respondHead(c, 200, f.mime, f.len, null)) return -1;
  return respondBody(c, f.ptr, f.len, true) < 0 ? -1 : 0;
}
