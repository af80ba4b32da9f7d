// The demo page over https:// in headless Chromium (Debian's, driven by
// playwright-core), its four WebSockets over wss://. Chromium trusts the
// test certificates through --ignore-certificate-errors-spki-list with the
// SHA-256 of their public keys (a pin on exactly these keys, not a blanket
// "ignore certificate errors").
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { chromium, Browser, Page } from "playwright-core";
import { Sim, artifactsDir } from "../integration/sim";
import { cert } from "./tls-helpers";

const CHROMIUM = "/usr/bin/chromium";
const WAIT = 8000;

function spkiHash(file: string): string {
  const key = new crypto.X509Certificate(fs.readFileSync(file)).publicKey.export({ type: "spki", format: "der" });
  return crypto.createHash("sha256").update(key).digest("base64");
}

let sim: Sim | undefined;
let browser: Browser | undefined;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`node tools/bootstrap.js test\` (Debian package chromium)`);
  sim = await Sim.start({ tls: true, args: ["-d", "15"] });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-proxy-server",
      `--ignore-certificate-errors-spki-list=${spkiHash(cert("ecdsa.crt"))},${spkiHash(cert("rsa.crt"))}`,
    ],
    timeout: 20000,
  });
  page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  page.setDefaultTimeout(WAIT);
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/^Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && new URL(r.url()).pathname !== "/favicon.ico") problems.push(`${r.status()} ${r.url()}`);
  });
  page.on("requestfailed", (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
}, 40000);

afterAll(async () => {
  try {
    if (browser) await browser.close();
  } finally {
    if (sim) {
      const r = await sim.stop();
      expect(r.code).toBe(0);
    }
  }
}, 20000);

test("the page loads over https and its four WebSockets open over wss", async () => {
  const r = await page.goto(sim!.url + "/", { waitUntil: "load" });
  expect(r && r.status()).toBe(200);
  const sec = await r!.securityDetails();
  expect(sec && sec.protocol).toBe("TLS 1.2");
  expect(await page.title()).toBe("mote test page");
  expect(await page.evaluate(() => location.protocol)).toBe("https:");
  for (const id of ["inc-state", "mirror-state", "echo-state", "status-state"]) {
    await page.waitForFunction((i) => document.getElementById(i)!.textContent === "open", id, { timeout: WAIT });
  }
  // the WebSockets came through the TLS listener: one handshake each (at least)
  await sim!.waitLog(/TLS handshake done/);
  expect((sim!.stderr.match(/TLS handshake done/g) || []).length).toBeGreaterThanOrEqual(2);
});

test("echo over wss from the page, UTF-8 included", async () => {
  for (const msg of [`echo ${Date.now()}`, "héllo wörld ✓ 🚀 日本語"]) {
    await page.fill("#echo-text", msg);
    await page.click("#echo-send");
    await page.waitForFunction((m) => document.getElementById("echo-reply")!.textContent === m, msg, { timeout: WAIT });
  }
});

test("dumb-increment counts over wss", async () => {
  const read = async () => parseInt(((await page.textContent("#number")) || "").trim(), 10);
  await page.waitForFunction(() => /^\d+$/.test((document.getElementById("number")!.textContent || "").trim()), undefined, { timeout: WAIT });
  const a = await read();
  await page.waitForFunction((x) => parseInt((document.getElementById("number")!.textContent || "").trim(), 10) > x, a, { timeout: WAIT });
});

test("screenshot, and no page errors", async () => {
  const dir = artifactsDir("browser-tls");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "demo-https.png");
  await page.screenshot({ path: file, fullPage: true, timeout: WAIT });
  expect(fs.statSync(file).size).toBeGreaterThan(5000);
  expect(problems).toEqual([]);
});
