// Hostile clients, output backpressure (issue #12, item 3): WebSocket peers
// that send to the echo protocol and never read fill their own output
// backlog up to the per-connection cap (uWS maxBackpressure), never the
// pool's reserve; a normal client then echoes a large message in full, and
// the never-reading peers are closed once nothing has come from them for
// the hangup time (here 4 s), without touching anyone else. Before the fix
// two such peers took the whole pool and the third client was reset.
import { Sim, ON_BOARD, pace, boardLimits, wsOpen, sleep } from "../integration/sim";
import { rawWs, frame, Peer } from "./ws";
import * as crypto from "crypto";

const ARGS = ["--ws-ping", "0", "--ws-hangup", "4"];
const l = boardLimits();
const POOL = l.txBlocks * l.txBlockBytes;
// the victim's message: 16 MiB on the simulator, within the board's limit there
const VICTIM_BYTES = ON_BOARD ? Math.min(64 << 10, l.maxMessageBytes) : 16 << 20;

let sim: Sim;
beforeAll(async () => {
  sim = await Sim.start(ON_BOARD ? { firmwareArgs: ARGS } : { args: ARGS });
}, 60000);
afterAll(async () => sim && (await sim.stop()));

test(`two never-reading peers cannot starve a third: it echoes ${VICTIM_BYTES} bytes in full; they are closed after the hangup time`, async () => {
  const hogs: Peer[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      await pace();
      const p = await rawWs(sim.port);
      p.sock.pause(); // never reads: the echo backs up into the server
      // more than the whole pool, in messages the board accepts
      const piece = frame(2, Buffer.alloc(Math.min(60000, l.maxMessageBytes >> 1), 0x61));
      const pieces = Math.ceil((2 * POOL) / piece.length) + 4;
      for (let k = 0; k < pieces; k++) p.sock.write(piece);
      hogs.push(p);
    }
    await sleep(ON_BOARD ? 3000 : 1000); // let them fill what they can
    await pace();
    const ws = await wsOpen(sim.wsUrl, "echo");
    const payload = crypto.randomBytes(VICTIM_BYTES);
    const echoed = new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no echo within 30 s")), 30000);
      ws.once("message", (d: Buffer) => {
        clearTimeout(t);
        resolve(d);
      });
      ws.once("close", (code) => reject(new Error(`victim closed (${code})`)));
    });
    ws.send(payload);
    const back = await echoed;
    expect(back.length).toBe(payload.length);
    expect(back.equals(payload)).toBe(true);
    ws.close();
    // the hogs: nothing read from them for the hangup time, then a close
    // they never answer: dropped 4 + 5 s after their last bytes were read.
    // Reading now only lets this side see the end (a paused socket sees no
    // FIN); a server that had not closed them would just go on echoing.
    await sleep(9000);
    hogs.forEach((h) => h.sock.resume());
    const gone = await Promise.all(hogs.map((h) => h.waitClosed(8000)));
    expect(gone).toEqual([true, true]);
  } finally {
    hogs.forEach((h) => h.sock.destroy());
  }
  expect(sim.stderr).not.toMatch(/tx pool exhausted/);
}, 90000);
