/**
 * Which appointment starts a shop-local day offers, and whether one given start is bookable.
 * Business hours are wall-clock times, turned into instants per day with the zone's offsets (so a
 * DST day is 23 or 25 hours long and its slots say so); everything after that is interval algebra
 * on instants. `now` and the busy intervals are passed in: nothing here reads a clock or a calendar.
 * With several service bays, a start is offered (once) when at least one bay is free for the whole
 * job, and a booking takes the lowest-numbered such bay (bays.ts).
 */
import { DateTime } from 'luxon';
import { ValidationError } from '../core/errors.js';
import {
  checkBookingWindow,
  clockMinutes,
  describeHours,
  speakRange,
  type BusinessRules,
  type DailyRange,
  type OpeningHours,
  type Weekday,
} from './business-rules.js';
import { anyBayFree, assertBayCount, fitsInSomeBay, freeRangesByBay, pickBay, type BayBusy } from './bays.js';
import { intervalContains, intervalsOverlap, subtractIntervals, type Interval } from './intervals.js';
import {
  isoInZone,
  localDateOf,
  parseShopDate,
  resolveWallClock,
  speakableDate,
  speakableDateTime,
  speakableDuration,
  speakableTime,
} from './time.js';

export type ClosedReason = 'closed_day' | 'holiday';

export interface IsoRange {
  /** ISO 8601 with the shop zone's offset. */
  start: string;
  end: string;
}

export interface Slot extends IsoRange {
  /** The start time as said to a caller, "2:00 PM" (the day is in `Availability.dateLabel`). */
  label: string;
}

export interface Availability {
  date: string;
  /** "Thursday, December 3". */
  dateLabel: string;
  timeZone: string;
  closed: boolean;
  closedReason?: ClosedReason;
  /** Business hours that day minus breaks. */
  openRanges: IsoRange[];
  /**
   * Open ranges minus busy time and minus anything before the earliest bookable instant: the times
   * at least one bay is free (a job still has to fit in one bay; `slots` says where it does).
   */
  freeRanges: IsoRange[];
  slots: Slot[];
}

export interface AvailabilityRequest {
  /** Shop-local 'YYYY-MM-DD'. */
  date: string;
  durationMinutes: number;
  /** Busy in every bay (the shop-wide calendar; with one bay, all busy time may go here). */
  busy: readonly Interval[];
  /** Each bay's own busy time, bay n at index n - 1; default one bay with none of its own. */
  bays?: ReadonlyArray<readonly Interval[]> | undefined;
  now: Date;
  rules: BusinessRules;
}

export interface SlotCheckRequest {
  start: Date;
  durationMinutes: number;
  /** Busy in every bay. */
  busy: readonly Interval[];
  /** Each bay's own busy time, bay n at index n - 1; default one bay with none of its own. */
  bays?: ReadonlyArray<readonly Interval[]> | undefined;
  /** The bay to keep if it is free (a booking being moved); otherwise the lowest free bay. */
  preferBay?: number | undefined;
  now: Date;
  rules: BusinessRules;
}

export type SlotRejection =
  | 'date_in_past'
  | 'date_too_far'
  | 'closed_day'
  | 'holiday'
  | 'outside_hours'
  | 'during_break'
  | 'too_soon'
  | 'in_past'
  | 'busy';

/** `bay`: the bay a booking at this start takes, the lowest-numbered one free for the whole job. */
export type SlotCheck = { ok: true; bay: number } | { ok: false; reason: SlotRejection; message: string };

/** One shop-local day resolved to instants. */
export interface ShopDay {
  date: string;
  /** First instant of the day in the shop zone. */
  dayStart: DateTime;
  holiday: boolean;
  hours: OpeningHours | null;
  /** Opening to closing, or null on a closed day (holidays still get their weekday's hours here). */
  window: Interval | null;
  breaks: Array<{ range: DailyRange; interval: Interval }>;
  /** Window minus breaks. */
  openRanges: Interval[];
}

const MINUTE_MS = 60_000;

export function shopDay(date: string, rules: BusinessRules): ShopDay {
  const dayStart = parseShopDate(date, rules.timeZone);
  const normalized = dayStart.toFormat('yyyy-MM-dd');
  const hours = rules.weeklyHours[dayStart.weekday as Weekday] ?? null;
  const holiday = rules.holidays.includes(normalized);
  if (hours === null) {
    return { date: normalized, dayStart, holiday, hours, window: null, breaks: [], openRanges: [] };
  }
  const at = (clock: string): Date => localInstant(normalized, clockMinutes(clock), rules.timeZone);
  const window = { start: at(hours.open), end: at(hours.close) };
  const breaks = rules.breaks.map((range) => ({ range, interval: { start: at(range.start), end: at(range.end) } }));
  const openRanges = subtractIntervals(window, breaks.map((b) => b.interval));
  return { date: normalized, dayStart, holiday, hours, window, breaks, openRanges };
}

