// Hostile clients, deflate memory (issue #12, item 4): permessage-deflate's
// zlib state comes from a fixed pool of sessions (mote-sim
// --deflate-sessions, MOTE_Z_SESSIONS); past it the offer is declined and the
// connection goes on uncompressed; a closed session's memory goes back to
// the system. Before, each session cost ~233 kB of RSS, without a limit,
// and 1,000 idle sessions left +233 MB after they closed. The board has no
// codec: every offer is declined there.
import * as fs from "fs";
import WebSocket from "ws";
import { Sim, ON_BOARD, pace } from "../integration/sim";

const SESSIONS = 8;
let sim: Sim;
beforeAll(async () => {
  sim = await Sim.start(ON_BOARD ? {} : { args: ["--deflate-sessions", String(SESSIONS)] });
}, 60000);
afterAll(async () => sim && (await sim.stop()));

function rssKiB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${sim.proc.pid}/status`, "utf8"));
  return m ? +m[1] : 0;
}

/** Opens a WebSocket offering permessage-deflate; resolves with it and
 *  whether the server accepted the extension. */
function open(): Promise<{ ws: WebSocket; deflate: boolean }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(sim.wsUrl, "echo", { perMessageDeflate: { threshold: 0 } });
    const t = setTimeout(() => reject(new Error("open timed out")), 8000);
    ws.once("open", () => {
      clearTimeout(t);
      resolve({ ws, deflate: /permessage-deflate/.test(ws.extensions) });
    });
    ws.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

function echo(ws: WebSocket, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no echo")), 8000);
    ws.once("message", (d: Buffer) => {
      clearTimeout(t);
      resolve(d.toString());
    });
    ws.send(msg);
  });
}

function close(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    ws.once("close", () => resolve());
    ws.close();
    setTimeout(resolve, 3000);
  });
}

const text = "compressible ".repeat(5000); // 65 kB

if (ON_BOARD) {
  test("the board has no codec: an offer is declined and the connection echoes uncompressed", async () => {
    await pace();
    const { ws, deflate } = await open();
    expect(deflate).toBe(false);
    expect(await echo(ws, "plain on the board")).toBe("plain on the board");
    await close(ws);
  });
} else {
  test(`past ${SESSIONS} sessions offers are declined, every connection is served; 1,000 sessions opened and closed leave RSS at its baseline`, async () => {
    // warm-up: the pool's first use
    const w = await open();
    expect(w.deflate).toBe(true);
    expect(await echo(w.ws, text)).toBe(text);
    await close(w.ws);
    const baseline = rssKiB();

    const many = await Promise.all(Array.from({ length: 20 }, () => open()));
    expect(many.filter((m) => m.deflate).length).toBe(SESSIONS);
    for (const m of many) expect(await echo(m.ws, text)).toBe(text); // compressed or not, all served
    const during = rssKiB();
    await Promise.all(many.map((m) => close(m.ws)));

    // 1,000 sessions, SESSIONS at a time, each compressing a message
    for (let done = 0; done < 1000; done += SESSIONS) {
      const batch = await Promise.all(Array.from({ length: SESSIONS }, () => open()));
      expect(batch.every((b) => b.deflate)).toBe(true); // the closed ones' sessions came back
      await Promise.all(batch.map((b) => echo(b.ws, text)));
      await Promise.all(batch.map((b) => close(b.ws)));
    }
    await new Promise((r) => setTimeout(r, 300));
    const after = rssKiB();
    console.log(`deflate sessions: RSS ${baseline} kB before, ${during} kB with ${SESSIONS} sessions in use, ${after} kB after 1,000 opened and closed`);
    expect(during - baseline).toBeLessThan(SESSIONS * 400); // at most ~300 kB per session in use
    expect(after - baseline).toBeLessThan(2048); // back to the baseline, within noise
  }, 120000);
}
