// The demo on the emulated board: mps2-an386 (Cortex-M4) under QEMU, lwIP
// on the LAN9118, or an ESP32 in Espressif's QEMU (open_eth), reached through slirp's port forwarding like a board on
// the desk. One boot serves every test here; connects are paced (slirp's
// listen backlog is 1). The table-full refusal at the board's socket limit
// and the graceful stop (close 1001, semihosting exit 0) are in
// test/integration/lifecycle.test.ts, which the "mps2" jest project runs
// against this board.
import * as http from "http";
import { QemuBoard, wsOpen, nextMessage, closed, pace } from "./board";
import { perFile } from "../integration/sim";

jest.setTimeout(30000);

let board: QemuBoard;
perFile(() => QemuBoard.start(), (b) => (board = b));

test("the board boots with the limits of its board file", async () => {
  const limits = board.board.limits;
  await board.waitLog(new RegExp(`mote on ${board.board.name} \\(${board.board.cpu!.core}`));
  await board.waitLog(new RegExp(`mote core: ${limits.maxConnections} connections x \\d+ B`));
  const how = board.board.network!.dhcp ? "DHCP" : "static";
  await board.waitLog(new RegExp(`network: 10\\.0\\.2\\.15 netmask 255\\.255\\.255\\.0 gateway 10\\.0\\.2\\.2 \\(${how}\\)`));
  await board.waitLog(/listening on (\S+ )?port 80/);
});

/** GET over a connection of its own that closes after the answer (a
 *  keep-alive pool would hold one of the board's few slots). */
function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { connection: "close" }, timeout: 8000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode || 0, type: String(res.headers["content-type"]), body }));
    });
    req.on("timeout", () => req.destroy(new Error("HTTP timeout")));
    req.on("error", reject);
  });
}

test("the demo page over HTTP, and 404 for a missing file", async () => {
  const res = await get(board.url + "/");
  expect(res.status).toBe(200);
  expect(res.type).toMatch(/^text\/html/);
  expect(res.body).toContain("<title>mote test page</title>");
  await pace();
  expect((await get(board.url + "/no-such-file")).status).toBe(404);
});

test("WebSocket echo: text, binary, and a message larger than the TCP window", async () => {
  await pace();
  const ws = await wsOpen(board.wsUrl + "/", "echo");
  expect(ws.protocol).toBe("echo");
  let m = nextMessage(ws);
  ws.send("hello board");
  let r = await m;
  expect(r.binary).toBe(false);
  expect(r.data.toString()).toBe("hello board");

  const bin = Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 0xff));
  m = nextMessage(ws);
  ws.send(bin);
  r = await m;
  expect(r.binary).toBe(true);
  expect(Buffer.compare(r.data, bin)).toBe(0);

  // 40 KB: more than the board's TCP window and tx pool hold at once, so the
  // echo flows under backpressure (pbufs queued, window closed and reopened)
  const big = Buffer.alloc(40000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  m = nextMessage(ws, 15000);
  ws.send(big);
  r = await m;
  expect(r.data.length).toBe(big.length);
  expect(Buffer.compare(r.data, big)).toBe(0);

  const c = closed(ws);
  ws.close(1000);
  expect(await c).toBe(1000);
});

test("dumb-increment-protocol counts up every 50 ms, and reset\\n restarts it", async () => {
  await pace();
  const ws = await wsOpen(board.wsUrl + "/", "dumb-increment-protocol");
  const seen: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`only ${seen.length} numbers`)), 5000);
    ws.on("message", function on(d: Buffer) {
      seen.push(parseInt(d.toString(), 10));
      if (seen.length === 10) {
        clearTimeout(t);
        ws.off("message", on);
        resolve();
      }
    });
  });
  for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe(seen[i - 1] + 1);
  // reset: the count starts again from 0
  const after: number[] = [];
  ws.send("reset\n");
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no restart: ${after.join(",")}`)), 5000);
    ws.on("message", (d: Buffer) => {
      after.push(parseInt(d.toString(), 10));
      if (after.includes(0) && after[after.length - 1] >= 2) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  const c = closed(ws);
  ws.close();
  await c;
});
