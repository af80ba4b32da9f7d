// The app-image store (issue 5): a running device takes a new app over HTTP
// (PUT /.mote/image, tagged with HMAC-SHA256 under the device key), checks
// it, switches to it without a reflash and keeps it across a power cycle;
// every refused, truncated or broken upload leaves the running app serving.
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
import { describeStore, imageTag, readKey, uploadImage } from "../../tools/image";
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
    { slot: 0, seq: 1, len: expect.any(Number), revoked: false },
    { slot: 1, seq: 2, len: testApp().length, revoked: false },
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
    // no tag: 401 naming the scheme
    expect(await headOnly(t, `Content-Length: ${img.length}\r\n`)).toMatch(/^HTTP\/1\.1 401 [^]*WWW-Authenticate: Mote-Image-Tag alg=HMAC-SHA256\r\n/);
    // a tag that is not 64 hex digits: 400
    expect(await headOnly(t, `Content-Length: 10\r\nX-Mote-Image-Tag: 12zz\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
    // chunked, or no length: 411
    const tag = imageTag(key, img).toString("hex");
    expect(await headOnly(t, `Transfer-Encoding: chunked\r\nX-Mote-Image-Tag: ${tag}\r\n`)).toMatch(/^HTTP\/1\.1 411 /);
    expect(await headOnly(t, `X-Mote-Image-Tag: ${tag}\r\n`)).toMatch(/^HTTP\/1\.1 411 /);
    // not PUT: 405 with Allow
    expect(await headOnly(t, `X-Mote-Image-Tag: ${tag}\r\n`, "GET")).toMatch(/^HTTP\/1\.1 405 [^]*Allow: PUT\r\n/);
    // larger than a slot: 413 before a byte is written
    const slot = t.board.imageStore!.slotBytes - C.IMG_HDR_BYTES;
    expect(await headOnly(t, `Content-Length: ${slot + 1}\r\nX-Mote-Image-Tag: ${tag}\r\n`)).toMatch(/^HTTP\/1\.1 413 /);
    // a wrong key: 403
    await pace();
    expect((await uploadImage("127.0.0.1", t.port, img, Buffer.alloc(32, 7))).status).toBe(403);
    // the right tag of other bytes (altered in transit): 403
    const altered = Buffer.from(img);
    altered[altered.length >> 1] ^= 1;
    await pace();
    expect((await uploadImage("127.0.0.1", t.port, altered, null, imageTag(key, img))).status).toBe(403);
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
    const tag = imageTag(key, img).toString("hex");
    const head = `PUT /.mote/image HTTP/1.1\r\nHost: x\r\nContent-Length: ${img.length}\r\nX-Mote-Image-Tag: ${tag}\r\n\r\n`;
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
    { slot: 0, seq: 1, len: expect.any(Number), revoked: false },
    { slot: 1, seq: 2, len: 13, revoked: true },
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
