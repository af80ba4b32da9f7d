// The app-image store (issue 5): a running device takes a new app over HTTP
// (PUT /.mote/image with a manifest signed with HMAC-SHA256 under the device
// key), checks it, switches to it without a reflash and keeps it across a
// power cycle; every refused, truncated or broken upload leaves the running
// app serving, and an unauthenticated, replayed or older one is refused
// before anything is erased.
//
// One file for both targets: in the "wasm3" jest project it runs against the
// Linux simulator (store in a file, --flash), in "mps2-wasm3" against the
// QEMU board (store in the board's flash region, persisted to the same kind
// of file through semihosting). A restart of the target with the same file
// is the power cycle: the simulator is stopped, QEMU is killed outright.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Sim, rawExchange, sleep, pace, ON_BOARD, simBuild } from "../integration/sim";
import { build } from "../../tools/build";
import { describeStore, makeManifest, nextVersion, readKey, uploadImage } from "../../tools/image";
import * as C from "../../src/abi/constants";

jest.setTimeout(60000);

const board = ON_BOARD ? process.env.MOTE_BOARD! : "linux";
const key = readKey();
const testApp = () =>
  fs.readFileSync((ON_BOARD ? build({ board, engine: "wasm3", app: "test/apps/core-test.ts", quiet: true }) : simBuild("test/apps/core-test.ts", "wasm3")).wasm);

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mote-store-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
const flashFile = () => path.join(tmp, `flash-${++n}.bin`);

async function status(t: Sim, p: string): Promise<number> {
  await pace();
  return (await fetch(t.url + p)).status;
}

/** The demo answers "/" with its page and "/hello" with 404; the test app
 *  answers "/hello" with 200. */
async function runningApp(t: Sim): Promise<"demo" | "core-test"> {
  return (await status(t, "/hello")) === 200 ? "core-test" : "demo";
}

async function waitApp(t: Sim, want: "demo" | "core-test", ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if ((await runningApp(t)) === want) return;
    } catch {
      // the switch drops connections: try again
    }
    if (Date.now() > end) throw new Error(`the target did not run ${want} within ${ms} ms:\n${t.log}`);
    await sleep(200);
  }
}

/** Power cut: the board's QEMU is killed at once; the simulator stopped. */
async function powerOff(t: Sim): Promise<void> {
  if (t.onBoard) {
    t.proc.kill("SIGKILL");
    await t.exited;
  } else {
    await t.stop();
  }
}

/** The status of an upload the device refuses on its head alone (no body
 *  is sent: a board closes before it would take one). */
async function refused(t: Sim, img: Buffer, manifest: Buffer): Promise<number> {
  await pace();
  const r = await headOnly(t, `Content-Length: ${img.length}\r\nX-Mote-Image-Manifest: ${manifest.toString("hex")}\r\n`);
  return +(/^HTTP\/1\.1 (\d{3})/.exec(r) || [0, 0])[1];
}

function headOnly(t: Sim, headers: string, method = "PUT"): Promise<string> {
  return rawExchange(t.port, `${method} /.mote/image HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`, 4000).then((r) => r.data.toString("latin1"));
}

