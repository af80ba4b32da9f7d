#!/usr/bin/env node
// First step of `npm start` and `npm test` on any machine: installs what is
// missing and nothing else, so re-runs take well under a second.
//   1. npm packages (npm ci when node_modules does not match package-lock.json)
//   2. Debian packages (apt-get) for the toolchain: gcc, wabt, curl
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
const DEBIAN = [
  ["gcc", "gcc"],
  ["wasm2c", "wabt"],
  ["curl", "curl"],
];

function have(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function debianPackages(extra) {
  const missing = [...DEBIAN, ...extra].filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  const sudo = process.getuid && process.getuid() === 0 ? "" : "sudo ";
  step(`installing Debian packages: ${missing.join(" ")} (apt-get)...`);
  execSync(`${sudo}apt-get update -qq`, { stdio: "inherit" });
  execSync(`${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing.join(" ")}`, {
    stdio: "inherit",
  });
}

function main() {
  const t0 = Date.now();
  npmPackages();
  debianPackages([]);
  const dt = Date.now() - t0;
  if (dt > 1000) step(`done in ${(dt / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`[setup] failed: ${e.message}\n`);
  process.exit(1);
}
