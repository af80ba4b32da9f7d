// The target as a process: graceful shutdown, the connection table's limit
// and trap recovery, on the simulator and, in the "mps2" jest project, on
// the mps2-an386 firmware booted in QEMU (Sim.start boots the board there;
// connects are paced for slirp's listen backlog of 1), where the fault
// injection is the console's 'f' and `mote qemu` is the CLI that stops on
// SIGTERM. What only the simulator has (--max-conns, IPv6, the poll loop,
// --daemon, the CLI's answers to bad flags) is in a describe block
// registered for the simulator only.
import WebSocket from "ws";
import { spawn, spawnSync, execFileSync } from "child_process";
import * as net from "net";
import * as path from "path";
import {
  Sim, rawExchange, ROOT, ENGINE, ON_BOARD, BOARD, PORTABLE, boardLimits, freePort, pace, sleep, wsOpen, echoOnce, closed, simBinary,
} from "./sim";

/** pace(), then a WebSocket to the target (bounded). */
async function connect(sim: Sim, protocol: string): Promise<WebSocket> {
  await pace();
  return wsOpen(sim.wsUrl + "/", protocol);
}

test(
  ON_BOARD
    ? "stop (console 'q'): WebSocket peers get close 1001 and the firmware exits 0 through semihosting"
    : "SIGTERM: WebSocket peers get close 1001 and the process exits 0",
  async () => {
    const sim = await Sim.start();
    const ws = await connect(sim, "echo");
    const code = closed(ws, 8000);
    const exit = sim.stop();
    expect(await code).toBe(1001);
    expect(await exit).toEqual({ code: 0, signal: null });
    if (ON_BOARD) await sim.waitLog(/exit 0/);
  },
);

