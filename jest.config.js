// Jest runs every suite under test/, as four projects, each against one
// target (globals.MOTE_TARGET, turned into MOTE_BOARD / MOTE_ENGINE /
// MOTE_PORTABLE by test/target.js for test/integration/sim.ts):
//   wasm2c  every suite, the simulator on the board's default engine (wasm2c)
//           over the Linux arch of the BSD-socket port (epoll, accept4,
//           TCP_USER_TIMEOUT), test/qemu/ on the board's wasm2c firmware, and
//           test/fuzz/ (libFuzzer over the wasm2c core, a bounded run per target)
//   wasm3   every suite that runs the simulator (integration, conformance,
//           TLS, hostile), again, on the wasm3 interpreter, and over the portable
//           build of the socket port (POSIX calls and poll(2) only: what the
//           ESP-IDF port runs), plus test/wasm3/ (the module image)
//   mps2    the HTTP, WebSocket, lifecycle, vhosts and hostile suites again, against the
//           mps2-an386 firmware booted in QEMU (Sim.start() boots the board;
//           expectations that depend on buffer sizes come from the board file)
//   mps2-wasm3  every board suite again on the wasm3 firmware, whose app
//           comes from the image store, plus the store's own suite
//           (test/wasm3/store.test.ts: upload, switch, power cycle);
//           test/qemu/size.test.ts reports both engines once
//   esp32c3, esp32  the HTTP and WebSocket suites against the ESP-IDF firmware
//           of esp32-c3-devkitm and esp32-devkitc (platform/esp32) booted in
//           Espressif's QEMU. They need the Espressif chain (docs/esp32.md),
//           which no registry serves: without it their cases are reported
//           skipped, with the reason (test/skip-target.js), never passed
// Unit suites run the core in Node and do not depend on the target, so they
// run once. Each project lists the builds its suites use (globals.
// MOTE_BUILDS, tools/build.ts options): `mote test` makes them all before
// jest starts (its workers would otherwise race on the same outputs). The
// summary reporter prints the plain "N passed, N failed[, N skipped]" line
// CI reads.
const common = {
  rootDir: __dirname,
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.json", diagnostics: { warnOnly: false } }] },
  testEnvironment: "node",
  setupFiles: ["<rootDir>/test/target.js"],
};

const LINUX_APPS = ["app/demo.ts", "test/apps/core-test.ts", "test/apps/tls-vhost.ts", "test/apps/vhost-ciphers.ts", "test/apps/two-ports.ts"];
const BOARD = "mps2-an386";
const BOARD_APPS = ["app/demo.ts", "test/apps/core-test.ts"];

function project(displayName, target, builds, testMatch, extra = {}) {
  return { ...common, displayName, testMatch, globals: { MOTE_TARGET: target, MOTE_BUILDS: builds }, ...extra };
}

const { esp32Missing } = require("./tools/esp32-chain.js");
const ESP32_SUITES = [
  "<rootDir>/test/integration/http.test.ts",
  "<rootDir>/test/integration/ws.test.ts",
  "<rootDir>/test/integration/lifecycle.test.ts", // graceful stop, the table full, trap recovery
  "<rootDir>/test/qemu/board.test.ts", // the demo page, echo, dumb-increment
  // Autobahn 1-7 and 10 passes on both chips run by themselves, even both at
  // once (docs/esp32.md), but not yet reliably beside the rest of the run: on
  // a loaded host a byte-at-a-time case (3.4, 4.1.5, 4.2.5, 6.3.2) now and
  // then misses Autobahn's 1 s close timeout, and a connect through slirp's
  // port forward can sit in SYN retries for two minutes. Until that is
  // solved, `mote test --selectProjects esp32 esp32c3 --testMatch
  // '**/qemu/autobahn.test.ts'` runs it
  "<rootDir>/test/qemu/keepalive.test.ts", // a vanished peer closed by lwIP's keepalive (settings from NVS)
  "<rootDir>/test/qemu/memory.test.ts", // heap per idle WebSocket, from the firmware's own heap figures
  "<rootDir>/test/esp32/flash.test.ts", // mote flash: layout and errors
];
// hil/ proven end to end on QEMU in UART download mode: on the ESP32-C3 only
// (Espressif's QEMU fork does not take esptool's writes for the ESP32:
// docs/esp32.md)
const ESP32_HIL = "<rootDir>/test/esp32/hil.test.ts";

/** An ESP32 board's project: its suites on the firmware in Espressif's QEMU,
 *  or, without the chain, the same cases reported skipped with the reason. */
