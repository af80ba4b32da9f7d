// The app's log emitter (lws_set_log_level's emit function, setLogEmit):
// test/apps/core-test.ts counts the core's lines per level, keeps the last,
// and passes each on to the port's sink (logEmitPort); GET /logstats shows
// the counts.
import * as C from "../../src/abi/constants";
import { testHost } from "./core";

test("the emitter gets every line the mask lets through, and the port still gets them from it", async () => {
  const h = await testHost({ logLevel: C.LOG_DEFAULT | C.LOG_INFO });
  const c = h.accept()!;
  h.feed(c, "GET /logstats HTTP/1.1\r\nHost: a\r\n\r\n");
  const body = c.take().toString().split("\r\n\r\n")[1];
  const m = /^err=(\d+) warn=(\d+) notice=(\d+) info=(\d+) last=(.*)$/.exec(body)!;
  expect(m).not.toBeNull();
  expect(+m[3]).toBeGreaterThan(0); // "mote core: ... tables ..." at init
  expect(+m[4]).toBeGreaterThanOrEqual(2); // "accepted", then the request line
  expect(m[5]).toBe(`conn ${c.id}: GET /logstats`); // the line logged just before http() ran
  const port = h.logs.map((l) => l.text);
  expect(port).toContain(`conn ${c.id}: GET /logstats`); // passed on
  expect(port.some((t) => /^mote core: /.test(t))).toBe(true);
  expect(h.logs.filter((l) => l.level === C.LOG_NOTICE).length).toBe(+m[3]);
});

test("lines the mask keeps out reach neither the emitter nor the port", async () => {
  const h = await testHost({ logLevel: C.LOG_ERR });
  const c = h.accept()!;
  h.feed(c, "GET /logstats HTTP/1.1\r\nHost: a\r\n\r\n");
  expect(c.take().toString()).toMatch(/\r\n\r\nerr=0 warn=0 notice=0 info=0 last=$/);
  expect(h.logs).toEqual([]);
});
