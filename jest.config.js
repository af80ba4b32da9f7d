// Jest runs every suite under test/, as two projects:
//   wasm2c  every suite, the simulator on the board's default engine (wasm2c)
//   wasm3   every suite that runs the simulator (integration and
//           conformance), again, on the wasm3 interpreter
//           (test/engine-wasm3.js sets MOTE_ENGINE=wasm3, which
//           test/integration/sim.ts passes to the build), plus
//           test/wasm3/ (the module image, which only wasm3 loads)
//   mps2    the HTTP and WebSocket integration suites again, against the
//           mps2-an386 firmware booted in QEMU (test/board-mps2.js sets
//           MOTE_BOARD, which makes Sim.start() boot the board; expectations
//           that depend on buffer sizes come from the board file)
// Unit suites run the core in Node and do not depend on the engine, so they
// run once. `mote test` builds both simulators and the board firmware
// (demo and test app) before jest starts. The
// summary reporter prints the plain "N passed, N failed[, N skipped]" line
// CI reads.
const common = {
  rootDir: __dirname,
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.json", diagnostics: { warnOnly: false } }] },
  testEnvironment: "node",
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: "wasm2c",
      testMatch: ["<rootDir>/test/**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "<rootDir>/test/wasm3/"],
    },
    {
      ...common,
      displayName: "wasm3",
      testMatch: [
        "<rootDir>/test/integration/**/*.test.ts",
        "<rootDir>/test/conformance/**/*.test.ts",
        "<rootDir>/test/wasm3/**/*.test.ts", // wasm3 only: the module image
      ],
      setupFiles: ["<rootDir>/test/engine-wasm3.js"],
    },
    {
      ...common,
      displayName: "mps2",
      testMatch: ["<rootDir>/test/integration/http.test.ts", "<rootDir>/test/integration/ws.test.ts"],
      setupFiles: ["<rootDir>/test/board-mps2.js"],
    },
  ],
  testTimeout: 30000,
  maxWorkers: 2,
  reporters: ["default", "<rootDir>/test/summary-reporter.js"],
};
