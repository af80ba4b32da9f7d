// Test application for the core's unit and integration tests: each route or
// protocol exercises one part of the app API.
import {
  Protocol, Vhost, Conn, createVhost, PRE, WRITE_TEXT, WRITE_BINARY, WRITE_CONTINUATION, WRITE_HTTP,
  WRITE_HTTP_FINAL, METHOD_POST, callbackOnWritableAllProtocol, putAscii, putDecimal,
  setLogEmit, logEmitPort, LOG_ERR, LOG_WARN, LOG_NOTICE, LOG_INFO, connectClient, bytesEqualAscii,
} from "../../src/mote";

// 4 KiB: with the core's tables it keeps the app in the board's one 64 KiB
// page with 1 KiB to spare (test/qemu/size.test.ts)
const OUT_BYTES: u32 = 4096;
const out = memory.data(PRE + OUT_BYTES);

@unmanaged class HttpSession {
  bodyLen: u64;
  bodySum: u64;
  pending: u32; // 1: /slow waits for writeable
}

class Http extends Protocol {
  constructor() { super("http", offsetof<HttpSession>()); }
  http(c: Conn): i32 {
    const s = changetype<HttpSession>(c.user);
    s.bodyLen = 0;
    s.bodySum = 0;
    if (c.pathIs("/hello")) {
      const n = putAscii(out, "hello\n");
      c.httpRespond(200, "text/plain", n);
      c.write(out, n, WRITE_HTTP_FINAL);
      return 0;
    }
    if (c.pathIs("/host")) {
      const h = c.header("host");
      const n = c.headerLen() < OUT_BYTES ? c.headerLen() : OUT_BYTES;
      memory.copy(out, h, n);
      c.httpRespond(200, "text/plain", n);
      c.write(out, n, WRITE_HTTP_FINAL);
      return 0;
    }
    if (c.pathIs("/body")) return 0; // answered at HTTP_BODY_COMPLETION
    if (c.pathIs("/slow")) {
      s.pending = 1;
      c.callbackOnWritable();
      return 0;
    }
    if (c.pathIs("/big")) {
      // 100000 bytes, more than the tx pool holds at once in small configs
      c.httpRespond(200, "application/octet-stream", 100000);
      for (let i: u32 = 0; i < OUT_BYTES; i++) store<u8>(out + i, <u8>(i & 0xff));
      let left: u32 = 100000;
      while (left > 0) {
        const n: u32 = left < OUT_BYTES ? left : OUT_BYTES;
        if (c.write(out, n, WRITE_HTTP) < 0) return -1;
        left -= n;
      }
      return 0;
    }
    if (c.pathIs("/close")) return -1;
    if (c.pathIs("/closed")) { // CLOSED callbacks of echo WebSockets so far
      let n = putAscii(out, "echo-closed=");
      n += putDecimal(out + n, echoClosed);
      n += putAscii(out + n, "\n");
      c.httpRespond(200, "text/plain", n);
      c.write(out, n, WRITE_HTTP_FINAL);
      return 0;
    }
    if (c.pathIs("/unknown-length")) {
      const n = putAscii(out, "until close\n");
      c.httpRespond(200, "text/plain", -1);
      c.write(out, n, WRITE_HTTP_FINAL);
      return 0;
    }
    return c.httpError(404);
  }
  httpBody(c: Conn, data: usize, len: u32): i32 {
    const s = changetype<HttpSession>(c.user);
    s.bodyLen += len;
    for (let i: u32 = 0; i < len; i++) s.bodySum += load<u8>(data + i);
    return 0;
  }
  httpBodyCompletion(c: Conn): i32 {
    const s = changetype<HttpSession>(c.user);
    let n = putAscii(out, "len=");
    n += putDecimal(out + n, s.bodyLen);
    n += putAscii(out + n, " sum=");
    n += putDecimal(out + n, s.bodySum);
    n += putAscii(out + n, "\n");
    c.httpRespond(200, "text/plain", n);
    c.write(out, n, WRITE_HTTP_FINAL);
    return 0;
  }
  httpWriteable(c: Conn): i32 {
    const s = changetype<HttpSession>(c.user);
    if (s.pending == 0) return 0;
    s.pending = 0;
    const n = putAscii(out, "slow\n");
    c.httpRespond(200, "text/plain", n);
    c.write(out, n, WRITE_HTTP_FINAL);
    return 0;
  }
}

/** CLOSED callbacks of the echo protocol (GET /closed reports it). */
let echoClosed: u32 = 0;

