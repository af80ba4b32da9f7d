// platformio.ini and library.json cannot be built here (PlatformIO's
// registry is out of reach), so this keeps them consistent with what is
// built and tested: the ESP-IDF project `mote build` compiles, the board
// files, the component's Kconfig defaults and manifest.
import * as fs from "fs";
import * as path from "path";
import { boardNames, isEsp32Board, loadBoard } from "../../tools/boards";

const ROOT = path.resolve(__dirname, "../..");
const COMPONENT = path.join(ROOT, "platform/esp32");
const PROJECT = path.join(COMPONENT, "project");

/** The MCU of each PlatformIO board the environments use (PlatformIO's board manifests). */
const PIO_MCU: Record<string, string> = { esp32dev: "esp32", "esp32-c3-devkitm-1": "esp32c3", "esp32-s3-devkitc-1": "esp32s3" };

function ini(file: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let sec = "";
  for (const raw of fs.readFileSync(file, "utf8").split("\n")) {
    const line = raw.replace(/\s;.*$/, "").replace(/^;.*$/, "").trim();
    if (!line) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) out[(sec = m[1])] = {};
    else {
      const [k, ...v] = line.split("=");
      out[sec][k.trim()] = v.join("=").trim();
    }
  }
  return out;
}

const pio = ini(path.join(PROJECT, "platformio.ini"));
const envs = Object.keys(pio).filter((s) => s.startsWith("env:"));
const esp32Boards = boardNames().map(loadBoard).filter(isEsp32Board);

test("every environment builds the ESP-IDF project with framework espidf and mote's partition table", () => {
  expect(pio.env.framework).toBe("espidf");
  expect(pio.env.platform).toMatch(/^espressif32\b/);
  const parts = pio.env["board_build.partitions"];
  expect(fs.existsSync(path.join(PROJECT, parts))).toBe(true);
  // the CMake build's partition table is the same file
  expect(fs.readFileSync(path.join(PROJECT, "sdkconfig.defaults"), "utf8")).toContain(`CONFIG_PARTITION_TABLE_CUSTOM_FILENAME="${parts}"`);
  // src_dir is the project's main component, the one that starts mote
  const main = path.join(PROJECT, pio.platformio.src_dir);
  expect(fs.readFileSync(path.join(main, "CMakeLists.txt"), "utf8")).toMatch(/PRIV_REQUIRES esp32\b/);
  expect(fs.readFileSync(path.join(main, "main.c"), "utf8")).toContain("mote_esp32_start(");
  expect(envs.length).toBeGreaterThanOrEqual(3);
  expect(pio.platformio.default_envs.split(/[\s,]+/).every((e) => envs.includes(`env:${e}`))).toBe(true);
});

test("each environment's chip has a board file, and Kconfig's default board for that chip is it", () => {
  const kconfig = fs.readFileSync(path.join(COMPONENT, "Kconfig"), "utf8");
  for (const env of envs) {
    const mcu = PIO_MCU[pio[env].board];
    expect(mcu).toBeDefined();
    const boards = esp32Boards.filter((b) => b.esp32!.target === mcu);
    expect(boards.map((b) => b.name)).toHaveLength(1);
    const dflt = new RegExp(`default "${boards[0].name}" if IDF_TARGET_${mcu.toUpperCase()}\\b`);
    expect(kconfig).toMatch(dflt);
  }
  // and every ESP32 board file is reachable from PlatformIO
  const mcus = envs.map((e) => PIO_MCU[pio[e].board]);
  for (const b of esp32Boards) expect(mcus).toContain(b.esp32!.target);
});

test("library.json and idf_component.yml describe the same component", () => {
  const lib = JSON.parse(fs.readFileSync(path.join(COMPONENT, "library.json"), "utf8"));
  const yml = fs.readFileSync(path.join(COMPONENT, "idf_component.yml"), "utf8");
  expect(yml).toContain(`version: "${lib.version}"`);
  expect(lib.frameworks).toEqual(["espidf"]);
  expect(fs.existsSync(path.join(COMPONENT, lib.build.includeDir, "mote_esp32.h"))).toBe(true);
  for (const t of new Set(esp32Boards.map((b) => b.esp32!.target))) expect(yml).toMatch(new RegExp(`- ${t}\\b`));
  expect(lib.license).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).license);
});
