import { scopedSignal, sleep } from './abort.js';

export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  attempt: number;
  /** How long we wait before the next attempt. */
  delayMs: number;
  error: unknown;
}

export interface RetryOptions {
  /** Total time the whole operation may take, attempts and waits included. */
  budgetMs: number;
  /** First backoff ceiling; doubles each attempt (full jitter picks a wait in [0, ceiling]). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  isRetryable: (error: unknown) => boolean;
  /** A server-requested wait (Retry-After); used as the minimum wait, but never past the budget. */
  retryAfterMs?: (error: unknown) => number | undefined;
  signal?: AbortSignal;
  onRetry?: (info: RetryInfo) => void;
}

/**
 * Runs `fn` until it succeeds, a non-retryable error occurs, the attempts run out, the next wait
 * would not fit in the remaining budget (the last error is thrown), or `signal` aborts (its reason
 * is thrown at once). Each attempt gets a signal of its own that aborts when `signal` or the budget
 * does, and is cut loose from both once the attempt settles (see scopedSignal).
 */
export async function retry<T>(
  fn: (attempt: number, signal: AbortSignal) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { budgetMs, isRetryable, signal } = options;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? Number.POSITIVE_INFINITY;
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  if (signal?.aborted) throw signal.reason;

  const deadline = Date.now() + budgetMs;
  const budget = new AbortController();
  const budgetTimer = setTimeout(
    () => budget.abort(new DOMException(`retry budget of ${budgetMs} ms exhausted`, 'TimeoutError')),
    budgetMs,
  );

  try {
    for (let attempt = 1; ; attempt++) {
      const scope = scopedSignal(signal, budget.signal);
      try {
        return await settleOnAbort(fn(attempt, scope.signal), scope.signal);
      } catch (error) {
        // Settled: an abort during the wait below must not reach the failed attempt's request.
        scope.release();
        if (signal?.aborted) throw signal.reason;
        if (budget.signal.aborted || attempt >= maxAttempts || !isRetryable(error)) throw error;

        const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
        let delayMs = Math.random() * ceiling;
        const requested = options.retryAfterMs?.(error);
        if (requested !== undefined && requested > delayMs) delayMs = requested;
        delayMs = Math.round(delayMs);
        // A wait that eats the whole budget leaves no time for the attempt after it.
        if (delayMs >= deadline - Date.now()) throw error;

        options.onRetry?.({ attempt, delayMs, error });
        await sleep(delayMs, signal);
      } finally {
        scope.release();
      }
    }
  } finally {
    clearTimeout(budgetTimer);
  }
}

/**
 * Settles as soon as `signal` aborts even if the work ignores it (a shared OAuth refresh cannot
 * take one caller's signal), so the caller regains control on time; the work's late outcome is dropped.
 */
function settleOnAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
