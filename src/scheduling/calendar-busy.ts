/**
 * The calendars' busy time as the booking service reads it: one free/busy request covers the shop
 * calendar and every bay calendar. Answers are remembered per shop day, so that if the calendar is
 * briefly unreachable at the moment of booking, a recent answer (the one the caller's options came
 * from) plus the database, which holds every booking made here, still decide safely; an old or
 * missing one refuses.
 */
import type { Cache } from '../cache/cache.js';
import type { CalendarProvider, FreeBusy, TimeRange } from '../calendar/calendar.js';
import { AppError } from '../core/errors.js';
import { shopDay } from './availability.js';
import type { BusinessRules } from './business-rules.js';
import { isoInZone } from './time.js';

const CALENDAR_UNAVAILABLE = 'calendar_unavailable';

export interface CalendarBusyDeps {
  calendar: CalendarProvider;
  rules: BusinessRules;
  cache?: Cache | undefined;
  now: () => Date;
  /** Calendar retry budget while a caller waits on the line. */
  callerBudgetMs: number;
  /** How old a free/busy answer may be and still back a booking while the calendar is unreachable. */
  snapshotMaxAgeMs: number;
}

export interface CalendarBusyReader {
  /** Busy time now; fails (calendar_unavailable) rather than guess. */
  read(range: TimeRange, signal: AbortSignal | undefined): Promise<FreeBusy>;
  /** Busy time over the shop day around `range`, for a booking's re-check: now, or a recent answer if the calendar is unreachable. */
  forBooking(range: TimeRange, signal: AbortSignal | undefined): Promise<FreeBusy>;
}

/** A FreeBusy as JSON holds it (the cache gives back JSON's shape). */
interface Snapshot {
  range: { start: string; end: string };
  fetchedAt: number;
  shop: JsonRange[];
  bays: Array<[number, JsonRange[]]>;
}

interface JsonRange {
  start: string;
  end: string;
}

export function createCalendarBusyReader(deps: CalendarBusyDeps): CalendarBusyReader {
  const { calendar, rules } = deps;
  const zone = rules.timeZone;

  async function read(range: TimeRange, signal: AbortSignal | undefined): Promise<FreeBusy> {
    try {
      const busy = await calendar.freeBusy(range, { signal, budgetMs: deps.callerBudgetMs });
      await remember(range, busy);
      return busy;
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new AppError(CALENDAR_UNAVAILABLE, `calendar free/busy failed: ${(error as Error).message}`, {
        retryable: true,
        cause: error,
        safeMessage: "I'm having trouble reaching our calendar right now, so I can't check times this moment.",
      });
    }
  }

  async function remember(range: TimeRange, busy: FreeBusy): Promise<void> {
    if (deps.cache === undefined) return;
    const snapshot: Snapshot = {
      range: { start: range.start.toISOString(), end: range.end.toISOString() },
      fetchedAt: deps.now().getTime(),
      shop: busy.shop.map(toJson),
      bays: [...busy.bays].map(([bay, list]) => [bay, list.map(toJson)]),
    };
    await deps.cache.set(snapshotKey(range), snapshot, deps.snapshotMaxAgeMs);
  }

  async function recent(range: TimeRange): Promise<FreeBusy | undefined> {
    if (deps.cache === undefined) return undefined;
    const snapshot = await deps.cache.get<Snapshot>(snapshotKey(range));
    if (snapshot === undefined || deps.now().getTime() - snapshot.fetchedAt > deps.snapshotMaxAgeMs) return undefined;
    if (new Date(snapshot.range.start) > range.start || new Date(snapshot.range.end) < range.end) return undefined;
    return { shop: snapshot.shop.map(fromJson), bays: new Map(snapshot.bays.map(([bay, list]) => [bay, list.map(fromJson)])) };
  }

  function snapshotKey(range: TimeRange): string {
    // v2: per-bay answers; an older instance's flat list under the old key is never read as one.
    return `freebusy:v2:${calendar.kind}:${isoInZone(range.start, zone).slice(0, 10)}`;
  }

  /** The whole shop-local day around `instant`, so a booking's check can reuse the day's snapshot. */
  function dayRangeOf(instant: Date): TimeRange {
    const day = shopDay(isoInZone(instant, zone).slice(0, 10), rules);
    return { start: day.dayStart.toJSDate(), end: day.dayStart.plus({ days: 1 }).toJSDate() };
  }

  return {
    read,
    async forBooking(range, signal) {
      try {
        return await read(dayRangeOf(range.start), signal);
      } catch (error) {
        if (!(error instanceof AppError && error.code === CALENDAR_UNAVAILABLE)) throw error;
        const snapshot = await recent(range);
        if (snapshot === undefined) throw error;
        return snapshot;
      }
    },
  };
}

function toJson(range: TimeRange): JsonRange {
  return { start: range.start.toISOString(), end: range.end.toISOString() };
}

function fromJson(range: JsonRange): TimeRange {
  return { start: new Date(range.start), end: new Date(range.end) };
}
