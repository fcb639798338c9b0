/**
 * Finishes calendar writes that could not be done while the caller waited. Runs at start-up and
 * then on an interval; any number of instances may run it at once, since rows are claimed with
 * leases (FOR UPDATE SKIP LOCKED) and the projection itself is idempotent.
 */
import type { CalendarProvider } from '../calendar/calendar.js';
import type { Db } from '../db/client.js';
import { claimDueSyncs } from '../db/appointment-queries.js';
import { syncAppointment } from './calendar-projection.js';

export interface ReconcilerDeps {
  db: Db;
  calendar: CalendarProvider;
  timeZone: string;
  shopName: string;
  intervalMs: number;
  now?: () => Date;
  /** Rows claimed per query. */
  batchSize?: number;
  /** How long a claim keeps other instances away; longer than one row's calendar budget. */
  leaseMs?: number;
  /** Retry budget per calendar call: nobody is waiting on the phone, so it can be generous. */
  budgetMs?: number;
  /** First retry delay after a failure; doubles per attempt up to maxRetryDelayMs. */
  baseRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  onError?: (appointmentId: string, error: unknown) => void;
  onPassError?: (error: unknown) => void;
}

export interface ReconcileReport {
  attempted: number;
  synced: number;
  failed: number;
}

export interface CalendarReconciler {
  /**
   * Syncs everything due now (claiming batch after batch) and reports what happened;
   * `dueWithinMs` also takes rows whose next attempt is that close (a final flush at shutdown).
   */
  runOnce(options?: { dueWithinMs?: number }): Promise<ReconcileReport>;
  start(): void;
  /** Stops the loop and waits for a pass in progress. */
  stop(): Promise<void>;
}

export function createCalendarReconciler(deps: ReconcilerDeps): CalendarReconciler {
  const now = deps.now ?? (() => new Date());
  const batchSize = deps.batchSize ?? 20;
  const budgetMs = deps.budgetMs ?? 10_000;
  const leaseMs = deps.leaseMs ?? Math.max(60_000, budgetMs * 3);
  const baseDelay = deps.baseRetryDelayMs ?? 5_000;
  const maxDelay = deps.maxRetryDelayMs ?? 15 * 60_000;
  const context = { db: deps.db, calendar: deps.calendar, timeZone: deps.timeZone, shopName: deps.shopName };
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<ReconcileReport> | undefined;

  function retryDelay(attempts: number): number {
    const exponential = Math.min(maxDelay, baseDelay * 2 ** Math.min(attempts, 20));
    // Jitter spreads retries from many rows (and instances) after an outage ends.
    return Math.round(exponential / 2 + Math.random() * (exponential / 2));
  }

  async function pass(dueWithinMs: number): Promise<ReconcileReport> {
    const report: ReconcileReport = { attempted: 0, synced: 0, failed: 0 };
    const seen = new Set<string>();
    while (!controller.signal.aborted) {
      const claimed = (await claimDueSyncs(deps.db, new Date(now().getTime() + dueWithinMs), leaseMs, batchSize)).filter((row) => !seen.has(row.id));
      if (claimed.length === 0) break;
      for (const row of claimed) {
        seen.add(row.id);
        report.attempted += 1;
        const result = await syncAppointment(context, row, 'create', {
          signal: controller.signal,
          budgetMs,
          now: now(),
          retryDelayMs: retryDelay(row.calendarSyncAttempts),
        });
        if (result.synced) report.synced += 1;
        if (result.error !== undefined) {
          report.failed += 1;
          deps.onError?.(row.id, result.error);
        }
      }
    }
    return report;
  }

  function runOnce(options: { dueWithinMs?: number } = {}): Promise<ReconcileReport> {
    running ??= pass(options.dueWithinMs ?? 0).finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(delayMs: number): void {
    if (controller.signal.aborted) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((error: unknown) => deps.onPassError?.(error))
        .finally(() => schedule(deps.intervalMs));
    }, delayMs);
    timer.unref();
  }

  return {
    runOnce,
    start() {
      if (timer === undefined) schedule(0);
    },
    async stop() {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
      await running?.catch(() => {});
    },
  };
}
