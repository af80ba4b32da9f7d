#!/usr/bin/env node
// Launcher for the mote CLI, which is written in TypeScript (tools/cli.ts)
// and run through tsx, so there is no separate compile step.
"use strict";
const path = require("path");
require("tsx/cjs");
require(path.join(__dirname, "..", "cli.ts")).main(process.argv.slice(2)).then(
  (code) => { if (typeof code === "number") process.exitCode = code; },
  (err) => { console.error(`mote: ${err && err.message ? err.message : err}`); process.exitCode = 1; },
);
