/**
 * What the offline assistant understands of one caller sentence: plain patterns, no model.
 * Each parser returns undefined when it is not sure, so the assistant asks instead of guessing.
 * Days and times are read in the shop's zone, relative to the `now` the assistant is given.
 */
import { DateTime } from 'luxon';
import { isRealDate } from '../scheduling/time.js';
import { resolveService } from '../scheduling/services.js';
import type { Service } from '../scheduling/services.js';

export interface ClockTime {
  hour: number;
  minute: number;
}

export interface VehicleMention {
  year: number;
  make: string;
  model: string;
}

export interface PersonName {
  first: string;
  last: string | undefined;
}

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
const WEEKDAY_ABBREVIATIONS: Record<string, number> = { mon: 1, tue: 2, tues: 2, wed: 3, thu: 4, thur: 4, thurs: 4, fri: 5, sat: 6, sun: 7 };
const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
] as const;
const NUMBER_WORDS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
};

/** Lower case, curly apostrophes straightened, spaces collapsed. */
export function normalizeText(text: string): string {
  return text.toLowerCase().replace(/[’‘]/g, "'").replace(/\s+/g, ' ').trim();
}

export function isYes(text: string): boolean {
  const t = normalizeText(text);
  if (isNo(t)) return false;
  return /^(yes|yeah|yep|yup|sure|ok|okay|please|please do|correct|right|that's right|sounds good|perfect|great|do it|go ahead|book it|confirm|absolutely|definitely|of course|affirmative|that works|that's fine|fine)\b/.test(
    t,
  );
}

