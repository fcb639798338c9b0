/**
 * Days and times the way callers say them, resolved in the shop's zone relative to the call's
 * `now`. chrono-node reads the ordinary phrases ("friday", "next tuesday at 3pm", "in two weeks",
 * "december 3rd", "2:30"); a small layer of our own covers what it misses or cannot know:
 * - the date under discussion (`anchor`): "the following monday" is the Monday after it, "a week
 *   later" and "push it back a week" count from it;
 * - a day of the month alone ("the 15th"): this month, or next month once it has passed;
 * - "around 3", "at 3 or 4", parts of the day ("friday afternoon", "after lunch"), "earliest",
 *   "latest", "first thing", "this week" / "next week";
 * - a bare hour is read in shop hours: 1 to 6 are afternoons, 7 to 11 mornings ("at 3" = 15:00).
 * chrono's `timezone` option ignores IANA names, so it is handed the shop-local wall clock as its
 * reference and only the parsed parts are read back; nothing here builds an instant.
 */
import * as chrono from 'chrono-node';
import { DateTime } from 'luxon';

export interface ClockTime {
  hour: number;
  minute: number;
}

/** Parts of the shop day a caller names; `after_lunch` starts when the lunch break ends. */
export type DayPart = 'morning' | 'afternoon' | 'after_lunch' | 'evening';

export type DayWish =
  | { kind: 'date'; date: string }
  /** Any open day from `from` to `to` (inclusive, 'YYYY-MM-DD'): "this week", "the earliest". */
  | { kind: 'range'; from: string; to: string; label: string };

export type TimeWish =
  | { kind: 'at'; time: ClockTime }
  | { kind: 'around'; time: ClockTime }
  | { kind: 'either'; times: ClockTime[] }
  | { kind: 'part'; part: DayPart }
  | { kind: 'earliest' }
  | { kind: 'latest' };

export interface WhenWish {
  day?: DayWish;
  time?: TimeWish;
  /** "push it back a week", "same time next week": the day moves, the time of day stays. */
  keepsTime?: boolean;
  /** The day was counted from the date under discussion ("the following monday", "a week later"). */
  relative?: boolean;
}

export interface WhenContext {
  now: Date;
  zone: string;
  /** The date under discussion ('YYYY-MM-DD'), which "the following monday" counts from. */
  anchor?: string | undefined;
  /** A time was just asked for, so a bare "4" is an hour. */
  expectingTime?: boolean;
}

/** How far "the earliest you have" looks ahead, in days. */
const EARLIEST_SEARCH_DAYS = 14;

const WEEKDAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
const WEEKDAY = `(${WEEKDAY_NAMES.join('|')})`;
const SMALL_NUMBERS: Record<string, number> = {
  a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12,
};
const HOUR_WORDS = 'one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve';
const MONTH_WORD = /\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b/;

export function understandWhen(text: string, context: WhenContext): WhenWish {
  const t = prepare(text);
  const today = DateTime.fromJSDate(context.now, { zone: context.zone }).startOf('day');
  const anchor = context.anchor === undefined ? undefined : DateTime.fromISO(context.anchor, { zone: context.zone });
  const parsed = chrono.parse(t, wallClockReference(context.now, context.zone), { forwardDate: true });

  const wish: WhenWish = {};
  const shifted = shiftedDay(t, anchor ?? today);
  if (shifted !== undefined) {
    wish.day = { kind: 'date', date: isoDate(shifted.date) };
    wish.keepsTime = shifted.keepsTime;
    wish.relative = true;
  } else {
    const own = ownDay(t, today, anchor);
    if (own !== undefined) {
      wish.day = own.day;
      if (own.relative) wish.relative = true;
    } else {
      const day = chronoDay(parsed, today);
      if (day !== undefined) wish.day = day;
    }
  }
  const time = timeWish(t, parsed, context.expectingTime === true);
  if (time !== undefined) wish.time = time;
  // "The earliest you have", with no day: look ahead from today.
  if (wish.day === undefined && wish.time?.kind === 'earliest') {
    wish.day = { kind: 'range', from: isoDate(today), to: isoDate(today.plus({ days: EARLIEST_SEARCH_DAYS - 1 })), label: 'earliest' };
  }
  return wish;
}

