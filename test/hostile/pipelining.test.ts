// Hostile clients, pipelining (issue #12, item 2): a client that sends many
// pipelined requests, and reads their answers late, may fill its own socket
// and header buffer but never the shared tx pool. Every answer arrives, in
// order, and other clients are served meanwhile. On the simulator (both
// engines) and the board, whose tx pool (12 KiB) holds three answers of the
// demo page: before the fix three pipelined GETs got none.
import * as net from "net";
import { Sim, ON_BOARD, pace, rawExchange } from "../integration/sim";

const N = ON_BOARD ? 40 : 20000;

let sim: Sim;
beforeAll(async () => {
  sim = await Sim.start();
}, 60000);
afterAll(async () => sim && (await sim.stop()));

/** One GET / answer, whole, as the server sends it. */
async function oneAnswer(): Promise<Buffer> {
  await pace();
  const r = await rawExchange(sim.port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 5000);
  const s = r.data.toString("latin1");
  expect(s.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
  // the same answer without "Connection: close" is what keep-alive gets
  return Buffer.from(s.replace("Connection: close\r\n", ""), "latin1");
}

test(`${N} pipelined GETs, read only after a pause: every answer, in order, and the connection stays open`, async () => {
  const answer = await oneAnswer();
  await pace();
  const sock = net.connect(sim.port, "127.0.0.1");
  const chunks: Buffer[] = [];
  let got = 0;
  let closed = false;
  sock.on("data", (d) => {
    chunks.push(d);
    got += d.length;
  });
  sock.on("close", () => (closed = true));
  sock.on("error", () => {});
  await new Promise<void>((resolve, reject) => { sock.once("connect", resolve); sock.once("error", reject); });
  sock.pause(); // not reading: the answers back up into the server
  sock.write(Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n\r\n".repeat(N), "latin1"));
  await new Promise((r) => setTimeout(r, 1500));
  expect(closed).toBe(false);
  sock.resume();
  const want = N * answer.length;
  const end = Date.now() + 60000;
  while (got < want && !closed && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  expect(closed).toBe(false);
  expect(got).toBe(want);
  // byte for byte: N copies of the answer, in order
  const all = Buffer.concat(chunks);
  for (let i = 0; i < N; i++) {
    if (!all.subarray(i * answer.length, (i + 1) * answer.length).equals(answer)) throw new Error(`answer ${i} differs`);
  }
  sock.destroy();
}, 90000);

test("another client is served while a pipelining client does not read", async () => {
  await pace();
  const hog = net.connect(sim.port, "127.0.0.1");
  hog.on("error", () => {});
  await new Promise<void>((resolve, reject) => { hog.once("connect", resolve); hog.once("error", reject); });
  hog.pause();
  hog.write(Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n\r\n".repeat(N), "latin1"));
  await new Promise((r) => setTimeout(r, 500));
  const answer = await oneAnswer(); // asserts a whole 200
  expect(answer.length).toBeGreaterThan(1000);
  hog.destroy();
}, 30000);
