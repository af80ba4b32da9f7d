// A read-only file system of blobs linked into the module (the app's www/
// folder, turned into data segments by the build). Files are served straight
// from module memory: no copy, no allocation per request.

export class VfsFile {
  /** etag: the entity tag (RFC 9110 section 8.8.3, quoted) the build made
   *  from the file's SHA-256, or "" (then no ETag is sent). */
  constructor(public path: string, public ptr: usize, public len: u32, public mime: string, public etag: string = "") {}
}

const files: VfsFile[] = [];

/** Called by the generated assets module at start-up. */
export function vfsAdd(path: string, ptr: usize, len: u32, mime: string, etag: string = ""): void {
  files.push(new VfsFile(path, ptr, len, mime, etag));
}

/** The file whose path equals the bytes at p (length n), or null. */
export function vfsFind(p: usize, n: u32): VfsFile | null {
  for (let i = 0; i < files.length; i++) {
    const f = unchecked(files[i]);
    const s = changetype<usize>(f.path);
    if (<u32>f.path.length != n) continue;
    let same = true;
    for (let k: u32 = 0; k < n; k++) {
      if (<u32>load<u16>(s + (<usize>k << 1)) != <u32>load<u8>(p + k)) {
        same = false;
        break;
      }
    }
    if (same) return f;
  }
  return null;
}
