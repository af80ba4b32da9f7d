// Where the Espressif chain is expected (ESP-IDF 5.1, the ESP32 and ESP32-C3
// compilers, Espressif's QEMU, IDF's Python tools) and what of it is
// missing. Plain JavaScript: jest.config.js reads it to decide whether the
// ESP32 projects run or report their cases skipped; tools/build-esp32.ts
// builds on it. No registry serves the chain: `npm test` never installs it
// (docs/esp32.md says how it is built).
const fs = require("fs");
const os = require("os");
const path = require("path");

function esp32Home() {
  return process.env.MOTE_ESP32_HOME || path.join(os.homedir(), ".cache", "mote-esp32");
}

/** `file` in the chain folder, else a program of that name on PATH (an
 *  ESP-IDF installed by Espressif's installer: export.sh puts its tools on
 *  PATH and sets IDF_PATH and IDF_PYTHON_ENV_PATH). */
function find(file) {
  if (fs.existsSync(file)) return file;
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    const p = path.join(dir, path.basename(file));
    if (dir && fs.existsSync(p)) return p;
  }
  return file;
}

/** Each piece: [what, file, targets it is needed for ("*": all), needed only to boot]. */
function esp32ChainParts() {
  const home = esp32Home();
  const idf = process.env.IDF_PATH || path.join(home, "src/esp-idf");
  const gcc = (dir, name) => find(path.join(home, dir, "bin", name));
  const python = process.env.IDF_PYTHON_ENV_PATH ? path.join(process.env.IDF_PYTHON_ENV_PATH, "bin/python") : path.join(home, "venv/bin/python");
  const qemuXtensa = find(path.join(home, "qemu/bin/qemu-system-xtensa"));
  const qemuRiscv = find(path.join(home, "qemu/bin/qemu-system-riscv32"));
  const cc = { esp32: gcc("xtensa", "xtensa-esp32-elf-gcc"), esp32s3: gcc("xtensa-s3", "xtensa-esp32s3-elf-gcc"), esp32c3: gcc("riscv", "riscv32-esp-elf-gcc") };
  return {
    home,
    idf,
    python,
    qemuXtensa,
    qemuRiscv,
    compilers: { esp32: path.dirname(cc.esp32), esp32s3: path.dirname(cc.esp32s3), esp32c3: path.dirname(cc.esp32c3) },
    parts: [
      ["ESP-IDF v5.1 (IDF_PATH)", path.join(idf, "tools/cmake/project.cmake"), "*", false],
      ["ESP-IDF's lwIP submodule", path.join(idf, "components/lwip/lwip/src/core/tcp.c"), "*", false],
      ["ESP-IDF's mbedTLS submodule", path.join(idf, "components/mbedtls/mbedtls/library/ssl_tls.c"), "*", false],
      ["IDF's Python tools (a venv with esptool, esp-idf-kconfig, esp-idf-size)", python, "*", false],
      ["the ESP32 compiler (xtensa-esp32-elf-gcc)", cc.esp32, "esp32", false],
      ["the ESP32-S3 compiler (xtensa-esp32s3-elf-gcc)", cc.esp32s3, "esp32s3", false],
      ["the ESP32-C3 compiler (riscv32-esp-elf-gcc)", cc.esp32c3, "esp32c3", false],
      ["Espressif's QEMU (qemu-system-xtensa, machine esp32)", qemuXtensa, "esp32", true],
      ["Espressif's QEMU (qemu-system-riscv32, machine esp32c3)", qemuRiscv, "esp32c3", true],
    ],
  };
}

/** What is missing to build (and, with boot, to boot in QEMU) for an IDF target: "what (file)" each. */
/** A compiler or QEMU of the chain that is there but does not run (a wrapper
 *  whose Debian compiler is gone, a library missing): counted as missing. */
function runs(file) {
  if (!/(gcc|qemu-system-\w+)$/.test(file)) return true;
  return require("child_process").spawnSync(file, ["--version"], { stdio: "ignore", timeout: 10000 }).status === 0;
}

function esp32Missing(target, boot = false) {
  return esp32ChainParts().parts
    .filter(([, file, t, forBoot]) => (t === "*" || t === target) && (boot || !forBoot) && !(fs.existsSync(file) && runs(file)))
    .map(([what, file]) => `${what} (${file}${fs.existsSync(file) ? ": does not run" : ""})`);
}

module.exports = { esp32Home, esp32ChainParts, esp32Missing };
