// Setup file of every jest project (jest.config.js): the project's target,
// given as globals.MOTE_TARGET ({ board, engine, portable }), becomes the
// environment the suites read (test/integration/sim.ts): MOTE_BOARD,
// MOTE_ENGINE, MOTE_PORTABLE.
const t = globalThis.MOTE_TARGET || {};
if (t.board) process.env.MOTE_BOARD = t.board;
if (t.engine) process.env.MOTE_ENGINE = t.engine;
if (t.portable) process.env.MOTE_PORTABLE = "1";
