/**
 * Shop-local time: parsing what the LLM says, and saying times back to a caller.
 *
 * Luxon resolves local wall-clock times on its own, but not in a way we can rely on: a time in the
 * spring-forward gap is silently moved forward, and an ambiguous fall-back time lands on whichever
 * offset its internal guess started from (EST for 01:30 in New York via fromISO, EDT via set() on a
 * DateTime that is already EDT). `resolveWallClock` therefore does the resolution itself, from the
 * zone's offsets alone, so the answer is the same whatever path led to it.
 */
import { DateTime } from 'luxon';
import { ValidationError } from '../core/errors.js';

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second?: number;
  millisecond?: number;
}

export interface ResolvedWallClock {
  /** The earliest instant showing that wall-clock time or, in a gap, the instant the gap ends. */
  instant: DateTime;
  /** False when the wall-clock time does not exist that day (spring-forward gap). */
  exists: boolean;
}

export interface TodayContext {
  date: string;
  weekday: string;
  time: string;
  zone: string;
}

const DAY_MS = 86_400_000;
const LOCALE = 'en-US';

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

export function isValidTimeZone(zone: string): boolean {
  return typeof zone === 'string' && zone.length > 0 && DateTime.now().setZone(zone).isValid;
}

export function assertTimeZone(zone: string): void {
  if (!isValidTimeZone(zone)) {
    throw new ValidationError(
      'invalid_time_zone',
      `Unknown time zone "${clip(zone)}": use an IANA name such as America/New_York`,
      'Sorry, our scheduling system is misconfigured.',
    );
  }
}

/** Offset of `zone` at instant `ms`, in minutes east of UTC. */
function offsetAt(ms: number, zone: string): number {
  return DateTime.fromMillis(ms, { zone }).offset;
}

/**
 * The instant a shop-local wall-clock time denotes. Ambiguous times (fall back) give the earlier
 * instant; nonexistent times (spring forward) give the end of the gap with `exists: false`, which is
 * "the first moment the clock reads at least that", the right reading for an opening hour.
 */
export function resolveWallClock(wall: WallClock, zone: string): ResolvedWallClock {
  assertTimeZone(zone);
  const asUtc = DateTime.utc(wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second ?? 0, wall.millisecond ?? 0);
  if (!asUtc.isValid) {
    throw new ValidationError('invalid_datetime', `Invalid wall-clock time ${JSON.stringify(wall)}`);
  }
  const wallMs = asUtc.toMillis();
  // Offsets a day either side cover any transition near this wall time (offsets stay within ±14 h).
  const before = offsetAt(wallMs - DAY_MS, zone);
  const after = offsetAt(wallMs + DAY_MS, zone);
  const offsets = new Set([before, offsetAt(wallMs, zone), after]);
  const candidates = [...offsets]
    .map((offset) => wallMs - offset * 60_000)
    .filter((ms) => offsetAt(ms, zone) * 60_000 === wallMs - ms)
    .sort((a, b) => a - b);
  const earliest = candidates[0];
  if (earliest !== undefined) {
    return { instant: DateTime.fromMillis(earliest, { zone }), exists: true };
  }
  // In a gap: the transition lies between the wall time read with the later offset (still before it)
  // and read with the earlier offset (already after it). Binary search finds it to the millisecond.
  let lo = wallMs - after * 60_000;
  let hi = wallMs - before * 60_000;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(mid, zone) === before) lo = mid;
    else hi = mid;
  }
  return { instant: DateTime.fromMillis(hi, { zone }), exists: false };
}

/** 'YYYY-MM-DD' (a real calendar date) -> the first instant of that day in `zone`. */
export function parseShopDate(input: string, zone: string): DateTime {
  const match = typeof input === 'string' ? DATE_RE.exec(input.trim()) : null;
  const [year, month, day] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [NaN, NaN, NaN];
  if (!match || !isRealDate(year, month, day)) {
    throw new ValidationError(
      'invalid_date',
      `Invalid date "${clip(String(input))}": expected a real calendar date as YYYY-MM-DD`,
    );
  }
  return resolveWallClock({ year, month, day, hour: 0, minute: 0 }, zone).instant;
}

/**
 * An ISO 8601 date-time. With an offset (or Z) it is that instant; without one it is shop-local
 * wall-clock time. The result is always expressed in the shop zone.
 */
