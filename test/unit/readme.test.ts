// The README's first application, as a reader copies it: the first ```ts
// block of README.md, saved as app/hello.ts would be (its www/ is app/www),
// built into a module and run in the Node host. It must serve the page at
// "/", answer 404 elsewhere and echo a WebSocket message, text and binary,
// fragments included, as the README says.
import * as fs from "fs";
import * as path from "path";
import { buildWasm } from "../../tools/build";
import { Host, clientFrame, parseFrames } from "./host";
import { responses } from "./responses";

const ROOT = path.resolve(__dirname, "../..");
const DIR = path.join(ROOT, "build/readme");

function readmeApp(): string {
  const m = /```ts\n([\s\S]*?)```/.exec(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"));
  if (!m) throw new Error("README.md has no ```ts block");
  return m[1];
}

let h: Host;
beforeAll(async () => {
  const src = readmeApp();
  expect(src).toContain('from "../src/mote"'); // written to sit in app/
  // the same file one folder further from src/, next to a copy of app/www
  const appDir = path.join(DIR, "app");
  fs.rmSync(appDir, { recursive: true, force: true });
  fs.mkdirSync(appDir, { recursive: true });
  fs.cpSync(path.join(ROOT, "app/www"), path.join(appDir, "www"), { recursive: true });
  const rel = path.relative(appDir, path.join(ROOT, "src/mote")).replace(/\\/g, "/");
  fs.writeFileSync(path.join(appDir, "hello.ts"), src.replace('from "../src/mote"', `from "${rel}"`));
  const wasm = buildWasm({ board: "linux", app: path.join(appDir, "hello.ts"), quiet: true }, path.join(DIR, "module"));
  h = await Host.create(fs.readFileSync(wasm));
}, 120000);

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

test("GET / serves app/www/index.html, anything else 404", () => {
  const c = h.accept()!;
  h.feed(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\n");
  const [page, missing] = responses(c.take());
  expect(page.status).toBe(200);
  expect(page.body).toBe(fs.readFileSync(path.join(ROOT, "app/www/index.html"), "latin1"));
  expect(missing.status).toBe(404);
});

test("a WebSocket without a subprotocol gets the echo protocol: text, binary and fragments back as sent", () => {
  const c = h.accept()!;
  h.feed(c, `GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  expect(c.take().toString("latin1")).toMatch(/^HTTP\/1\.1 101 /);
  h.feed(c, clientFrame(1, "hello"));
  h.feed(c, clientFrame(2, Buffer.from([1, 2, 3])));
  h.feed(c, clientFrame(1, "frag", false));
  h.feed(c, clientFrame(0, "ment"));
  const { frames } = parseFrames(c.take());
  expect(frames.map((f) => [f.opcode, f.fin, Buffer.from(f.payload).toString("latin1")])).toEqual([
    [1, true, "hello"],
    [2, true, "\x01\x02\x03"],
    [1, false, "frag"],
    [0, true, "ment"],
  ]);
  expect(c.closed).toBe(false);
});
