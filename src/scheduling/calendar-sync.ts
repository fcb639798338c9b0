/**
 * Brings staff edits of the agent's events (moves and deletions in Google Calendar) into the
 * database. Per calendar: an incremental listing from the stored sync token (a full one the first
 * time, and again when Google answers 410), each listed event judged by decideStaffEdit and
 * applied with guarded updates, the new token stored at the end. Runs every interval, and at once
 * when a push notification says the calendar changed.
 *
 * Any number of instances may run it against one database: a calendar is synced by whoever claims
 * its row (lease, FOR UPDATE SKIP LOCKED); a notification that reaches an instance while another
 * one holds the lease bumps a request counter, and the holder syncs again before letting go.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Cache } from '../cache/cache.js';
import { SyncTokenExpiredError } from '../calendar/calendar.js';
import type { CalendarChangeFeed, ListedEvent } from '../calendar/calendar.js';
import { appointmentIdForEventId, eventIdForAppointment } from '../calendar/event-id.js';
import { invalidateCustomer } from '../crm/customer-cache.js';
import { findAppointment } from '../db/appointment-queries.js';
import {
  cancelFromCalendar,
  claimFeed,
  clearCalendarConflict,
  ensureFeeds,
  extendLease,
  flagCalendarConflict,
  moveFromCalendar,
  releaseFeed,
  requestFeedSync,
} from '../db/calendar-sync-queries.js';
import { SQLSTATE, sqlState } from '../db/client.js';
import type { Db } from '../db/client.js';
import { customers } from '../db/schema.js';
import type { Appointment, CalendarFeed } from '../db/schema.js';
import { maintainChannel, stopOwnChannels, verifyNotification } from './calendar-channels.js';
import type { NotificationVerdict } from './calendar-channels.js';
import { CANCELLED_IN_CALENDAR, decideStaffEdit } from './staff-edits.js';
import { isoInZone } from './time.js';

export interface CalendarSyncDeps {
  db: Db;
  feed: CalendarChangeFeed;
  /** The calendars to follow: the shop calendar, and each bay's when bays have their own. */
  calendarIds: readonly string[];
  /** The shop's zone, for the words of a conflict's description. */
  timeZone: string;
  intervalMs: number;
  cache?: Cache | undefined;
  now?: () => Date;
  /** The calendar that holds an appointment's event; default: the first of `calendarIds`. */
  calendarOf?: (appointment: Appointment) => string;
  /** Where Google should POST change notifications (https); unset: no push channel, the interval alone. */
  notificationAddress?: string | undefined;
  /** Lifetime asked for a push channel; Google's default (a week) when unset. */
  channelTtlMs?: number | undefined;
  /** A channel expiring sooner than this is replaced by the next sync; default max(1 h, 3 intervals). */
  channelRenewBeforeMs?: number;
  /** How long a claim keeps other instances away; renewed after every page. */
  leaseMs?: number;
  /** Retry budget per calendar request (nobody waits on the phone for it). */
  budgetMs?: number;
  /** Events per page of a listing (Google's default when unset). */
  pageSize?: number;
  onEvent?: (event: CalendarSyncEvent) => void;
  /** A calendar's sync failed (it is retried on the next interval). */
  onError?: (calendarId: string, error: unknown) => void;
}

export type CalendarSyncEvent =
  | { kind: 'cancelled'; calendarId: string; appointmentId: string }
  | { kind: 'moved'; calendarId: string; appointmentId: string; from: Date; to: Date }
  | { kind: 'conflict'; calendarId: string; appointmentId: string; detail: string }
  | { kind: 'conflict_cleared'; calendarId: string; appointmentId: string }
  | { kind: 'full_sync'; calendarId: string; reason: 'first' | 'token_expired' }
  | { kind: 'channel_opened' | 'channel_renewed'; calendarId: string; expiresAt: Date }
  | { kind: 'channel_stopped'; calendarId: string };

export interface CalendarSyncReport {
  calendarId: string;
  /** False when another instance held the calendar (it syncs it instead). */
  claimed: boolean;
  listed: number;
  cancelled: number;
  moved: number;
  conflicts: number;
  fullSync: boolean;
}

