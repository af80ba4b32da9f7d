// TCP keepalive on the emulated board (lwIP, LWIP_TCP_KEEPALIVE): a peer
// that vanishes silently is closed by the board within ka_time + ka_probes *
// ka_interval, the app's CLOSED callback runs, and the board serves again
// once the network is back; the same bound holds while the board pushes
// data the dead peer never acknowledges.
//
// The peer vanishes by QEMU's monitor: `set_link n0 off` takes the board's
// NIC (the mps2's LAN9118, the ESP32's open_eth) link down, so every frame the board sends is dropped. slirp terminates the
// host's TCP connection itself and keeps it open, so neither side hears
// anything: the board's keepalive probes go unanswered. The keepalive
// options reach the firmware on its semihosting command line, or on an ESP32
// as NVS settings written into its flash image (`mote qemu --ka-time S ...`
// does the same), overriding the test app's own setKeepalive(60, 3, 10).
import * as fs from "fs";
import * as net from "net";
import WebSocket from "ws";
import { QemuBoard, pace, BOARD } from "./board";
import { wsOpen, closeAll, echoOnce, nextMessage } from "../integration/sim";

const KA = { time: 2, probes: 2, interval: 1 };
const KA_TOTAL_MS = (KA.time + KA.probes * KA.interval) * 1000;
// lwIP checks keepalive on its 500 ms slow timer; the rest is slack for a
// loaded machine and the console's way to us
const MARGIN_MS = 3000;
const MONITOR = `/tmp/mote-ka-monitor-${process.pid}.sock`;
const TIMED_OUT = /conn (\d+): peer timed out \(keepalive or unacknowledged data\), closed/;

let board: QemuBoard | null = null;
const clients: WebSocket[] = [];

// Espressif's QEMU stops booting when given a monitor socket (-monitor or
// -qmp), so on the ESP32 boards the command goes to the monitor QEMU
// multiplexes on the console (-nographic): Ctrl-A c switches to it and back.
const ESP32 = BOARD.startsWith("esp32");

// The cut. On the mps2 the NIC's link goes down (`set_link`): its lwIP keeps
// the connections. ESP-IDF drops the address when the link goes down and lwIP
// aborts every connection on it, which is not a vanished peer: there a
// filter-buffer on the network backend holds every frame both ways instead
// (interval ~70 min), and deleting it brings the network back.
const LINK_OFF = ESP32 ? "object_add filter-buffer,id=cut,netdev=n0,queue=all,interval=4200000000" : "set_link n0 off";
const LINK_ON = ESP32 ? "object_del cut" : "set_link n0 on";

