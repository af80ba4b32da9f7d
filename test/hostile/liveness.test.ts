// Hostile clients, silent and unfinished WebSockets (issue #12, item 8): a
// WebSocket from which nothing comes is pinged (Vhost.wsPingSecs) and closed
// with 1001 (wsHangupSecs); a frame or fragmented message still incomplete
// after wsMessageSecs is closed with 1008, however slowly its bytes trickle
// in. Silent peers that fill the board's whole table (8 connections) are
// closed and the table serves again; a peer that answers pings stays open.
// Here with short times from the command line (the board files' defaults
// are 60, 120 and 60 s).
import { Sim, ON_BOARD, pace, boardLimits, wsOpen, echoOnce, sleep } from "../integration/sim";
import { rawWs, frame, serverFrames, closeCodeIn, Peer } from "./ws";

const ARGS = ["--ws-ping", "1", "--ws-hangup", "3", "--ws-message", "2"];
const CLOSE_WAIT_MS = 5000; // the core's wait for the peer's close (TIMEOUT_CLOSE_MS)
const TABLE = ON_BOARD ? (boardLimits().maxConnections as number) : 16;

let sim: Sim;
beforeAll(async () => {
  sim = await Sim.start(ON_BOARD ? { firmwareArgs: ARGS } : { args: ARGS });
}, 60000);
afterAll(async () => sim && (await sim.stop()));

test(`${TABLE} silent WebSockets (${ON_BOARD ? "the board's whole table" : "a crowd"}) are pinged, closed with 1001, and the table serves again`, async () => {
  const peers: Peer[] = [];
  try {
    for (let i = 0; i < TABLE; i++) {
      await pace();
      peers.push(await rawWs(sim.port));
    }
    const opened = Date.now();
    const closedAll = await Promise.all(peers.map((p) => p.waitClosed(3000 + CLOSE_WAIT_MS + 4000)));
    const took = Date.now() - opened;
    expect(closedAll.every((x) => x)).toBe(true);
    expect(took).toBeGreaterThanOrEqual(3000 + CLOSE_WAIT_MS - 1000); // hangup, then the close wait
    for (const p of peers) {
      const ops = serverFrames(p.rx()).map((f) => f.opcode);
      expect(ops.filter((o) => o === 9).length).toBeGreaterThanOrEqual(1); // pinged first
      expect(closeCodeIn(p.rx())).toBe(1001);
    }
  } finally {
    peers.forEach((p) => p.sock.destroy());
  }
  await pace();
  const ws = await wsOpen(sim.wsUrl, "echo");
  expect(await echoOnce(ws, "the table is free again")).toBe("the table is free again");
  ws.close();
}, 60000);

test("a client that answers pings stays open past the hangup time and is served", async () => {
  await pace();
  const ws = await wsOpen(sim.wsUrl, "echo");
  let pings = 0;
  ws.on("ping", () => pings++);
  let closedAt = 0;
  ws.on("close", () => (closedAt = Date.now()));
  await sleep(4500);
  expect(closedAt).toBe(0);
  expect(pings).toBeGreaterThanOrEqual(2);
  expect(await echoOnce(ws, "still served")).toBe("still served");
  ws.close();
}, 30000);

test("a frame that declares more than it sends is closed with 1008 after the message time, though bytes trickle in", async () => {
  await pace();
  const p = await rawWs(sim.port);
  try {
    // declared: 8 MiB, or under the board's message limit (else 1009 at once)
    const declared = Math.min(8 << 20, Math.floor((boardLimits().maxMessageBytes || 8 << 20) / 2));
    const f = frame(2, Buffer.alloc(64, 0x55), true, declared);
    p.sock.write(f.subarray(0, 14 + 10)); // header and 10 bytes
    let at = 24;
    const start = Date.now();
    while (!p.closed() && Date.now() - start < 8000 && at < f.length) {
      await sleep(300);
      p.sock.write(f.subarray(at, at + 1)); // one byte now and then: never idle
      at++;
    }
    await p.waitClosed(CLOSE_WAIT_MS);
    const took = Date.now() - start;
    expect(closeCodeIn(p.rx())).toBe(1008);
    expect(took).toBeGreaterThanOrEqual(1500);
    expect(took).toBeLessThan(6000);
  } finally {
    p.sock.destroy();
  }
}, 30000);
