// A TypeScript port for the core: runs the real module in Node over an
// in-memory network, deterministically (time advances only by tick()).
// It implements the same imports as the C ports and checks every pointer.
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import * as C from "../../src/abi/constants";
import { hostImports } from "../../tools/abi";

export interface Limits {
  maxConns: number;
  rxBuf: number;
  hdrPool: number;
  hdrBytes: number;
  txBlocks: number;
  txBlockBytes: number;
  logLevel: number;
  maxMessage: number;
  /** LIM_KA_*: keepalive for every listener (seconds; kaTime 0: the vhosts'). */
  kaTime?: number;
  kaProbes?: number;
  kaInterval?: number;
  /** LIM_TX_CONN_BYTES: one connection's output cap (0: the core's default). */
  txConnBytes?: number;
  /** LIM_WS_*: WebSocket ping / hangup / message timeouts, seconds (0: never). */
  wsPing?: number;
  wsHangup?: number;
  wsMessage?: number;
  /** LIM_PEER_CONNS: the vhosts' default per-peer limit (sock_listen flags). */
  peerConns?: number;
  /** LIM_PORT: the default vhost's port from the command line (0: its own; C.PORT_ANY). */
  port?: number;
  /** INIT_DEFLATE: the host offers its DEFLATE codec (HostCodec) to the core. */
  deflate?: boolean;
}

export const DEFAULT_LIMITS: Limits = {
  maxConns: 16,
  rxBuf: 4096,
  hdrPool: 4,
  hdrBytes: 4096,
  txBlocks: 64,
  txBlockBytes: 1024,
  logLevel: C.LOG_ERR | C.LOG_WARN,
  maxMessage: 1 << 20,
};

export class FakeConn {
  out: Buffer[] = []; // bytes the core sent
  closed: false | "abort" | "graceful" = false;
  wantWritable = false;
  rxPaused = false;
  /** How many bytes the "socket" takes per send (Infinity: all). */
  sendWindow = Infinity;
  constructor(public id: number) {}
  take(): Buffer {
    const b = Buffer.concat(this.out);
    this.out = [];
    return b;
  }
}

const Z_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** The Node host's side of the z_* imports, per connection. Deterministic
 *  and simple rather than fast (unit tests move kilobytes):
 *  - inflate keeps the connection's whole compressed stream (context
 *    takeover; dropped after each message under Z_RX_NO_CONTEXT) and
 *    re-inflates it with Node's zlib, handing out what is new;
 *  - deflate emits stored blocks (valid DEFLATE, no context needed), each
 *    call ending with a sync-flush marker (an empty stored block) whose
 *    last 4 bytes are stripped at the message's end (RFC 7692 7.2.1).
 *  Output waits in `pending` and leaves in pieces of at most outCap. */
export class HostCodec {
  rxHist: Buffer[] = [];
  rxMade = 0;
  rxTail = false; // this message's tail is in rxHist
  rxPending = Buffer.alloc(0);
  txPending = Buffer.alloc(0);
  txFinalQueued = false;
  /** The deflater's memLevel the core asked for (z_open flags, Z_MEM_LEVEL_SHIFT). */
  memLevel: number;
  constructor(public rxBits: number, public txBits: number, public flags: number) {
    this.memLevel = (flags >>> C.Z_MEM_LEVEL_SHIFT) & 15;
    this.flags = flags & ((1 << C.Z_MEM_LEVEL_SHIFT) - 1);
  }

  inflate(input: Uint8Array, final: boolean): { r: number; out: Buffer; consumed: number } {
    if (input.length > 0) this.rxHist.push(Buffer.from(input));
    if (final && !this.rxTail) {
      this.rxHist.push(Z_TAIL);
      this.rxTail = true;
    }
    if (input.length > 0 || final) {
      let all: Buffer;
      try {
        all = zlib.inflateRawSync(Buffer.concat(this.rxHist), { finishFlush: zlib.constants.Z_SYNC_FLUSH, windowBits: 15 });
      } catch {
        return { r: C.Z_ERR_DATA, out: Buffer.alloc(0), consumed: input.length };
      }
      this.rxPending = Buffer.concat([this.rxPending, all.subarray(this.rxMade)]);
      this.rxMade = all.length;
    }
    return { r: C.Z_DONE, out: Buffer.alloc(0), consumed: input.length };
  }

