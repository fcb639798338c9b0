/**
 * Runs the doctor's checks at once, each under its own time limit, so the whole report takes as
 * long as the slowest check and a hung dependency is reported as such instead of hanging it.
 */
import { fail } from './report.js';
import type { CheckLine } from './report.js';

export interface DoctorCheck {
  /** Names the line reported when the check runs out of time or breaks. */
  name: string;
  /** Default: the runner's. */
  timeoutMs?: number;
  /** One or more lines; the signal aborts when the time is up (its I/O should stop with it). */
  run(signal: AbortSignal): Promise<CheckLine[]>;
}

export async function runChecks(checks: readonly DoctorCheck[], defaultTimeoutMs = 5_000): Promise<CheckLine[]> {
  const results = await Promise.all(checks.map((check) => runOne(check, check.timeoutMs ?? defaultTimeoutMs)));
  return results.flat();
}

async function runOne(check: DoctorCheck, timeoutMs: number): Promise<CheckLine[]> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<CheckLine[]>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError'));
      resolve([fail(check.name, `no answer within ${seconds(timeoutMs)}`, 'check that the service is up and reachable from here')]);
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      check.run(controller.signal).catch((error: unknown): CheckLine[] => {
        if (controller.signal.aborted) return [];
        // Checks report what they expect; anything else is named by its kind and first line.
        const message = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]?.slice(0, 160) ?? ''}` : String(error);
        return [fail(check.name, `check failed unexpectedly (${message})`)];
      }),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
