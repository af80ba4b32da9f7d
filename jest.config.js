// Jest runs every suite under test/, as two projects:
//   wasm2c  every suite, the simulator on the board's default engine (wasm2c)
//   wasm3   every suite that runs the simulator (integration and
//           conformance), again, on the wasm3 interpreter
//           (test/engine-wasm3.js sets MOTE_ENGINE=wasm3, which
//           test/integration/sim.ts passes to the build), plus
//           test/wasm3/ (the module image, which only wasm3 loads)
// Unit suites run the core in Node and do not depend on the engine, so they
// run once. `mote test` builds both simulators before jest starts. The
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
  ],
  testTimeout: 30000,
  maxWorkers: 2,
  reporters: ["default", "<rootDir>/test/summary-reporter.js"],
};