/** One monitor command; resolves with its output once the prompt is back (bounded). */
async function monitor(cmd: string, ms = 5000): Promise<string> {
  if (ESP32) {
    const from = board!.log.length;
    board!.console(`\x01c${cmd}\n`);
    const end = Date.now() + ms;
    // the prompt after the command's echo: the command has run
    while (!/\(qemu\) [^]*\n[^]*\(qemu\) /.test(board!.log.slice(from))) {
      if (Date.now() > end) throw new Error(`monitor '${cmd}' did not answer: ${board!.log.slice(from)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    board!.console("\x01c");
    return board!.log.slice(from);
  }
  return new Promise((resolve, reject) => {
    const s = net.connect(MONITOR);
    let got = "";
    let sent = false;
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`monitor '${cmd}' did not answer: ${got}`));
    }, ms);
    s.on("data", (d) => {
      got += d.toString();
      if (!sent && got.includes("(qemu) ")) {
        sent = true;
        got = "";
        s.write(cmd + "\n");
      } else if (sent && got.includes("(qemu) ")) {
        clearTimeout(t);
        s.end();
        resolve(got);
      }
    });
    s.on("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

async function echo(ws: WebSocket, text: string): Promise<void> {
  expect(await echoOnce(ws, text, 5000)).toBe(text);
}

async function get(path: string): Promise<string> {
  const r = await fetch(`${board!.url}${path}`, { signal: AbortSignal.timeout(5000) });
  return r.text();
}

/** Boots the firmware built for app (wasm3: from a fresh copy of the build's
 *  image store, which Sim.start makes) with the keepalive options on its
 *  semihosting command line and QEMU's monitor on a unix socket. */
async function boot(app: string): Promise<void> {
  fs.rmSync(MONITOR, { force: true });
  board = await QemuBoard.start({
    app,
    firmwareArgs: ["--ka-time", String(KA.time), "--ka-probes", String(KA.probes), "--ka-interval", String(KA.interval)],
    qemuArgs: ESP32 ? [] : ["-monitor", `unix:${MONITOR},server=on,wait=off`],
  });
}

async function shutdown(): Promise<void> {
  if (board) {
    await monitor(LINK_ON).catch(() => {});
    await closeAll(clients.splice(0));
    await board.stop();
    board = null;
  }
  fs.rmSync(MONITOR, { force: true });
}

describe("test app, idle WebSocket", () => {
  beforeAll(() => boot("test/apps/core-test.ts"), 180000);
  afterAll(shutdown, 20000);

  test("the command line (mps2) or NVS (ESP32) overrides the app's keepalive", () => {
    expect(board!.log).toMatch(/vhost test: TCP keepalive after 2 s idle, 2 probes every 1 s \(limits block\)/);
  });

  test(`a WebSocket whose peer vanished (link cut) is closed within ka_time + ka_probes * ka_interval (${KA_TOTAL_MS} ms); the board serves again once the link is back`, async () => {
    const ws = await wsOpen(`${board!.wsUrl}/`, "echo");
    clients.push(ws);
    ws.on("error", () => {});
    await echo(ws, "before the cut");
    expect(await get("/closed")).toBe("echo-closed=0\n");

    const cut = Date.now();
    await monitor(LINK_OFF);
    const seen = await board!.waitLog(TIMED_OUT, KA_TOTAL_MS + MARGIN_MS);
    const took = seen - cut;
    console.log(`keepalive (${BOARD}, lwIP): peer declared dead ${took} ms after the link cut (ka ${KA.time}+${KA.probes}x${KA.interval} s)`);
    expect(took).toBeGreaterThanOrEqual(KA.time * 1000); // not before the first probe was due
    expect(took).toBeLessThanOrEqual(KA_TOTAL_MS + MARGIN_MS);

    await monitor(LINK_ON);
    // the app's CLOSED callback ran; the board serves HTTP and WebSockets again
    expect(await get("/closed")).toBe("echo-closed=1\n");
    await pace(); // slirp's backlog is 1
    const other = await wsOpen(`${board!.wsUrl}/`, "echo");
    clients.push(other);
    await echo(other, "after the cut");
  }, 30000);
});

describe("demo, a WebSocket the board pushes to (dumb-increment, data in flight)", () => {
  beforeAll(() => boot("app/demo.ts"), 180000);
  afterAll(shutdown, 20000);

  test(`closed as soon: lwIP's keepalive timer counts from the last segment received, data unacknowledged or not`, async () => {
    const ws = await wsOpen(`${board!.wsUrl}/`, "dumb-increment-protocol");
    clients.push(ws);
    ws.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no counter")), 5000);
      let n = 0;
      ws.on("message", () => {
        if (++n === 3) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const cut = Date.now();
    await monitor(LINK_OFF);
    const seen = await board!.waitLog(TIMED_OUT, KA_TOTAL_MS + MARGIN_MS);
    const took = seen - cut;
    console.log(`keepalive (${BOARD}, lwIP, data in flight): peer declared dead ${took} ms after the link cut`);
    expect(took).toBeLessThanOrEqual(KA_TOTAL_MS + MARGIN_MS);
    await monitor(LINK_ON);
    await pace();
    const other = await wsOpen(`${board!.wsUrl}/`, "dumb-increment-protocol");
    clients.push(other);
    await nextMessage(other, 5000); // the counter flows again
  }, 30000);
});
