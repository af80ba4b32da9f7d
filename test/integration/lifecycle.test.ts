// The simulator as a process: connection table limits, graceful shutdown,
// IPv6, the poll loop, trap recovery and the CLI's answers to bad flags.
import WebSocket from "ws";
import * as net from "net";
import { spawnSync } from "child_process";
import * as path from "path";
import { Sim, rawExchange, ROOT } from "./sim";

function wsOpen(url: string, protocol?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocol);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function echoOnce(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no echo")), 3000);
    ws.once("message", (d: Buffer) => {
      clearTimeout(t);
      resolve(d.toString());
    });
    ws.send(text);
  });
}

test("SIGTERM: WebSocket peers get close 1001 and the process exits 0", async () => {
  const sim = await Sim.start();
  const ws = await wsOpen(sim.wsUrl + "/", "echo");
  const code = new Promise<number>((resolve) => ws.on("close", (c: number) => resolve(c)));
  const exit = sim.stop();
  expect(await code).toBe(1001);
  expect(await exit).toEqual({ code: 0, signal: null });
});

test("the connection table is sized from RLIMIT_NOFILE and refuses cleanly when full", async () => {
  const sim = await Sim.start({ shell: "ulimit -n 24" });
  const m = /connection table: (\d+) slots \(RLIMIT_NOFILE 24/.exec(sim.stderr);
  expect(m).not.toBeNull();
  const slots = parseInt(m![1], 10);
  expect(slots).toBeGreaterThan(2);
  expect(slots).toBeLessThan(24);
  const open: WebSocket[] = [];
  for (let i = 0; i < slots; i++) open.push(await wsOpen(sim.wsUrl + "/", "echo"));
  // one more: accepted by the kernel, then closed by the port without an answer
  const extra = await rawExchange(sim.port, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", 3000);
  expect(extra.closed).toBe(true);
  expect(extra.data.length).toBe(0);
  await sim.waitLog(/table full/);
  // the open ones still work, and a freed slot is reused
  expect(await echoOnce(open[0], "ok")).toBe("ok");
  await new Promise<void>((resolve) => {
    open[1].on("close", () => resolve());
    open[1].close();
  });
  await new Promise((r) => setTimeout(r, 100));
  const again = await wsOpen(sim.wsUrl + "/", "echo");
  expect(await echoOnce(again, "reused")).toBe("reused");
  for (const w of [...open, again]) w.terminate();
  expect((await sim.stop()).code).toBe(0);
});

test("--max-conns caps the table", async () => {
  const sim = await Sim.start({ args: ["--max-conns", "3"] });
  expect(sim.stderr).toMatch(/connection table: 3 slots/);
  await sim.stop();
});

test("IPv6 loopback", async () => {
  const sim = await Sim.start({ iface: "::1" });
  expect(sim.stdout).toContain(`listening on http://[::1]:${sim.port}/`);
  const ws = await wsOpen(`ws://[::1]:${sim.port}/`, "echo");
  expect(await echoOnce(ws, "v6")).toBe("v6");
  ws.close();
  await sim.stop();
});

test("the poll(2) loop serves like epoll", async () => {
  const sim = await Sim.start({ args: ["--poll"] });
  const ws = await wsOpen(sim.wsUrl + "/", "echo");
  expect(await echoOnce(ws, "polled")).toBe("polled");
  const r = await fetch(sim.url + "/");
  expect(r.status).toBe(200);
  ws.close();
  await sim.stop();
});

test("a trap in the module is logged, the instance restarts and serves again", async () => {
  const sim = await Sim.start({ app: "test/apps/core-test.ts" });
  const ws = await wsOpen(sim.wsUrl + "/", "inspect");
  const closed = new Promise<void>((resolve) => ws.on("close", () => resolve()));
  ws.send("trap");
  await closed; // the restart closed every connection
  await sim.waitLog(/trap unreachable in mote_received/);
  const again = await wsOpen(sim.wsUrl + "/", "echo");
  expect(await echoOnce(again, "after trap")).toBe("after trap");
  again.close();
  expect((await sim.stop()).code).toBe(0);
});

describe("every kind of trap is reported by name, the instance restarts and serves again", () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await Sim.start({ app: "test/apps/core-test.ts" });
  });
  afterAll(async () => {
    const r = await sim.stop();
    expect(sim.stderr).toMatch(/core restarted 5 times after traps/);
    expect(r.code).toBe(0);
  });
  // test/apps/core-test.ts: each four-byte command to "inspect" traps one way
  test.each([
    ["oob!", "out-of-bounds"],
    ["div0", "divide-by-zero"],
    ["abrt", "abort"],
    ["deep", "stack-exhausted"],
    ["trap", "unreachable"],
  ])("%s: trap %s", async (cmd, kind) => {
    const ws = await wsOpen(sim.wsUrl + "/", "inspect");
    const closed = new Promise<void>((resolve) => ws.on("close", () => resolve()));
    ws.send(cmd);
    await closed;
    await sim.waitLog(new RegExp(`trap ${kind} in mote_received`));
    // abort() messages are decoded from the module's UTF-16 strings
    if (kind === "abort") expect(sim.stderr).toMatch(/abort: core-test abort at test\/apps\/core-test\.ts:\d+:\d+/);
    const again = await wsOpen(sim.wsUrl + "/", "echo");
    expect(await echoOnce(again, `after ${cmd}`)).toBe(`after ${cmd}`);
    again.close();
  });
});