/** Lower case, straight apostrophes, and spoken numbers written as digits where they are times. */
function prepare(text: string): string {
  return text
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/\s+/g, ' ')
    .replace(/\bhalf past (\d{1,2}|[a-z]+)\b/g, (_m, h: string) => `${hourNumber(h) ?? h}:30`)
    .replace(/\bquarter past (\d{1,2}|[a-z]+)\b/g, (_m, h: string) => `${hourNumber(h) ?? h}:15`)
    .replace(new RegExp(`\\b(at|around|about|by|or|say|maybe|till|until|after|before|how about|what about) (${HOUR_WORDS})\\b`, 'g'), (_m, w: string, h: string) => `${w} ${hourNumber(h)}`)
    .replace(new RegExp(`\\b(${HOUR_WORDS}) ?(am|pm|a\\.m\\.|p\\.m\\.|o'clock|thirty|fifteen|forty-five|forty five)\\b`, 'g'), (_m, h: string, rest: string) => `${hourNumber(h)} ${rest}`)
    .replace(/\b(\d{1,2}) (thirty|fifteen|forty-five|forty five)\b/g, (_m, h: string, rest: string) => `${h}:${rest === 'thirty' ? '30' : rest === 'fifteen' ? '15' : '45'}`)
    .replace(/\b(\d{1,2}) o'clock\b/g, '$1:00')
    .trim();
}

function hourNumber(word: string): number | undefined {
  if (/^\d{1,2}$/.test(word)) return Number(word);
  const n = SMALL_NUMBERS[word];
  return n === undefined || word === 'a' || word === 'an' ? undefined : n;
}

/** chrono reads the reference's local fields: give it the shop's wall clock in the process zone. */
function wallClockReference(now: Date, zone: string): Date {
  const local = DateTime.fromJSDate(now, { zone });
  return new Date(local.year, local.month - 1, local.day, local.hour, local.minute);
}

function isoDate(day: DateTime): string {
  return day.toFormat('yyyy-MM-dd');
}

// ---- days ------------------------------------------------------------------------------------------

/** "a week later", "push it back a week", "two days after that", "same time next week". */
function shiftedDay(t: string, from: DateTime): { date: DateTime; keepsTime: boolean } | undefined {
  const count = '(a|an|one|two|three|four|1|2|3|4)';
  const later = new RegExp(`\\b${count} (day|week)s? (later|after that|after|out|further)\\b`).exec(t);
  const pushed = new RegExp(`\\b(?:push|move|bump|put)\\w* (?:it|that|this|them|my appointment|the appointment)? ?(?:back|out|forward|up)? ?(?:by )?${count} (day|week)s?\\b`).exec(t);
  const match = later ?? pushed;
  if (match) {
    const n = SMALL_NUMBERS[match[1]!] ?? Number(match[1]);
    const unit = match[2] === 'week' ? 'weeks' : 'days';
    return { date: from.plus({ [unit]: n }), keepsTime: !/\b(at|around|morning|afternoon|evening)\b/.test(t) };
  }
  if (/\bsame time next week\b/.test(t)) return { date: from.plus({ weeks: 1 }), keepsTime: true };
  if (/\b(the )?(next|following) day\b|\bthe day after( that)?\b(?! tomorrow)/.test(t) && !/\bday after tomorrow\b/.test(t)) {
    return { date: from.plus({ days: 1 }), keepsTime: false };
  }
  return undefined;
}

