// WebSocket against the real simulator running the demo app, with the npm
// `ws` client as the peer. The "mps2" jest project runs this file again
// against the mps2-an386 demo firmware booted in QEMU (Sim.start boots the
// board there): sizes come from the board file, connects are paced for
// slirp's listen backlog of 1, and every test closes what it opens (the
// board has few connection slots).
import WebSocket from "ws";
import { Sim, boardLimits, pace, perFile, closeAll, nextMessage, ON_BOARD } from "./sim";

jest.setTimeout(30000);

const LIMITS = boardLimits();
const MAX_MESSAGE = LIMITS.maxMessageBytes as number;
/** The big echo: 200000 bytes, or just under the board's message limit. */
const BIG = Math.min(200000, MAX_MESSAGE - 1);

let sim: Sim;
perFile(() => Sim.start(), (s) => (sim = s)); // on a board, Sim.start checks that it answers
beforeEach(pace);

/** Every socket a test opened; afterEach closes what the test left open
 *  (also on failure) and waits until each is closed, so no test inherits
 *  a busy connection slot. */
const opened: WebSocket[] = [];
afterEach(() => closeAll(opened.splice(0)));

async function connect(protocol?: string | string[]): Promise<WebSocket> {
  await pace();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(sim.wsUrl + "/", protocol);
    opened.push(ws);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

test("the demo page is served", async () => {
  const r = await fetch(sim.url + "/");
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/text\/html/);
  const html = await r.text();
  expect(html).toContain("dumb-increment-protocol");
  expect(html).toContain("lws-mirror-protocol");
});

test("echo is the default protocol and keeps opcodes", async () => {
  const ws = await connect();
  expect(ws.protocol).toBe("");
  ws.send("hello");
  const a = await nextMessage(ws);
  expect(a.binary).toBe(false);
  expect(a.data.toString()).toBe("hello");
  const big = Buffer.alloc(BIG, 0x5a);
  ws.send(big);
  const b = await nextMessage(ws);
  expect(b.binary).toBe(true);
  expect(b.data.equals(big)).toBe(true);
  ws.close();
});

// Board only: the Linux simulator's limit (16 MiB) makes an over-limit
// message too slow to send on every run; the board's is small.
if (ON_BOARD) test("a message one byte over the board's limit closes with 1009", async () => {
  const ws = await connect("echo");
  const closed = new Promise<number>((resolve) => ws.on("close", (code: number) => resolve(code)));
  ws.send(Buffer.alloc(MAX_MESSAGE + 1, 0x5a));
  expect(await closed).toBe(1009);
});

test("fragmented messages are echoed whole", async () => {
  const ws = await connect("echo");
  expect(ws.protocol).toBe("echo");
  ws.send("frag-", { fin: false });
  ws.send("ment", { fin: true });
  expect((await nextMessage(ws)).data.toString()).toBe("frag-ment");
  ws.close();
});

test("dumb-increment counts up every 50 ms and resets", async () => {
  const ws = await connect("dumb-increment-protocol");
  const seen: number[] = [];
  await new Promise<void>((resolve) => {
    ws.on("message", (d: Buffer) => {
      seen.push(parseInt(d.toString(), 10));
      if (seen.length === 6) resolve();
    });
  });
  for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe(seen[i - 1] + 1);
  ws.send("reset\n");
  const after: number[] = [];
  await new Promise<void>((resolve) => {
    ws.on("message", (d: Buffer) => {
      after.push(parseInt(d.toString(), 10));
      if (after.length === 4) resolve();
    });
  });
  expect(Math.min(...after)).toBeLessThan(seen[seen.length - 1]);
  ws.close();
});

test("lws-mirror broadcasts to every client of the protocol", async () => {
  const a = await connect("lws-mirror-protocol");
  const b = await connect("lws-mirror-protocol");
  const got = nextMessage(b);
  const gotA = nextMessage(a);
  a.send("c #7f7f7f 100 100 20;");
  expect((await got).data.toString()).toBe("c #7f7f7f 100 100 20;");
  expect((await gotA).data.toString()).toBe("c #7f7f7f 100 100 20;");
  a.close();
  b.close();
});

test("lws-status pushes counters", async () => {
  const ws = await connect("lws-status");
  const m = JSON.parse((await nextMessage(ws)).data.toString());
  expect(m.connections).toBeGreaterThanOrEqual(1);
  expect(m.websockets).toBeGreaterThanOrEqual(1);
  if (ON_BOARD) expect(m.maxConnections).toBe(LIMITS.maxConnections);
  else expect(m.maxConnections).toBeGreaterThan(10);
  expect(m.memoryBytes).toBeGreaterThan(0);
  ws.close();
});

test("invalid UTF-8 closes with 1007 and the server keeps serving", async () => {
  const ws = await connect("echo");
  const closed = new Promise<number>((resolve) => ws.on("close", (code: number) => resolve(code)));
  // ws validates on receive only: send raw bytes flagged as text
  (ws as any)._sender.sendFrame(
    (WebSocket as any).Sender.frame(Buffer.from([0xff, 0xfe]), { fin: true, rsv1: false, opcode: 1, mask: true, readOnly: false }),
  );
  expect(await closed).toBe(1007);
  const again = await connect("echo");
  again.send("still here");
  expect((await nextMessage(again)).data.toString()).toBe("still here");
  again.close();
});

test("a subprotocol the server lacks is refused with 400", async () => {
  await expect(connect("no-such-protocol")).rejects.toThrow(/400/);
});