function esp32Project(displayName, board, idfTarget, suites) {
  const missing = esp32Missing(idfTarget, true);
  if (!missing.length)
    return project(displayName, { board }, BOARD_APPS.map((app) => ({ board, engine: "wasm2c", app })), suites);
  const reason = `the Espressif chain for ${idfTarget} is not installed (${missing[0].replace(/ \(.*/, "")}${missing.length > 1 ? ` and ${missing.length - 1} more` : ""}; \`mote esp32 status\`)`;
  return {
    ...project(displayName, { board }, [], suites),
    globals: { MOTE_TARGET: { board }, MOTE_BUILDS: [], MOTE_SKIP_REASON: reason },
    setupFilesAfterEnv: ["<rootDir>/test/skip-target.js"],
  };
}

module.exports = {
  projects: [
    project(
      "wasm2c",
      { engine: "wasm2c" },
      [
        ...LINUX_APPS.map((app) => ({ board: "linux", engine: "wasm2c", app })),
        { board: "linux", engine: "wasm3", app: "app/demo.ts" }, // test/bench/: mote bench runs both engines
        // test/qemu/: the firmware, with DHCP, with TLS (and a vhost asking for it)
        ...BOARD_APPS.map((app) => ({ board: BOARD, engine: "wasm2c", app })),
        { board: BOARD, engine: "wasm2c", app: "app/demo.ts", dhcp: true },
        { board: BOARD, engine: "wasm2c", app: "app/demo.ts", tls: true },
        { board: BOARD, engine: "wasm2c", app: "test/apps/tls-vhost.ts", tls: true },
      ],
      ["<rootDir>/test/**/*.test.ts"],
      { testPathIgnorePatterns: ["/node_modules/", "<rootDir>/test/wasm3/", "<rootDir>/test/esp32/"] },
    ),
    project(
      "wasm3",
      { engine: "wasm3", portable: true },
      LINUX_APPS.map((app) => ({ board: "linux", engine: "wasm3", portable: true, app })),
      [
        "<rootDir>/test/integration/**/*.test.ts",
        "<rootDir>/test/conformance/**/*.test.ts",
        "<rootDir>/test/tls/**/*.test.ts", // TLS in the port, under the interpreter's core too
        "<rootDir>/test/wasm3/**/*.test.ts", // wasm3 only: the module image
        "<rootDir>/test/hostile/**/*.test.ts", // hostile clients
      ],
    ),
    project(
      "mps2",
      { board: BOARD },
      [...BOARD_APPS, "test/apps/two-ports.ts"].map((app) => ({ board: BOARD, engine: "wasm2c", app })),
      [
        "<rootDir>/test/integration/http.test.ts",
        "<rootDir>/test/integration/ws.test.ts",
        "<rootDir>/test/integration/lifecycle.test.ts", // its simulator-only block is not registered there
        "<rootDir>/test/integration/vhosts.test.ts", // vhosts on ports of their own
        "<rootDir>/test/hostile/**/*.test.ts", // hostile clients, within the board's limits
      ],
    ),
    project(
      "mps2-wasm3",
      { board: BOARD, engine: "wasm3" },
      [...BOARD_APPS.map((app) => ({ board: BOARD, engine: "wasm3", app })), { board: BOARD, engine: "wasm3", app: "app/demo.ts", dhcp: true }],
      [
        "<rootDir>/test/integration/http.test.ts",
        "<rootDir>/test/integration/ws.test.ts",
        "<rootDir>/test/integration/lifecycle.test.ts",
        "<rootDir>/test/wasm3/store.test.ts", // the app-image store in the board's flash
        "<rootDir>/test/qemu/memory.test.ts", // RAM per connection, and wasm3's heap
        "<rootDir>/test/qemu/keepalive.test.ts", // a silently dead peer closed by lwIP's keepalive
        "<rootDir>/test/qemu/board.test.ts", // the demo page, echo, dumb-increment on the board
        "<rootDir>/test/qemu/autobahn.test.ts", // Autobahn 1-7 and 10 against the board
        "<rootDir>/test/qemu/dhcp.test.ts", // the address leased by DHCP
        "<rootDir>/test/hostile/**/*.test.ts", // hostile clients, within the board's limits
      ],
    ),
    esp32Project("esp32c3", "esp32-c3-devkitm", "esp32c3", [...ESP32_SUITES, ESP32_HIL]),
    esp32Project("esp32", "esp32-devkitc", "esp32", ESP32_SUITES),
    // hil/run.ts: the board suites attached to a flashed device (MOTE_DEVICE);
    // only the harness selects it (a plain run has no device: no project)
    ...(process.env.MOTE_DEVICE
      ? [project("hil", { board: process.env.MOTE_BOARD, engine: process.env.MOTE_ENGINE }, [], [
          "<rootDir>/test/integration/http.test.ts", "<rootDir>/test/integration/ws.test.ts",
          "<rootDir>/test/qemu/board.test.ts", "<rootDir>/test/qemu/autobahn.test.ts",
        ])]
      : []),
  ],
  testTimeout: 30000,
  maxWorkers: 2,
  reporters: ["default", "<rootDir>/test/summary-reporter.js"],
};
