/**
 * The shop's opening rules as data, the parsers that turn config strings into them, and the
 * sentence that tells the LLM (and through it the caller) when the shop is open.
 * Parsers throw a ValidationError whose message names the bad part, so a start-up error points at it.
 */
import { DateTime } from 'luxon';
import { ValidationError } from '../core/errors.js';
import { assertTimeZone, formatClock, isRealDate, speakableFullDate } from './time.js';

/** 'HH:mm', 24-hour clock; '24:00' is allowed as an end (the end of the day). */
export type ClockTime = string;

export interface DailyRange {
  start: ClockTime;
  end: ClockTime;
}

export interface OpeningHours {
  open: ClockTime;
  close: ClockTime;
}

/** Luxon weekday (1 = Monday ... 7 = Sunday) -> hours, or null when closed. */
export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;
export type WeeklyHours = Record<Weekday, OpeningHours | null>;

export interface BusinessRules {
  timeZone: string;
  weeklyHours: WeeklyHours;
  /** Daily breaks (lunch) in shop-local time; no appointment may overlap them. */
  breaks: DailyRange[];
  /** Shop-local dates the shop is closed, 'YYYY-MM-DD'. */
  holidays: string[];
  /** How far ahead of now the earliest bookable start is. */
  minLeadMinutes: number;
  /** Spacing of offered slot starts, counted from opening time. */
  slotMinutes: number;
  /** The booking horizon: the last bookable day is today plus this many days, in the shop's zone. */
  maxBookingDays: number;
}

export interface BusinessRulesInput {
  timeZone: string;
  weeklyHours?: string | undefined;
  breaks?: string | undefined;
  holidays?: string | undefined;
  minLeadMinutes?: number | undefined;
  slotMinutes?: number | undefined;
  maxBookingDays?: number | undefined;
}

export const DEFAULT_WEEKLY_HOURS_SPEC = 'mon-fri 09:00-17:00, sat 09:00-15:00';
export const DEFAULT_BREAKS_SPEC = '12:00-13:00';
export const DEFAULT_MIN_LEAD_MINUTES = 60;
export const DEFAULT_SLOT_MINUTES = 30;
export const DEFAULT_MAX_BOOKING_DAYS = 90;
/** Ten years: beyond that a "booking" is a typo, and far-future dates stay well inside what the database stores. */
export const MAX_BOOKING_DAYS_LIMIT = 3650;

export const WEEKDAYS: readonly Weekday[] = [1, 2, 3, 4, 5, 6, 7];
const WEEKDAY_NAMES: Record<Weekday, string> = {
  1: 'Monday',
  2: 'Tuesday',
  3: 'Wednesday',
  4: 'Thursday',
  5: 'Friday',
  6: 'Saturday',
  7: 'Sunday',
};
const DAY_ALIASES: Record<string, Weekday> = {
  mon: 1, monday: 1,
  tue: 2, tues: 2, tuesday: 2,
  wed: 3, weds: 3, wednesday: 3,
  thu: 4, thur: 4, thurs: 4, thursday: 4,
  fri: 5, friday: 5,
  sat: 6, saturday: 6,
  sun: 7, sunday: 7,
};

export function weekdayName(day: Weekday): string {
  return WEEKDAY_NAMES[day];
}

/** Minutes since local midnight for 'HH:mm' (1440 for '24:00'). Assumes a parsed value. */
export function clockMinutes(time: ClockTime): number {
  const [h, m] = time.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/**
 * 'mon-fri 09:00-17:00, sat 09:00-15:00' -> WeeklyHours. Days not listed are closed; 'sun closed'
 * says so explicitly. Day ranges may wrap the week end ('fri-mon').
 */
export function parseWeeklyHours(spec: string): WeeklyHours {
  const fail = (detail: string): never => {
    throw new ValidationError('invalid_business_hours', `Invalid business hours "${spec}": ${detail}`);
  };
  const hours: WeeklyHours = { 1: null, 2: null, 3: null, 4: null, 5: null, 6: null, 7: null };
  const seen = new Set<Weekday>();
  const items = splitList(spec);
  if (items.length === 0) fail('no days given (example: mon-fri 09:00-17:00, sat 09:00-15:00)');
  for (const item of items) {
    const match = /^([a-z]+(?:\s*-\s*[a-z]+)?)\s+(.+)$/i.exec(item);
    if (!match) fail(`"${item}" should look like "mon-fri 09:00-17:00" or "sun closed"`);
    const [, daysText = '', rest = ''] = match ?? [];
    const days = parseDays(daysText, (detail) => fail(`${detail} in "${item}"`));
    let value: OpeningHours | null = null;
    if (rest.trim().toLowerCase() !== 'closed') {
      const range = parseRange(rest, (detail) => fail(`${detail} in "${item}"`));
      value = { open: range.start, close: range.end };
    }
    for (const day of days) {
      if (seen.has(day)) fail(`${WEEKDAY_NAMES[day]} is given more than once ("${item}")`);
      seen.add(day);
      hours[day] = value;
    }
  }
  if (WEEKDAYS.every((day) => hours[day] === null)) fail('the shop would never be open');
  return hours;
}

/** '12:00-13:00, 15:00-15:15' -> DailyRange[]; the empty string means no breaks. */
export function parseDailyRanges(spec: string): DailyRange[] {
  const fail = (detail: string): never => {
    throw new ValidationError('invalid_breaks', `Invalid breaks "${spec}": ${detail}`);
  };
  return splitList(spec)
    .map((item) => parseRange(item, (detail) => fail(`${detail} in "${item}"`)))
    .sort((a, b) => clockMinutes(a.start) - clockMinutes(b.start));
}

/** '2026-12-25,2027-01-01' -> sorted unique real dates. */
export function parseHolidays(spec: string): string[] {
  const dates = new Set<string>();
  for (const item of splitList(spec, /[\s,;]+/)) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(item);
    if (!match || !isRealDate(Number(match[1]), Number(match[2]), Number(match[3]))) {
      throw new ValidationError(
        'invalid_holidays',
        `Invalid holidays "${spec}": "${item}" is not a real date as YYYY-MM-DD`,
      );
    }
    dates.add(item);
  }
  return [...dates].sort();
}