  /** After inflate(): the next piece of output; Z_MORE while more waits. */
  takeRx(cap: number, final: boolean): { r: number; out: Buffer } {
    const out = this.rxPending.subarray(0, cap);
    this.rxPending = this.rxPending.subarray(out.length);
    if (this.rxPending.length > 0) return { r: C.Z_MORE, out };
    if (final) {
      this.rxTail = false;
      if (this.flags & C.Z_RX_NO_CONTEXT) {
        this.rxHist = [];
        this.rxMade = 0;
      }
    }
    return { r: C.Z_DONE, out };
  }

  deflate(input: Uint8Array, final: boolean, cap: number): { r: number; out: Buffer; consumed: number } {
    if (!this.txFinalQueued) {
      const parts: Buffer[] = [];
      for (let o = 0; o < input.length; o += 65535) {
        const n = Math.min(65535, input.length - o);
        parts.push(Buffer.from([0x00, n & 255, n >> 8, ~n & 255, (~n >> 8) & 255]), Buffer.from(input.subarray(o, o + n)));
      }
      parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff])); // the sync flush: an empty stored block
      let b = Buffer.concat(parts);
      if (final) b = b.subarray(0, b.length - 4);
      this.txPending = Buffer.concat([this.txPending, b]);
      this.txFinalQueued = true; // input taken: later calls (Z_MORE) only drain
    }
    const out = this.txPending.subarray(0, cap);
    this.txPending = this.txPending.subarray(out.length);
    if (this.txPending.length > 0) return { r: C.Z_MORE, out, consumed: input.length };
    this.txFinalQueued = false;
    return { r: C.Z_DONE, out, consumed: input.length };
  }
}

export interface HostOptions {
  /** sock_tls succeeds (records what it was given) instead of ENOSYS. */
  tls?: boolean;
  /** sock_listen ignores the interface, as a board with one does: a port
   *  listened on already answers with that listener. */
  oneInterface?: boolean;
}

/** One sock_tls call: its options block decoded (TLS_OPT_* -> values). */
export interface TlsCall {
  listener: number;
  vhost: number;
  opts: Map<number, string[]>;
}

export class Host {
  inst!: WebAssembly.Instance;
  mem!: WebAssembly.Memory;
  conns = new Map<number, FakeConn>();
  logs: { level: number; text: string }[] = [];
  listens: number[] = [];
  /** The interface each sock_listen named ("": the port's default). */
  listenIfaces: string[] = [];
  keepalives: { listener: number; timeS: number; probes: number; intervalS: number }[] = [];
  tlsCalls: TlsCall[] = [];
  /** sock_connect calls (the client role): host, port, flags, the handle given. */
  connects: { host: string; port: number; flags: number; id: number }[] = [];
  /** sock_connect answers this negative errno instead (0: connect). */
  connectFails = 0;
  private tls = false;
  /** sock_listen answers with the open listener of a port asked for again
   *  (HostOptions.oneInterface). */
  private oneInterface = false;
  /** Open DEFLATE codecs by connection (z_open .. z_close). */
  codecs = new Map<number, HostCodec>();
  /** z_open answers this instead of opening (tests of the no-memory path). */
  zOpenFails = 0;
  now = 1000;
  private ex: any;

  static async create(wasm: Buffer, limits: Partial<Limits> = {}, opts: HostOptions = {}): Promise<Host> {
    const h = new Host();
    h.tls = !!opts.tls;
    h.oneInterface = !!opts.oneInterface;
    await h.instantiate(wasm, { ...DEFAULT_LIMITS, ...limits });
    return h;
  }

  private check(ptr: number, len: number) {
    const size = this.mem.buffer.byteLength;
    if (ptr < 0 || len < 0 || ptr > size || len > size - ptr) throw new Error(`bad pointer ${ptr}+${len} (memory ${size})`);
  }

  private bytes(ptr: number, len: number): Uint8Array {
    this.check(ptr >>> 0, len >>> 0);
    return new Uint8Array(this.mem.buffer, ptr >>> 0, len >>> 0);
  }

