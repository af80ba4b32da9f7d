// The client role against real peers: the simulator (test/apps/core-test.ts,
// GET /connect/PORT/PATH) connects out to a WebSocket server the test runs
// with the npm `ws` package on 127.0.0.1, and to a port nobody listens on.
// Simulator only: the boards' port has no sock_connect yet (docs/abi.md).
import { AddressInfo } from "net";
import WebSocket, { WebSocketServer } from "ws";
import { Sim, ON_BOARD, freePort, sleep, perFile } from "./sim";

jest.setTimeout(30000);

if (!ON_BOARD) {
  let sim: Sim;
  perFile(() => Sim.start({ app: "test/apps/core-test.ts" }), (s) => (sim = s));

  const text = async (path: string) => (await fetch(`${sim.url}${path}`)).text();
  async function logUntil(re: RegExp, ms = 5000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const l = await text("/clientlog");
      if (re.test(l)) return l;
      if (Date.now() > end) throw new Error(`client log never matched ${re}:\n${l}`);
      await sleep(25);
    }
  }

  function server(): Promise<{ wss: WebSocketServer; port: number; next: () => Promise<{ ws: WebSocket; path: string; protocol: string }> }> {
    return new Promise((resolve) => {
      const waiting: ((c: { ws: WebSocket; path: string; protocol: string }) => void)[] = [];
      const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: (ps) => (ps.has("mote-client-test") ? "mote-client-test" : false) });
      wss.on("connection", (ws, req) => {
        const w = waiting.shift();
        if (w) w({ ws, path: req.url || "", protocol: ws.protocol });
      });
      wss.on("listening", () =>
        resolve({ wss, port: (wss.address() as AddressInfo).port, next: () => new Promise((r) => waiting.push(r)) }),
      );
    });
  }

  function nextMessage(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
    return new Promise((resolve) => ws.once("message", (data, binary) => resolve({ data: data as Buffer, binary })));
  }

  test("connects to a ws server, speaks, echoes text, binary and a 300 KB message, and closes with 1000", async () => {
    const { wss, port, next } = await server();
    try {
      const conn = next();
      expect(await text(`/connect/${port}/chat/room1`)).toBe("connecting\n");
      const { ws, path, protocol } = await conn;
      expect(path).toBe("/chat/room1");
      expect(protocol).toBe("mote-client-test");
      const hello = await nextMessage(ws);
      expect(hello.data.toString()).toBe("hello from mote");
      for (const [payload, binary] of [["héllo ✓", false], [Buffer.from([0, 1, 2, 255]), true]] as const) {
        const m = nextMessage(ws);
        ws.send(payload, { binary });
        const got = await m;
        expect(got.binary).toBe(binary);
        expect(got.data.equals(Buffer.from(payload))).toBe(true);
      }
      const big = Buffer.alloc(300 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
      const m = nextMessage(ws);
      ws.send(big);
      expect((await m).data.equals(big)).toBe(true);
      const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
      ws.send("bye");
      expect(await closed).toBe(1000);
      await logUntil(/established\n[\s\S]*rx text bye\nclosed\n$/);
    } finally {
      wss.close();
    }
  });

  test("a server that closes: the client answers the close and reports closed()", async () => {
    const { wss, port, next } = await server();
    try {
      const conn = next();
      await text(`/connect/${port}/x`);
      const { ws } = await conn;
      await nextMessage(ws);
      const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
      ws.close(4001, "done");
      expect(await closed).toBe(4001); // the client echoes the code
      await logUntil(/established\n[\s\S]*closed\n$/);
    } finally {
      wss.close();
    }
  });

  test("nobody listening: clientConnectionError with ECONNREFUSED", async () => {
    const port = await freePort();
    expect(await text(`/connect/${port}/x`)).toBe("connecting\n");
    await logUntil(/error: connect failed, errno 111\n$/);
  });

  test("an HTTP server that is not a WebSocket: the status in the error", async () => {
    const http = await import("http");
    const srv = http.createServer((req, res) => res.writeHead(404).end("no"));
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    try {
      await text(`/connect/${(srv.address() as AddressInfo).port}/x`);
      await logUntil(/error: the server answered HTTP 404\n$/);
    } finally {
      srv.close();
    }
  });
}