class Echo extends Protocol {
  constructor() { super("echo", 0); }
  closed(c: Conn): void {
    echoClosed++;
  }
  receive(c: Conn, data: usize, len: u32): i32 {
    const kind = c.isFirstFragment() ? (c.frameIsBinary() ? WRITE_BINARY : WRITE_TEXT) : WRITE_CONTINUATION;
    return c.write(data, len, kind, c.isFinalFragment()) < 0 ? -1 : 0;
  }
}

/** Refuses every connection at FILTER_PROTOCOL_CONNECTION. */
class Refuse extends Protocol {
  constructor() { super("refuse", 0); }
  filterConnection(c: Conn): i32 { return 1; }
}

/** Recursion without end: the engine's call-depth / stack limit stops it. */
function deep(n: u32): u32 {
  return n == 0xffffffff ? 0 : deep(n + 1) + n;
}

/** Reports each receive() as "<len> first=<0|1> final=<0|1> remaining=<n> binary=<0|1>";
 *  "close" closes with 4001; "queue N" sends N messages of 1000 bytes.
 *  Four-byte commands trap in one way each, to test the engines' trap
 *  reports and recovery: "trap" unreachable, "oob!" out-of-bounds load,
 *  "div0" integer division by zero, "abrt" abort() (a throw), "deep" call
 *  stack exhausted. */
class Inspect extends Protocol {
  constructor() { super("inspect", 0); }
  receive(c: Conn, data: usize, len: u32): i32 {
    if (len == 4) {
      const cmd = load<u32>(data);
      if (cmd == 0x70617274) unreachable(); // "trap"
      if (cmd == 0x21626f6f) return load<u8>(<usize>0xfffffff0) == 1 ? -1 : 0; // "oob!"
      if (cmd == 0x30766964) return <i32>(100 / <u32>c.remainingPacketPayload()); // "div0" (remaining is 0)
      if (cmd == 0x74726261) throw new Error("core-test abort"); // "abrt"
      if (cmd == 0x70656564) return deep(<u32>c.remainingPacketPayload()) == 1 ? -1 : 0; // "deep"
    }
    if (len == 5 && load<u32>(data) == 0x736f6c63 && load<u8>(data + 4) == 0x65) { // "close"
      c.closeReason(4001);
      return -1;
    }
    let p = out + PRE;
    p += putDecimal(p, len);
    p += putAscii(p, c.isFirstFragment() ? " first=1" : " first=0");
    p += putAscii(p, c.isFinalFragment() ? " final=1" : " final=0");
    p += putAscii(p, " remaining=");
    p += putDecimal(p, c.remainingPacketPayload());
    p += putAscii(p, c.frameIsBinary() ? " binary=1" : " binary=0");
    return c.write(out + PRE, <u32>(p - out - PRE), WRITE_TEXT) < 0 ? -1 : 0;
  }
}

/** Counts writeable() calls; "tick" asks for one via callbackOnWritableAllProtocol. */
let writeables: u32 = 0;
class Writer extends Protocol {
  constructor() { super("writer", 0); }
  receive(c: Conn, data: usize, len: u32): i32 {
    callbackOnWritableAllProtocol(this);
    return 0;
  }
  writeable(c: Conn): i32 {
    writeables++;
    let p = out + PRE;
    p += putAscii(p, "w");
    p += putDecimal(p, writeables);
    return c.write(out + PRE, <u32>(p - out - PRE), WRITE_TEXT) < 0 ? -1 : 0;
  }
}

// Vhosts sharing the test vhost's port, chosen by the Host of a
// connection's first request (test/integration/http.test.ts, unit
// core-http): each answers every path with its name.
class Named extends Protocol {
  constructor() { super("named", 0); }
  http(c: Conn): i32 {
    let n = putAscii(out, "vhost ");
    n += putAscii(out + n, c.getVhost().name);
    store<u8>(out + n++, 0x0a);
    c.httpRespond(200, "text/plain", n);
    c.write(out, n, WRITE_HTTP_FINAL);
    return 0;
  }
}

