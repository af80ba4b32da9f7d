// Debian's libwebsockets test client (4.1.6) as a third-party peer of the demo
// app. The client prints everything on stderr and exits 0 whatever happens
// (a refused connection just hangs), so it always runs under
// `timeout -s INT`, is stopped with SIGINT as soon as what we look for has
// been seen, and the assertions are on positive output:
//   -d 31 (err|warn|notice|info|debug) prints "rx N 'k'" for each
//   dumb-increment message, "ssl_capable_write (N)" for each frame it sends
//   and "starting disbursal of N deframed rx" for each frame it receives.
// The server side is checked through its own lws-status counters and its
// info-level log (-d 15).
import { spawn, spawnSync, ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import WebSocket from "ws";
import { Sim, ROOT, wsOpen } from "../integration/sim";

const CLIENT = "libwebsockets-test-client";
const PAGE_BYTES = fs.statSync(path.join(ROOT, "app/www/index.html")).size;
// "c #RRGGBB x y r;" with x < 512, y < 256, 1 <= r <= 32: 16 to 21 bytes.
const CIRCLE = /^c #[0-9A-F]{6} \d{1,3} \d{1,3} \d{1,2};$/;
const CIRCLE_MIN = 16;
const CIRCLE_MAX = 21;
const CLIENT_MASKED_HEADER = 6; // 2 header bytes + 4 mask bytes, payload < 126

/** One run of the lws test client: its stderr parsed line by line as it
 *  arrives (debug output is ~40k lines a second, so counters are kept
 *  instead of re-scanning the text). */
class LwsPeer {
  proc!: ChildProcess;
  exited!: Promise<number | null>;
  /** Every line except the per-frame debug noise, for assertions and errors. */
  log: string[] = [];
  rx: { len: number; text: string }[] = []; // dumb-increment "rx N 'k'"
  rxFrames = new Map<number, number>(); // payload length -> frames received
  txFrames = new Map<number, number>(); // wire length -> frames sent
  private partial = "";

  static start(args: string[], secs = 20): LwsPeer {
    const p = new LwsPeer();
    p.proc = spawn("timeout", ["-s", "INT", String(secs), CLIENT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    p.exited = new Promise((resolve) => p.proc.on("exit", (code) => resolve(code)));
    const onData = (d: Buffer) => {
      const lines = (p.partial + d.toString("latin1")).split("\n");
      p.partial = lines.pop()!;
      for (const l of lines) p.line(l);
    };
    p.proc.stderr!.on("data", onData);
    p.proc.stdout!.on("data", onData);
    return p;
  }

  private line(l: string): void {
    let m = /starting disbursal of (\d+) deframed rx/.exec(l);
    if (m) return void this.rxFrames.set(+m[1], (this.rxFrames.get(+m[1]) || 0) + 1);
    m = /ssl_capable_write \((\d+)\) says/.exec(l);
    if (m) return void this.txFrames.set(+m[1], (this.txFrames.get(+m[1]) || 0) + 1);
    if (/\] D: /.test(l)) return;
    m = /\] I: rx (\d+) '(.*)'$/.exec(l);
    if (m) this.rx.push({ len: +m[1], text: m[2] });
    this.log.push(l);
  }

  has(re: RegExp): boolean {
    return this.log.some((l) => re.test(l));
  }
  /** Frames received whose payload length is in [lo, hi]. */
  received(lo: number, hi: number): number {
    let n = 0;
    for (const [len, k] of this.rxFrames) if (len >= lo && len <= hi) n += k;
    return n;
  }
  sent(lo: number, hi: number): number {
    let n = 0;
    for (const [len, k] of this.txFrames) if (len >= lo && len <= hi) n += k;
    return n;
  }

  async waitFor(what: string, cond: () => boolean, ms = 10000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`${CLIENT} exited before: ${what}\n${this.tail()}`);
      if (Date.now() > end) throw new Error(`${CLIENT}: not seen within ${ms} ms: ${what}\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Exit code of `timeout`: the client's own (0) when it ended by itself or
   *  by our SIGINT, 124 when the time ran out. */
  async wait(ms = 8000): Promise<number | null> {
    let t: NodeJS.Timeout | undefined;
    const timer = new Promise<"late">((r) => (t = setTimeout(() => r("late"), ms)));
    const r = await Promise.race([this.exited, timer]);
    clearTimeout(t);
    if (r === "late") {
      try {
        process.kill(-this.proc.pid!, "SIGKILL"); // timeout(1) leads its own process group
      } catch {
        /* already gone */
      }
      throw new Error(`${CLIENT} did not exit within ${ms} ms\n${this.tail()}`);
    }
    return r;
  }

  /** SIGINT to timeout(1), which passes it on; the client leaves its service
   *  loop within 500 ms and exits. */
  async stop(): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGINT");
    return this.wait();
  }

  tail(n = 40): string {
    return this.log.slice(-n).join("\n");
  }
}

interface Status {
  connections: number;
  websockets: number;
  accepted: number;
  rxMessages: number;
  txMessages: number;
  mirrorClients: number;
  incrementClients: number;
}

/** A lws-status subscriber keeping every report. */
class StatusWatch {
  reports: Status[] = [];
  private constructor(public ws: WebSocket) {
    ws.on("message", (d: Buffer) => this.reports.push(JSON.parse(d.toString())));
  }
  static async open(sim: Sim): Promise<StatusWatch> {
    return new StatusWatch(await wsOpen(sim.wsUrl + "/", "lws-status"));
  }
  /** Waits for a report (from index `from` on) satisfying cond; pushed once a second. */
  async waitFor(what: string, cond: (s: Status) => boolean, from = 0, ms = 8000): Promise<{ s: Status; i: number }> {
    const end = Date.now() + ms;
    for (;;) {
      for (let i = from; i < this.reports.length; i++) if (cond(this.reports[i])) return { s: this.reports[i], i };
      if (Date.now() > end) throw new Error(`lws-status: not seen within ${ms} ms: ${what}\nlast: ${JSON.stringify(this.reports[this.reports.length - 1])}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

let sim: Sim;
const open: WebSocket[] = [];
const peers: LwsPeer[] = [];

beforeAll(async () => {
  const which = spawnSync("sh", ["-c", `command -v ${CLIENT} timeout`], { encoding: "utf8" });
  if (which.status !== 0) throw new Error(`${CLIENT} or timeout(1) is missing: run \`node tools/bootstrap.js test\` (Debian package libwebsockets-test-server)`);
  // --no-deflate: these tests count the client's frames by their size on
  // the wire; its permessage-deflate interop is test/integration/deflate.test.ts's
  sim = await Sim.start({ args: ["-d", "15", "--no-deflate"] });
});

afterEach(async () => {
  for (const ws of open.splice(0)) ws.terminate();
  for (const p of peers.splice(0)) await p.stop().catch(() => undefined);
});

afterAll(async () => {
  if (!sim) return;
  const r = await sim.stop();
  expect(r).toEqual({ code: 0, signal: null });
  // nothing the peers did was worth an error or a warning
  expect(sim.stderr).not.toMatch(/\] [EW]: /);
});

test("dumb-increment and mirror: established, numbers counting up, circles broadcast", async () => {
  const status = await StatusWatch.open(sim);
  open.push(status.ws);
  // a second mirror client that sees what the lws client draws
  const observer = await wsOpen(sim.wsUrl + "/", "lws-mirror-protocol");
  open.push(observer);
  const seen: string[] = [];
  observer.on("message", (d: Buffer) => seen.push(d.toString()));

  const lws = LwsPeer.start(["127.0.0.1", "-p", String(sim.port), "-d", "31"]);
  peers.push(lws);
  await lws.waitFor("both connections established", () => lws.has(/dumb: LWS_CALLBACK_CLIENT_ESTABLISHED/) && lws.has(/mirror: LWS_CALLBACK_CLIENT_ESTABLISHED/));
  await sim.waitLog(/conn \d+: WebSocket dumb-increment-protocol/);
  await sim.waitLog(/conn \d+: WebSocket lws-mirror-protocol/);

  // server counters: both lws connections (and the observer) are counted,
  // and rxMessages grows between two reports
  const a = await status.waitFor("incrementClients >= 1, mirrorClients >= 2", (s) => s.incrementClients >= 1 && s.mirrorClients >= 2);
  const b = await status.waitFor("rxMessages growing", (s) => s.rxMessages > a.s.rxMessages && s.txMessages > a.s.txMessages, a.i + 1);
  expect(b.s.incrementClients).toBeGreaterThanOrEqual(1);
  expect(b.s.mirrorClients).toBeGreaterThanOrEqual(2);

  await lws.waitFor("10 dumb-increment numbers", () => lws.rx.length >= 10);
  await lws.waitFor("20 circles back on the mirror connection", () => lws.received(CIRCLE_MIN, CIRCLE_MAX) >= 20);
  await new Promise<void>((resolve, reject) => {
    const end = Date.now() + 5000;
    const poll = () => (seen.length >= 20 ? resolve() : Date.now() > end ? reject(new Error(`observer saw ${seen.length} mirror messages`)) : setTimeout(poll, 25));
    poll();
  });
  expect(await lws.stop()).toBe(0);

  // nothing went wrong on the client's side before we stopped it
  const errors = lws.log.filter((l) => /\] E: /.test(l) && !/E: Exiting$/.test(l));
  expect(errors).toEqual([]);
  expect(lws.has(/CLIENT_CONNECTION_ERROR/)).toBe(false);

  // numbers: "rx <length> '<n>'", starting at 0 and going up by one
  const nums = lws.rx.map((r) => {
    expect(r.text).toMatch(/^\d+$/);
    expect(r.len).toBe(r.text.length);
    return parseInt(r.text, 10);
  });
  expect(nums.length).toBeGreaterThanOrEqual(10);
  expect(nums[0]).toBe(0);
  for (let i = 1; i < nums.length; i++) expect(nums[i]).toBe(nums[i - 1] + 1);

  // mirror: the circles the client sent came back to its own mirror
  // connection (received frames of circle size; the dumb-increment numbers
  // are a few bytes), never more than were sent, and reached the observer
  const sent = lws.sent(CIRCLE_MIN + CLIENT_MASKED_HEADER, CIRCLE_MAX + CLIENT_MASKED_HEADER);
  const back = lws.received(CIRCLE_MIN, CIRCLE_MAX);
  expect(back).toBeGreaterThanOrEqual(20);
  expect(back).toBeLessThanOrEqual(sent);
  expect(seen.length).toBeGreaterThanOrEqual(20);
  for (const m of seen) expect(m).toMatch(CIRCLE);

  // the server saw both connections go away
  const c = await status.waitFor("lws client gone", (s) => s.incrementClients === 0 && s.mirrorClients === 1, b.i + 1);
  expect(c.s.mirrorClients).toBe(1); // the observer
});

test("-n: no mirror traffic of its own, but the client's mirror connection receives what others draw", async () => {
  const lws = LwsPeer.start(["127.0.0.1", "-p", String(sim.port), "-n", "-d", "31"]);
  peers.push(lws);
  await lws.waitFor("mirror established", () => lws.has(/mirror: LWS_CALLBACK_CLIENT_ESTABLISHED/));
  expect(lws.has(/Disabled sending mirror data/)).toBe(true);
  const status = await StatusWatch.open(sim);
  open.push(status.ws);
  await status.waitFor("both lws connections counted", (s) => s.incrementClients >= 1 && s.mirrorClients >= 1);

  const drawer = await wsOpen(sim.wsUrl + "/", "lws-mirror-protocol");
  open.push(drawer);
  // 5 messages of a length nothing else here has (numbers are short, circles <= 21)
  const msg = "c #00FF00 10 10 5;".padEnd(100, " ");
  for (let i = 0; i < 5; i++) drawer.send(msg);
  await lws.waitFor("the 5 drawn messages", () => lws.received(100, 100) >= 5);
  await lws.waitFor("some numbers", () => lws.rx.length >= 3);
  expect(await lws.stop()).toBe(0);
  expect(lws.received(100, 100)).toBe(5);
  expect(lws.received(CIRCLE_MIN, CIRCLE_MAX)).toBe(0);
  expect(lws.sent(CIRCLE_MIN + CLIENT_MASKED_HEADER, CIRCLE_MAX + CLIENT_MASKED_HEADER)).toBe(0);
});

/** Waits until the sim's log written after `from` (a stderr length) matches re. */
async function waitLogSince(from: number, re: RegExp, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!re.test(sim.stderr.slice(from))) {
    if (Date.now() > end) throw new Error(`log ${re} not seen in:\n${sim.stderr.slice(from)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("http://HOST:PORT/ does one GET: 200 and the whole page", async () => {
  const logFrom = sim.stderr.length;
  const lws = LwsPeer.start([`http://127.0.0.1:${sim.port}/`], 10);
  peers.push(lws);
  expect(await lws.wait(11000)).toBe(0); // ended by itself, not by timeout (124)
  expect(lws.has(/using http mode \(non-ws\)/)).toBe(true);
  expect(lws.has(/lws_http_client_http_response 200$/)).toBe(true);
  const bytes = lws.log.map((l) => /swallowed read \((\d+)\)|RECEIVE_CLIENT_HTTP_READ: (\d+)/.exec(l)).reduce((n, m) => n + (m ? +(m[1] || m[2]) : 0), 0);
  expect(bytes).toBe(PAGE_BYTES);
  const body = await (await fetch(sim.url + "/")).arrayBuffer();
  expect(body.byteLength).toBe(PAGE_BYTES);
  expect(lws.has(/CLIENT_CONNECTION_ERROR/)).toBe(false);
  await waitLogSince(logFrom, /conn \d+: GET \/\n/);
});

test("http://HOST:PORT/missing: 404 with its body", async () => {
  const logFrom = sim.stderr.length;
  const lws = LwsPeer.start([`http://127.0.0.1:${sim.port}/no-such-file.html`], 10);
  peers.push(lws);
  expect(await lws.wait(11000)).toBe(0);
  expect(lws.has(/lws_http_client_http_response 404$/)).toBe(true);
  const bytes = lws.log.map((l) => /swallowed read \((\d+)\)/.exec(l)).reduce((n, m) => n + (m ? +m[1] : 0), 0);
  const r = await fetch(sim.url + "/no-such-file.html");
  expect(r.status).toBe(404);
  expect(bytes).toBe((await r.arrayBuffer()).byteLength);
  await waitLogSince(logFrom, /conn \d+: GET \/no-such-file\.html\n/);
});