/** The days chrono gets wrong or cannot know; `relative` when counted from the date under discussion. */
function ownDay(t: string, today: DateTime, anchor: DateTime | undefined): { day: DayWish; relative: boolean } | undefined {
  const day = (wish: DayWish, relative = false) => ({ day: wish, relative });
  // "the following monday", "the monday after", "monday after that": after the date under discussion.
  const following =
    new RegExp(`\\b(?:the )?following ${WEEKDAY}\\b`).exec(t) ??
    new RegExp(`\\b(?:the )?${WEEKDAY} after (?:that|this|it)\\b`).exec(t) ??
    new RegExp(`\\bthe ${WEEKDAY} after\\b`).exec(t);
  if (following) return day({ kind: 'date', date: isoDate(nextWeekday(anchor ?? today, weekdayNumber(following[1]!), false)) }, true);

  // "a week from friday", "two weeks from tomorrow".
  const fromDay = new RegExp(`\\b(a|one|two|three|1|2|3) weeks? from (today|tomorrow|${WEEKDAY_NAMES.join('|')})\\b`).exec(t);
  if (fromDay) {
    const weeks = SMALL_NUMBERS[fromDay[1]!] ?? Number(fromDay[1]);
    const base = fromDay[2] === 'today' ? today : fromDay[2] === 'tomorrow' ? today.plus({ days: 1 }) : nextWeekday(today, weekdayNumber(fromDay[2]!), false);
    return day({ kind: 'date', date: isoDate(base.plus({ weeks })) });
  }

  // "the 15th", "on the 3rd": a day of this month, or of next month once it has passed.
  const ordinal = /\b(?:the )?(\d{1,2})(?:st|nd|rd|th)\b(?! of [a-z])/.exec(t);
  if (ordinal && !MONTH_WORD.test(t)) {
    const date = dayOfMonth(Number(ordinal[1]), today);
    if (date !== undefined) return day({ kind: 'date', date: isoDate(date) });
  }

  if (/\b(this (morning|afternoon|evening)|tonight|later today)\b/.test(t)) return day({ kind: 'date', date: isoDate(today) });

  // A week as a whole ("anything this week", "sometime next week"), unless a weekday narrows it.
  if (!new RegExp(`\\b${WEEKDAY}\\b`).test(t)) {
    if (/\b(this|rest of the|later this) week\b/.test(t)) {
      return day({ kind: 'range', from: isoDate(today), to: isoDate(today.endOf('week')), label: 'this week' });
    }
    if (/\bnext week\b/.test(t)) {
      const monday = today.startOf('week').plus({ weeks: 1 });
      return day({ kind: 'range', from: isoDate(monday), to: isoDate(monday.endOf('week')), label: 'next week' });
    }
  } else if (/\bnext week\b/.test(t)) {
    const weekday = new RegExp(`\\b${WEEKDAY}\\b`).exec(t)!;
    return day({ kind: 'date', date: isoDate(today.startOf('week').plus({ weeks: 1, days: weekdayNumber(weekday[1]!) - 1 })) });
  }
  return undefined;
}

function chronoDay(results: chrono.ParsedResult[], today: DateTime): DayWish | undefined {
  for (const result of results) {
    const start = result.start;
    if (!start.isCertain('day') && !start.isCertain('weekday')) continue;
    const year = start.get('year');
    const month = start.get('month');
    const day = start.get('day');
    if (year === null || month === null || day === null) continue;
    const date = DateTime.fromObject({ year, month, day }, { zone: today.zone });
    if (!date.isValid) continue;
    return { kind: 'date', date: isoDate(date) };
  }
  return undefined;
}

/** The first `weekday` after `from` (or on it, when `inclusive`). */
function nextWeekday(from: DateTime, weekday: number, inclusive: boolean): DateTime {
  let ahead = (weekday - from.weekday + 7) % 7;
  if (ahead === 0 && !inclusive) ahead = 7;
  return from.plus({ days: ahead });
}

function weekdayNumber(name: string): number {
  return WEEKDAY_NAMES.indexOf(name as (typeof WEEKDAY_NAMES)[number]) + 1;
}

function dayOfMonth(day: number, today: DateTime): DateTime | undefined {
  if (day < 1 || day > 31) return undefined;
  for (let months = 0; months < 3; months++) {
    const month = today.startOf('month').plus({ months });
    if (day > (month.daysInMonth ?? 0)) continue;
    const date = month.set({ day });
    if (date >= today) return date;
  }
  return undefined;
}

// ---- times -----------------------------------------------------------------------------------------

const CLOCK = '(\\d{1,2})(?::(\\d{2}))?\\s*(am|pm|a\\.m\\.|p\\.m\\.)?';