test("an authorised upload switches to the new app, and it survives a power cycle", async () => {
  const flash = flashFile();
  const a = await Sim.start({ flash });
  try {
    expect(await runningApp(a)).toBe("demo");
    const img = testApp();
    const r = await uploadImage("127.0.0.1", a.port, img, key);
    expect(r).toEqual({ status: 200, body: "image accepted; switching\n" });
    await waitApp(a, "core-test");
    await a.waitLog(/core up on the image of slot 1/);
  } finally {
    await powerOff(a);
  }
  expect(describeStore(flash, a.board)).toEqual([
    { slot: 0, seq: 1, len: expect.any(Number), revoked: false, version: 0 },
    { slot: 1, seq: 2, len: testApp().length, revoked: false, version: expect.any(Number) },
  ]);
  const b = await Sim.start({ flash });
  try {
    expect(await runningApp(b)).toBe("core-test");
    expect(b.log).toMatch(/image store: running slot 1 \(sequence 2/);
  } finally {
    await b.stop();
  }
});

test("refused uploads get a specific status and the running app keeps serving", async () => {
  const flash = flashFile();
  const t = await Sim.start({ flash });
  try {
    const img = testApp();
    // no manifest: 401 naming the scheme
    expect(await headOnly(t, `Content-Length: ${img.length}\r\n`)).toMatch(/^HTTP\/1\.1 401 [^]*WWW-Authenticate: Mote-Image-Manifest alg=HMAC-SHA256\r\n/);
    // a manifest that is not 168 hex digits: 400
    expect(await headOnly(t, `Content-Length: 10\r\nX-Mote-Image-Manifest: 12zz\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
    // chunked, or no length: 411
    const man = makeManifest(key, img, nextVersion()).toString("hex");
    expect(await headOnly(t, `Transfer-Encoding: chunked\r\nX-Mote-Image-Manifest: ${man}\r\n`)).toMatch(/^HTTP\/1\.1 411 /);
    expect(await headOnly(t, `X-Mote-Image-Manifest: ${man}\r\n`)).toMatch(/^HTTP\/1\.1 411 /);
    // not PUT: 405 with Allow
    expect(await headOnly(t, `X-Mote-Image-Manifest: ${man}\r\n`, "GET")).toMatch(/^HTTP\/1\.1 405 [^]*Allow: PUT\r\n/);
    // a manifest of another length than the request's: 400
    expect(await headOnly(t, `Content-Length: ${img.length + 1}\r\nX-Mote-Image-Manifest: ${man}\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
    // larger than a slot: 413 before a byte is written
    const slot = t.board.imageStore!.slotBytes - C.IMG_HDR_BYTES;
    const big = makeManifest(key, Buffer.alloc(slot + 1), nextVersion()).toString("hex");
    expect(await headOnly(t, `Content-Length: ${slot + 1}\r\nX-Mote-Image-Manifest: ${big}\r\n`)).toMatch(/^HTTP\/1\.1 413 /);
    // the bytes differ from the manifest's digest (altered in transit): 403
    const altered = Buffer.from(img);
    altered[altered.length >> 1] ^= 1;
    await pace();
    expect((await uploadImage("127.0.0.1", t.port, altered, null, { manifest: makeManifest(key, img, nextVersion()) })).status).toBe(403);
    // a wrong key: 403, and the next forged attempt within a second: 429 with Retry-After
    expect(await refused(t, img, makeManifest(Buffer.alloc(32, 7), img, nextVersion()))).toBe(403);
    const forged = makeManifest(Buffer.alloc(32, 8), img, nextVersion()).toString("hex");
    expect(await headOnly(t, `Content-Length: ${img.length}\r\nX-Mote-Image-Manifest: ${forged}\r\n`)).toMatch(/^HTTP\/1\.1 429 [^]*Retry-After: 1\r\n/);
    // authorised, but not a module: 422
    await pace();
    expect((await uploadImage("127.0.0.1", t.port, Buffer.from("this is not WebAssembly at all"), key)).status).toBe(422);
    const broken = Buffer.concat([Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0x7f]), Buffer.alloc(200, 0xee)]);
    await pace();
    expect((await uploadImage("127.0.0.1", t.port, broken, key)).status).toBe(422);

    expect(await runningApp(t)).toBe("demo");
    expect(await status(t, "/")).toBe(200);
    expect(t.log).not.toMatch(/switching to the uploaded image/);
    expect(t.alive).toBe(true);
  } finally {
    await powerOff(t);
  }
  // nothing of it reached a slot header
  expect(describeStore(flash, t.board).map((s) => s.slot)).toEqual([0]);
});

test("a truncated upload leaves the old app; the next upload goes through", async () => {
  const flash = flashFile();
  const t = await Sim.start({ flash });
  try {
    const img = testApp();
    const man = makeManifest(key, img, nextVersion()).toString("hex");
    const head = `PUT /.mote/image HTTP/1.1\r\nHost: x\r\nContent-Length: ${img.length}\r\nX-Mote-Image-Manifest: ${man}\r\n\r\n`;
    // half the body, then the peer is gone (rawExchange gives up after 1.5 s)
    await rawExchange(t.port, [head, img.subarray(0, img.length >> 1)], 1500);
    await t.waitLog(/upload abandoned after \d+ of \d+ bytes/, 10000);
    expect(await runningApp(t)).toBe("demo");
    await pace();
    expect((await uploadImage("127.0.0.1", t.port, img, key)).status).toBe(200);
    await waitApp(t, "core-test");
  } finally {
    await powerOff(t);
  }
});

test("an authorised image that fails to start is revoked and the previous app starts again", async () => {
  const flash = flashFile();
  const t = await Sim.start({ flash });
  try {
    // a valid module with a memory and nothing else: it parses (accepted)
    // but has none of the core's exports, so it cannot start
    const empty = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0, 1]);
    expect((await uploadImage("127.0.0.1", t.port, empty, key)).status).toBe(200);
    await t.waitLog(/slot 1 \(sequence 2\) revoked: it failed to start/, 10000);
    await waitApp(t, "demo");
    expect(await status(t, "/")).toBe(200);
  } finally {
    await powerOff(t);
  }
  expect(describeStore(flash, t.board)).toEqual([
    { slot: 0, seq: 1, len: expect.any(Number), revoked: false, version: 0 },
    { slot: 1, seq: 2, len: 13, revoked: true, version: expect.any(Number) },
  ]);
  // after a power cycle the revoked image stays out
  const b = await Sim.start({ flash });
  try {
    expect(b.log).toMatch(/image store: running slot 0 \(sequence 1/);
    expect(await runningApp(b)).toBe("demo");
  } finally {
    await b.stop();
  }
});