/**
 * Every bookable start on a shop-local day, on the slot grid counted from opening time. Whether the
 * day is bookable at all (not past, not beyond the horizon) is checkBookingWindow's to say; a past
 * day here is simply open with nothing left after the lead time.
 */
export function computeAvailability(request: AvailabilityRequest): Availability {
  const { rules, now } = request;
  const zone = rules.timeZone;
  assertDuration(request.durationMinutes);
  assertInstant(now, 'now');
  const day = shopDay(request.date, rules);
  const base = { date: day.date, dateLabel: speakableDate(day.dayStart, zone), timeZone: zone };
  const closed = (closedReason: ClosedReason): Availability => ({
    ...base,
    closed: true,
    closedReason,
    openRanges: [],
    freeRanges: [],
    slots: [],
  });
  if (day.holiday) return closed('holiday');
  if (day.window === null) return closed('closed_day');

  const earliest = new Date(now.getTime() + rules.minLeadMinutes * MINUTE_MS);
  const tooSoon = { start: new Date(Math.min(day.window.start.getTime(), earliest.getTime())), end: earliest };
  const freeByBay = freeRangesByBay(day.openRanges, bayBusyOf(request), [tooSoon]);

  const slots: Slot[] = [];
  const format = createSlotFormatter(zone, day.window);
  const durationMs = request.durationMinutes * MINUTE_MS;
  const stepMs = rules.slotMinutes * MINUTE_MS;
  const close = day.window.end.getTime();
  // Absolute steps from opening: on a fall-back day the repeated hour gets its own slots.
  for (let t = day.window.start.getTime(); t + durationMs <= close; t += stepMs) {
    const candidate = { start: new Date(t), end: new Date(t + durationMs) };
    if (fitsInSomeBay(candidate, freeByBay)) {
      slots.push({ start: format.iso(candidate.start), end: format.iso(candidate.end), label: format.label(candidate.start) });
    }
  }
  return {
    ...base,
    closed: false,
    openRanges: day.openRanges.map((r) => toIso(r, zone)),
    freeRanges: anyBayFree(freeByBay).map((r) => toIso(r, zone)),
    slots,
  };
}

/**
 * The booking-time re-check of one start. Off-grid starts are fine (a manager may book 10:15); the
 * job must fit inside one open range, clear of breaks, after the lead time, in a bay that is free
 * for all of it. The answer names that bay.
 */
export function checkSlot(request: SlotCheckRequest): SlotCheck {
  const { rules, now, start } = request;
  const zone = rules.timeZone;
  assertDuration(request.durationMinutes);
  assertInstant(now, 'now');
  assertInstant(start, 'start');
  const busy = bayBusyOf(request);
  const slot = { start, end: new Date(start.getTime() + request.durationMinutes * MINUTE_MS) };
  const when = speakableDateTime(start, zone);
  const dayLabel = speakableDate(start, zone);
  const length = `${request.durationMinutes}-minute`;
  const reject = (reason: SlotRejection, message: string): SlotCheck => ({ ok: false, reason, message });

  // A day before today or past the horizon is refused as such; an earlier time today is 'in_past'.
  const window = checkBookingWindow({ day: start, now, timeZone: zone, maxBookingDays: rules.maxBookingDays });
  if (!window.ok) return window;
  if (start.getTime() < now.getTime()) {
    return reject('in_past', `${when} has already passed. Please pick a later time.`);
  }
  const earliest = new Date(Math.ceil((now.getTime() + rules.minLeadMinutes * MINUTE_MS) / MINUTE_MS) * MINUTE_MS);
  if (start.getTime() < now.getTime() + rules.minLeadMinutes * MINUTE_MS) {
    return reject(
      'too_soon',
      `We need at least ${speakableDuration(rules.minLeadMinutes)} of notice, so the earliest we can start is ${speakableDateTime(earliest, zone)}.`,
    );
  }
  const day = shopDay(localDateOf(start, zone), rules);
  if (day.holiday) {
    return reject('holiday', `We're closed on ${dayLabel} for a holiday.`);
  }
  if (day.window === null || day.hours === null) {
    return reject('closed_day', `We're closed on ${dayLabel}. Our hours are ${describeHours(rules)}.`);
  }
  const hours = speakRange(day.hours.open, day.hours.close);
  if (!intervalContains(day.window, slot)) {
    const startsInside = start >= day.window.start && start < day.window.end;
    return reject(
      'outside_hours',
      startsInside
        ? `A ${length} appointment starting ${when} would run past closing; that day we're open ${hours}.`
        : `${when} is outside our hours; that day we're open ${hours}.`,
    );
  }
  if (!day.openRanges.some((range) => intervalContains(range, slot))) {
    const pause = day.breaks.find((b) => intervalsOverlap(b.interval, slot));
    const during = pause ? ` our break from ${speakRange(pause.range.start, pause.range.end)}` : ' a break';
    return reject('during_break', `A ${length} appointment starting ${when} would overlap${during}.`);
  }
  const bay = pickBay(slot, busy, request.preferBay);
  if (bay === undefined) return reject('busy', `${when} is already taken.`);
  return { ok: true, bay };
}

