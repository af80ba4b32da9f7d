// Hostile clients, the per-peer-address limit (issue #12, item 1; nginx
// limit_conn): past N connections at once from one address, a new one is
// answered 503 by the port and closed, before the core spends a slot or a
// header buffer on it; when one of the N closes, the address is served
// again. N from the command line here (`--max-conns-per-peer`; the board
// file's limits.maxConnsPerPeer and Vhost.setMaxConnsPerPeer otherwise). On
// the board every connection comes from slirp's one address.
import * as net from "net";
import { Sim, ON_BOARD, pace, rawExchange, sleep } from "../integration/sim";

const N = ON_BOARD ? 3 : 4;
const ARGS = ["--max-conns-per-peer", String(N)];

let sim: Sim;
beforeAll(async () => {
  sim = await Sim.start(ON_BOARD ? { firmwareArgs: ARGS } : { args: ARGS });
}, 60000);
afterAll(async () => sim && (await sim.stop()));

test(`past ${N} connections from one address: 503 and close; served again once one of them closes`, async () => {
  const held: net.Socket[] = [];
  try {
    for (let i = 0; i < N; i++) {
      await pace();
      const s = net.connect(sim.port, "127.0.0.1");
      s.on("error", () => {});
      await new Promise<void>((r) => s.once("connect", () => r()));
      held.push(s);
    }
    await sleep(300); // accepted by the device
    await pace();
    const over = await rawExchange(sim.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 4000);
    const text = over.data.toString("latin1");
    expect(text).toMatch(/^HTTP\/1\.1 503 [^]*Retry-After: 1\r\n[^]*too many connections from your address/);
    expect(over.closed).toBe(true);
    held.pop()!.destroy();
    await sleep(300);
    await pace();
    const ok = await rawExchange(sim.port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 6000);
    expect(ok.data.toString("latin1")).toMatch(/^HTTP\/1\.1 200 /);
  } finally {
    held.forEach((s) => s.destroy());
  }
}, 30000);