/** Rules from config strings, defaults filled in; every part is validated. */
export function buildBusinessRules(input: BusinessRulesInput): BusinessRules {
  assertTimeZone(input.timeZone);
  const minLeadMinutes = input.minLeadMinutes ?? DEFAULT_MIN_LEAD_MINUTES;
  const slotMinutes = input.slotMinutes ?? DEFAULT_SLOT_MINUTES;
  if (!Number.isInteger(minLeadMinutes) || minLeadMinutes < 0) {
    throw new ValidationError('invalid_min_lead', `Invalid minimum lead time ${minLeadMinutes}: expected whole minutes >= 0`);
  }
  if (!Number.isInteger(slotMinutes) || slotMinutes < 5 || slotMinutes > 240) {
    throw new ValidationError('invalid_slot_minutes', `Invalid slot spacing ${slotMinutes}: expected whole minutes from 5 to 240`);
  }
  const maxBookingDays = input.maxBookingDays ?? DEFAULT_MAX_BOOKING_DAYS;
  if (!Number.isInteger(maxBookingDays) || maxBookingDays < 1 || maxBookingDays > MAX_BOOKING_DAYS_LIMIT) {
    throw new ValidationError(
      'invalid_max_booking_days',
      `Invalid booking horizon ${maxBookingDays}: expected whole days from 1 to ${MAX_BOOKING_DAYS_LIMIT}`,
    );
  }
  return {
    timeZone: input.timeZone,
    weeklyHours: parseWeeklyHours(input.weeklyHours ?? DEFAULT_WEEKLY_HOURS_SPEC),
    breaks: parseDailyRanges(input.breaks ?? DEFAULT_BREAKS_SPEC),
    holidays: parseHolidays(input.holidays ?? ''),
    minLeadMinutes,
    slotMinutes,
    maxBookingDays,
  };
}

export function defaultBusinessRules(timeZone: string): BusinessRules {
  return buildBusinessRules({ timeZone });
}

export interface BookingWindowRequest {
  /** Any instant of the day asked about (its shop-local date is what counts). */
  day: Date | DateTime;
  now: Date;
  timeZone: string;
  maxBookingDays: number;
}

export type BookingWindowCheck = { ok: true } | { ok: false; reason: 'date_in_past' | 'date_too_far'; message: string };

/** Today and the last bookable day, each as the first instant of that shop-local day. */
export function bookingWindow(now: Date, timeZone: string, maxBookingDays: number): { today: DateTime; lastDay: DateTime } {
  const today = DateTime.fromJSDate(now, { zone: timeZone }).startOf('day');
  return { today, lastDay: today.plus({ days: maxBookingDays }) };
}

/**
 * Whether a day lies between today and the booking horizon, both counted as shop-local calendar
 * days. Every date a caller gives passes here before anything else, so an absurd one (year 0,
 * year 9999) is refused in words the caller understands and never reaches the database.
 */
export function checkBookingWindow(request: BookingWindowRequest): BookingWindowCheck {
  const { timeZone } = request;
  const { today, lastDay } = bookingWindow(request.now, timeZone, request.maxBookingDays);
  const asked = (request.day instanceof Date ? DateTime.fromJSDate(request.day) : request.day).setZone(timeZone);
  // An invalid instant compares false both ways and would pass silently.
  if (!asked.isValid || !Number.isFinite(request.now.getTime())) {
    throw new ValidationError('invalid_datetime', 'checkBookingWindow needs a valid day and now');
  }
  // Compared as calendar days, not instants, so the first and the last day count whole.
  const askedDay = asked.startOf('day').toMillis();
  const reason = askedDay < today.toMillis() ? 'date_in_past' : askedDay > lastDay.toMillis() ? 'date_too_far' : undefined;
  if (reason === undefined) return { ok: true };
  const what = reason === 'date_in_past' ? 'has already passed' : 'is too far ahead';
  return {
    ok: false,
    reason,
    message: `${speakableFullDate(asked, timeZone)} ${what}. I can book from today up to ${speakableFullDate(lastDay, timeZone)}.`,
  };
}