  private async instantiate(wasm: Buffer, l: Limits) {
    // the import list and its pointer checks come from src/abi/imports.ts
    // (tools/abi.ts), as the C engines' do: a missing or extra import throws
    const env = hostImports({
      abort: (msg: number, file: number, line: number, col: number) => {
        throw new Error(`abort at ${this.asString(file)}:${line}:${col}: ${this.asString(msg)}`);
      },
      sock_listen: (port: number, ifacePtr: number, ifaceLen: number) => {
        const iface = Buffer.from(this.bytes(ifacePtr, ifaceLen)).toString("utf8");
        // as a board with one interface: a port already listened on is shared
        const open = this.oneInterface && port !== 0 ? this.listens.indexOf(port) : -1;
        if (open >= 0) return open;
        this.listens.push(port);
        this.listenIfaces.push(iface);
        return this.listens.length - 1;
      },
      sock_tls: (listener: number, vhost: number, ptr: number, len: number) => {
        if (!this.tls) return -38; // ENOSYS: the Node host has no TLS unless asked
        const b = Buffer.from(this.bytes(ptr, len));
        const opts = new Map<number, string[]>();
        for (let at = 0; at < b.length; ) {
          if (b.length - at < 3) throw new Error(`sock_tls: record header cut at ${at} of ${b.length}`);
          const kind = b[at], n = b.readUInt16LE(at + 1);
          if (at + 3 + n > b.length) throw new Error(`sock_tls: record ${kind} overruns the block`);
          opts.set(kind, [...(opts.get(kind) || []), b.toString("utf8", at + 3, at + 3 + n)]);
          at += 3 + n;
        }
        this.tlsCalls.push({ listener, vhost, opts });
        return 0;
      },
      sock_connect: (ptr: number, len: number, port: number, flags: number) => {
        const host = Buffer.from(this.bytes(ptr, len)).toString("utf8");
        if (this.connectFails) return this.connectFails;
        let id = 0;
        while (this.conns.has(id)) id++;
        this.conns.set(id, new FakeConn(id));
        this.connects.push({ host, port, flags, id });
        return id;
      },
      sock_keepalive: (listener: number, timeS: number, probes: number, intervalS: number) => {
        this.keepalives.push({ listener, timeS, probes, intervalS });
        return 0;
      },
      sock_send: (id: number, ptr: number, len: number) => {
        const c = this.conns.get(id);
        if (!c || c.closed) return -1;
        const n = Math.min(len, c.sendWindow);
        c.out.push(Buffer.from(this.bytes(ptr, n)));
        if (c.sendWindow !== Infinity) c.sendWindow -= n;
        return n;
      },
      sock_want_writable: (id: number, on: number) => {
        const c = this.conns.get(id);
        if (c) c.wantWritable = on !== 0;
      },
      sock_pause_rx: (id: number, paused: number) => {
        const c = this.conns.get(id);
        if (c) c.rxPaused = paused !== 0;
      },
      sock_close: (id: number, mode: number) => {
        const c = this.conns.get(id);
        if (c) c.closed = mode === C.CLOSE_GRACEFUL ? "graceful" : "abort";
      },
      log_emit: (level: number, ptr: number, len: number) => {
        this.logs.push({ level, text: Buffer.from(this.bytes(ptr, len)).toString("latin1") });
      },
      random_fill: (ptr: number, len: number) => {
        const b = this.bytes(ptr, len);
        for (let i = 0; i < len; i++) b[i] = (Math.random() * 256) | 0;
      },
      // no image store in the unit host (INIT_IMAGE_STORE is never set)
      image_begin: () => C.IMG_ERR_NO_STORE,
      image_write: () => C.IMG_ERR_NO_STORE,
      image_finish: () => C.IMG_ERR_NO_STORE,
      image_abort: () => {},
      image_activate: () => {},
      z_open: (id: number, rxBits: number, txBits: number, flags: number) => {
        if (this.zOpenFails) return this.zOpenFails;
        if (rxBits < 8 || rxBits > 15 || txBits < 9 || txBits > 15) return C.Z_ERR_STATE;
        this.codecs.set(id, new HostCodec(rxBits, txBits, flags));
        return C.Z_DONE;
      },
      z_inflate: (id: number, inPtr: number, inLen: number, outPtr: number, outCap: number, flags: number, resPtr: number) => {
        const z = this.codecs.get(id);
        const input = this.bytes(inPtr, inLen);
        const out = this.bytes(outPtr, outCap);
        const res = this.bytes(resPtr, C.Z_RESULT_BYTES);
        if (!z || outCap === 0) return C.Z_ERR_STATE;
        const final = (flags & C.Z_FINAL) !== 0;
        const a = z.inflate(input, final);
        if (a.r < 0) return a.r;
        const b = z.takeRx(outCap, final);
        out.set(b.out);
        const dv = new DataView(this.mem.buffer);
        dv.setUint32(resPtr, a.consumed, true);
        dv.setUint32(resPtr + 4, b.out.length, true);
        void res;
        return b.r;
      },
      z_deflate: (id: number, inPtr: number, inLen: number, outPtr: number, outCap: number, flags: number, resPtr: number) => {
        const z = this.codecs.get(id);
        const input = this.bytes(inPtr, inLen);
        const out = this.bytes(outPtr, outCap);
        this.bytes(resPtr, C.Z_RESULT_BYTES);
        if (!z || outCap < 64) return C.Z_ERR_STATE;
        const d = z.deflate(input, (flags & C.Z_FINAL) !== 0, outCap);
        out.set(d.out);
        const dv = new DataView(this.mem.buffer);
        dv.setUint32(resPtr, d.consumed, true);
        dv.setUint32(resPtr + 4, d.out.length, true);
        return d.r;
      },
      z_close: (id: number) => {
        this.codecs.delete(id);
      },
    }, () => this.mem);
    const { instance } = await WebAssembly.instantiate(wasm, { env });
    this.inst = instance;
    this.ex = instance.exports;
    this.mem = this.ex.memory;
    const lp = this.ex.mote_limits_ptr() >>> 0;
    const dv = () => new DataView(this.mem.buffer);
    const put = (off: number, v: number) => dv().setUint32(lp + off, v >>> 0, true);
    put(C.LIM_MAX_CONNS, l.maxConns);
    put(C.LIM_RX_BUF, l.rxBuf);
    put(C.LIM_HDR_POOL, l.hdrPool);
    put(C.LIM_HDR_BYTES, l.hdrBytes);
    put(C.LIM_TX_BLOCKS, l.txBlocks);
    put(C.LIM_TX_BLOCK_BYTES, l.txBlockBytes);
    put(C.LIM_LOG_LEVEL, l.logLevel);
    put(C.LIM_MAX_MESSAGE, l.maxMessage);
    put(C.LIM_PORT, l.port ?? 0);
    put(C.LIM_FLAGS, l.deflate ? C.INIT_DEFLATE : 0);
    put(C.LIM_KA_TIME, l.kaTime ?? 0);
    put(C.LIM_KA_PROBES, l.kaProbes ?? 0);
    put(C.LIM_KA_INTERVAL, l.kaInterval ?? 0);
    put(C.LIM_TX_CONN_BYTES, l.txConnBytes ?? 0);
    put(C.LIM_WS_PING_S, l.wsPing ?? 0);
    put(C.LIM_WS_HANGUP_S, l.wsHangup ?? 0);
    put(C.LIM_WS_MESSAGE_S, l.wsMessage ?? 0);
    put(C.LIM_PEER_CONNS, l.peerConns ?? 0);
    const r = this.ex.mote_init(this.now);
    if (r !== 0) throw new Error(`mote_init failed: ${JSON.stringify(this.logs)}`);
  }