export function isNo(text: string): boolean {
  const t = normalizeText(text);
  return /^(no|nope|nah|not really|don't|do not|never mind|nevermind|cancel that|wait)\b/.test(t);
}

/** "bye", "that's all", "nothing else": the caller is done. */
export function isFarewell(text: string): boolean {
  const t = normalizeText(text);
  return (
    /\b(bye|goodbye|good bye|hang up|that's all|that is all|that's it|that is it|nothing else|i'm done|i'm good|all set)\b/.test(t) ||
    /^(no thanks|no thank you|no,? that's everything)\b/.test(t)
  );
}

export function wantsHuman(text: string): boolean {
  return /\b(human|real person|a person|someone|somebody|representative|operator|manager|staff member)\b/.test(normalizeText(text));
}

export type Intent = 'book' | 'cancel' | 'reschedule' | 'availability';

/** The job the caller asks for, if the sentence names one. Cancel and move win over booking words. */
export function detectIntent(text: string): Intent | undefined {
  const t = normalizeText(text);
  if (/\bcancel\b/.test(t)) return 'cancel';
  if (/\b(reschedule|move|change the (time|day|date)|push (it|my appointment)|different (day|time))\b/.test(t)) return 'reschedule';
  if (/\b(book|schedule|make an appointment|set up an appointment|bring (it|my car|the car) in|come in|appointment for)\b/.test(t)) {
    return 'book';
  }
  if (/\b(free|available|availability|openings?|open|what times)\b/.test(t)) return 'availability';
  return undefined;
}

/** A service from the catalog named anywhere in the sentence; undefined for anything else. */
export function detectService(text: string): Service | undefined {
  const t = normalizeText(text);
  if (t === '') return undefined;
  const service = resolveService(t);
  if (service.id === 'other') return undefined;
  // resolveService takes a bare "service" as maintenance; in a sentence ("book a service") it says nothing.
  if (service.id === 'general_maintenance' && !/\b(maintenance|tune ?up|check ?up)\b/.test(t)) return undefined;
  return service;
}

/** Words that make an answer sound like car work; anything else ("tell me a joke") is not a service. */
const CAR_WORDS =
  /\b(a\/?c|air ?con\w*|heat\w*|engine|tires?|tyres?|wheels?|lights?|noises?|leak\w*|fluids?|filters?|wipers?|belts?|exhaust|muffler|suspension|steering|clutch|coolant|radiator|windshield|glass|detail\w*|wash|car|oil|spark|plugs?|starter|alternator|fuel|check|repair|fix|replace\w*|service|inspect\w*|sticker|recall|headlights?|bulbs?|sensors?|shocks?|struts?|hoses?|pumps?|battery|brakes?)\b/i;

/** The caller's words as a service, when asked for one: catalog entry or, failing that, their words. */
export function serviceFromAnswer(text: string): string | undefined {
  const known = detectService(text);
  if (known !== undefined) return known.name;
  const words = text
    .replace(/^\s*(i need|i want|i'd like|i would like|it needs|it's|it is|just|a|an)\s+/i, '')
    .replace(/^(a|an|the)\s+/i, '')
    .replace(/[.!?]+$/, '')
    .trim();
  if (words.length < 3 || words.length > 80 || !CAR_WORDS.test(words)) return undefined;
  return resolveService(words).name;
}

/**
 * A day: today, tomorrow, the day after tomorrow, weekday names ("friday", "next monday": the next
 * one after today), ISO dates, "December 3", "Dec 3rd", "3 December", "the 3rd of December".
 * A month-day that already passed this year means next year. Returns 'YYYY-MM-DD'.
 */
export function parseDay(text: string, now: Date, zone: string): string | undefined {
  const t = normalizeText(text);
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  const iso = /\b(\d{4})-(\d{2})-(\d{2})\b/.exec(t);
  if (iso) {
    const [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
    return isRealDate(year, month, day) ? iso[0] : undefined;
  }
  if (/\bday after tomorrow\b/.test(t)) return today.plus({ days: 2 }).toFormat('yyyy-MM-dd');
  if (/\b(tomorrow|tmrw|tomorow)\b/.test(t)) return today.plus({ days: 1 }).toFormat('yyyy-MM-dd');
  if (/\b(today|this afternoon|this morning|later today)\b/.test(t)) return today.toFormat('yyyy-MM-dd');

  const monthDay = parseMonthDay(t, today);
  if (monthDay !== undefined) return monthDay;

  const weekday = parseWeekday(t);
  if (weekday !== undefined) {
    let ahead = (weekday - today.weekday + 7) % 7;
    // "Tuesday" said on a Tuesday means next week's: today would be "today".
    if (ahead === 0) ahead = 7;
    return today.plus({ days: ahead }).toFormat('yyyy-MM-dd');
  }
  return undefined;
}

function parseWeekday(t: string): number | undefined {
  for (let i = 0; i < WEEKDAYS.length; i++) {
    if (new RegExp(`\\b${WEEKDAYS[i]}s?\\b`).test(t)) return i + 1;
  }
  for (const [abbreviation, weekday] of Object.entries(WEEKDAY_ABBREVIATIONS)) {
    if (new RegExp(`\\b${abbreviation}\\b\\.?`).test(t)) return weekday;
  }
  return undefined;
}

function monthIndex(word: string): number | undefined {
  if (word.length < 3) return undefined;
  const index = MONTHS.findIndex((m) => m.startsWith(word));
  // "mar" is March, but "ma" or "ju" are ambiguous: the three-letter minimum above decides that.
  return index < 0 ? undefined : index + 1;
}

function parseMonthDay(t: string, today: DateTime): string | undefined {
  const monthWord = '(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\\.?';
  const dayNumber = '(\\d{1,2})(?:st|nd|rd|th)?';
  const monthFirst = new RegExp(`\\b${monthWord}\\s+(?:the\\s+)?${dayNumber}\\b(?:,?\\s+(\\d{4}))?`).exec(t);
  const dayFirst = new RegExp(`\\b(?:the\\s+)?${dayNumber}\\s+(?:of\\s+)?${monthWord}(?:,?\\s+(\\d{4}))?`).exec(t);
  let month: number | undefined;
  let day: number | undefined;
  let year: number | undefined;
  if (monthFirst) {
    month = monthIndex(monthFirst[1]!);
    day = Number(monthFirst[2]);
    year = monthFirst[3] === undefined ? undefined : Number(monthFirst[3]);
  } else if (dayFirst) {
    day = Number(dayFirst[1]);
    month = monthIndex(dayFirst[2]!);
    year = dayFirst[3] === undefined ? undefined : Number(dayFirst[3]);
  }
  if (month === undefined || day === undefined) return undefined;
  let candidateYear = year ?? today.year;
  if (!isRealDate(candidateYear, month, day)) return undefined;
  if (year === undefined && DateTime.fromObject({ year: candidateYear, month, day }, { zone: today.zone }) < today) {
    candidateYear += 1;
    if (!isRealDate(candidateYear, month, day)) return undefined;
  }
  return `${candidateYear}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/**
 * A clock time: "2 pm", "2:30pm", "two pm", "14:00", "noon". A bare "at 2" (or just "2" when
 * `expectingTime`) is read within shop hours: 7 to 11 are mornings, 12 to 6 afternoons.
 */
export function parseTime(text: string, options: { expectingTime?: boolean } = {}): ClockTime | undefined {
  const t = normalizeText(text).replace(/\b(\d{1,2})\s*o'?clock\b/, '$1');
  if (/\b(noon|midday)\b/.test(t)) return { hour: 12, minute: 0 };
  const words = Object.keys(NUMBER_WORDS).join('|');
  const meridiem = new RegExp(`\\b(\\d{1,2}|${words})(?:[:.](\\d{2}))?\\s*([ap])\\.?\\s?m\\b\\.?`).exec(t);
  if (meridiem) {
    const rawHour = NUMBER_WORDS[meridiem[1]!] ?? Number(meridiem[1]);
    const minute = Number(meridiem[2] ?? 0);
    if (rawHour < 1 || rawHour > 12 || minute > 59) return undefined;
    const pm = meridiem[3] === 'p';
    return { hour: (rawHour % 12) + (pm ? 12 : 0), minute };
  }
  const clock = /(?:^|[^\d-])([01]?\d|2[0-3]):([0-5]\d)\b/.exec(t);
  if (clock) return within({ hour: Number(clock[1]), minute: Number(clock[2]) }, clock[1]!.length === 2 || Number(clock[1]) >= 13);
  const bare = options.expectingTime
    ? /^(?:at\s+|how about\s+|maybe\s+|let's do\s+)?(\d{1,2})(?:\s+(?:please|works|is fine))?[.!]?$/.exec(t) ?? /\bat (\d{1,2})\b(?!\s*(?:st|nd|rd|th|\d|:))/.exec(t)
    : /\bat (\d{1,2})\b(?!\s*(?:st|nd|rd|th|\d|:))/.exec(t);
  if (bare) {
    const hour = Number(bare[1]);
    if (hour < 1 || hour > 12) return undefined;
    return within({ hour, minute: 0 }, false);
  }
  return undefined;
}

/** Hours said without am/pm are read as shop hours unless written as 24-hour time. */
function within(time: ClockTime, twentyFourHour: boolean): ClockTime {
  if (twentyFourHour || time.hour >= 7) return time.hour === 24 ? { hour: 0, minute: time.minute } : time;
  return { hour: time.hour + 12, minute: time.minute };
}

/** "the first one", "the second", "the last one": a pick from a list just read out (0-based; -1 last). */
export function parseOrdinal(text: string): number | undefined {
  const t = normalizeText(text);
  if (/\b(first|earliest|1st)\b/.test(t)) return 0;
  if (/\b(second|2nd)\b/.test(t)) return 1;
  if (/\b(third|3rd)\b/.test(t)) return 2;
  if (/\b(last|latest)\b/.test(t)) return -1;
  return undefined;
}

const STOP_WORDS = new Set([
  'and',
  'for',
  'at',
  'on',
  'in',
  'please',
  'tomorrow',
  'today',
  'with',
  'that',
  'which',
  'it',
  'its',
  'it\'s',
  'needs',
  'need',
  'to',
  'the',
  'is',
  'but',
  'so',
  'next',
  'this',
  ...WEEKDAYS,
]);

/** "a 2019 Honda Civic", "Honda Civic 2019", "2021 Ford F-150". */
export function parseVehicle(text: string, now: Date): VehicleMention | undefined {
  const clean = text.replace(/[,.!?]+(\s|$)/g, ' ').replace(/\s+/g, ' ').trim();
  const latest = now.getUTCFullYear() + 1;
  const word = "[A-Za-z][\\w'-]*";
  const yearFirst = new RegExp(`\\b(19[5-9]\\d|20\\d\\d)\\s+(${word})((?:\\s+[\\w'-]+){1,3})`).exec(clean);
  if (yearFirst) {
    const year = Number(yearFirst[1]);
    const model = modelWords(yearFirst[3]!);
    if (year <= latest && model !== undefined && !STOP_WORDS.has(yearFirst[2]!.toLowerCase())) {
      return { year, make: titleCase(yearFirst[2]!), model };
    }
  }
  const yearLast = new RegExp(`\\b(${word})\\s+(${word}(?:\\s+${word})?)\\s+(19[5-9]\\d|20\\d\\d)\\b`).exec(clean);
  if (yearLast) {
    const year = Number(yearLast[3]);
    const make = yearLast[1]!;
    const model = modelWords(yearLast[2]!);
    if (year <= latest && model !== undefined && !STOP_WORDS.has(make.toLowerCase()) && !['a', 'an', 'my', 'have', 'is'].includes(make.toLowerCase())) {
      return { year, make: titleCase(make), model };
    }
  }
  return undefined;
}

function modelWords(tail: string): string | undefined {
  const words: string[] = [];
  for (const w of tail.trim().split(' ')) {
    if (w === '' || STOP_WORDS.has(w.toLowerCase())) break;
    words.push(w);
    if (words.length === 2) break;
  }
  if (words.length === 0) return undefined;
  // "Civic" keeps its case; "civic" (from speech-to-text) is title-cased, "cr-v" becomes "CR-V".
  return words.map((w) => (w === w.toLowerCase() ? (w.length <= 4 && /\d|-/.test(w) ? w.toUpperCase() : titleCase(w)) : w)).join(' ');
}

/**
 * A name: "my name is Sam Lee", "it's Sam Lee", or the whole answer when one was asked for
 * (`asked`). Only letters, apostrophes, hyphens and periods count as a name.
 */
export function parseName(text: string, asked: boolean): PersonName | undefined {
  const explicit = /\b(?:my name is|my name's|name is|this is|i am|i'm|call me)\s+(.+)$/i.exec(text);
  let source = explicit ? explicit[1]! : asked ? text : undefined;
  if (source === undefined) return undefined;
  for (let i = 0; i < 3; i++) {
    source = source.replace(/^\s*(?:yes|yeah|sure|ok|okay|hi|hello|hey|it's|it is|it’s|my name is|i'm|i am|this is)[,.!]?\s+/i, '');
  }
  const stripped = source
    .replace(/[,.!?]+/g, ' ')
    .replace(/\s+(?:and|with|i have|i've got|calling|here|please|thanks|thank you)\b.*$/i, '')
    .trim();
  const tokens = stripped.split(/\s+/).filter((token) => token !== '');
  // Unasked, "I'm good" or "this is great" are not names: only a first and last name counts.
  if (tokens.length === 0 || tokens.length > 4 || (!asked && tokens.length < 2)) return undefined;
  if (!tokens.every((token) => /^(?=.*\p{L})[\p{L}\p{M}'’.-]+$/u.test(token))) return undefined;
  if (tokens.some((token) => STOP_WORDS.has(token.toLowerCase()) || NOT_NAMES.has(token.toLowerCase()))) return undefined;
  // Speech-to-text writes names in lower case; a typed "de la Cruz" keeps the caller's spelling.
  const spelled = stripped === stripped.toLowerCase() ? tokens.map(titleCase) : tokens;
  const [first, ...rest] = spelled;
  return { first: first!, last: rest.length === 0 ? undefined : rest.join(' ') };
}

/** Words that answer a name question without being a name. */
const NOT_NAMES = new Set([
  'yes', 'no', 'yeah', 'nope', 'ok', 'okay', 'sure', 'hi', 'hello', 'hey', 'what', 'why', 'sorry', 'good', 'fine', 'great',
  'book', 'cancel', 'move', 'appointment', 'oil', 'change', 'brake', 'brakes', 'bye', 'goodbye', 'thanks', 'not', 'looking',
  'calling', 'just', 'here', 'done', 'going', 'trying', 'wondering', 'interested',
]);

/** Ten or more digits anywhere (spaces, dashes and dots between them allowed). */
export function parsePhoneNumber(text: string): string | undefined {
  const match = /\+?\d[\d\s().-]{8,}\d/.exec(text);
  if (!match) return undefined;
  const digits = match[0].replace(/[^\d+]/g, '');
  return digits.replace(/\D/g, '').length >= 10 ? digits : undefined;
}

export function titleCase(word: string): string {
  if (word !== word.toLowerCase() && word !== word.toUpperCase()) return word;
  return word
    .toLowerCase()
    .replace(/(^|[\s'’-])(\p{L})/gu, (_m, sep: string, letter: string) => `${sep}${letter.toUpperCase()}`);
}