export function parseShopDateTime(input: string, zone: string): DateTime {
  assertTimeZone(zone);
  const text = typeof input === 'string' ? input.trim() : '';
  const match = DATETIME_RE.exec(text);
  const invalid = (): ValidationError =>
    new ValidationError(
      'invalid_datetime',
      `Invalid date and time "${clip(String(input))}": expected ISO 8601 such as 2026-12-03T14:00`,
    );
  if (!match) throw invalid();
  const wall: Required<WallClock> = {
    year: Number(match[1]),
    month: Number(match[2]),
    day: Number(match[3]),
    hour: Number(match[4]),
    minute: Number(match[5]),
    second: Number(match[6] ?? 0),
    // Digits past milliseconds are dropped, not rounded, so 59.9999 never becomes the next minute.
    millisecond: Number((match[7] ?? '').padEnd(3, '0').slice(0, 3)),
  };
  if (!isRealDate(wall.year, wall.month, wall.day) || wall.hour > 23 || wall.minute > 59 || wall.second > 59) {
    throw invalid();
  }
  const offsetText = match[8];
  if (offsetText !== undefined) {
    const offsetMinutes = parseOffset(offsetText);
    if (offsetMinutes === null) throw invalid();
    const ms = DateTime.utc(wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second, wall.millisecond).toMillis();
    return DateTime.fromMillis(ms - offsetMinutes * 60_000, { zone });
  }
  const resolved = resolveWallClock(wall, zone);
  if (!resolved.exists) {
    const local = `${pad(wall.hour)}:${pad(wall.minute)}`;
    throw new ValidationError(
      'nonexistent_local_time',
      `${local} on ${speakableDate(resolved.instant, zone)} does not exist in ${zone}: the clocks spring forward that night`,
      `${formatClock(wall.hour, wall.minute)} doesn't exist on ${speakableDate(resolved.instant, zone)} because the clocks go forward that night. Please pick another time.`,
    );
  }
  return resolved.instant;
}

export function toShopTime(date: Date | DateTime, zone: string): DateTime {
  const dt = date instanceof Date ? DateTime.fromJSDate(date) : date;
  return dt.setZone(zone).setLocale(LOCALE);
}

/** "Thursday, December 3 at 2:00 PM" in the shop zone. */
export function speakableDateTime(date: Date | DateTime, zone: string): string {
  return toShopTime(date, zone).toFormat("cccc, LLLL d 'at' h:mm a");
}

/** "Thursday, December 3" in the shop zone. */
export function speakableDate(date: Date | DateTime, zone: string): string {
  return toShopTime(date, zone).toFormat('cccc, LLLL d');
}

/** "Monday, March 1st, 2027" in the shop zone: a date far enough out that the year matters. */
export function speakableFullDate(date: Date | DateTime, zone: string): string {
  const local = toShopTime(date, zone);
  return `${local.toFormat('cccc, LLLL')} ${ordinal(local.day)}, ${local.toFormat('yyyy')}`;
}

/** "2:00 PM" in the shop zone. */
export function speakableTime(date: Date | DateTime, zone: string): string {
  return toShopTime(date, zone).toFormat('h:mm a');
}

/** ISO 8601 with the zone's offset at that instant and no milliseconds: 2026-12-03T14:00:00-05:00. */
export function isoInZone(date: Date | DateTime, zone: string): string {
  const iso = toShopTime(date, zone).startOf('second').toISO({ suppressMilliseconds: true, includeOffset: true });
  if (iso === null) throw new ValidationError('invalid_datetime', 'Cannot format an invalid date');
  return iso;
}

/** The shop-local calendar date of an instant, 'YYYY-MM-DD'. */
export function localDateOf(date: Date | DateTime, zone: string): string {
  return toShopTime(date, zone).toFormat('yyyy-MM-dd');
}

/** What the LLM needs each turn to turn "tomorrow" or "next Friday" into a date. */
export function todayContext(now: Date, zone: string): TodayContext {
  assertTimeZone(zone);
  const local = toShopTime(now, zone);
  return { date: local.toFormat('yyyy-MM-dd'), weekday: local.toFormat('cccc'), time: local.toFormat('h:mm a'), zone };
}

/** "9 AM", "5:30 PM", "noon", "midnight": hours the way people say them. */
export function formatClock(hour: number, minute: number): string {
  const h = ((hour % 24) + 24) % 24;
  if (minute === 0 && h === 12) return 'noon';
  if (minute === 0 && h === 0) return 'midnight';
  const suffix = h < 12 ? 'AM' : 'PM';
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return minute === 0 ? `${h12} ${suffix}` : `${h12}:${pad(minute)} ${suffix}`;
}

/** "30 minutes", "1 hour", "1 hour and 30 minutes". */
export function speakableDuration(minutes: number): string {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  const h = hours === 1 ? '1 hour' : `${hours} hours`;
  const m = rest === 1 ? '1 minute' : `${rest} minutes`;
  if (hours === 0) return m;
  return rest === 0 ? h : `${h} and ${m}`;
}

export function isRealDate(year: number, month: number, day: number): boolean {
  if (![year, month, day].every(Number.isInteger)) return false;
  return DateTime.utc(year, month, day).isValid;
}

function parseOffset(text: string): number | null {
  if (text.toUpperCase() === 'Z') return 0;
  const match = /^([+-])(\d{2}):?(\d{2})?$/.exec(text);
  if (!match) return null;
  const hours = Number(match[2]);
  const minutes = Number(match[3] ?? 0);
  if (hours > 18 || minutes > 59) return null;
  return (match[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

/** 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st... */
function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${suffix}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Caller-provided text echoed in a message is kept short. */
function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
