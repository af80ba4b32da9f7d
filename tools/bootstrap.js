#!/usr/bin/env node
// First step of `npm start` and `npm test` on any machine: installs what is
// missing and nothing else, so re-runs take well under a second.
//   1. npm packages (npm ci when node_modules does not match package-lock.json)
//   2. Debian packages (apt-get) for the toolchain: gcc, wabt, curl; with
//      `test`, also the peers the suites start (chromium, the lws test client)
//   3. with `test`: PyPI tools (kosoku) into vendor/venv
// Plain JavaScript with no dependencies: it runs before node_modules exists.
"use strict";
const { execSync, spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");

const root = path.resolve(__dirname, "..");
const step = (msg) => process.stderr.write(`[setup] ${msg}\n`);

function sha(file) {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function npmPackages() {
  const lock = path.join(root, "package-lock.json");
  const stamp = path.join(root, "node_modules", ".mote-lock-sha256");
  const want = sha(lock);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === want) return;
  step("installing npm packages (npm ci)...");
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error("npm ci failed; check network access to the npm registry");
  fs.writeFileSync(stamp, want);
}

// Debian packages: command that proves presence -> package name.
const DEBIAN_BUILD = [
  ["gcc", "gcc"],
  ["wasm2c", "wabt"],
  ["curl", "curl"],
];
// Peers and tools the test suites start themselves.
const DEBIAN_TEST = [
  ["chromium", "chromium"],
  ["libwebsockets-test-client", "libwebsockets-test-server"],
  ["python3", "python3"],
];

function have(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function debianPackages(list) {
  const missing = list.filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  const sudo = process.getuid && process.getuid() === 0 ? "" : "sudo ";
  step(`installing Debian packages: ${missing.join(" ")} (apt-get)...`);
  // apt's own output goes to vendor/apt.log; it is shown only on failure
  const logFile = path.join(root, "vendor", "apt.log");
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const cmd =
    `${sudo}apt-get update -qq && ` +
    `${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing.join(" ")}`;
  const r = spawnSync("sh", ["-c", `(${cmd}) >${JSON.stringify(logFile)} 2>&1`], { stdio: "inherit" });
  if (r.status !== 0) {
    process.stderr.write(fs.readFileSync(logFile, "utf8").slice(-4000));
    throw new Error(`apt-get install ${missing.join(" ")} failed (log: ${logFile})`);
  }
}

// PyPI tools in vendor/venv, from tools/requirements.txt (hash-checked).
function pythonTools() {
  const req = path.join(root, "tools", "requirements.txt");
  const venv = path.join(root, "vendor", "venv");
  const stamp = path.join(venv, ".mote-requirements-sha256");
  const want = sha(req);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === want) return;
  step("installing PyPI tools into vendor/venv (kosoku)...");
  if (!fs.existsSync(path.join(venv, "bin", "python"))) {
    let r = spawnSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
    if (r.status !== 0) {
      debianPackages([["__never__", "python3-venv"]]);
      r = spawnSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
      if (r.status !== 0) throw new Error("python3 -m venv failed");
    }
  }
  const r = spawnSync(path.join(venv, "bin", "pip"), ["install", "--quiet", "--require-hashes", "-r", req], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`pip install -r ${req} failed`);
  fs.writeFileSync(stamp, want);
}

function main() {
  const mode = process.argv[2] || "build"; // build | test
  const t0 = Date.now();
  npmPackages();
  debianPackages(mode === "test" ? [...DEBIAN_BUILD, ...DEBIAN_TEST] : DEBIAN_BUILD);
  if (mode === "test") pythonTools();
  const dt = Date.now() - t0;
  if (dt > 1000) step(`done in ${(dt / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`[setup] failed: ${e.message}\n`);
  process.exit(1);
}
