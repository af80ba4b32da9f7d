// The core's app-image upload endpoint: PUT /.mote/image, served on every
// vhost when the port keeps an image store (INIT_IMAGE_STORE; wasm3 builds
// with a store), before the app's own HTTP handler sees the request.
//
//   PUT /.mote/image HTTP/1.1
//   Content-Length: <image bytes>            (required: chunked gets 411)
//   X-Mote-Image-Manifest: <168 hex digits>  the signed manifest (IMG_MAN_*)
//
// The port checks the manifest before anything is erased (image_begin: its
// HMAC under the device key, the device, a version above every one in the
// store, the length); then the body streams into the store's inactive slot
// (image_write) as it arrives, nothing buffered here; at the end the port
// checks the bytes against the manifest's SHA-256 and the format
// (image_finish): the core being replaced never vouches for its successor.
// Answers:
//   200  committed; the connection closes and the new image starts (the old
//        one again if it fails to start)
//   400  malformed manifest, one that does not describe the request, or
//        the body ended short
//   401  no manifest               403  manifest not signed with this
//        device's key, or for another device, or the bytes differ from it
//   404  no store on this device   405  not PUT
//   409  another upload or a switch in progress, or the version is not
//        newer than the installed one (a replay or a rollback)
//   411  no Content-Length         413  larger than a slot
//   422  authorised but not a module this engine loads
//   429  refused manifests came too fast: Retry-After (1 s, doubling to 64 s)
//   500  flash failure
// A refused or truncated upload leaves the running image serving: the
// inactive slot is erased only for an authorised upload, and only ever gets
// a header once its image has been checked.

import {
  IMG_OK, IMG_ERR_NO_STORE, IMG_ERR_TOO_BIG, IMG_ERR_BUSY, IMG_ERR_FLASH, IMG_ERR_TAG, IMG_ERR_FORMAT,
  IMG_ERR_SHORT, IMG_ERR_AUTH, IMG_ERR_DEVICE, IMG_ERR_ROLLBACK, IMG_ERR_RATE, IMG_MAN_BYTES, IMG_MAN_MAGIC, IMG_MAN_LEN,
  LOG_NOTICE,
} from "../abi/constants";
import { image_begin, image_write, image_finish, image_abort, image_activate } from "../abi/imports";
import { F_KEEPALIVE } from "../core/record";
import { Conn, WRITE_HTTP_FINAL } from "../core/conn";
import { putAscii, putDecimal } from "../util/bytes";
import { Protocol } from "../core/protocol";
import { logStart } from "../core/log";
import { hexValue } from "./tokens";
import { METHOD_PUT } from "./head";
import { headOf } from "./hdrbuf";
import { httpFail } from "./response";

export const IMAGE_PATH = "/.mote/image";
const NOBODY: u32 = 0xffffffff;

/** HTTP status for an IMG_ERR_* result. */
export function imageErrorStatus(r: i32): u32 {
  switch (r) {
    case IMG_ERR_NO_STORE: return 404;
    case IMG_ERR_TOO_BIG: return 413;
    case IMG_ERR_BUSY: return 409;
    case IMG_ERR_TAG: return 403;
    case IMG_ERR_AUTH: return 403;
    case IMG_ERR_DEVICE: return 403;
    case IMG_ERR_ROLLBACK: return 409;
    case IMG_ERR_RATE: return 429;
    case IMG_ERR_FORMAT: return 422;
    case IMG_ERR_SHORT: return 400;
    case IMG_ERR_FLASH: return 500;
  }
  return 500;
}

const manifest = memory.data(IMG_MAN_BYTES);
const retryAfter = memory.data(32);

/** The manifest header's hex digits into `manifest`. */
function parseManifest(p: usize, n: u32): bool {
  if (n != <u32>IMG_MAN_BYTES * 2) return false;
  for (let i: u32 = 0; i < <u32>IMG_MAN_BYTES; i++) {
    const hi = hexValue(load<u8>(p + 2 * i));
    const lo = hexValue(load<u8>(p + 2 * i + 1));
    if (hi > 15 || lo > 15) return false;
    store<u8>(manifest + i, <u8>((hi << 4) | lo));
  }
  return true;
}

