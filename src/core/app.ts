// The application's entry point, registered by the generated module entry
// (build/<board>/entry.ts) and called by init() once the tables exist.
let appSetup: (() => void) | null = null;

export function registerApp(fn: () => void): void {
  appSetup = fn;
}

export function runAppSetup(): void {
  const fn = appSetup;
  if (fn) fn();
}