  asString(ptr: number): string {
    if (!ptr) return "";
    const len = new DataView(this.mem.buffer).getUint32(ptr - 4, true);
    return Buffer.from(this.bytes(ptr, len)).toString("utf16le");
  }

  /** A new connection on `listener`; `vhost`: the one a TLS port reports its
   *  handshake chose. Returns it, or null when refused. */
  accept(vhost: number = C.VHOST_ANY, listener = 0): FakeConn | null {
    let id = 0;
    while (this.conns.has(id)) id++;
    const c = new FakeConn(id);
    this.conns.set(id, c);
    const r = this.ex.mote_accepted(listener, id, vhost);
    if (r !== C.ACCEPT_OK) {
      this.conns.delete(id);
      return null;
    }
    return c;
  }

  /** The port's report that a client connection is up. */
  connected(c: FakeConn): void {
    this.ex.mote_connected(c.id);
  }

  /** The port's report that a client connection failed (errno). */
  connectFailed(c: FakeConn, reason: number): void {
    this.conns.delete(c.id);
    this.ex.mote_connect_failed(c.id, reason);
  }

  /** Delivers bytes as the port would: into mote_rx_buffer, at most
   *  mote_rx_space per read. Returns the number delivered (less when the core
   *  paused reading). */
  feed(c: FakeConn, data: Uint8Array | string, chunk = Infinity): number {
    const buf = typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data);
    let off = 0;
    while (off < buf.length && !c.closed) {
      const space = this.ex.mote_rx_space(c.id) >>> 0;
      if (space === 0) break;
      const n = Math.min(space, buf.length - off, chunk);
      const ptr = this.ex.mote_rx_buffer(c.id) >>> 0;
      this.bytes(ptr, n).set(buf.subarray(off, off + n));
      this.ex.mote_received(c.id, n);
      off += n;
      this.pump();
    }
    return off;
  }

  /** Where the core takes c's next bytes, and how many fit (mote_rx_buffer,
   *  mote_rx_space): for a connection in its HTTP phase, the free end of its
   *  header buffer. */
  rxArea(c: FakeConn): { ptr: number; space: number } {
    return { ptr: this.ex.mote_rx_buffer(c.id) >>> 0, space: this.ex.mote_rx_space(c.id) >>> 0 };
  }

  /** A copy of linear memory [ptr, ptr + len). */
  peek(ptr: number, len: number): Buffer {
    return Buffer.from(this.bytes(ptr, len));
  }

  /** Delivers writable events while the core wants them (bounded). */
  pump(rounds = 64) {
    for (let i = 0; i < rounds; i++) {
      let any = false;
      for (const c of this.conns.values()) {
        if (!c.closed && c.wantWritable && c.sendWindow > 0) {
          any = true;
          this.ex.mote_writable(c.id);
        }
      }
      if (!any) return;
    }
  }

  peerClose(c: FakeConn, reason = C.CLOSED_PEER) {
    this.ex.mote_closed(c.id, reason);
    c.closed = "abort";
    this.conns.delete(c.id);
  }

  /** Drops conns the core closed so their ids can be reused. */
  reap() {
    for (const [id, c] of this.conns) if (c.closed) this.conns.delete(id);
  }

  tick(ms: number): number {
    this.now = (this.now + ms) >>> 0;
    const r = this.ex.mote_tick(this.now) >>> 0;
    this.pump();
    return r;
  }

  shutdown(): number {
    return this.ex.mote_shutdown() >>> 0;
  }

  /** Heap top probe: allocates one 16-byte block per call (tests only). */
  heapProbe(): number {
    return this.ex.mote_heap_probe ? this.ex.mote_heap_probe() >>> 0 : -1;
  }
}