// A callback mount's protocol (lws LWSMPRO_CALLBACK): counts the requests
// it answered on this connection in its per-session data, which starts
// zeroed each time it takes the connection over from another protocol.
@unmanaged class ApiSession {
  count: u32;
}
class Api extends Protocol {
  constructor() { super("api", offsetof<ApiSession>()); }
  http(c: Conn): i32 {
    const s = changetype<ApiSession>(c.user);
    s.count++;
    let n = putAscii(out, "api ");
    const pn = c.pathLen();
    memory.copy(out + n, c.pathPtr(), pn);
    n += pn;
    n += putAscii(out + n, " #");
    n += putDecimal(out + n, s.count);
    store<u8>(out + n++, 0x0a);
    c.httpRespond(200, "text/plain", n);
    c.write(out, n, WRITE_HTTP_FINAL);
    return 0;
  }
}

// lws_set_log_level's emit function: counts the core's lines per level,
// keeps the last one, and passes every line on to the port's sink. GET
// /logstats answers "err=E warn=W notice=N info=I last=<line>".
const logCounts = memory.data(5 * 4);
const lastLog = memory.data(256);
let lastLogLen: u32 = 0;
function countingEmit(level: u32, line: usize, len: u32): void {
  const i: u32 = level == LOG_ERR ? 0 : level == LOG_WARN ? 1 : level == LOG_NOTICE ? 2 : level == LOG_INFO ? 3 : 4;
  store<u32>(logCounts + (i << 2), load<u32>(logCounts + (i << 2)) + 1);
  memory.copy(lastLog, line, len);
  lastLogLen = len;
  logEmitPort(level, line, len);
}

class LogStats extends Protocol {
  constructor() { super("logstats", 0); }
  http(c: Conn): i32 {
    let n = putAscii(out, "err=");
    n += putDecimal(out + n, load<u32>(logCounts));
    n += putAscii(out + n, " warn=");
    n += putDecimal(out + n, load<u32>(logCounts + 4));
    n += putAscii(out + n, " notice=");
    n += putDecimal(out + n, load<u32>(logCounts + 8));
    n += putAscii(out + n, " info=");
    n += putDecimal(out + n, load<u32>(logCounts + 12));
    n += putAscii(out + n, " last=");
    memory.copy(out + n, lastLog, lastLogLen);
    n += lastLogLen;
    c.httpRespond(200, "text/plain", n);
    c.write(out, n, WRITE_HTTP_FINAL);
    return 0;
  }
}

// The client role (connectClient): GET /connect/PORT/PATH makes the server
// connect to 127.0.0.1:PORT as a WebSocket client asking for PATH with the
// subprotocol "mote-client-test"; the client sends "hello from mote",
// echoes what it receives (fragments as they come), closes on "bye", and
// logs its events, which GET /clientlog returns.
const clientLog = memory.data(2048);
let clientLogLen: u32 = 0;
function clog(s: string, p: usize = 0, n: u32 = 0): void {
  if (clientLogLen + <u32>s.length + n + 1 > 2048) clientLogLen = 0; // wraps
  clientLogLen += putAscii(clientLog + clientLogLen, s);
  memory.copy(clientLog + clientLogLen, p, n);
  clientLogLen += n;
  store<u8>(clientLog + clientLogLen++, 0x0a);
}
const clientMsg = memory.data(PRE + 64);

class ClientTest extends Protocol {
  constructor() { super("mote-client-test", 0); }
  clientEstablished(c: Conn): i32 {
    clog("established");
    const n = putAscii(clientMsg + PRE, "hello from mote");
    return c.write(clientMsg + PRE, n, WRITE_TEXT) < 0 ? -1 : 0;
  }
  clientReceive(c: Conn, data: usize, len: u32): i32 {
    clog(c.isFirstFragment() ? (c.frameIsBinary() ? "rx binary " : "rx text ") : "rx more ", data, len < 40 ? len : 40);
    if (c.isFirstFragment() && c.isFinalFragment() && len == 3 && bytesEqualAscii(data, 3, "bye")) return -1;
    const kind = c.isFirstFragment() ? (c.frameIsBinary() ? WRITE_BINARY : WRITE_TEXT) : WRITE_CONTINUATION;
    return c.writeFrom(data, len, kind, c.isFinalFragment()) < 0 ? -1 : 0;
  }
  clientConnectionError(c: Conn, why: usize, len: u32): void {
    clog("error: ", why, len);
  }
  closed(c: Conn): void {
    clog("closed");
  }
}

