// Setup file of the "mps2-wasm3" jest project (jest.config.js): the board
// suites boot the mps2-an386 firmware built for the wasm3 engine, which runs
// the app's module from the board's image store (flash region).
process.env.MOTE_BOARD = "mps2-an386";
process.env.MOTE_ENGINE = "wasm3";
