// Raw WebSocket peers for the hostile suites: they speak just enough of
// RFC 6455 to misbehave (never read, stay silent, stop inside a frame).
import * as net from "net";
import * as crypto from "crypto";

/** A masked client frame (RFC 6455 5.2); `declared` overrides the length
 *  field (a frame that promises more than it sends). */
export function frame(opcode: number, payload: Buffer, fin = true, declared = payload.length): Buffer {
  const head: number[] = [(fin ? 0x80 : 0) | opcode];
  if (declared < 126) head.push(0x80 | declared);
  else if (declared < 65536) head.push(0x80 | 126, declared >> 8, declared & 255);
  else {
    head.push(0x80 | 127, 0, 0, 0, 0);
    head.push((declared >>> 24) & 255, (declared >>> 16) & 255, (declared >>> 8) & 255, declared & 255);
  }
  const mask = crypto.randomBytes(4);
  const out = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([Buffer.from(head), mask, out]);
}

export interface Peer {
  sock: net.Socket;
  /** Bytes received after the 101 (server frames). */
  rx: () => Buffer;
  closed: () => boolean;
  /** Resolves when the server closes the TCP connection (false on timeout). */
  waitClosed: (ms: number) => Promise<boolean>;
}

/** Opens a WebSocket on a raw socket (protocol `echo` by default) and
 *  resolves once the 101 arrived. */
export function rawWs(port: number, protocol = "echo", ms = 8000): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    let open = false;
    let isClosed = false;
    const waiters: (() => void)[] = [];
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error("WebSocket upgrade timed out"));
    }, ms);
    sock.on("error", () => {});
    sock.on("close", () => {
      isClosed = true;
      waiters.splice(0).forEach((w) => w());
      if (!open) {
        clearTimeout(t);
        reject(new Error(`closed before the 101: ${buf.toString("latin1").slice(0, 80)}`));
      }
    });
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (open) return;
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1");
      if (!head.startsWith("HTTP/1.1 101")) {
        clearTimeout(t);
        sock.destroy();
        reject(new Error(`no 101: ${head.split("\r\n")[0]}`));
        return;
      }
      open = true;
      buf = buf.subarray(end + 4);
      clearTimeout(t);
      resolve({
        sock,
        rx: () => buf,
        closed: () => isClosed,
        waitClosed: (wait) =>
          new Promise((res) => {
            if (isClosed) return res(true);
            const tt = setTimeout(() => res(false), wait);
            waiters.push(() => {
              clearTimeout(tt);
              res(true);
            });
          }),
      });
    });
    sock.on("connect", () => {
      sock.write(
        `GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
      );
    });
  });
}

/** Server frames in b (unmasked): opcode and payload of each whole one. */
export function serverFrames(b: Buffer): { opcode: number; payload: Buffer }[] {
  const out: { opcode: number; payload: Buffer }[] = [];
  let o = 0;
  while (o + 2 <= b.length) {
    let len = b[o + 1] & 0x7f;
    let h = 2;
    if (len === 126) {
      if (o + 4 > b.length) break;
      len = b.readUInt16BE(o + 2);
      h = 4;
    } else if (len === 127) {
      if (o + 10 > b.length) break;
      len = Number(b.readBigUInt64BE(o + 2));
      h = 10;
    }
    if (o + h + len > b.length) break;
    out.push({ opcode: b[o] & 15, payload: b.subarray(o + h, o + h + len) });
    o += h + len;
  }
  return out;
}

/** The close code of the first close frame in b, or undefined. */
export function closeCodeIn(b: Buffer): number | undefined {
  const f = serverFrames(b).find((x) => x.opcode === 8);
  return f && f.payload.length >= 2 ? f.payload.readUInt16BE(0) : f ? 1005 : undefined;
}
