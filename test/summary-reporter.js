// Prints the one plain line CI reads, counting every test of the whole run.
const fs = require("fs");
const path = require("path");

// Summaries that suites leave for the end of the run (written during it):
// test-artifacts/<suite>[-<board>][-<engine>]/summary.txt, in name order.
const ARTIFACTS = path.join(__dirname, "..", "test-artifacts");
const summaries = () => {
  try {
    return fs.readdirSync(ARTIFACTS).sort().map((d) => path.join(ARTIFACTS, d, "summary.txt"));
  } catch {
    return [];
  }
};

class SummaryReporter {
  onRunStart() {
    this.start = Date.now();
  }
  onRunComplete(_contexts, results) {
    for (const f of summaries()) {
      try {
        if (fs.statSync(f).mtimeMs >= this.start) process.stdout.write(`\n${fs.readFileSync(f, "utf8").trim()}`);
      } catch {}
    }
    const skipped = results.numPendingTests + results.numTodoTests;
    // A suite that fails to load has no failed *tests*; count it as a failure.
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    let line = `${results.numPassedTests} passed, ${failed} failed`;
    if (skipped > 0) line += `, ${skipped} skipped`;
    process.stdout.write(`\n${line}\n`);
  }
}
module.exports = SummaryReporter;