// Autobahn's fuzzingserver (test/conformance/autobahn-client.test.ts): echo
// every message, ask for no subprotocol.
class AutobahnClient extends Protocol {
  constructor() { super("autobahn-client", 0); }
  clientReceive(c: Conn, data: usize, len: u32): i32 {
    const kind = c.isFirstFragment() ? (c.frameIsBinary() ? WRITE_BINARY : WRITE_TEXT) : WRITE_CONTINUATION;
    return c.writeFrom(data, len, kind, c.isFinalFragment()) < 0 ? -1 : 0;
  }
  clientConnectionError(c: Conn, why: usize, len: u32): void {
    clog("error: ", why, len);
    autobahnDone++;
  }
  closed(c: Conn): void {
    autobahnDone++;
  }
}

let autobahnProto: AutobahnClient | null = null;
let autobahnDone: u32 = 0; // connections of AutobahnClient finished (closed or failed): GET /clientdone
let clientProto: ClientTest | null = null;
let testVhost: Vhost | null = null;

class ClientControl extends Protocol {
  constructor() { super("client-control", 0); }
  http(c: Conn): i32 {
    if (c.pathIs("/clientdone")) {
      const r = putDecimal(out, autobahnDone);
      c.httpRespond(200, "text/plain", r);
      c.write(out, r, WRITE_HTTP_FINAL);
      return 0;
    }
    if (c.pathIs("/clientlog")) {
      c.httpRespond(200, "text/plain", clientLogLen);
      c.write(clientLog, clientLogLen, WRITE_HTTP_FINAL);
      return 0;
    }
    // /connect/PORT/PATH, /autobahn/PORT/CASE (CASE: a number, or "report")
    const p = c.pathPtr();
    const n = c.pathLen();
    const autobahn = c.pathLen() > 10 && bytesEqualAscii(p, 10, "/autobahn/");
    let i: u32 = autobahn ? 10 : 9;
    let port: u32 = 0;
    while (i < n && load<u8>(p + i) >= 0x30 && load<u8>(p + i) <= 0x39) port = port * 10 + (load<u8>(p + i++) - 0x30);
    let path = "/";
    if (i < n) path = String.UTF8.decodeUnsafe(p + i, n - i); // a test app may allocate; the core does not
    if (c.queryLen() > 0) path += "?" + String.UTF8.decodeUnsafe(c.queryPtr(), c.queryLen());
    let cc: Conn | null;
    if (autobahn) {
      const what = path.substring(1);
      const target = what == "report" ? "/updateReports?agent=mote" : "/runCase?case=" + what + "&agent=mote";
      cc = connectClient(testVhost!, autobahnProto!, "127.0.0.1", port, target, false, "");
    } else {
      cc = connectClient(testVhost!, clientProto!, "127.0.0.1", port, path);
    }
    const r = putAscii(out, cc === null ? "refused\n" : "connecting\n");
    c.httpRespond(cc === null ? 503 : 200, "text/plain", r);
    c.write(out, r, WRITE_HTTP_FINAL);
    return 0;
  }
}

export function setup(): void {
  setLogEmit(countingEmit);
  // TCP keepalive as an lws app sets it (ka_time, ka_probes, ka_interval);
  // `mote sim --ka-time` overrides it (test/integration/keepalive.test.ts)
  const vh = createVhost("test", 7681).setKeepalive(60, 3, 10).setDeflate(true);
  vh.addProtocol(new Http());
  const echo = vh.addProtocol(new Echo());
  vh.addProtocol(new Refuse());
  vh.addProtocol(new Inspect());
  vh.addProtocol(new Writer());
  vh.setDefaultProtocol(echo);
  vh.addProtocol(new Api());
  // mounts (lws_http_mount): test/apps/www/ linked in
  vh.mountFiles("/static").setCache(3600, true, false, true);
  vh.mountFiles("/nocache/", "/docs").setCache(0, false);
  vh.mountFiles("/plain", "docs").setDefault("a b.txt");
  vh.mountRedirect("/old", "example.com/new");
  vh.mountRedirect("/insecure", "example.com", false);
  vh.mountCallback("/api", "api");
  vh.addProtocol(new LogStats());
  vh.mountCallback("/logstats", "logstats");
  testVhost = vh;
  clientProto = vh.addProtocol(new ClientTest()) as ClientTest;
  vh.addProtocol(new ClientControl());
  autobahnProto = vh.addProtocol(new AutobahnClient()) as AutobahnClient;
  vh.mountCallback("/connect", "client-control");
  vh.mountCallback("/autobahn", "client-control");
  vh.mountCallback("/clientlog", "client-control");
  vh.mountCallback("/clientdone", "client-control");
  createVhost("alpha.test", 7681).addAlias("*.alpha.test").addProtocol(new Named());
  createVhost("beta.test", 7681).addProtocol(new Named());
}
