// DHCP on the emulated board: the demo firmware built with the board file's
// network.dhcp switched on (`mote build --board mps2-an386 --dhcp`, in
// build/mps2-an386/demo/wasm2c-dhcp/) boots with no address, leases one
// from slirp's DHCP server (10.0.2.15, gateway 10.0.2.2), probes it with
// ARP before using it (DHCP_DOES_ARP_CHECK), reports it on the console and
// serves on it. One boot; QEMU's filter-dump records the board's network
// traffic, so the exchange itself is checked, not only the console line.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { QemuBoard, firmware } from "./board";
import { rawExchange } from "../integration/sim";

jest.setTimeout(30000);

const DIR = fs.mkdtempSync(path.join(os.tmpdir(), "mote-dhcp-"));
const PCAP = path.join(DIR, "n0.pcap");

let board: QemuBoard;
let bootMs = 0;

beforeAll(async () => {
  firmware({ dhcp: true }); // built first (mote test already did), so the time below is the boot's
  const t0 = Date.now();
  // returns once the board answers HTTP (bounded: 12 s)
  board = await QemuBoard.start({ dhcp: true, qemuArgs: ["-object", `filter-dump,id=dump0,netdev=n0,file=${PCAP}`] });
  bootMs = Date.now() - t0;
}, 60000);

afterAll(async () => {
  const r = board ? await board.stop() : undefined;
  fs.rmSync(DIR, { recursive: true, force: true });
  if (r) expect(r).toEqual({ code: 0, signal: null });
}, 15000);

type Frame = { t: number; arp?: { op: number; sender: string; target: string }; dhcp?: number };

/** The frames of a pcap file (Ethernet): ARP, and DHCP messages by type (option 53). */
function frames(file: string): Frame[] {
  const d = fs.readFileSync(file);
  if (d.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${file}: not a little-endian pcap`);
  const ip = (b: Buffer) => Array.from(b).join(".");
  const out: Frame[] = [];
  for (let o = 24; o + 16 <= d.length; ) {
    const t = d.readUInt32LE(o) * 1000 + d.readUInt32LE(o + 4) / 1000;
    const len = d.readUInt32LE(o + 8);
    const f = d.subarray(o + 16, o + 16 + len);
    o += 16 + len;
    const type = f.readUInt16BE(12);
    if (type === 0x0806) out.push({ t, arp: { op: f.readUInt16BE(20), sender: ip(f.subarray(28, 32)), target: ip(f.subarray(38, 42)) } });
    else if (type === 0x0800 && f[23] === 17) {
      const ihl = (f[14] & 15) * 4;
      const udp = 14 + ihl;
      const dport = f.readUInt16BE(udp + 2);
      if (dport !== 67 && dport !== 68) continue;
      // options after the 236-byte BOOTP header and the magic cookie
      for (let i = udp + 8 + 240; i < f.length && f[i] !== 255; ) {
        if (f[i] === 0) i++;
        else {
          if (f[i] === 53) out.push({ t, dhcp: f[i + 2] });
          i += 2 + f[i + 1];
        }
      }
    }
  }
  return out;
}

test("the board leases 10.0.2.15 from slirp's DHCP server, probes it with ARP, and says so on its console", async () => {
  await board.waitLog(/network: 10\.0\.2\.15 netmask 255\.255\.255\.0 gateway 10\.0\.2\.2 \(DHCP\)/);
  expect(board.log).not.toMatch(/\(static\)/);
  // the status line comes only once lwIP's DHCP client bound the address:
  // the firmware started with 0.0.0.0, so there is exactly one
  expect(board.log.match(/network: /g)).toHaveLength(1);

  const fr = frames(PCAP);
  // DISCOVER, OFFER, REQUEST, ACK
  expect(fr.filter((f) => f.dhcp).map((f) => f.dhcp).slice(0, 4)).toEqual([1, 2, 3, 5]);
  const ack = fr.find((f) => f.dhcp === 5)!;
  // ARP probes for the offered address (sender 0.0.0.0) after the ACK, before the board used it
  const probes = fr.filter((f) => f.arp && f.arp.op === 1 && f.arp.sender === "0.0.0.0" && f.arp.target === "10.0.2.15");
  expect(probes.length).toBeGreaterThanOrEqual(1);
  expect(probes[0].t).toBeGreaterThanOrEqual(ack.t);
  const firstOwn = fr.find((f) => f.arp && f.arp.sender === "10.0.2.15");
  if (firstOwn) expect(firstOwn.t).toBeGreaterThan(probes[probes.length - 1].t);
  const leaseMs = Math.round((probes[probes.length - 1].t - fr.find((f) => f.dhcp === 1)!.t));
  console.log(
    `mps2-an386 with DHCP: DISCOVER to last ARP probe ${leaseMs} ms (${probes.length} probes); answered HTTP ${bootMs} ms after QEMU was started`,
  );
});

test("serves HTTP on the leased address", async () => {
  const { data, closed } = await rawExchange(board.port, "GET / HTTP/1.1\r\nHost: board\r\nConnection: close\r\n\r\n", 5000);
  const s = data.toString("latin1");
  expect(s).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  expect(s).toContain("<title>mote test page</title>");
  expect(closed).toBe(true);
});
