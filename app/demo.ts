// mote's demo application: the protocols of libwebsockets' test server,
// wire-compatible with `libwebsockets-test-client`, plus echo and status.
//
//   http-only                 the test page and its files (protocol 0 gets HTTP)
//   dumb-increment-protocol   a number as text every 50 ms; "reset\n" resets it
//   lws-mirror-protocol       every message goes to every connection of the protocol
//   echo                      every message back, fragments and opcodes kept (the default)
//   lws-status                live counters pushed once a second

import {
  Protocol, Vhost, Conn, createVhost, callbackOnWritableAllProtocol, connectionsOf, Stats, PRE,
  WRITE_TEXT, WRITE_BINARY, WRITE_CONTINUATION, CLOSE_GOING_AWAY, putAscii, putDecimal, bytesEqualAscii,
} from "../src/mote";

const PORT: u32 = 7681;

// ---- http-only -------------------------------------------------------------------------------

class HttpOnly extends Protocol {
  constructor() {
    super("http-only", 0);
  }
  http(c: Conn): i32 {
    if (c.serveFile() == 0) return 0;
    return c.httpError(404);
  }
}

// ---- dumb-increment-protocol ---------------------------------------------------------------

@unmanaged
class IncrementSession {
  number: u32;
}

const incBuf = memory.data(PRE + 32);

class DumbIncrement extends Protocol {
  constructor() {
    super("dumb-increment-protocol", offsetof<IncrementSession>());
    // as lws's test server (rx_buffer_size 10 < 128): no permessage-deflate
    // here; libwebsockets-test-client cannot instantiate it for this protocol
    this.deflate = false;
  }
  init(vh: Vhost): i32 {
    this.setTimer(50);
    return 0;
  }
  timer(vh: Vhost): void {
    callbackOnWritableAllProtocol(this);
  }
  writeable(c: Conn): i32 {
    const s = changetype<IncrementSession>(c.user);
    const p = incBuf + PRE;
    const n = putDecimal(p, s.number++);
    return c.write(p, n, WRITE_TEXT) < 0 ? -1 : 0;
  }
  receive(c: Conn, data: usize, len: u32): i32 {
    if (len < 6) return 0;
    if (bytesEqualAscii(data, 6, "reset\n")) changetype<IncrementSession>(c.user).number = 0;
    else if (len >= 8 && bytesEqualAscii(data, 8, "closeme\n")) {
      c.closeReason(CLOSE_GOING_AWAY);
      return -1;
    }
    return 0;
  }
}

// ---- lws-mirror-protocol ----------------------------------------------------------------------
//
// Messages live in one bounded ring shared by every connection: a byte area
// (each message stored with PRE bytes of headroom) and a ring of message
// records. Each connection keeps its own tail (next message to send). When
// the ring is full the oldest message is dropped and readers still behind it
// skip ahead: a slow reader costs no memory.

const MIRROR_SLOTS: u32 = 64; // messages held
// 14 KiB: three maximal messages, or hundreds of the test client's circles;
// with the rest of the demo it keeps the module in one 64 KiB page on a board
// (boards/mps2-an386.json wasm.memoryBytes), where 32 KiB forced a second
// (16 KiB did until the client role joined the core).
const MIRROR_BYTES: u32 = 14336; // payload + PRE per message, all messages
const MIRROR_MAX_MSG: u32 = 4096; // longer messages are cut (lws test server: same order)

@unmanaged
class MirrorSession {
  tail: u32; // sequence number of the next message to send
  inMsg: u32; // 1 while a fragmented message is arriving
}

const ringData = memory.data(MIRROR_BYTES);
const ringOff = memory.data(MIRROR_SLOTS * 4);
const ringLen = memory.data(MIRROR_SLOTS * 4);
let ringHead: u32 = 0; // sequence number of the next message to publish
let ringOldest: u32 = 0; // oldest sequence still held
let ringWrite: u32 = 0; // byte offset for the next message
let building: bool = false;
let buildLen: u32 = 0;