/** Frames a masked client WebSocket frame. */
export function clientFrame(opcode: number, payload: Uint8Array | string, fin = true, rsv = 0, mask = [0x37, 0xfa, 0x21, 0x3d]): Buffer {
  const p = typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
  const head: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  if (p.length < 126) head.push(0x80 | p.length);
  else if (p.length < 65536) head.push(0x80 | 126, p.length >> 8, p.length & 255);
  else {
    head.push(0x80 | 127);
    const hi = Math.floor(p.length / 2 ** 32);
    head.push(0, 0, 0, 0);
    head.splice(2, 4, (hi >>> 24) & 255, (hi >>> 16) & 255, (hi >>> 8) & 255, hi & 255);
    head.push((p.length >>> 24) & 255, (p.length >>> 16) & 255, (p.length >>> 8) & 255, p.length & 255);
  }
  const masked = Buffer.alloc(p.length);
  for (let i = 0; i < p.length; i++) masked[i] = p[i] ^ mask[i & 3];
  return Buffer.concat([Buffer.from(head), Buffer.from(mask), masked]);
}

export interface Frame {
  fin: boolean;
  /** RSV1: permessage-deflate's "compressed" bit (RFC 7692 section 6). */
  rsv1?: boolean;
  opcode: number;
  payload: Buffer;
}

/** Parses unmasked server frames; returns frames and leftover bytes. */
export function parseFrames(b: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let o = 0;
  while (b.length - o >= 2) {
    const b0 = b[o];
    const b1 = b[o + 1];
    if (b1 & 0x80) throw new Error("server frame is masked");
    let len = b1 & 127;
    let h = 2;
    if (len === 126) {
      if (b.length - o < 4) break;
      len = b.readUInt16BE(o + 2);
      h = 4;
    } else if (len === 127) {
      if (b.length - o < 10) break;
      len = Number(b.readBigUInt64BE(o + 2));
      h = 10;
    }
    if (b.length - o < h + len) break;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 15, payload: b.subarray(o + h, o + h + len) });
    o += h + len;
  }
  return { frames, rest: b.subarray(o) };
}

export const ROOT = path.resolve(__dirname, "../..");
export function readBuilt(rel: string): Buffer {
  return fs.readFileSync(path.join(ROOT, rel));
}
