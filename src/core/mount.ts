// Mounts (lws_http_mount): URL prefixes of a vhost served by the core itself
// (files, redirects) or handed to one of the vhost's protocols.
//
// A request's path picks the mount with the longest mountpoint that is a
// prefix of it at a segment boundary ("/docs" covers "/docs" and "/docs/a",
// not "/docsx"; "/" covers everything). No mount: the vhost's protocol 0
// answers, as without mounts. WebSocket upgrades are not routed by mounts:
// the subprotocol picks the protocol (src/ws/server.ts).

import { Conn } from "./conn";
import { vhostOf } from "./service";
import { Protocol, Vhost } from "./protocol";
import { logStart, logOn } from "./log";
import { LOG_INFO } from "../abi/constants";
import { vfsFind, VfsFile } from "../vfs/vfs";
import { putAscii, putDecimal } from "../util/bytes";
import { headOf, rawOf, tableOf, headerIs, respondHead, respondBody, httpAppError, httpRxPtr, httpRxSpace } from "../http/server";
import { headerValuePtr, headerValueLen, METHOD_GET, METHOD_HEAD } from "../http/request";

/** lws LWSMPRO_FILE: files from the linked-in file system under `origin`. */
export const MOUNT_FILE: u32 = 0;
/** lws LWSMPRO_CALLBACK: the vhost protocol named by `origin` answers. */
export const MOUNT_CALLBACK: u32 = 1;
/** lws LWSMPRO_REDIR_HTTP / _HTTPS: 301 to http(s)://origin + the rest. */
export const MOUNT_REDIR_HTTP: u32 = 2;
export const MOUNT_REDIR_HTTPS: u32 = 3;

export class Mount {
  /** The protocol of a MOUNT_CALLBACK mount (resolved at init). */
  protocolIndex: i32 = -1;
  /** lws `def`: the file served for a path ending in "/". */
  def: string = "index.html";
  /** lws cache_max_age / cache_reusable / cache_revalidate /
   *  cache_intermediaries, as a Cache-Control field on files served here;
   *  none of them set (setCache not called): no Cache-Control. */
  cacheSet: bool = false;
  cacheMaxAge: u32 = 0;
  cacheReusable: bool = false;
  cacheRevalidate: bool = false;
  cacheIntermediaries: bool = false;
  /** Built at init (nothing is built per request): the Cache-Control line;
   *  the origin as bytes without a trailing "/" (files); def as bytes; the
   *  redirect's "http(s)://" + origin. */
  cacheLine: ArrayBuffer = EMPTY;
  originBytes: ArrayBuffer = EMPTY;
  defBytes: ArrayBuffer = EMPTY;
  target: ArrayBuffer = EMPTY;

  constructor(public mountpoint: string, public origin: string, public kind: u32) {}

  /** The default file for paths ending in "/" (lws `def`). */
  setDefault(file: string): Mount {
    this.def = file;
    return this;
  }

  /** Cache-Control for files served here (RFC 9111 section 5.2.2):
   *  reusable: `max-age=N` and `public` (intermediaries) or `private`,
   *  plus `must-revalidate` (revalidate; with `no-cache` when maxAge is 0);
   *  not reusable: `no-store`. */
  setCache(maxAge: u32, reusable: bool = true, revalidate: bool = false, intermediaries: bool = false): Mount {
    this.cacheSet = true;
    this.cacheMaxAge = maxAge;
    this.cacheReusable = reusable;
    this.cacheRevalidate = revalidate;
    this.cacheIntermediaries = intermediaries;
    return this;
  }

  /** Builds the byte forms once, at init (no allocation per request). */
  prepare(): void {
    let o = this.origin;
    while (o.length > 0 && o.charCodeAt(o.length - 1) == 0x2f) o = o.substring(0, o.length - 1);
    if (this.kind == MOUNT_FILE) {
      if (o.length > 0 && o.charCodeAt(0) != 0x2f) o = "/" + o;
      this.originBytes = String.UTF8.encode(o);
      this.defBytes = String.UTF8.encode(this.def);
    } else if (this.kind != MOUNT_CALLBACK) {
      const scheme = this.kind == MOUNT_REDIR_HTTPS ? "https://" : "http://";
      this.target = String.UTF8.encode(scheme + o);
    }
    if (!this.cacheSet) return;
    const line = new ArrayBuffer(96); // the longest form with a 10-digit max-age is 77 bytes
    const t = changetype<usize>(line);
    let n = putAscii(t, "Cache-Control: ");
    if (!this.cacheReusable) {
      n += putAscii(t + n, "no-store");
    } else {
      n += putAscii(t + n, this.cacheIntermediaries ? "public" : "private");
      if (this.cacheMaxAge == 0 && this.cacheRevalidate) n += putAscii(t + n, ", no-cache");
      n += putAscii(t + n, ", max-age=");
      n += putDecimal(t + n, this.cacheMaxAge);
      if (this.cacheRevalidate) n += putAscii(t + n, ", must-revalidate");
    }
    n += putAscii(t + n, "\r\n");
    this.cacheLine = line.slice(0, <i32>n);
  }
}

