/**
 * Sleeps for `ms` unless `signal` aborts first; rejects with the signal's reason so callers can
 * tell an abort from a normal wake-up.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}


/**
 * A signal that follows `signals` only until `release()`: once the work it was handed to has
 * settled, nothing can abort it any more. Some HTTP clients keep their abort listener after the
 * response is in (node-fetch until the raw body ends), so a long-lived signal (a call's turn, the
 * reconciler's) handed to them directly would reach finished requests and collect their listeners.
 */
export function scopedSignal(...signals: Array<AbortSignal | undefined>): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const sources = signals.filter((s): s is AbortSignal => s !== undefined);
  const already = sources.find((s) => s.aborted);
  if (already !== undefined) {
    controller.abort(already.reason);
    return { signal: controller.signal, release: () => undefined };
  }
  const listeners = sources.map((source) => {
    const onAbort = (): void => controller.abort(source.reason);
    source.addEventListener('abort', onAbort, { once: true });
    return () => source.removeEventListener('abort', onAbort);
  });
  return {
    signal: controller.signal,
    release: () => {
      for (const remove of listeners) remove();
    },
  };
}
