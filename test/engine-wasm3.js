// Setup file of the "wasm3" jest project (jest.config.js): the suites it
// runs start the simulator built for the wasm3 engine.
process.env.MOTE_ENGINE = "wasm3";