test(`the connection table is sized from ${ON_BOARD ? `boards/${BOARD}.json` : "RLIMIT_NOFILE"} and refuses cleanly when full`, async () => {
  let sim: Sim;
  let slots: number;
  if (ON_BOARD) {
    // fixed arrays from the board file; one lwIP socket more is kept to refuse with
    sim = await Sim.start();
    slots = boardLimits().maxConnections as number;
    await sim.waitLog(new RegExp(`mote core: ${slots} connections x \\d+ B`));
  } else {
    sim = await Sim.start({ shell: "ulimit -n 24" });
    const m = /connection table: (\d+) slots \(RLIMIT_NOFILE 24/.exec(sim.stderr);
    expect(m).not.toBeNull();
    slots = parseInt(m![1], 10);
    expect(slots).toBeGreaterThan(2);
    expect(slots).toBeLessThan(24);
  }
  const open: WebSocket[] = [];
  for (let i = 0; i < slots; i++) open.push(await connect(sim, "echo"));
  // one more: accepted by the kernel (on the board by lwIP), then closed by the port without an answer
  await pace();
  const extra = await rawExchange(sim.port, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", 3000);
  expect(extra.closed).toBe(true);
  expect(extra.data.length).toBe(0);
  await sim.waitLog(/refused connection: table full/);
  // the open ones still work, and a freed slot is reused
  expect(await echoOnce(open[0], "ok")).toBe("ok");
  const c = closed(open[1]);
  open[1].close();
  await c;
  await sleep(100);
  const again = await connect(sim, "echo");
  expect(await echoOnce(again, "reused")).toBe("reused");
  for (const w of [...open, again]) w.terminate();
  expect((await sim.stop()).code).toBe(0);
});

test("after a long wait, timers count from the event that set them, not from the last tick before the wait", async () => {
  // A loop that gave the core the time only before it waited left the
  // core's clock as old as the wait. Here the connection's first request
  // comes 5.5 s after its accept, in the first event after a wait that long:
  // the keep-alive timer (5 s) its response set was already due, and the
  // connection closed under the client. (Likewise, 10 s after the last
  // event a new connection's request timer started expired.) The test app
  // has no protocol timer (the demo's would wake the loop every 50 ms).
  const sim = await Sim.start({ app: "test/apps/core-test.ts" });
  await pace();
  const sock = net.connect(sim.port, "127.0.0.1");
  let got = "";
  let closedAt = 0;
  sock.on("data", (d) => (got += d.toString("latin1")));
  sock.on("close", () => (closedAt = Date.now()));
  sock.on("error", () => {});
  const responses = () => (got.match(/HTTP\/1\.1 200 OK/g) || []).length;
  const until = async (ok: () => boolean) => {
    const end = Date.now() + 3000;
    while (!ok() && Date.now() < end) await sleep(20);
  };
  await new Promise<void>((resolve, reject) => { sock.once("connect", resolve); sock.once("error", reject); });
  await sleep(5500);
  sock.write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  await until(() => responses() == 1 || closedAt > 0);
  expect(responses()).toBe(1);
  await sleep(300);
  expect(closedAt).toBe(0); // kept alive
  sock.write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  await until(() => responses() == 2 || closedAt > 0);
  expect(responses()).toBe(2);
  sock.destroy();
  expect((await sim.stop()).code).toBe(0);
}, 20000);

test("a trap in the module is logged, the instance restarts and serves again", async () => {
  const sim = await Sim.start({ app: "test/apps/core-test.ts" });
  const ws = await connect(sim, "inspect");
  const gone = closed(ws);
  ws.send("trap");
  await gone; // the restart closed every connection
  await sim.waitLog(/trap unreachable in mote_received/);
  const again = await connect(sim, "echo");
  expect(await echoOnce(again, "after trap")).toBe("after trap");
  again.close();
  expect((await sim.stop()).code).toBe(0);
});

describe("every kind of trap is reported by name, the instance restarts and serves again", () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await Sim.start({ app: "test/apps/core-test.ts" });
  }, 60000);
  afterAll(async () => {
    if (!sim) return; // beforeAll failed: its error is reported
    const r = await sim.stop();
    expect(sim.stderr).toMatch(/core restarted 5 times after traps/);
    expect(r.code).toBe(0);
  }, 15000);
  // test/apps/core-test.ts: each four-byte command to "inspect" traps one way
  test.each([
    ["oob!", "out-of-bounds"],
    ["div0", "divide-by-zero"],
    ["abrt", "abort"],
    ["deep", "stack-exhausted"],
    ["trap", "unreachable"],
  ])("%s: trap %s", async (cmd, kind) => {
    const ws = await connect(sim, "inspect");
    const gone = closed(ws);
    ws.send(cmd);
    await gone;
    await sim.waitLog(new RegExp(`trap ${kind} in mote_received`));
    // abort() messages are decoded from the module's UTF-16 strings
    if (kind === "abort") expect(sim.stderr).toMatch(/abort: core-test abort at test\/apps\/core-test\.ts:\d+:\d+/);
    const again = await connect(sim, "echo");
    expect(await echoOnce(again, `after ${cmd}`)).toBe(`after ${cmd}`);
    again.close();
  });
});

test("a pointer the engine refuses traps as bad-pointer, and the core restarts", async () => {
  // every 7th import call fails its bounds check: the simulator's
  // --debug-fault 7, the board console's 'f' (platform/qemu-mps2/main.c)
  const sim = ON_BOARD ? await Sim.start() : await Sim.start({ args: ["--debug-fault", "7"] });
  if (ON_BOARD) {
    sim.console("f");
    await sim.waitLog(/debug fault: every 7th import call/);
  }
  const codes: number[] = [];
  for (let i = 0; i < 12; i++) {
    await pace();
    codes.push(await fetch(sim.url + "/").then((r) => r.status, () => 0));
  }
  await sim.waitLog(/bad pointer from core: sock_send\(ptr \d+, len \d+\), memory \d+ bytes \(injected\)/);
  await sim.waitLog(/trap bad-pointer in mote_received/);
  await sim.waitLog(/core restarted after trap/);
  expect(codes.filter((c) => c === 200).length).toBeGreaterThan(6);
  expect((await sim.stop()).code).toBe(0);
});

/** Runs `mote ARGS --port P` (a free port), waits (bounded) until it prints
 *  "listening on http://127.0.0.1:P/", sends SIGTERM and resolves to its exit
 *  code and output. */
