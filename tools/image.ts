// App images and the image store, host side: the device key, the tag of an
// image (HMAC-SHA256(key, image)), the signed upload manifest, provisioning a
// store file (the simulator's --flash file, the QEMU board's flash region)
// and uploading a new image to a running device (PUT /.mote/image).
//
// The store layout is the IMG_* constants of src/abi/constants.ts, which
// platform/common/image_store.c reads: defined once.
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import * as C from "../src/abi/constants";
import { Board } from "./boards";

const ROOT = path.resolve(__dirname, "..");
/** The default device key: made on first use, never committed (build/ is
 *  git-ignored). A real device gets its own (`--image-key FILE`). */
export const DEFAULT_KEY_FILE = path.join(ROOT, "build/keys/image.key");

/** The key in a key file (64 hex digits); makes DEFAULT_KEY_FILE when
 *  it is the one asked for and missing. */
export function readKey(file = DEFAULT_KEY_FILE): Buffer {
  if (!fs.existsSync(file)) {
    if (path.resolve(file) !== DEFAULT_KEY_FILE) throw new Error(`image key ${file} does not exist`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, crypto.randomBytes(C.IMG_TAG_BYTES).toString("hex") + "\n", { mode: 0o600 });
  }
  const text = fs.readFileSync(file, "utf8").trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new Error(`image key ${file} must hold 64 hex digits (32 bytes)`);
  return Buffer.from(text, "hex");
}

export function imageTag(key: Buffer, image: Buffer): Buffer {
  return crypto.createHmac("sha256", key).update(image).digest();
}

/** The device id a key names (IMG_MAN_DEVICE): HMAC-SHA256(key, "mote
 *  device id"), truncated. With one key per device it names the device; an
 *  upload made for another device is refused before anything is erased. */
export function deviceId(key: Buffer): Buffer {
  return crypto.createHmac("sha256", key).update("mote device id").digest().subarray(0, C.IMG_DEVICE_ID_BYTES);
}

let lastVersion = 0;

/** A version above the last this process used and at least the time in
 *  seconds: newer builds get larger numbers without a counter to keep. */
export function nextVersion(): number {
  lastVersion = Math.max(lastVersion + 1, Math.floor(Date.now() / 1000));
  return lastVersion;
}

/** The signed upload manifest (IMG_MAN_*) of `image` for the device of `key`. */
export function makeManifest(key: Buffer, image: Buffer, version: number, device = deviceId(key)): Buffer {
  const m = Buffer.alloc(C.IMG_MAN_BYTES);
  m.writeUInt32LE(C.IMG_MAN_MAGIC, 0);
  m.writeUInt32LE(image.length, C.IMG_MAN_LEN);
  m.writeUInt32LE(version >>> 0, C.IMG_MAN_VERSION);
  device.copy(m, C.IMG_MAN_DEVICE);
  crypto.createHash("sha256").update(image).digest().copy(m, C.IMG_MAN_SHA256);
  crypto.createHmac("sha256", key).update(m.subarray(0, C.IMG_MAN_HMAC)).digest().copy(m, C.IMG_MAN_HMAC);
  return m;
}

function storeGeometry(board: Board): { slotBytes: number; eraseBytes: number } {
  if (!board.imageStore) throw new Error(`board '${board.name}' has no imageStore section`);
  return board.imageStore;
}

/** A whole store (2 slots, erased = 0xff) with `image` in slot 0 at
 *  sequence 1: what a factory writes before the first boot. */
export function provisionStore(board: Board, image: Buffer, key: Buffer): Buffer {
  const { slotBytes } = storeGeometry(board);
  if (image.length > slotBytes - C.IMG_HDR_BYTES)
    throw new Error(`the image (${image.length} bytes) is larger than a slot of ${board.name} (${slotBytes - C.IMG_HDR_BYTES} bytes)`);
  const store = Buffer.alloc(2 * slotBytes, 0xff);
  const h = store.subarray(0, C.IMG_HDR_BYTES);
  h.writeUInt32LE(C.IMG_MAGIC, C.IMG_HDR_MAGIC);
  h.writeUInt32LE(C.IMG_FORMAT, C.IMG_HDR_FORMAT);
  h.writeUInt32LE(1, C.IMG_HDR_SEQ);
  h.writeUInt32LE(image.length, C.IMG_HDR_LEN);
  h.writeUInt32LE(C.IMG_TAG_HMAC_SHA256, C.IMG_HDR_TAG_TYPE);
  imageTag(key, image).copy(h, C.IMG_HDR_TAG);
  h.writeUInt32LE(0, C.IMG_HDR_VERSION); // any upload's version is above it
  image.copy(store, C.IMG_HDR_BYTES);
  return store;
}

/** Writes a provisioned store file unless `file` already is a store of the
 *  right size (its contents are the device's: they persist). True when written. */
export function ensureStoreFile(file: string, board: Board, image: Buffer, key: Buffer): boolean {
  const want = 2 * storeGeometry(board).slotBytes;
  if (fs.existsSync(file) && fs.statSync(file).size === want) return false;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, provisionStore(board, image, key));
  return true;
}

/** What the running image and each slot hold, read from a store file. */
export function describeStore(file: string, board: Board): { slot: number; seq: number; len: number; revoked: boolean; version: number }[] {
  const { slotBytes } = storeGeometry(board);
  const b = fs.readFileSync(file);
  const out = [];
  for (let s = 0; s < 2; s++) {
    const h = b.subarray(s * slotBytes, s * slotBytes + C.IMG_HDR_BYTES);
    if (h.readUInt32LE(C.IMG_HDR_MAGIC) !== C.IMG_MAGIC) continue;
    out.push({
      slot: s,
      seq: h.readUInt32LE(C.IMG_HDR_SEQ),
      len: h.readUInt32LE(C.IMG_HDR_LEN),
      revoked: h.readUInt32LE(C.IMG_HDR_REVOKED) !== 0xffffffff,
      version: h.readUInt32LE(C.IMG_HDR_VERSION) === 0xffffffff ? 0 : h.readUInt32LE(C.IMG_HDR_VERSION),
    });
  }
  return out;
}

export interface UploadResult {
  status: number;
  body: string;
}

export interface UploadOptions {
  /** The manifest's version (default nextVersion()). */
  version?: number;
  /** A manifest to send instead of the one made from key and image (tests
   *  send wrong ones). */
  manifest?: Buffer;
  timeoutMs?: number;
}

/** PUT /.mote/image with the image's manifest, signed with `key` (null and
 *  no opts.manifest: none is sent). */
export function uploadImage(host: string, port: number, image: Buffer, key: Buffer | null, opts: UploadOptions = {}): Promise<UploadResult> {
  const timeoutMs = opts.timeoutMs ?? 20000;
  return new Promise((resolve, reject) => {
    // 100-continue: a refused upload (a wrong key, an old version, a back-off)
    // is answered before its body is sent
    const headers: Record<string, string | number> = { "Content-Length": image.length, "Content-Type": "application/wasm", Expect: "100-continue" };
    const m = opts.manifest ?? (key ? makeManifest(key, image, opts.version ?? nextVersion()) : null);
    if (m) headers["X-Mote-Image-Manifest"] = m.toString("hex");
    const req = http.request({ host, port, method: "PUT", path: "/.mote/image", headers, agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode || 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`upload to ${host}:${port} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.on("continue", () => req.end(image));
  });
}
