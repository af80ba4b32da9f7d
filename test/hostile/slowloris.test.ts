// Hostile clients, slowloris (issue #12, item 1): connections that hold a
// header buffer without finishing their request (sending nothing, a head a
// byte at a time, or a body a byte at a time), reopened as soon as they are
// closed, as many as there are header buffers (64 on the simulator, 3 on
// the board), for 6 s (8 s on the board), a good request every 0.5 s (1 s).
// Before the fix every other client got 503 for as long as the
// attack lasted; now a connection waits for a header buffer, and while one
// waits, holders slow for 2 s lose theirs (408): a good client is served
// within a few seconds, every time.
import * as net from "net";
import { Sim, ON_BOARD, pace, boardLimits, sleep } from "../integration/sim";

const ATTACKERS = boardLimits().httpHeaderPool;
const ATTACK_MS = ON_BOARD ? 8000 : 6000;
const GOOD_EVERY_MS = ON_BOARD ? 1000 : 500;
const GOOD_LIMIT_MS = 5000; // "within a few seconds"

let sim: Sim;
beforeAll(async () => {
  sim = await Sim.start();
}, 60000);
afterAll(async () => sim && (await sim.stop()));

type Style = "silent" | "head" | "body";

/** ATTACKERS connections of `style`, each reopened when the server closes it,
 *  until stop(). Returns how many times the server closed one. */
function attack(style: Style): { stop: () => void; closedByServer: () => number } {
  let running = true;
  let closes = 0;
  const socks = new Set<net.Socket>();
  const one = async (): Promise<void> => {
    while (running) {
      await pace();
      const s = net.connect(sim.port, "127.0.0.1");
      socks.add(s);
      s.on("error", () => {});
      s.on("data", () => {});
      const timer = setInterval(() => {
        if (style === "head") s.write("X");
        if (style === "body") s.write("b");
      }, 1000);
      s.on("connect", () => {
        if (style === "head") s.write("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ");
        if (style === "body") s.write("POST /body HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n");
      });
      await new Promise<void>((r) => s.once("close", () => r()));
      clearInterval(timer);
      socks.delete(s);
      if (running) closes++;
    }
  };
  for (let i = 0; i < ATTACKERS; i++) void one();
  return {
    stop: () => {
      running = false;
      for (const s of socks) s.destroy();
    },
    closedByServer: () => closes,
  };
}

/** One good request: its status and how long it took (bounded). */
function good(): Promise<{ status: number; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const s = net.connect(sim.port, "127.0.0.1");
    let data = "";
    const done = (status: number) => {
      clearTimeout(t);
      s.destroy();
      resolve({ status, ms: Date.now() - t0 });
    };
    const t = setTimeout(() => done(0), GOOD_LIMIT_MS + 5000);
    s.on("error", () => done(-1));
    s.on("data", (d) => {
      data += d.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m && data.includes("\r\n\r\n")) done(+m[1]);
    });
    s.on("connect", () => s.write("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  });
}

test.each(["silent", "head", "body"] as Style[])(`a sustained slowloris of ${ATTACKERS} %s connections: good clients are served within ${GOOD_LIMIT_MS} ms, every one`, async (style) => {
  const a = attack(style);
  const results: { status: number; ms: number }[] = [];
  try {
    await sleep(1000); // the attackers hold every header buffer
    const end = Date.now() + ATTACK_MS;
    while (Date.now() < end) {
      const r = good();
      results.push(await r);
      await sleep(GOOD_EVERY_MS);
    }
  } finally {
    a.stop();
  }
  const served = results.filter((r) => r.status === 200 && r.ms <= GOOD_LIMIT_MS).length;
  const worst = Math.max(...results.map((r) => r.ms));
  // the figures for the report
  console.log(`slowloris ${style} x${ATTACKERS}: ${served}/${results.length} good requests served, slowest ${worst} ms, attackers closed ${a.closedByServer()} times`);
  expect(results.length).toBeGreaterThanOrEqual(3);
  expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
  expect(worst).toBeLessThanOrEqual(GOOD_LIMIT_MS);
  // the slow holders were closed, not the good clients refused. On a board
  // the attackers' connects go one at a time through slirp (backlog 1): on a
  // loaded machine they were seen not to hold every buffer within the run
  // (silent, and once head), and then the good requests are answered at
  // once and no holder needs closing; a good request that had to wait
  // means they held them, and then they must have been closed.
  if (!ON_BOARD) expect(a.closedByServer()).toBeGreaterThan(0);
  else if (style !== "silent" && worst >= 500) expect(a.closedByServer()).toBeGreaterThan(0);
  await sleep(500);
}, 60000);