function bayBusyOf(request: { busy: readonly Interval[]; bays?: ReadonlyArray<readonly Interval[]> | undefined }): BayBusy {
  const bays = request.bays ?? [[]];
  assertBayCount(bays.length);
  return { shop: request.busy, bays };
}

/** The instant of a shop-local clock reading `minutes` after midnight of `date` (1440 = next midnight). */
function localInstant(date: string, minutes: number, zone: string): Date {
  const wall = DateTime.fromISO(date, { zone: 'utc' }).plus({ minutes });
  return resolveWallClock(
    { year: wall.year, month: wall.month, day: wall.day, hour: wall.hour, minute: wall.minute },
    zone,
  ).instant.toJSDate();
}

/**
 * Formats a day's slots. Formatting each slot through luxon costs several Intl calls apiece (a
 * profile showed ~7 ms of CPU per availability request), yet a zone's offset can only change
 * within a day on a DST day. So the offset is read at both ends of the opening window: when they
 * agree, every slot is formatted by arithmetic; when not (business hours across a DST change),
 * each slot goes through luxon as before. Output is identical either way.
 */
function createSlotFormatter(zone: string, window: Interval): { iso(date: Date): string; label(date: Date): string } {
  const offset = offsetMinutes(window.start, zone);
  // luxon writes "Z" for the UTC zone itself and "+00:00" for other zero-offset zones.
  if (offset !== offsetMinutes(window.end, zone) || zone.toUpperCase() === 'UTC') {
    return { iso: (date) => isoInZone(date, zone), label: (date) => speakableTime(date, zone) };
  }
  const sign = offset < 0 ? '-' : '+';
  const suffix = `${sign}${pad2(Math.floor(Math.abs(offset) / 60))}:${pad2(Math.abs(offset) % 60)}`;
  const wall = (date: Date): Date => new Date(Math.floor(date.getTime() / 1000) * 1000 + offset * MINUTE_MS);
  return {
    iso(date) {
      const w = wall(date);
      return (
        `${w.getUTCFullYear()}-${pad2(w.getUTCMonth() + 1)}-${pad2(w.getUTCDate())}` +
        `T${pad2(w.getUTCHours())}:${pad2(w.getUTCMinutes())}:${pad2(w.getUTCSeconds())}${suffix}`
      );
    },
    label(date) {
      const w = wall(date);
      const h = w.getUTCHours();
      return `${h % 12 === 0 ? 12 : h % 12}:${pad2(w.getUTCMinutes())} ${h < 12 ? 'AM' : 'PM'}`;
    },
  };
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset at an instant, in minutes (one cached Intl formatter per zone). */
function offsetMinutes(date: Date, zone: string): number {
  let formatter = offsetFormatters.get(zone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    offsetFormatters.set(zone, formatter);
  }
  const parts = formatter.formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / MINUTE_MS);
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

function toIso(range: Interval, zone: string): IsoRange {
  return { start: isoInZone(range.start, zone), end: isoInZone(range.end, zone) };
}

function assertDuration(minutes: number): void {
  if (!Number.isInteger(minutes) || minutes <= 0 || minutes > 24 * 60) {
    throw new ValidationError(
      'invalid_duration',
      `Invalid duration ${String(minutes)}: expected whole minutes from 1 to 1440`,
      'That appointment length is not something we can book.',
    );
  }
}

function assertInstant(date: Date, name: string): void {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new ValidationError('invalid_datetime', `Invalid ${name}: expected a valid Date`);
  }
}
