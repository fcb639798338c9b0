import { describe, expect, it } from 'vitest';
import { ok } from './report.js';
import { runChecks } from './run-checks.js';

describe('runChecks', () => {
  it('keeps the declared order whatever order the checks finish in', async () => {
    const lines = await runChecks([
      { name: 'slow', run: () => new Promise((resolve) => setTimeout(() => resolve([ok('slow', 'done')]), 30)) },
      { name: 'quick', run: async () => [ok('quick', 'done')] },
    ]);
    expect(lines.map((line) => line.name)).toEqual(['slow', 'quick']);
  });

  it('turns a check that runs out of time into a failing line, and aborts its work', async () => {
    let aborted = false;
    const lines = await runChecks(
      [
        {
          name: 'hung vendor',
          run: (signal) =>
            new Promise((_, reject) => {
              signal.addEventListener('abort', () => {
                aborted = true;
                reject(signal.reason);
              });
            }),
        },
        { name: 'patient', timeoutMs: 1_000, run: async () => [ok('patient', 'fine')] },
      ],
      50,
    );
    expect(lines).toEqual([
      { status: 'fail', name: 'hung vendor', detail: 'no answer within 50 ms', fix: 'check that the service is up and reachable from here' },
      { status: 'ok', name: 'patient', detail: 'fine' },
    ]);
    expect(aborted).toBe(true);
  });

  it('reports a check that breaks as a failing line instead of stopping the others', async () => {
    const lines = await runChecks([
      { name: 'broken', run: async () => Promise.reject(new TypeError('cannot read x\nstack...')) },
      { name: 'fine', run: async () => [ok('fine', 'yes')] },
    ]);
    expect(lines[0]).toMatchObject({ status: 'fail', name: 'broken', detail: 'check failed unexpectedly (TypeError: cannot read x)' });
    expect(lines[1]?.status).toBe('ok');
  });
});
