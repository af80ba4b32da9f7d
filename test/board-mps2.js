// Setup file of the "mps2" jest project (jest.config.js): the integration
// suites it runs boot the mps2-an386 firmware in QEMU instead of starting
// the Linux simulator (test/integration/sim.ts reads MOTE_BOARD).
process.env.MOTE_BOARD = "mps2-an386";