test("a pointer the engine refuses traps as bad-pointer, and the core restarts", async () => {
  // --debug-fault N: every N-th import call fails its bounds check
  const sim = await Sim.start({ args: ["--debug-fault", "7"] });
  const codes: number[] = [];
  for (let i = 0; i < 12; i++) codes.push(await fetch(sim.url + "/").then((r) => r.status, () => 0));
  await sim.waitLog(/bad pointer from core: sock_send\(ptr \d+, len \d+\), memory \d+ bytes \(injected\)/);
  await sim.waitLog(/trap bad-pointer in mote_received/);
  await sim.waitLog(/core restarted after trap/);
  expect(codes.filter((c) => c === 200).length).toBeGreaterThan(6);
  expect((await sim.stop()).code).toBe(0);
});

describe("CLI", () => {
  const mote = path.join(ROOT, "tools/bin/mote.js");
  test.each([
    [["sim", "--bogus"], /unknown option '--bogus'/],
    [["sim", "--port"], /option '--port' needs a value/],
    [["sim", "--port", "http"], /non-negative integer/],
    [["sim", "--port", "70000"], /--port must be 1\.\.65535/],
    [["frobnicate"], /unknown command 'frobnicate'/],
    [["build", "--board", "nope"], /unknown board 'nope'/],
    [["build", "--engine", "wasm4"], /--engine must be one of wasm2c, wasm3, got 'wasm4'/],
    [["sim", "--engine", "wasm2c", "--module", "x.wasm"], /--module needs --engine wasm3/],
  ])("mote %j fails with one clear line and the usage", (args, re) => {
    const r = spawnSync(process.execPath, [mote, ...(args as string[])], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    const first = r.stderr.split("\n")[0];
    expect(first).toMatch(re as RegExp);
    if (!/unknown board/.test(first)) expect(r.stderr).toContain("usage: mote");
  });

  test("mote sim prints the URL and exits 0 on SIGTERM", async () => {
    const { spawn } = await import("child_process");
    const port = await new Promise<number>((res) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => res(p));
      });
    });
    const p = spawn(process.execPath, [mote, "sim", "--port", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no URL")), 60000);
      p.stdout!.on("data", (d) => {
        out += d;
        if (out.includes(`listening on http://127.0.0.1:${port}/`)) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const code = new Promise((resolve) => p.on("exit", (c) => resolve(c)));
    p.kill("SIGTERM");
    expect(await code).toBe(0);
  }, 90000);
});

test("--daemon detaches once listening, holds a lock file, refuses a second start", async () => {
  const { spawnSync: run } = await import("child_process");
  const fs = await import("fs");
  const os = await import("os");
  const { simBinary, freePort } = await import("./sim");
  const bin = simBinary();
  const port = await freePort();
  const lock = path.join(os.tmpdir(), `mote-daemon-test-${process.pid}.lock`);
  const first = run(bin, ["--port", String(port), "--daemon", "--lock", lock], { encoding: "utf8", timeout: 10000 });
  expect(first.status).toBe(0);
  expect(first.stdout).toContain(`listening on http://127.0.0.1:${port}/`);
  const pid = parseInt(fs.readFileSync(lock, "utf8"), 10);
  expect(pid).toBeGreaterThan(1);
  try {
    const r = await fetch(`http://127.0.0.1:${port}/`);
    expect(r.status).toBe(200);
    const second = run(bin, ["--port", String(port), "--daemon", "--lock", lock], { encoding: "utf8", timeout: 10000 });
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`already running (pid ${pid} holds the lock file ${lock})`);
  } finally {
    process.kill(pid, "SIGTERM");
  }
  // the daemon removes its lock file on the way out
  const end = Date.now() + 5000;
  while (fs.existsSync(lock) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  expect(fs.existsSync(lock)).toBe(false);
});
