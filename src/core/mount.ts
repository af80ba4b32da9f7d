// Mounts (lws_http_mount): URL prefixes of a vhost served by the core itself
// (files, redirects: src/http/files.ts) or handed to one of the vhost's
// protocols. This file holds their configuration, built once at start-up.
//
// A request's path picks the mount with the longest mountpoint that is a
// prefix of it at a segment boundary ("/docs" covers "/docs" and "/docs/a",
// not "/docsx"; "/" covers everything). No mount: the vhost's protocol 0
// answers, as without mounts. WebSocket upgrades are not routed by mounts:
// the subprotocol picks the protocol (src/ws/handshake.ts).

import { putAscii, putDecimal } from "../util/bytes";

/** lws LWSMPRO_FILE: files from the linked-in file system under `origin`. */
export const MOUNT_FILE: u32 = 0;
/** lws LWSMPRO_CALLBACK: the vhost protocol named by `origin` answers. */
export const MOUNT_CALLBACK: u32 = 1;
/** lws LWSMPRO_REDIR_HTTP / _HTTPS: 301 to http(s)://origin + the rest. */
export const MOUNT_REDIR_HTTP: u32 = 2;
export const MOUNT_REDIR_HTTPS: u32 = 3;

const EMPTY = new ArrayBuffer(0);

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

/** The mount (of a vhost's `mounts`) whose mountpoint covers the path at p
 *  (n bytes): its index, or -1. */
export function findMount(mounts: Mount[], p: usize, n: u32): i32 {
  let best: i32 = -1;
  let bestLen: i32 = -1;
  for (let i = 0; i < mounts.length; i++) {
    const m = unchecked(mounts[i]);
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
export function matchedLen(m: Mount): u32 {
  const k = m.mountpoint.length;
  return <u32>(k > 1 && m.mountpoint.charCodeAt(k - 1) == 0x2f ? k - 1 : k);
}
