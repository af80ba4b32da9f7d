// The board suites' view of the one launcher (test/integration/sim.ts):
// QemuBoard.start() boots the firmware of the jest project's board
// (MOTE_BOARD: mps2-an386, or an ESP32 board in Espressif's QEMU; the
// mps2-an386 when the project runs the simulator), a free host port forwarded to the device's port 80, the
// UART log collected in .log, and a graceful stop (console 'q' ->
// semihosting exit 0).
//
// slirp listens on the forwarded port with a backlog of 1: bursts of
// simultaneous connects stall for seconds on SYN retries, so the suites
// here connect one at a time (pace()).
import { build } from "../../tools/build";
import { Sim, StartOptions, sleep, PACE_MS } from "../integration/sim";

export { wsOpen, nextMessage, closed, echoOnce } from "../integration/sim";

export const BOARD = process.env.MOTE_BOARD && process.env.MOTE_BOARD !== "linux" ? process.env.MOTE_BOARD : "mps2-an386";

export function firmware(opts: { app?: string; dhcp?: boolean } = {}): string {
  return build({ board: BOARD, ...opts, quiet: true }).binary;
}

/** A booted board: the launcher's Sim with .board, .log, .proc, .url, .wsUrl. */
export type QemuBoard = Sim;
export const QemuBoard = {
  start: (opts: Omit<StartOptions, "board"> = {}): Promise<QemuBoard> => Sim.start({ ...opts, board: BOARD }),
};

/** A short pause between connects (slirp's backlog is 1). */
export const pace = (): Promise<void> => sleep(PACE_MS);
