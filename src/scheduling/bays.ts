/**
 * Service bays as busy time. A shop works on as many cars at once as it has bays; a start is
 * bookable when at least one bay is free for the whole job, and a booking takes the lowest-numbered
 * such bay (so bay 1 fills first and the last bays stay free longest for walk-ins and overruns).
 * Bays are numbered from 1. Pure: busy time is passed in.
 */
import { intervalContains, intervalsOverlap, mergeIntervals, subtractIntervals, type Interval } from './intervals.js';

export const MAX_BAYS = 50;

/** What keeps the shop's bays busy over some stretch of time. */
export interface BayBusy {
  /** Busy in every bay: the shop-wide calendar's staff meetings and closures. */
  shop: readonly Interval[];
  /** Each bay's own busy time, bay n at index n - 1; the array's length is the number of bays. */
  bays: ReadonlyArray<readonly Interval[]>;
}

/** A booking that occupies one bay. */
export interface BayOccupancy extends Interval {
  bay: number;
}

export interface BayBusyInput {
  bayCount: number;
  /** Active appointments: each keeps its own bay busy. */
  appointments: readonly BayOccupancy[];
  /** The shop-wide calendar's busy time. */
  shop: readonly Interval[];
  /** Busy time of bays that have a calendar of their own, by bay number. */
  calendarBays?: ReadonlyMap<number, readonly Interval[]>;
}

/**
 * Puts the database's appointments and the calendars' busy time together, bay by bay. An
 * appointment in a bay the shop no longer has (the bay count was lowered) still brings its car in,
 * so it counts against the last bay rather than vanishing; so does a calendar of a bay beyond it.
 */
export function bayBusyFrom(input: BayBusyInput): BayBusy {
  assertBayCount(input.bayCount);
  const bays: Interval[][] = Array.from({ length: input.bayCount }, () => []);
  const slot = (bay: number): Interval[] => bays[Math.min(Math.max(Math.trunc(bay), 1), input.bayCount) - 1]!;
  for (const appointment of input.appointments) slot(appointment.bay).push({ start: appointment.start, end: appointment.end });
  for (const [bay, busy] of input.calendarBays ?? []) slot(bay).push(...busy);
  return { shop: [...input.shop], bays };
}

/** The bays free for the whole of `range`, ascending. */
export function freeBays(range: Interval, busy: BayBusy): number[] {
  if (busy.shop.some((block) => intervalsOverlap(block, range))) return [];
  const free: number[] = [];
  busy.bays.forEach((own, index) => {
    if (!own.some((block) => intervalsOverlap(block, range))) free.push(index + 1);
  });
  return free;
}

/**
 * The bay a booking for `range` takes: the lowest-numbered one free for all of it, if any. A
 * booking being moved keeps its bay (`prefer`) when that is free: its calendar event then stays put.
 */
export function pickBay(range: Interval, busy: BayBusy, prefer?: number): number | undefined {
  const free = freeBays(range, busy);
  return prefer !== undefined && free.includes(prefer) ? prefer : free[0];
}

/**
 * Where each bay is free inside `windows`: bay n's free ranges at index n - 1. A job fits when it
 * lies inside one range of one bay (the union over bays would let a job hop bays halfway).
 */
export function freeRangesByBay(windows: readonly Interval[], busy: BayBusy, alsoBusy: readonly Interval[] = []): Interval[][] {
  return busy.bays.map((own) => subtractIntervals(windows, [...busy.shop, ...alsoBusy, ...own]));
}

/** True when some bay's free ranges hold the whole of `range`. */
export function fitsInSomeBay(range: Interval, freeByBay: ReadonlyArray<readonly Interval[]>): boolean {
  return freeByBay.some((ranges) => ranges.some((free) => intervalContains(free, range)));
}

/** Times at least one bay is free: the union of every bay's free ranges. */
export function anyBayFree(freeByBay: ReadonlyArray<readonly Interval[]>): Interval[] {
  return mergeIntervals(freeByBay.flat());
}

export function assertBayCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_BAYS) {
    throw new RangeError(`bay count must be a whole number from 1 to ${MAX_BAYS}, got ${String(count)}`);
  }
}