test("a replayed or older upload is refused (409) before anything is erased, without a restart; a newer one goes through", async () => {
  const flash = flashFile();
  const t = await Sim.start({ flash });
  try {
    const img = testApp();
    const v = nextVersion();
    const captured = makeManifest(key, img, v);
    expect((await uploadImage("127.0.0.1", t.port, img, null, { manifest: captured })).status).toBe(200);
    await waitApp(t, "core-test");
    const switches = (t.log.match(/switching to the uploaded image/g) || []).length;
    const before = fs.readFileSync(flash);
    // the same upload again (a replay), then an older version: 409, each at
    // once (signed manifests are never backed off)
    expect(await refused(t, img, captured)).toBe(409);
    expect(await refused(t, img, makeManifest(key, img, v - 1))).toBe(409);
    expect(fs.readFileSync(flash).equals(before)).toBe(true); // nothing erased or written
    expect(await runningApp(t)).toBe("core-test");
    expect((t.log.match(/switching to the uploaded image/g) || []).length).toBe(switches); // no restart
    expect(t.log).toMatch(/version \d+ is not above the installed \d+/);
    // a newer version: taken
    await pace();
    expect((await uploadImage("127.0.0.1", t.port, testApp(), key, { version: v + 1 })).status).toBe(200);
    await t.waitLog(/slot 0 committed \(sequence 3, version \d+/, 10000);
  } finally {
    await powerOff(t);
  }
});

test("100 unauthenticated uploads erase nothing: 403, then 429 with Retry-After while they keep coming", async () => {
  const flash = flashFile();
  const t = await Sim.start({ flash });
  try {
    const img = testApp();
    const before = fs.readFileSync(flash);
    const statuses: number[] = [];
    const wrong = makeManifest(Buffer.alloc(32, 7), img, nextVersion()).toString("hex");
    for (let i = 0; i < 100; i++) {
      await pace();
      const r = await rawExchange(t.port, `PUT /.mote/image HTTP/1.1\r\nHost: x\r\nContent-Length: ${img.length}\r\nX-Mote-Image-Manifest: ${wrong}\r\n\r\n`, 4000);
      statuses.push(+(/^HTTP\/1\.1 (\d{3})/.exec(r.data.toString("latin1")) || [0, 0])[1]);
    }
    expect(statuses[0]).toBe(403);
    expect(statuses.every((s) => s === 403 || s === 429)).toBe(true);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(50);
    expect(fs.readFileSync(flash).equals(before)).toBe(true); // 0 erases, 0 bytes programmed
    console.log(`100 unauthenticated uploads: ${statuses.filter((s) => s === 403).length} x 403, ${statuses.filter((s) => s === 429).length} x 429; store file unchanged`);
    expect(await runningApp(t)).toBe("demo");
  } finally {
    await powerOff(t);
  }
});

test("an upload trickled in under the body's minimum rate is dropped (408) and frees the store for the next", async () => {
  const flash = flashFile();
  const t = await Sim.start({ flash });
  try {
    const img = testApp();
    const man = makeManifest(key, img, nextVersion()).toString("hex");
    const net = await import("net");
    await pace();
    const s = net.connect(t.port, "127.0.0.1");
    let answer = "";
    s.on("data", (d) => (answer += d.toString("latin1")));
    s.on("error", () => {});
    await new Promise<void>((r) => s.once("connect", () => r()));
    s.write(`PUT /.mote/image HTTP/1.1\r\nHost: x\r\nContent-Length: ${img.length}\r\nX-Mote-Image-Manifest: ${man}\r\n\r\n`);
    const start = Date.now();
    let sent = 0;
    while (!answer && Date.now() - start < 20000) {
      s.write(img.subarray(sent, sent + 100)); // 100 B/s, under 500 B/s
      sent += 100;
      await sleep(1000);
    }
    s.destroy();
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(Date.now() - start).toBeLessThan(16000); // the lock was held ~10 s, not 60
    await pace();
    expect((await uploadImage("127.0.0.1", t.port, img, key)).status).toBe(200);
    await waitApp(t, "core-test");
  } finally {
    await powerOff(t);
  }
});
