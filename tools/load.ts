// Pieces shared by the load tools (mote bench, tools/engine-bench.ts): a
// masked client frame, a server process's CPU time, a free loopback port.
import * as fs from "fs";
import * as net from "net";

/** One masked binary client frame of `size` bytes (size < 65536). */
export function frame(size: number): Buffer {
  const mask = [0x12, 0x34, 0x56, 0x78];
  const head = size < 126 ? [0x82, 0x80 | size] : [0x82, 0x80 | 126, size >> 8, size & 255];
  const p = Buffer.alloc(size, 0x61);
  for (let i = 0; i < size; i++) p[i] ^= mask[i & 3];
  return Buffer.concat([Buffer.from(head), Buffer.from(mask), p]);
}

/** CPU time of every thread of a process in ns
 *  (/proc/PID/task/TID/schedstat: the first field is time on CPU). */
export function cpuNs(pid: number): number {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended between readdir and read
    }
  }
  return ns;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}
