// TCP keepalive in the core: the vhost's kaTime/kaProbes/kaInterval (lws
// ka_time, ka_probes, ka_interval) cross the ABI once per listener
// (sock_keepalive), the limits block (mote sim --ka-time) overrides them,
// and a connection the port reports closed with CLOSED_TIMEOUT runs the
// app's CLOSED callback like any other close.
import { testHost } from "./core";
import * as C from "../../src/abi/constants";

const UPGRADE =
  "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const LOG_ALL = C.LOG_ERR | C.LOG_WARN | C.LOG_NOTICE;

test("the vhost's keepalive options reach the port once, for its listener", async () => {
  const h = await testHost({ logLevel: LOG_ALL }); // core-test: setKeepalive(60, 3, 10)
  expect(h.keepalives).toEqual([{ listener: 0, timeS: 60, probes: 3, intervalS: 10 }]);
  expect(h.logs.map((l) => l.text)).toContain("vhost test: TCP keepalive after 60 s idle, 3 probes every 10 s");
});

test("the limits block overrides them for every vhost", async () => {
  const h = await testHost({ logLevel: LOG_ALL, kaTime: 2, kaProbes: 0, kaInterval: 1 });
  expect(h.keepalives).toEqual([{ listener: 0, timeS: 2, probes: 0, intervalS: 1 }]);
  expect(h.logs.map((l) => l.text)).toContain(
    "vhost test: TCP keepalive after 2 s idle, the stack's default number of probes every 1 s (limits block)",
  );
});

test("kaTime 0 (the lws default) asks nothing of the port", async () => {
  const h = await testHost({}, "demo");
  expect(h.keepalives).toEqual([]);
});

test("CLOSED_TIMEOUT: the app's closed() runs, the slot is free again, and a notice names the cause", async () => {
  const h = await testHost({ logLevel: LOG_ALL });
  const ws = h.accept()!;
  h.feed(ws, UPGRADE);
  expect(ws.take().toString()).toMatch(/^HTTP\/1\.1 101 /);
  h.peerClose(ws, C.CLOSED_TIMEOUT);
  expect(h.logs.map((l) => l.text)).toContain(`conn ${ws.id}: peer timed out (keepalive or unacknowledged data), closed`);
  const http = h.accept()!;
  expect(http.id).toBe(ws.id); // the handle was released
  h.feed(http, "GET /closed HTTP/1.1\r\nHost: a\r\n\r\n");
  expect(http.take().toString()).toMatch(/\r\n\r\necho-closed=1\n$/);
});
