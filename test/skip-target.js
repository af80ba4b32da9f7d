// setupFilesAfterEnv of a jest project whose target cannot run on this
// machine (globals.MOTE_SKIP_REASON, set by jest.config.js: the ESP32
// projects without the Espressif chain). Every case of its suites is
// registered as skipped, its name carrying the reason, and no hook runs (no
// board is built or booted), so the run reports them as skipped, never as
// passed.
const reason = globalThis.MOTE_SKIP_REASON;
if (reason) {
  const label = (name) => `${name} [skipped: ${reason}]`;
  const skipping = (orig) => {
    const f = (name, ...rest) => orig.skip(label(name), ...rest);
    f.skip = orig.skip;
    f.only = f;
    f.concurrent = f;
    f.todo = orig.todo;
    f.each = (...table) => (name, ...rest) => orig.skip.each(...table)(label(name), ...rest);
    return f;
  };
  global.test = skipping(global.test);
  global.it = skipping(global.it);
  const noHook = () => {};
  global.beforeAll = noHook;
  global.afterAll = noHook;
  global.beforeEach = noHook;
  global.afterEach = noHook;
}