async function moteUntilSigterm(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const port = await freePort();
  const p = spawn(process.execPath, [path.join(ROOT, "tools/bin/mote.js"), ...args, "--port", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  p.stderr!.on("data", (d) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => p.on("exit", (c) => resolve(c)));
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no URL from mote ${args.join(" ")}:\n${stderr}`)), 60000);
      p.stdout!.on("data", (d) => {
        stdout += d;
        if (stdout.includes(`listening on http://127.0.0.1:${port}/`)) {
          clearTimeout(t);
          resolve();
        }
      });
    });
  } finally {
    p.kill("SIGTERM");
  }
  const kill = setTimeout(() => p.kill("SIGKILL"), 15000);
  const code = await exit;
  clearTimeout(kill);
  return { code, stdout, stderr };
}

// Registered on the board only: the simulator's CLI test is below.
if (ON_BOARD)
  test("mote qemu prints the URL once the board answers and exits 0 on SIGTERM (console 'q', semihosting exit)", async () => {
    const r = await moteUntilSigterm(["qemu", "--board", BOARD, ...(ENGINE ? ["--engine", ENGINE] : [])]);
    expect(r.code).toBe(0);
    // the firmware shut down itself: QEMU was not killed
    expect(r.stderr).toMatch(/shutting down: \d+ connections open/);
    expect(r.stderr).toMatch(/exit 0/);
  }, 90000);

// Registered on the simulator only: the "mps2" project does not list these
// (they are not run there, rather than skipped and counted).
if (!ON_BOARD)
  describe("simulator only: --max-conns, IPv6, the poll loop, the CLI, --daemon", () => {
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

    // the BSD-socket port (platform/posix) on its two arch headers: the
    // portable build (the wasm3 project) asks the C library for POSIX calls
    // and poll(2) only; the Linux build (wasm2c) for epoll and accept4 too
    test(PORTABLE ? "the portable build links no epoll, accept4 or ppoll, and runs the poll(2) loop" : "the Linux build links epoll and accept4", async () => {
      const undef = execFileSync("nm", ["-u", simBinary()], { encoding: "utf8" });
      const linuxOnly = undef.split("\n").map((l) => l.trim().split(/\s+/).pop()!.split("@")[0]).filter((n) => /^(epoll_\w+|accept4|ppoll)$/.test(n));
      if (PORTABLE) {
        expect(linuxOnly).toEqual([]);
        expect(undef).toMatch(/\bpoll@/);
        const sim = await Sim.start();
        expect(sim.stderr).toMatch(/, poll loop/);
        await sim.stop();
      } else {
        expect(linuxOnly.sort()).toEqual(["accept4", "epoll_create1", "epoll_ctl", "epoll_wait"]);
      }
    });

    describe("CLI", () => {
      const mote = path.join(ROOT, "tools/bin/mote.js");
      test.each([
        [["sim", "--bogus"], /unknown option '--bogus'/],
        [["sim", "--port"], /option '--port' needs a value/],
        [["sim", "--port", "http"], /non-negative integer/],
        [["sim", "--port", "70000"], /--port must be 0\.\.65535/],
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

      test.each([["test", "--help"], ["build", "-h"], ["bench", "--help"]])(
        "mote %j prints the usage, exits 0 and runs nothing", (...args) => {
          const r = spawnSync(process.execPath, [mote, ...args], { encoding: "utf8", timeout: 10000 });
          expect(r.status).toBe(0);
          expect(r.stdout).toMatch(/^usage: mote/);
          expect(r.stdout).not.toContain("[build]");
          expect(r.stderr).toBe("");
        });

      test("mote sim prints the URL and exits 0 on SIGTERM", async () => {
        const r = await moteUntilSigterm(["sim"]);
        expect(r.code).toBe(0);
      }, 90000);
    });

    test("--daemon detaches once listening, holds a lock file, refuses a second start", async () => {
      const { spawnSync: run } = await import("child_process");
      const fs = await import("fs");
      const os = await import("os");
      const { simBinary } = await import("./sim");
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

    test.each([[["--daemon"]], [["--daemon", "--port", "0"]]])(
      "%j without --lock is refused: the default lock file is named after the port", (args) => {
        const r = spawnSync(simBinary(), args, { encoding: "utf8", timeout: 10000 });
        expect(r.status).toBe(2);
        expect(r.stderr.split("\n")[0]).toMatch(/option '--daemon' needs --port N \(not 0\) or --lock FILE/);
      });
  });
