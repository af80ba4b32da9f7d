// Vhosts on ports and interfaces of their own (test/apps/two-ports.ts), on
// the simulator and (the "mps2" project) on the board: the command line's
// port moves the default vhost (and the vhosts created on its port); every
// other vhost listens where it asked. The simulator reaches the other vhosts' fixed ports through
// --port-map (free ports, so that parallel runs do not collide), a board
// through QEMU forwards.
import * as http from "http";
import * as net from "net";
import { spawnSync } from "child_process";
import { Sim, ON_BOARD, pace, simBinary } from "./sim";

const APP = "test/apps/two-ports.ts";

/** GET / on a new connection, with this Host (fetch cannot set one). */
function get(host: string, port: number, name = "two-ports.test"): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: "/", headers: { Host: name }, agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
    });
    req.on("timeout", () => req.destroy(new Error("GET timed out")));
    req.on("error", reject);
  });
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once("connect", () => (s.destroy(), resolve(false)));
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

let sim: Sim;
beforeAll(async () => {
  sim = await Sim.start({ app: APP, ports: [7691, 7692] });
}, 60000);
afterAll(async () => sim && (await sim.stop()));

test("the default vhost is on the command line's port, with the vhost sharing its listener", async () => {
  expect(await get("127.0.0.1", sim.port)).toBe("main\n");
  await pace();
  expect(await get("127.0.0.1", sim.port, "www")).toBe("www\n");
  expect(sim.stderr).toMatch(/vhost www: shares port 7681 with vhost main/);
});

test("a vhost on another port listens there, not on the default vhost's", async () => {
  await pace();
  expect(await get("127.0.0.1", sim.hostPort(7691))).toBe("admin\n");
  await pace();
  // lo1 names the address admin's listener has: they share it
  expect(await get("127.0.0.1", sim.hostPort(7691), "lo1")).toBe("lo1\n");
  expect(sim.stderr).toMatch(/vhost lo1: shares port 7691 with vhost admin/);
  await pace();
  // Host naming "admin" on the default vhost's listener: not a vhost of that port
  expect(await get("127.0.0.1", sim.port, "admin")).toBe("main\n");
});

if (!ON_BOARD)
  test("a vhost with its own interface listens on that address only", async () => {
    const p = sim.hostPort(7692);
    expect(sim.stderr).toMatch(new RegExp(`listening on 127\\.0\\.0\\.2 port ${p} \\(listener 2, asked for 7692`));
    expect(await get("127.0.0.2", p)).toBe("lo2\n");
    expect(await refused("127.0.0.1", p)).toBe(true);
  });
else
  test("a vhost naming an interface on a board with one listens on its port", async () => {
    await pace();
    expect(await get("127.0.0.1", sim.hostPort(7692))).toBe("lo2\n");
    expect(sim.stderr).toMatch(/listen: interface '127\.0\.0\.2' ignored \(one netif\)/);
  });

if (!ON_BOARD)
  test("a vhost on one address and a wildcard listener on the same port: refused at start, naming both", async () => {
    // --iface 0.0.0.0: admin would listen on the wildcard at 7691, and lo1
    // (127.0.0.1:7691) could neither bind beside it nor share it (lo1 would
    // then answer on every address): the start fails and says why
    const r = spawnSync(simBinary(APP), ["--port", "0", "--iface", "0.0.0.0", "--port-map", "7691=0", "--port-map", "7692=0"],
      { encoding: "utf8", timeout: 10000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/listen: 127\.0\.0\.1 port 7691 overlaps listener \d+ \(0\.0\.0\.0 port 7691\): give both vhosts the same address, or different ports/);
  });