class ImageUpload extends Protocol {
  /** The connection whose upload is in progress, or NOBODY. */
  owner: u32 = NOBODY;
  offset: u32 = 0;
  length: u32 = 0;
  /** The connection whose image the store committed: switch once its
   *  answer is out (when it closes), or NOBODY. */
  committedBy: u32 = NOBODY;

  constructor() {
    super("mote-image-upload");
  }

  /** Every refusal answers and closes at once, whatever of the body is
   *  still to come: an image upload is never worth reading on. */
  refuse(c: Conn, status: u32, extra: string | null = null, extraRaw: usize = 0, extraRawLen: u32 = 0): i32 {
    if (this.owner == c.id) {
      image_abort();
      this.owner = NOBODY;
    }
    httpFail(c, status, extra, extraRaw, extraRawLen);
    return 0;
  }

  fail(c: Conn, r: i32): i32 {
    if (r == IMG_ERR_RATE) {
      // the port's seconds to wait (image_begin), formatted without
      // allocating: refusals may come by the thousand
      let n = putAscii(retryAfter, "Retry-After: ");
      n += putDecimal(retryAfter + n, load<u32>(manifest));
      n += putAscii(retryAfter + n, "\r\n");
      return this.refuse(c, 429, null, retryAfter, n);
    }
    return this.refuse(c, imageErrorStatus(r));
  }

  http(c: Conn): i32 {
    if (c.method() != METHOD_PUT) return this.refuse(c, 405, "Allow: PUT\r\n");
    const mp = c.header("X-Mote-Image-Manifest");
    if (mp == 0) return this.refuse(c, 401, "WWW-Authenticate: Mote-Image-Manifest alg=HMAC-SHA256\r\n");
    if (!parseManifest(mp, c.headerLen()) || load<u32>(manifest) != <u32>IMG_MAN_MAGIC) return this.refuse(c, 400);
    const head = headOf(c);
    if (head.chunked || head.contentLength <= 0) return this.refuse(c, 411);
    if (this.owner != NOBODY || this.committedBy != NOBODY) return this.fail(c, IMG_ERR_BUSY);
    const len = <u32>head.contentLength; // <= MAX_BODY: checked before http()
    if (load<u32>(manifest + IMG_MAN_LEN) != len) return this.refuse(c, 400); // describes another request
    const r = image_begin(len, manifest, IMG_MAN_BYTES);
    if (r != IMG_OK) return this.fail(c, r);
    this.owner = c.id;
    this.offset = 0;
    this.length = len;
    return 0;
  }

  httpBody(c: Conn, data: usize, len: u32): i32 {
    if (this.owner != c.id) return 0;
    const r = image_write(this.offset, data, len);
    if (r != IMG_OK) return this.fail(c, r);
    this.offset += len;
    return 0;
  }

  httpBodyCompletion(c: Conn): i32 {
    if (this.owner != c.id) return 0;
    this.owner = NOBODY;
    const r = image_finish();
    if (r != IMG_OK) return this.fail(c, r);
    this.committedBy = c.id;
    logStart(LOG_NOTICE).s("image upload: ").u(this.length).s(" bytes accepted; switching once answered").end();
    c.flags &= ~F_KEEPALIVE; // the switch drops every connection: say so
    const msg = "image accepted; switching\n";
    if (c.httpRespond(200, "text/plain", msg.length, null) < 0) return -1;
    const tmp = String.UTF8.encode(msg);
    return c.writeFrom(changetype<usize>(tmp), tmp.byteLength, WRITE_HTTP_FINAL) < 0 ? -1 : 0;
  }

  closedHttp(c: Conn): void {
    if (this.owner == c.id) {
      // truncated: the peer left before the whole body came
      image_abort();
      this.owner = NOBODY;
    }
    if (this.committedBy == c.id) {
      this.committedBy = NOBODY;
      image_activate();
    }
  }
}

let upload: ImageUpload | null = null;

export function imageUploadProtocol(): Protocol {
  if (upload == null) upload = new ImageUpload();
  return changetype<Protocol>(upload);
}
