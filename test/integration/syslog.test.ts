// The syslog sink (lws lwsl_emit_syslog): `mote-sim --syslog` sends each log
// line as one datagram to a syslog socket instead of stderr. The test plays
// syslogd: a Python receiver bound to a Unix datagram socket in a temporary
// folder (`--syslog-socket PATH`), printing each datagram on a line.
// Simulator only (the boards log to their console).
import { spawn, ChildProcess, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Sim, ON_BOARD, simBinary, sleep } from "./sim";

const RECEIVER = `
import socket, sys, os
p = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(p)
print("ready", flush=True)
while True:
    d = s.recv(65536)
    sys.stdout.write(d.decode("utf-8", "replace").replace("\\n", "\\\\n") + "\\n")
    sys.stdout.flush()
`;

class Syslogd {
  proc: ChildProcess;
  out = "";
  constructor(public sock: string) {
    this.proc = spawn("python3", ["-c", RECEIVER, sock], { stdio: ["ignore", "pipe", "inherit"] });
    this.proc.stdout!.on("data", (d) => (this.out += d.toString()));
  }
  async ready(): Promise<void> {
    for (let i = 0; i < 200 && !this.out.startsWith("ready"); i++) await sleep(10);
    if (!this.out.startsWith("ready")) throw new Error("syslog receiver did not start");
  }
  lines(): string[] {
    return this.out.split("\n").slice(1).filter((l) => l.length > 0);
  }
  async waitFor(re: RegExp, ms = 5000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const l = this.lines().find((x) => re.test(x));
      if (l) return l;
      if (Date.now() > end) throw new Error(`no syslog line ${re} in:\n${this.lines().join("\n")}`);
      await sleep(20);
    }
  }
  /** Kills the receiver and waits until it is gone (until then its socket
   *  still takes datagrams), then removes the socket file. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const gone = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGKILL");
      await gone;
    }
    fs.rmSync(this.sock, { force: true });
  }
}

if (!ON_BOARD) {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mote-syslog-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // RFC 3164 as glibc's syslog(3) writes it to /dev/log: <PRI>Mmm dd hh:mm:ss ident[pid]: text
  const stamp = "[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d";

  test("log lines go to the syslog socket with the facility and each level's severity, not to stderr", async () => {
    const d = new Syslogd(path.join(dir, "log"));
    await d.ready();
    const s = await Sim.start({ args: ["--syslog-socket", d.sock, "--syslog-facility", "local3", "-d", "15"] });
    try {
      const pid = s.pid;
      // local3 = 19: notice 19*8+5 = 157, info 158
      await d.waitFor(new RegExp(`^<157>${stamp} mote-sim\\[${pid}\\]: mote core: \\d+ connections`));
      await fetch(`${s.url}/`);
      await d.waitFor(new RegExp(`^<158>${stamp} mote-sim\\[${pid}\\]: conn \\d+: GET /$`));
      expect(s.stderr).toBe(""); // nothing on stderr
      // the syslog daemon restarts: lines meanwhile are counted, then reported
      await d.stop();
      await fetch(`${s.url}/`); // logs "GET /" at info: nobody reads it
      await sleep(200);
      const d2 = new Syslogd(d.sock);
      await d2.ready();
      await fetch(`${s.url}/`);
      const dropped = await d2.waitFor(new RegExp(`^<156>${stamp} mote-sim\\[${pid}\\]: syslog: (\\d+) lines dropped`));
      expect(parseInt(/(\d+) lines dropped/.exec(dropped)![1], 10)).toBeGreaterThan(0);
      await d2.waitFor(/: conn \d+: GET \/$/);
      await d2.stop();
    } finally {
      expect((await s.stop()).code).toBe(0);
      await d.stop();
    }
  }, 30000);

  test("a syslog socket nobody listens on stops the start-up, naming it", () => {
    const sock = path.join(dir, "nobody");
    const r = spawnSync(simBinary(), ["--port", "0", "--syslog-socket", sock], { encoding: "utf8", timeout: 10000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`syslog: cannot reach ${sock}: No such file or directory`);
  });

  test("an unknown facility is a usage error", () => {
    const r = spawnSync(simBinary(), ["--port", "0", "--syslog-facility", "local9"], { encoding: "utf8", timeout: 10000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/option '--syslog-facility' needs kern, user, .* local0\.\.local7, got 'local9'/);
  });
}
