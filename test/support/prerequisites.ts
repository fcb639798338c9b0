/**
 * Whether something a suite needs from the machine is here: a program (espeak-ng, Chromium) or a
 * server (TEST_DATABASE_URL, TEST_REDIS_URL). On a developer's machine a missing one skips the
 * suite with one line saying what is missing. In CI (`.ci/run` sets CI=true and provides all of
 * them) a missing one fails the file instead: a broken install must not turn a suite into a
 * silent pass.
 */
export function present(available: boolean, what: string): boolean {
  if (available) return true;
  if (process.env.CI === 'true') throw new Error(`${what} is missing; .ci/run provides it in CI, so this run is broken`);
  console.warn(`${what} not found: skipping the suites that need it`);
  return false;
}