/**
 * "Monday to Friday 9 AM to 5 PM, Saturday 9 AM to 3 PM, closed Sunday": consecutive days with the
 * same hours are grouped, closed days come last.
 */
export function describeHours(rules: Pick<BusinessRules, 'weeklyHours'>): string {
  const groups: Array<{ first: Weekday; last: Weekday; hours: OpeningHours }> = [];
  for (const day of WEEKDAYS) {
    const hours = rules.weeklyHours[day];
    if (hours === null) continue;
    const last = groups[groups.length - 1];
    if (last !== undefined && last.last === day - 1 && sameHours(last.hours, hours)) last.last = day;
    else groups.push({ first: day, last: day, hours });
  }
  const closed = WEEKDAYS.filter((day) => rules.weeklyHours[day] === null).map(weekdayName);
  const first = groups[0];
  if (closed.length === 0 && groups.length === 1 && first !== undefined) {
    return `every day ${speakRange(first.hours.open, first.hours.close)}`;
  }
  const parts = groups.map((g) => `${speakDays(g.first, g.last)} ${speakRange(g.hours.open, g.hours.close)}`);
  if (closed.length > 0) parts.push(`closed ${joinAnd(closed)}`);
  return parts.join(', ');
}

/** "closed for a break from noon to 1 PM", or '' without breaks. */
export function describeBreaks(rules: Pick<BusinessRules, 'breaks'>): string {
  if (rules.breaks.length === 0) return '';
  return `closed for a break ${joinAnd(rules.breaks.map((b) => `from ${speakRange(b.start, b.end)}`))}`;
}

/** "9 AM to 5 PM" for clock strings. */
export function speakRange(start: ClockTime, end: ClockTime): string {
  return `${speakClock(start)} to ${speakClock(end)}`;
}

function speakClock(time: ClockTime): string {
  const minutes = clockMinutes(time);
  return formatClock(Math.floor(minutes / 60), minutes % 60);
}

function speakDays(first: Weekday, last: Weekday): string {
  if (first === last) return WEEKDAY_NAMES[first];
  const joiner = last - first === 1 ? 'and' : 'to';
  return `${WEEKDAY_NAMES[first]} ${joiner} ${WEEKDAY_NAMES[last]}`;
}

function sameHours(a: OpeningHours, b: OpeningHours): boolean {
  return a.open === b.open && a.close === b.close;
}

function joinAnd(items: string[]): string {
  if (items.length <= 2) return items.join(' and ');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function splitList(spec: string, separator: RegExp = /[,;]/): string[] {
  if (typeof spec !== 'string') return [];
  return spec
    .split(separator)
    .map((s) => s.trim().replace(/\s+/g, ' '))
    .filter((s) => s.length > 0);
}

function parseDays(text: string, fail: (detail: string) => never): Weekday[] {
  const [fromText = '', toText] = text.split('-').map((s) => s.trim().toLowerCase());
  const from = DAY_ALIASES[fromText] ?? fail(`unknown day "${fromText}" (use mon, tue, wed, thu, fri, sat, sun)`);
  if (toText === undefined) return [from];
  const to = DAY_ALIASES[toText] ?? fail(`unknown day "${toText}" (use mon, tue, wed, thu, fri, sat, sun)`);
  const days: Weekday[] = [from];
  let day = from;
  while (day !== to) {
    day = ((day % 7) + 1) as Weekday;
    days.push(day);
  }
  return days;
}

/** 'HH:mm-HH:mm' with end after start, normalised to two-digit hours. */
function parseRange(text: string, fail: (detail: string) => never): DailyRange {
  const match = /^(\S+?)\s*-\s*(\S+)$/.exec(text.trim());
  if (!match) return fail(`"${text.trim()}" should be a time range like 09:00-17:00`);
  const start = parseClock(match[1] ?? '', false, fail);
  const end = parseClock(match[2] ?? '', true, fail);
  if (clockMinutes(end) <= clockMinutes(start)) fail(`end ${end} is not after start ${start}`);
  return { start, end };
}

function parseClock(text: string, allowEndOfDay: boolean, fail: (detail: string) => never): ClockTime {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text);
  const hour = Number(match?.[1]);
  const minute = Number(match?.[2]);
  const endOfDay = allowEndOfDay && hour === 24 && minute === 0;
  if (!match || !(endOfDay || (hour <= 23 && minute <= 59))) {
    return fail(`"${text}" is not a valid time (use HH:mm, 00:00 to ${allowEndOfDay ? '24:00' : '23:59'})`);
  }
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}