function timeWish(t: string, results: chrono.ParsedResult[], expectingTime: boolean): TimeWish | undefined {
  if (/\b(earliest|soonest|first available|first opening|next available|as soon as possible|asap|first thing)\b/.test(t)) {
    return { kind: 'earliest' };
  }
  if (/\b(latest|last (appointment|slot|time|thing)|end of the day|close of business)\b/.test(t)) return { kind: 'latest' };

  const either = new RegExp(`\\b(?:at |around |about )?${CLOCK} or (?:at )?${CLOCK}(?!\\s*(?:st|nd|rd|th|days?|weeks?))`).exec(t);
  if (either && (either[3] !== undefined || either[6] !== undefined || /\b(at|around|about)\b/.test(t) || expectingTime)) {
    const sharedMeridiem = either[6] ?? either[3];
    const first = clockOf(either[1]!, either[2], either[3] ?? sharedMeridiem);
    const second = clockOf(either[4]!, either[5], either[6] ?? sharedMeridiem);
    if (first !== undefined && second !== undefined) return { kind: 'either', times: [first, second] };
  }

  const around = new RegExp(`\\b(?:around|(?<!how |what )about|roughly|approximately) ${CLOCK}`).exec(t) ?? new RegExp(`\\b${CLOCK}\\s*-?ish\\b`).exec(t);
  if (around) {
    const time = clockOf(around[1]!, around[2], around[3]);
    if (time !== undefined) return { kind: 'around', time };
  }

  const exact = chronoTime(results);
  if (exact !== undefined) return { kind: 'at', time: exact };
  if (/\bnoon\b|\bmidday\b/.test(t)) return { kind: 'at', time: { hour: 12, minute: 0 } };

  if (/\bafter lunch\b/.test(t)) return { kind: 'part', part: 'after_lunch' };
  if (/\b(morning|before lunch|before noon|a\.?m\.? sometime)\b/.test(t)) return { kind: 'part', part: 'morning' };
  if (/\b(afternoon|after noon)\b/.test(t)) return { kind: 'part', part: 'afternoon' };
  if (/\b(evening|tonight|after work)\b/.test(t)) return { kind: 'part', part: 'evening' };

  if (expectingTime) {
    // An answer to "which time works?": "4", "how about 4", "4 works", "let's do 10:30".
    const bare = new RegExp(
      `^(?:(?:ok|okay|yes|yeah|um|uh|so|then|actually|hmm)[,]? )*(?:how about |what about |maybe |let's do |let's say |let's go with |go with |can i do |can we do |could we do |make it |change it to |i'll take |i'd like |i'll do |do |is )?${CLOCK}(?:,? (?:please|works|is fine|is good|then|would work|works for me|is ok|ok))*[.!?]?$`,
    ).exec(t);
    if (bare) {
      const time = clockOf(bare[1]!, bare[2], bare[3]);
      if (time !== undefined) return { kind: 'at', time };
    }
  }
  return undefined;
}

/** A time chrono is sure of the hour of; the morning/afternoon rule fills in an unsaid meridiem. */
function chronoTime(results: chrono.ParsedResult[]): ClockTime | undefined {
  for (const result of results) {
    const start = result.start;
    if (!start.isCertain('hour')) continue;
    const hour = start.get('hour');
    const minute = start.get('minute') ?? 0;
    if (hour === null) continue;
    if (start.isCertain('meridiem') || hour === 0 || hour > 12) return { hour, minute };
    return shopHour(hour, minute);
  }
  return undefined;
}

function clockOf(hourText: string, minuteText: string | undefined, meridiem: string | undefined): ClockTime | undefined {
  const hour = Number(hourText);
  const minute = minuteText === undefined ? 0 : Number(minuteText);
  if (minute > 59) return undefined;
  if (meridiem !== undefined) {
    if (hour < 1 || hour > 12) return undefined;
    return { hour: (hour % 12) + (meridiem.startsWith('p') ? 12 : 0), minute };
  }
  if (hour >= 13 && hour <= 23) return { hour, minute };
  if (hour < 1 || hour > 12) return undefined;
  return shopHour(hour, minute);
}

/** An hour said without am/pm, read within shop hours: 7 to 11 mornings, 12 noon, 1 to 6 afternoons. */
export function shopHour(hour: number, minute: number): ClockTime {
  if (hour >= 1 && hour <= 6) return { hour: hour + 12, minute };
  return { hour, minute };
}

/** Minutes after midnight at which a part of the day starts and ends (end exclusive). */
export function partWindow(part: DayPart): { from: number; to: number } {
  switch (part) {
    case 'morning':
      return { from: 0, to: 12 * 60 };
    case 'afternoon':
      return { from: 12 * 60, to: 24 * 60 };
    case 'after_lunch':
      return { from: 13 * 60, to: 24 * 60 };
    case 'evening':
      return { from: 16 * 60, to: 24 * 60 };
  }
}
