import { describe, expect, it } from 'vitest';
import { retry } from './retry.js';
import type { RetryInfo } from './retry.js';

class Flaky extends Error {
  constructor(readonly retryable: boolean, readonly retryAfterMs?: number) {
    super(retryable ? 'flaky' : 'broken');
  }
}

const isRetryable = (error: unknown): boolean => error instanceof Flaky && error.retryable;

describe('retry', () => {
  it('retries until the operation succeeds', async () => {
    const retries: RetryInfo[] = [];
    const result = await retry(
      async (attempt) => {
        if (attempt < 3) throw new Flaky(true);
        return `ok on ${attempt}`;
      },
      { budgetMs: 1000, baseDelayMs: 5, isRetryable, onRetry: (info) => retries.push(info) },
    );
    expect(result).toBe('ok on 3');
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
    for (const r of retries) expect(r.delayMs).toBeGreaterThanOrEqual(0);
  });

  it('gives up with the last error once the next wait would not fit in the budget', async () => {
    let attempts = 0;
    const started = Date.now();
    const failure = retry(
      async () => {
        attempts++;
        throw new Flaky(true);
      },
      // Waits are at least 30 ms (Retry-After), so a 100 ms budget allows only a few attempts.
      { budgetMs: 100, baseDelayMs: 20, isRetryable, retryAfterMs: () => 30 },
    );
    await expect(failure).rejects.toBeInstanceOf(Flaky);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(150);
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(4);
  });

  it('aborts an attempt that outlives the budget through its signal', async () => {
    const started = Date.now();
    let sawAbort = false;
    const failure = retry(
      (_attempt, signal) =>
        new Promise<never>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(signal.reason);
          });
        }),
      { budgetMs: 60, isRetryable: () => true },
    );
    await expect(failure).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(sawAbort).toBe(true);
    expect(Date.now() - started).toBeLessThan(120);
  });

  it("cuts a settled attempt loose from the caller's signal, so a later abort never reaches its request", async () => {
    const turn = new AbortController();
    const seen: AbortSignal[] = [];
    let failures = 1;
    await retry(
      async (_attempt, signal) => {
        seen.push(signal);
        if (failures-- > 0) throw new Error('503');
        return 'ok';
      },
      { budgetMs: 1_000, baseDelayMs: 1, isRetryable: () => true, signal: turn.signal },
    );
    turn.abort(new Error('the turn is over'));
    expect(seen).toHaveLength(2);
    expect(seen.map((signal) => signal.aborted)).toEqual([false, false]);
  });

  it('throws a non-retryable error at once', async () => {
    let attempts = 0;
    await expect(
      retry(
        async () => {
          attempts++;
          throw new Flaky(false);
        },
        { budgetMs: 1000, isRetryable },
      ),
    ).rejects.toThrow('broken');
    expect(attempts).toBe(1);
  });

  it('stops after maxAttempts', async () => {
    let attempts = 0;
    await expect(
      retry(
        async () => {
          attempts++;
          throw new Flaky(true);
        },
        { budgetMs: 1000, baseDelayMs: 1, maxAttempts: 2, isRetryable },
      ),
    ).rejects.toThrow('flaky');
    expect(attempts).toBe(2);
  });

  it('stops promptly when aborted during a backoff sleep, without another attempt', async () => {
    const controller = new AbortController();
    let attempts = 0;
    const started = Date.now();
    const failure = retry(
      async () => {
        attempts++;
        throw new Flaky(true);
      },
      {
        budgetMs: 5000,
        isRetryable,
        retryAfterMs: () => 2000,
        signal: controller.signal,
        onRetry: () => setTimeout(() => controller.abort(new Error('caller hung up')), 20),
      },
    );
    await expect(failure).rejects.toThrow('caller hung up');
    expect(attempts).toBe(1);
    expect(Date.now() - started).toBeLessThan(200);
  });

  it('stops promptly when aborted during an attempt, even if the attempt ignores its signal', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('barge-in')), 20);
    const started = Date.now();
    await expect(
      retry(() => new Promise((resolve) => setTimeout(resolve, 1000)), {
        budgetMs: 5000,
        isRetryable,
        signal: controller.signal,
      }),
    ).rejects.toThrow('barge-in');
    expect(Date.now() - started).toBeLessThan(200);
  });

  it('does not start when the signal is already aborted', async () => {
    let attempts = 0;
    await expect(
      retry(
        async () => {
          attempts++;
        },
        { budgetMs: 1000, isRetryable, signal: AbortSignal.abort(new Error('gone')) },
      ),
    ).rejects.toThrow('gone');
    expect(attempts).toBe(0);
  });

  it('honours Retry-After as the minimum wait', async () => {
    const retries: RetryInfo[] = [];
    const started = Date.now();
    const result = await retry(
      async (attempt) => {
        if (attempt === 1) throw new Flaky(true, 80);
        return Date.now() - started;
      },
      {
        budgetMs: 1000,
        baseDelayMs: 1,
        isRetryable,
        retryAfterMs: (error) => (error instanceof Flaky ? error.retryAfterMs : undefined),
        onRetry: (info) => retries.push(info),
      },
    );
    expect(retries).toHaveLength(1);
    expect(retries[0]?.delayMs).toBe(80);
    expect(result).toBeGreaterThanOrEqual(75);
  });

  it('gives up rather than wait for a Retry-After beyond the budget', async () => {
    let attempts = 0;
    const started = Date.now();
    await expect(
      retry(
        async () => {
          attempts++;
          throw new Flaky(true);
        },
        { budgetMs: 200, isRetryable, retryAfterMs: () => 5000 },
      ),
    ).rejects.toThrow('flaky');
    expect(attempts).toBe(1);
    expect(Date.now() - started).toBeLessThan(50);
  });

  it('keeps full-jitter waits within the exponential ceiling and maxDelayMs', async () => {
    const retries: RetryInfo[] = [];
    await expect(
      retry(
        async () => {
          throw new Flaky(true);
        },
        {
          budgetMs: 1000,
          baseDelayMs: 2,
          maxDelayMs: 10,
          maxAttempts: 6,
          isRetryable,
          onRetry: (info) => retries.push(info),
        },
      ),
    ).rejects.toThrow('flaky');
    expect(retries).toHaveLength(5);
    retries.forEach((r, i) => expect(r.delayMs).toBeLessThanOrEqual(Math.min(10, 2 * 2 ** i)));
  });
});