export interface CalendarSync {
  /** Syncs every calendar now (each one unless another instance holds it); resolves when done. */
  runOnce(): Promise<CalendarSyncReport[]>;
  /** Is this notification from one of our channels? (The route answers from this.) */
  verifyNotification(notification: { channelId: string; token: string | undefined; resourceId: string | undefined }): Promise<NotificationVerdict>;
  /** The calendar changed (a push notification): sync it now, in the background. */
  changed(calendarId: string): void;
  start(): void;
  /** Stops the loop, waits for syncs in progress, then stops the push channels this instance opened. */
  stop(): Promise<void>;
}

/** The report of consecutive syncs of one calendar, as one. */
function combined(a: CalendarSyncReport, b: CalendarSyncReport): CalendarSyncReport {
  return {
    calendarId: a.calendarId,
    claimed: a.claimed || b.claimed,
    listed: a.listed + b.listed,
    cancelled: a.cancelled + b.cancelled,
    moved: a.moved + b.moved,
    conflicts: a.conflicts + b.conflicts,
    fullSync: a.fullSync || b.fullSync,
  };
}

/** Consecutive syncs of one calendar while notifications keep arriving; the interval takes over after. */
const MAX_RERUNS = 10;

export function createCalendarSync(deps: CalendarSyncDeps): CalendarSync {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const budgetMs = deps.budgetMs ?? 10_000;
  const leaseMs = deps.leaseMs ?? Math.max(60_000, budgetMs * 3);
  const renewBeforeMs = deps.channelRenewBeforeMs ?? Math.max(3_600_000, deps.intervalMs * 3);
  const calendarOf = deps.calendarOf ?? (() => deps.calendarIds[0] ?? '');
  const instanceId = randomUUID();
  const controller = new AbortController();
  const callOptions = { signal: controller.signal, budgetMs };
  const running = new Map<string, Promise<CalendarSyncReport>>();
  const again = new Set<string>();
  const background = new Set<Promise<unknown>>();
  let feedsReady: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<unknown> | undefined;

  const emit = (event: CalendarSyncEvent): void => deps.onEvent?.(event);

  function ensureFeedRows(): Promise<void> {
    feedsReady ??= ensureFeeds(db, deps.calendarIds).catch((error: unknown) => {
      feedsReady = undefined;
      throw error;
    });
    return feedsReady;
  }

  /** One sync of the calendar, then again while notifications arrived during it. */
  function syncCalendar(calendarId: string): Promise<CalendarSyncReport> {
    const current = running.get(calendarId);
    if (current !== undefined) {
      again.add(calendarId);
      return current;
    }
    const run = (async () => {
      let { result, rerun } = await syncOnce(calendarId);
      for (let n = 0; n < MAX_RERUNS && (again.delete(calendarId) || rerun) && !controller.signal.aborted; n++) {
        const next = await syncOnce(calendarId);
        result = combined(result, next.result);
        rerun = next.rerun;
      }
      return result;
    })().finally(() => running.delete(calendarId));
    running.set(calendarId, run);
    return run;
  }

  async function syncOnce(calendarId: string): Promise<{ result: CalendarSyncReport; rerun: boolean }> {
    const result: CalendarSyncReport = { calendarId, claimed: false, listed: 0, cancelled: 0, moved: 0, conflicts: 0, fullSync: false };
    await ensureFeedRows();
    const claimed = await claimFeed(db, calendarId, instanceId, now(), leaseMs);
    if (claimed === undefined) return { result, rerun: false };
    result.claimed = true;
    let released: CalendarFeed | undefined;
    try {
      const syncToken = await listAndApply(claimed, result);
      if (deps.notificationAddress !== undefined) await keepChannel(claimed);
      released = await releaseFeed(db, calendarId, instanceId, { syncToken, syncedAt: now(), syncedRequests: claimed.syncRequests });
    } catch (error) {
      await releaseFeed(db, calendarId, instanceId).catch(() => undefined);
      throw error;
    }
    return { result, rerun: released !== undefined && released.syncRequests > claimed.syncRequests };
  }

  /** Lists every page since the stored token (everything when there is none) and applies each event. */
  async function listAndApply(feedRow: CalendarFeed, result: CalendarSyncReport): Promise<string> {
    const { calendarId } = feedRow;
    let syncToken = feedRow.syncToken ?? undefined;
    let pageToken: string | undefined;
    if (syncToken === undefined) {
      result.fullSync = true;
      emit({ kind: 'full_sync', calendarId, reason: 'first' });
    }
    for (;;) {
      if (controller.signal.aborted) throw controller.signal.reason;
      let page;
      try {
        page = await deps.feed.listChanges(calendarId, { syncToken, pageToken, pageSize: deps.pageSize }, callOptions);
      } catch (error) {
        // Only a token can expire: a 410 on a full listing is not retried in a loop.
        if (!(error instanceof SyncTokenExpiredError) || syncToken === undefined) throw error;
        syncToken = undefined;
        pageToken = undefined;
        result.fullSync = true;
        emit({ kind: 'full_sync', calendarId, reason: 'token_expired' });
        continue;
      }
      for (const event of page.events) {
        result.listed += 1;
        await applyEvent(calendarId, event, result);
      }
      if (page.nextPageToken !== undefined) {
        pageToken = page.nextPageToken;
        if (!(await extendLease(db, calendarId, instanceId, new Date(now().getTime() + leaseMs)))) {
          throw new Error(`lost the lease on calendar ${calendarId} while listing it`);
        }
        continue;
      }
      if (page.nextSyncToken === undefined) throw new Error(`the listing of calendar ${calendarId} ended without a sync token`);
      return page.nextSyncToken;
    }
  }

  async function applyEvent(calendarId: string, event: ListedEvent, result: CalendarSyncReport): Promise<void> {
    const appointmentId = appointmentIdForEventId(event.eventId);
    const found = appointmentId === undefined ? undefined : await findAppointment(db, appointmentId);
    // A staff event whose id merely looks like ours is not ours: the row must name this very event.
    const row = found !== undefined && (found.calendarEventId ?? eventIdForAppointment(found.id)) === event.eventId ? found : undefined;
    if (row === undefined) return;
    const decision = decideStaffEdit({ event, appointment: row, inItsCalendar: calendarOf(row) === calendarId, now: now() });
    switch (decision.action) {
      case 'ignore':
      case 'defer':
        return;
      case 'in_step':
        if (row.calendarConflictAt !== null && (await clearCalendarConflict(db, row))) {
          emit({ kind: 'conflict_cleared', calendarId, appointmentId: row.id });
        }
        return;
      case 'cancel': {
        // Staff giving the event another calendar (another bay's) leaves this deletion behind: the
        // job is still on, only not where the row says. Not a bay change to apply blindly either.
        const movedTo = await liveElsewhere(calendarId, event.eventId);
        if (movedTo !== undefined) {
          await flag(calendarId, row, `moved in the calendar to calendar ${movedTo}; the appointment stays in bay ${row.bay}`, result);
          return;
        }
        // Not applied when the row changed since it was read: that newer change wins.
        if ((await cancelFromCalendar(db, row, CANCELLED_IN_CALENDAR)) === undefined) return;
        result.cancelled += 1;
        emit({ kind: 'cancelled', calendarId, appointmentId: row.id });
        await forgetCustomer(row.customerId);
        return;
      }
      case 'move': {
        let moved: Appointment | undefined;
        try {
          moved = await moveFromCalendar(db, row, { start: decision.start, end: decision.end });
        } catch (error) {
          const state = sqlState(error);
          if (state !== SQLSTATE.exclusionViolation && state !== SQLSTATE.checkViolation) throw error;
          await flag(calendarId, row, `moved in the calendar to ${describe(decision.start, decision.end)}, which overlaps another appointment in bay ${row.bay}`, result);
          return;
        }
        if (moved === undefined) return;
        result.moved += 1;
        emit({ kind: 'moved', calendarId, appointmentId: row.id, from: row.startsAt, to: moved.startsAt });
        await forgetCustomer(row.customerId);
        return;
      }
      case 'flag':
        await flag(calendarId, row, decision.detail, result);
        return;
    }
  }

  /** Another followed calendar holding the event live, if any. */
  async function liveElsewhere(calendarId: string, eventId: string): Promise<string | undefined> {
    for (const other of deps.calendarIds) {
      if (other === calendarId) continue;
      const found = await deps.feed.getEvent(other, eventId, callOptions);
      if (found !== undefined && found.status !== 'cancelled') return other;
    }
    return undefined;
  }

  async function flag(calendarId: string, row: Appointment, detail: string, result: CalendarSyncReport): Promise<void> {
    result.conflicts += 1;
    if (await flagCalendarConflict(db, row, now(), detail)) emit({ kind: 'conflict', calendarId, appointmentId: row.id, detail });
  }

  function describe(start: Date, end: Date): string {
    return `${isoInZone(start, deps.timeZone)} - ${isoInZone(end, deps.timeZone)}`;
  }

  /** The customer's cached look-up lists upcoming appointments, which this just changed. */
  async function forgetCustomer(customerId: string): Promise<void> {
    if (deps.cache === undefined) return;
    const customer = await db.query.customers.findFirst({ where: eq(customers.id, customerId) });
    if (customer !== undefined) await invalidateCustomer(deps.cache, customer).catch(() => undefined);
  }

  async function keepChannel(feedRow: CalendarFeed): Promise<void> {
    try {
      const outcome = await maintainChannel(
        { db, feed: deps.feed, instanceId, address: deps.notificationAddress!, ttlMs: deps.channelTtlMs, renewBeforeMs, callOptions },
        feedRow,
        now(),
      );
      if (outcome.kind === 'kept') return;
      emit({ kind: outcome.kind === 'opened' ? 'channel_opened' : 'channel_renewed', calendarId: feedRow.calendarId, expiresAt: outcome.expiresAt });
      if (outcome.stopError !== undefined) deps.onError?.(feedRow.calendarId, outcome.stopError);
    } catch (error) {
      // The listing went through; without a channel the interval still brings staff edits in.
      if (controller.signal.aborted) throw error;
      deps.onError?.(feedRow.calendarId, error);
    }
  }

  async function runOnce(): Promise<CalendarSyncReport[]> {
    const reports: CalendarSyncReport[] = [];
    for (const calendarId of deps.calendarIds) {
      if (controller.signal.aborted) break;
      try {
        reports.push(await syncCalendar(calendarId));
      } catch (error) {
        if (!controller.signal.aborted) deps.onError?.(calendarId, error);
      }
    }
    return reports;
  }

  function track<T>(promise: Promise<T>): void {
    background.add(promise);
    void promise.finally(() => background.delete(promise)).catch(() => undefined);
  }

  function schedule(delayMs: number): void {
    if (controller.signal.aborted) return;
    timer = setTimeout(() => {
      pass = runOnce().finally(() => {
        pass = undefined;
        schedule(deps.intervalMs);
      });
    }, delayMs);
    timer.unref();
  }

  return {
    runOnce,
    verifyNotification: (notification) => verifyNotification(db, notification),
    changed(calendarId) {
      if (controller.signal.aborted || !deps.calendarIds.includes(calendarId)) return;
      track(
        (async () => {
          // Recorded first, so that an instance syncing this calendar right now goes round again.
          await requestFeedSync(db, calendarId);
          await syncCalendar(calendarId);
        })().catch((error: unknown) => {
          if (!controller.signal.aborted) deps.onError?.(calendarId, error);
        }),
      );
    },
    start() {
      if (timer === undefined) schedule(0);
    },
    async stop() {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
      await Promise.allSettled([pass, ...running.values(), ...background]);
      if (deps.notificationAddress === undefined) return;
      const stopped = await stopOwnChannels(
        // The loop's signal is aborted by now; stopping gets a short budget of its own.
        { db, feed: deps.feed, instanceId, callOptions: { budgetMs: Math.min(budgetMs, 3_000) } },
        (calendarId, error) => deps.onError?.(calendarId, error),
      );
      for (const calendarId of stopped) emit({ kind: 'channel_stopped', calendarId });
    },
  };
}
