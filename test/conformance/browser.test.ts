// The demo page in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core, which never downloads a browser): the page's four
// WebSockets against the real simulator, as a user sees them.
import * as fs from "fs";
import * as path from "path";
import { chromium, Browser, Page } from "playwright-core";
import WebSocket from "ws";
import { Sim, artifactsDir } from "../integration/sim";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = artifactsDir("browser");
const WAIT = 8000; // every wait in the page is bounded by this

let sim: Sim | undefined;
let browser: Browser | undefined;
let page: Page;
const problems: string[] = []; // page errors and console errors

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`node tools/bootstrap.js test\` (Debian package chromium)`);
  sim = await Sim.start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // playwright-core gives each launch a fresh temporary profile
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-proxy-server",
    ],
    timeout: 20000,
  });
  page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  page.setDefaultTimeout(WAIT);
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // a failed load is reported below with its URL
    if (m.type() === "error" && !/^Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on("response", (r) => {
    // the demo has no favicon; the browser asks anyway
    if (r.status() >= 400 && new URL(r.url()).pathname !== "/favicon.ico") problems.push(`${r.status()} ${r.url()}`);
  });
  page.on("requestfailed", (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  const r = await page.goto(sim.url + "/", { waitUntil: "load" });
  expect(r && r.status()).toBe(200);
}, 40000);

afterAll(async () => {
  try {
    if (browser) await browser.close();
  } finally {
    if (sim) await sim.stop();
  }
}, 20000);

async function text(sel: string): Promise<string> {
  return ((await page.textContent(sel)) || "").trim();
}

/** Waits until the element shows an integer within the bounds; returns it. */
async function waitNumber(sel: string, bounds: { gt?: number; lt?: number } = {}): Promise<number> {
  const h = await page.waitForFunction(
    ([s, b]) => {
      const el = document.querySelector(s);
      const t = el ? (el.textContent || "").trim() : "";
      if (!/^\d+$/.test(t)) return false;
      const n = parseInt(t, 10);
      if (b.gt !== undefined && !(n > b.gt)) return false;
      if (b.lt !== undefined && !(n < b.lt)) return false;
      return { n };
    },
    [sel, bounds] as [string, { gt?: number; lt?: number }],
    { timeout: WAIT, polling: 20 },
  );
  return ((await h.jsonValue()) as { n: number }).n;
}

test("the page loads and its four WebSockets open", async () => {
  expect(await page.title()).toBe("mote test page");
  for (const id of ["inc-state", "mirror-state", "echo-state", "status-state"]) {
    await page.waitForFunction((i) => document.getElementById(i)!.textContent === "open", id, { timeout: WAIT });
  }
});

test("dumb-increment: #number counts up, and reset brings it back down", async () => {
  const first = await waitNumber("#number");
  const later = await waitNumber("#number", { gt: first });
  expect(later).toBeGreaterThan(first);
  // let it get clearly above a fresh count, then reset
  const high = await waitNumber("#number", { gt: later + 9 });
  await page.click("#reset");
  const low = await waitNumber("#number", { lt: high });
  expect(low).toBeLessThan(high);
});

test("mirror: a line typed on the page comes back in #mirrorlog, and reaches another mirror client", async () => {
  const other = new WebSocket(sim!.wsUrl + "/", "lws-mirror-protocol");
  try {
    const got: string[] = [];
    other.on("message", (d: Buffer) => got.push(d.toString()));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("mirror peer: no open")), WAIT);
      other.once("open", () => (clearTimeout(t), resolve()));
      other.once("error", (e) => (clearTimeout(t), reject(e)));
    });
    const msg = `from the browser ${Date.now()}`;
    await page.fill("#mirror-text", msg);
    await page.click("#mirror-send");
    await page.waitForFunction(
      (m) => [...document.querySelectorAll("#mirrorlog .mirror-line")].some((e) => e.textContent === m),
      msg,
      { timeout: WAIT },
    );
    const end = Date.now() + WAIT;
    while (!got.includes(msg) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(got).toContain(msg);
    // and the other way: a peer's message shows up on the page
    const back = `from a ws peer ${Date.now()}`;
    other.send(back);
    await page.waitForFunction(
      (m) => [...document.querySelectorAll("#mirrorlog .mirror-line")].some((e) => e.textContent === m),
      back,
      { timeout: WAIT },
    );
  } finally {
    other.terminate();
  }
});

test("echo: the text comes back unchanged, UTF-8 included", async () => {
  for (const msg of [`echo ${Date.now()}`, "héllo wörld ✓ 🚀 日本語"]) {
    await page.fill("#echo-text", msg);
    await page.click("#echo-send");
    await page.waitForFunction((m) => document.getElementById("echo-reply")!.textContent === m, msg, { timeout: WAIT });
    expect(await text("#echo-reply")).toBe(msg);
  }
});

test("lws-status: the table fills in and its counters move", async () => {
  await page.waitForSelector("#status-connections", { timeout: WAIT });
  const websockets = parseInt(await text("#status-websockets"), 10);
  expect(websockets).toBeGreaterThanOrEqual(4); // the page's own four
  expect(parseInt(await text("#status-incrementClients"), 10)).toBeGreaterThanOrEqual(1);
  expect(parseInt(await text("#status-mirrorClients"), 10)).toBeGreaterThanOrEqual(1);
  const tx = parseInt(await text("#status-txMessages"), 10);
  const rx = parseInt(await text("#status-rxMessages"), 10);
  // one more received message (an echo), then wait for the next report
  await page.fill("#echo-text", "count me");
  await page.click("#echo-send");
  const rx2 = await waitNumber("#status-rxMessages", { gt: rx });
  expect(rx2).toBeGreaterThan(rx);
  expect(parseInt(await text("#status-txMessages"), 10)).toBeGreaterThan(tx); // the counter pushes every 50 ms
});

test("screenshot", async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, "demo.png");
  await page.screenshot({ path: file, fullPage: true, timeout: WAIT });
  expect(fs.statSync(file).size).toBeGreaterThan(5000);
  expect(problems).toEqual([]);
});
