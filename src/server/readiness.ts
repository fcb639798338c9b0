/**
 * Readiness: each dependency is probed with its own time limit, so one hung dependency reports
 * itself as down instead of hanging the probe (load balancers give up after a few seconds).
 */
export interface ReadinessCheck {
  name: string;
  /** What is behind the check, e.g. "pglite" or "redis": useful when an operator reads /ready. */
  kind: string;
  /** Resolves (optionally with details to report, e.g. a queue length) when healthy; throws when not. */
  probe(signal: AbortSignal): Promise<void | Record<string, unknown>>;
}

export interface CheckResult {
  ok: boolean;
  kind: string;
  latencyMs: number;
  error?: string;
  [detail: string]: unknown;
}

export async function runReadinessChecks(
  checks: readonly ReadinessCheck[],
  timeoutMs: number,
): Promise<{ ready: boolean; checks: Record<string, CheckResult> }> {
  const results = await Promise.all(
    checks.map(async (check): Promise<[string, CheckResult]> => {
      const started = performance.now();
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        const details = await Promise.race([
          check.probe(signal),
          new Promise<never>((_, reject) =>
            signal.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`)), {
              once: true,
            }),
          ),
        ]);
        return [
          check.name,
          { ...(details ?? {}), ok: true, kind: check.kind, latencyMs: Math.round(performance.now() - started) },
        ];
      } catch (error) {
        return [
          check.name,
          {
            ok: false,
            kind: check.kind,
            latencyMs: Math.round(performance.now() - started),
            // Only the first line: driver errors can be long, and /ready is public.
            error: (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 200) ?? 'failed',
          },
        ];
      }
    }),
  );
  return { ready: results.every(([, r]) => r.ok), checks: Object.fromEntries(results) };
}