/** The mount of `vh` whose mountpoint covers the path at p (n bytes), or -1. */
export function findMount(vh: Vhost, p: usize, n: u32): i32 {
  let best: i32 = -1;
  let bestLen: i32 = -1;
  for (let i = 0; i < vh.mounts.length; i++) {
    const m = unchecked(vh.mounts[i]);
    const mp = m.mountpoint;
    let k = mp.length;
    if (k > 1 && mp.charCodeAt(k - 1) == 0x2f) k--; // "/docs/" is "/docs"
    if (k > <i32>n || k <= bestLen) continue;
    let same = true;
    for (let j = 0; j < k; j++) {
      if (<u32>mp.charCodeAt(j) != <u32>load<u8>(p + j)) {
        same = false;
        break;
      }
    }
    if (!same) continue;
    // a segment boundary: the whole path, a "/" next, or the root mount
    if (k == 1 || <u32>k == n || load<u8>(p + k) == 0x2f) {
      best = i;
      bestLen = k;
    }
  }
  return best;
}

/** Length of the mountpoint as matched (without a trailing "/"). */
function matchedLen(m: Mount): u32 {
  const k = m.mountpoint.length;
  return <u32>(k > 1 && m.mountpoint.charCodeAt(k - 1) == 0x2f ? k - 1 : k);
}

// ---- answers --------------------------------------------------------------------

const EMPTY = new ArrayBuffer(0);
// Work areas of one answer: the free end of the connection's own header
// buffer, after the raw request bytes (nothing static): the decoded file
// path, then the extra header lines (ETag, Cache-Control, Location).
let pathBuf: usize = 0;
let PATH_MAX: u32 = 0;
let hdrBuf: usize = 0;
let HDR_MAX: u32 = 0;

function useScratch(c: Conn): void {
  const space = httpRxSpace(c);
  PATH_MAX = space >> 1 < 512 ? space >> 1 : 512;
  pathBuf = httpRxPtr(c);
  hdrBuf = pathBuf + PATH_MAX;
  HDR_MAX = space - PATH_MAX;
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
      const h = hexVal(load<u8>(p + i + 1));
      const l = hexVal(load<u8>(p + i + 2));
      if (h < 0 || l < 0) return -400;
      b = <u32>((h << 4) | l);
      if (b == 0x2f || b == 0) return -400;
      i += 2;
    }
    if (o >= PATH_MAX) return -414;
    store<u8>(pathBuf + o++, <u8>b);
  }
  return <i32>o;
}

function hexVal(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return <i32>l - 0x57;
  return -1;
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
  if (prefixLen + restLen + 1 + 12 > HDR_MAX) return httpAppError(c, 414);
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
  const raw = rawOf(c);
  const table = tableOf(c);
  const head = headOf(c);
  for (let i: u32 = 0; i < head.headerCount; i++) {
    if (!headerIs(raw, table, i, H_IF_NONE_MATCH, 13)) continue;
    const v = headerValuePtr(raw, table, i);
    const n = headerValueLen(table, i);
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

/** "if-none-match" */
const H_IF_NONE_MATCH = memory.data<u8>([0x69, 0x66, 0x2d, 0x6e, 0x6f, 0x6e, 0x65, 0x2d, 0x6d, 0x61, 0x74, 0x63, 0x68]);

/** The core's answer for MOUNT_FILE and MOUNT_REDIR_* mounts (the
 *  connection's HTTP handler while F_MOUNT flags the request). */
class MountServer extends Protocol {
  constructor() { super("mote-mount", 0); }

  http(c: Conn): i32 {
    const vh = vhostOf(c);
    const head = headOf(c);
    const p = rawOf(c) + head.pathOff;
    const n = head.pathLen;
    useScratch(c);
    const mi = findMount(vh, p, n);
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
    const len = m.originBytes.byteLength;
    memory.copy(pathBuf, changetype<usize>(m.originBytes), len);
    const d = decodePath(p + k, n - k, <u32>len);
    if (d < 0) return httpAppError(c, <u32>-d);
    let o = <u32>d;
    if (o == 0 || load<u8>(pathBuf + o - 1) == 0x2f) {
      if (o == 0) store<u8>(pathBuf + o++, 0x2f);
      const dn = <u32>m.defBytes.byteLength;
      if (o + dn > PATH_MAX) return httpAppError(c, 414);
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
  if (<u32>f.etag.length + 8 + <u32>m.cacheLine.byteLength > HDR_MAX) return httpAppError(c, 431);
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
