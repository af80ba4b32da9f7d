// Jest runs every suite under test/, as four projects:
//   wasm2c  every suite, the simulator on the board's default engine (wasm2c),
//           and test/qemu/ on the board's wasm2c firmware
//   wasm3   every suite that runs the simulator (integration and
//           conformance), again, on the wasm3 interpreter
//           (test/engine-wasm3.js sets MOTE_ENGINE=wasm3, which
//           test/integration/sim.ts passes to the build), plus
//           test/wasm3/ (the module image, which only wasm3 loads)
//   mps2    the HTTP, WebSocket and lifecycle integration suites again, against the
//           mps2-an386 firmware booted in QEMU (test/board-mps2.js sets
//           MOTE_BOARD, which makes Sim.start() boot the board; expectations
//           that depend on buffer sizes come from the board file)
//   mps2-wasm3  every board suite again on the wasm3 firmware, whose app
//           comes from the image store (test/board-mps2-wasm3.js), plus the
//           store's own suite (test/wasm3/store.test.ts: upload, switch,
//           power cycle); test/qemu/size.test.ts reports both engines once
// Unit suites run the core in Node and do not depend on the engine, so they
// run once. `mote test` builds both simulators and the board firmware
// (demo and test app, both engines) before jest starts. The
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
        "<rootDir>/test/tls/**/*.test.ts", // TLS in the port, under the interpreter's core too
        "<rootDir>/test/wasm3/**/*.test.ts", // wasm3 only: the module image
      ],
      setupFiles: ["<rootDir>/test/engine-wasm3.js"],
    },
    {
      ...common,
      displayName: "mps2",
      testMatch: [
        "<rootDir>/test/integration/http.test.ts",
        "<rootDir>/test/integration/ws.test.ts",
        "<rootDir>/test/integration/lifecycle.test.ts", // its simulator-only block is not registered there
      ],
      setupFiles: ["<rootDir>/test/board-mps2.js"],
    },
    {
      ...common,
      displayName: "mps2-wasm3",
      testMatch: [
        "<rootDir>/test/integration/http.test.ts",
        "<rootDir>/test/integration/ws.test.ts",
        "<rootDir>/test/integration/lifecycle.test.ts",
        "<rootDir>/test/wasm3/store.test.ts", // the app-image store in the board's flash
        "<rootDir>/test/qemu/memory.test.ts", // RAM per connection, and wasm3's heap
        "<rootDir>/test/qemu/keepalive.test.ts", // a silently dead peer closed by lwIP's keepalive
        "<rootDir>/test/qemu/board.test.ts", // the demo page, echo, dumb-increment on the board
        "<rootDir>/test/qemu/autobahn.test.ts", // Autobahn 1-7 and 10 against the board
        "<rootDir>/test/qemu/dhcp.test.ts", // the address leased by DHCP
      ],
      setupFiles: ["<rootDir>/test/board-mps2-wasm3.js"],
    },
  ],
  testTimeout: 30000,
  maxWorkers: 2,
  reporters: ["default", "<rootDir>/test/summary-reporter.js"],
};