class Mirror extends Protocol {
  constructor() {
    super("lws-mirror-protocol", offsetof<MirrorSession>());
  }
  established(c: Conn): i32 {
    changetype<MirrorSession>(c.user).tail = ringHead; // only new messages
    return 0;
  }
  receive(c: Conn, data: usize, len: u32): i32 {
    if (c.isFirstFragment()) {
      // reserve room for a whole message at the write offset (wrap to 0)
      if (ringWrite + PRE + MIRROR_MAX_MSG > MIRROR_BYTES) ringWrite = 0;
      building = true;
      buildLen = 0;
    }
    if (!building) return 0;
    let take = len;
    if (buildLen + take > MIRROR_MAX_MSG) take = MIRROR_MAX_MSG - buildLen;
    memory.copy(ringData + ringWrite + PRE + buildLen, data, take);
    buildLen += take;
    if (!c.isFinalFragment()) return 0;
    building = false;
    // drop messages whose bytes the new one overwrote, and the oldest if full
    const start = ringWrite;
    const end = ringWrite + PRE + buildLen;
    while (ringOldest != ringHead) {
      const slot = ringOldest % MIRROR_SLOTS;
      const o = load<u32>(ringOff + slot * 4);
      const oEnd = o + PRE + load<u32>(ringLen + slot * 4);
      const overlaps = o < end && oEnd > start;
      if (!overlaps && ringHead - ringOldest < MIRROR_SLOTS) break;
      ringOldest++;
    }
    const slot = ringHead % MIRROR_SLOTS;
    store<u32>(ringOff + slot * 4, ringWrite);
    store<u32>(ringLen + slot * 4, buildLen);
    ringHead++;
    ringWrite = (end + 7) & ~7;
    callbackOnWritableAllProtocol(this);
    return 0;
  }
  writeable(c: Conn): i32 {
    const s = changetype<MirrorSession>(c.user);
    if (<i32>(s.tail - ringOldest) < 0) s.tail = ringOldest; // fell behind: skip
    if (s.tail == ringHead) return 0;
    const slot = s.tail % MIRROR_SLOTS;
    const p = ringData + load<u32>(ringOff + slot * 4) + PRE;
    const n = load<u32>(ringLen + slot * 4);
    s.tail++;
    if (c.write(p, n, WRITE_TEXT) < 0) return -1;
    if (s.tail != ringHead) c.callbackOnWritable();
    return 0;
  }
}

// ---- echo ------------------------------------------------------------------------------------------

class Echo extends Protocol {
  constructor() {
    super("echo", 0);
  }
  receive(c: Conn, data: usize, len: u32): i32 {
    // The payload sits in the receive buffer after its own frame header,
    // which is at least as long as ours: echo it in place, no copy.
    const kind = c.isFirstFragment() ? (c.frameIsBinary() ? WRITE_BINARY : WRITE_TEXT) : WRITE_CONTINUATION;
    return c.write(data, len, kind, c.isFinalFragment()) < 0 ? -1 : 0;
  }
}

// ---- lws-status ---------------------------------------------------------------------------------

const statusBuf = memory.data(PRE + 512);
let statusLen: u32 = 0;
let lastMsgs: u64 = 0;
let lastAt: u32 = 0;
let msgsPerSec: u64 = 0;

class Status extends Protocol {
  constructor() {
    super("lws-status", 0);
  }
  init(vh: Vhost): i32 {
    this.setTimer(1000);
    return 0;
  }
  timer(vh: Vhost): void {
    const msgs = Stats.rxMessages + Stats.txMessages;
    const now = Stats.now;
    const dt = now - lastAt;
    msgsPerSec = dt > 0 && lastAt != 0 ? ((msgs - lastMsgs) * 1000) / dt : 0;
    lastMsgs = msgs;
    lastAt = now;
    this.render();
    callbackOnWritableAllProtocol(this);
  }
  established(c: Conn): i32 {
    this.render();
    c.callbackOnWritable();
    return 0;
  }
  render(): void {
    let p = statusBuf + PRE;
    p += putAscii(p, "{\"connections\":");
    p += putDecimal(p, Stats.connections);
    p += putAscii(p, ",\"websockets\":");
    p += putDecimal(p, Stats.websockets);
    p += putAscii(p, ",\"maxConnections\":");
    p += putDecimal(p, Stats.maxConnections);
    p += putAscii(p, ",\"accepted\":");
    p += putDecimal(p, Stats.accepted);
    p += putAscii(p, ",\"rxMessages\":");
    p += putDecimal(p, Stats.rxMessages);
    p += putAscii(p, ",\"txMessages\":");
    p += putDecimal(p, Stats.txMessages);
    p += putAscii(p, ",\"messagesPerSecond\":");
    p += putDecimal(p, msgsPerSec);
    p += putAscii(p, ",\"memoryBytes\":");
    p += putDecimal(p, Stats.memoryBytes);
    p += putAscii(p, ",\"tableBytes\":");
    p += putDecimal(p, Stats.tableBytes);
    p += putAscii(p, ",\"mirrorClients\":");
    p += putDecimal(p, connectionsOf(mirror));
    p += putAscii(p, ",\"incrementClients\":");
    p += putDecimal(p, connectionsOf(increment));
    p += putAscii(p, "}");
    statusLen = <u32>(p - (statusBuf + PRE));
  }
  writeable(c: Conn): i32 {
    return c.write(statusBuf + PRE, statusLen, WRITE_TEXT) < 0 ? -1 : 0;
  }
}

let mirror!: Mirror;
let increment!: DumbIncrement;

export function setup(): void {
  // permessage-deflate where the port has the codec (the Linux simulator)
  const vh = createVhost("default", PORT).setDeflate(true);
  vh.addProtocol(new HttpOnly());
  increment = new DumbIncrement();
  vh.addProtocol(increment);
  mirror = new Mirror();
  vh.addProtocol(mirror);
  const echo = vh.addProtocol(new Echo());
  vh.addProtocol(new Status());
  vh.setDefaultProtocol(echo);
}
