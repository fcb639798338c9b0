import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import { checkSlot, computeAvailability, type Availability, type SlotCheck } from './availability.js';
import { buildBusinessRules, type BusinessRules, type BusinessRulesInput } from './business-rules.js';
import type { Interval } from './intervals.js';
import { isoInZone, speakableTime } from './time.js';

const NY = 'America/New_York';
const SYD = 'Australia/Sydney';
const KOL = 'Asia/Kolkata';

const rules = (input: Partial<BusinessRulesInput> = {}): BusinessRules => buildBusinessRules({ timeZone: NY, ...input });
const busy = (...pairs: Array<[string, string]>): Interval[] => pairs.map(([start, end]) => ({ start: new Date(start), end: new Date(end) }));
const hhmm = (a: Availability): string[] => a.slots.map((s) => s.start.slice(11, 16));

/** Tuesday morning before the week under test, so lead time never interferes unless a case says so. */
const EARLY = new Date('2026-12-01T09:00:00-05:00');
const WEEKDAY_30 = ['09:00', '09:30', '10:00', '10:30', '11:00', '11:30', '13:00', '13:30', '14:00', '14:30', '15:00', '15:30', '16:00', '16:30'];

interface AvailabilityCase {
  name: string;
  rules?: BusinessRules;
  date: string;
  durationMinutes?: number;
  busy?: Interval[];
  now?: Date;
  closedReason?: Availability['closedReason'];
  /** Local HH:mm of every slot start. */
  slots?: string[];
  /** Full ISO slot starts, for cases where the offset is the point. */
  slotIsos?: string[];
  openRanges?: Availability['openRanges'];
  freeRanges?: Availability['freeRanges'];
}

const cases: AvailabilityCase[] = [
  {
    name: 'weekday: 9-5 minus lunch on a 30-minute grid',
    date: '2026-12-03',
    slots: WEEKDAY_30,
    openRanges: [
      { start: '2026-12-03T09:00:00-05:00', end: '2026-12-03T12:00:00-05:00' },
      { start: '2026-12-03T13:00:00-05:00', end: '2026-12-03T17:00:00-05:00' },
    ],
    freeRanges: [
      { start: '2026-12-03T09:00:00-05:00', end: '2026-12-03T12:00:00-05:00' },
      { start: '2026-12-03T13:00:00-05:00', end: '2026-12-03T17:00:00-05:00' },
    ],
  },
  {
    name: 'Saturday closes at 3',
    date: '2026-12-05',
    slots: ['09:00', '09:30', '10:00', '10:30', '11:00', '11:30', '13:00', '13:30', '14:00', '14:30'],
  },
  { name: 'Sunday is closed', date: '2026-12-06', closedReason: 'closed_day' },
  { name: 'holiday', rules: rules({ holidays: '2026-12-24,2026-12-25' }), date: '2026-12-25', closedReason: 'holiday' },
  { name: 'holiday list does not close other days', rules: rules({ holidays: '2026-12-25' }), date: '2026-12-03', slots: WEEKDAY_30 },
  {
    name: 'a 90-minute job never straddles lunch',
    date: '2026-12-03',
    durationMinutes: 90,
    slots: ['09:00', '09:30', '10:00', '10:30', '13:00', '13:30', '14:00', '14:30', '15:00', '15:30'],
  },
  {
    name: 'lead time: now 10:10 -> first slot 11:30',
    date: '2026-12-03',
    now: new Date('2026-12-03T10:10:00-05:00'),
    slots: ['11:30', '13:00', '13:30', '14:00', '14:30', '15:00', '15:30', '16:00', '16:30'],
    freeRanges: [
      { start: '2026-12-03T11:10:00-05:00', end: '2026-12-03T12:00:00-05:00' },
      { start: '2026-12-03T13:00:00-05:00', end: '2026-12-03T17:00:00-05:00' },
    ],
  },
  {
    name: 'lead time lands exactly on the grid',
    date: '2026-12-03',
    now: new Date('2026-12-03T13:00:00-05:00'),
    slots: ['14:00', '14:30', '15:00', '15:30', '16:00', '16:30'],
  },
  {
    name: 'lead time reaches into tomorrow morning',
    rules: rules({ minLeadMinutes: 24 * 60 }),
    date: '2026-12-04',
    now: new Date('2026-12-03T10:10:00-05:00'),
    slots: ['10:30', '11:00', '11:30', '13:00', '13:30', '14:00', '14:30', '15:00', '15:30', '16:00', '16:30'],
  },
  // The booking service refuses a past day (checkBookingWindow) before asking; here it just has nothing left.
  { name: 'a past day: open, but no slots', date: '2026-11-30', slots: [], freeRanges: [] },
  { name: 'today after closing: open, but no slots', date: '2026-12-03', now: new Date('2026-12-03T18:00:00-05:00'), slots: [], freeRanges: [] },
  {
    name: 'nested and overlapping busy blocks',
    date: '2026-12-03',
    busy: busy(
      ['2026-12-03T10:30:00-05:00', '2026-12-03T11:30:00-05:00'],
      ['2026-12-03T10:00:00-05:00', '2026-12-03T11:00:00-05:00'],
      ['2026-12-03T10:15:00-05:00', '2026-12-03T10:45:00-05:00'],
    ),
    slots: ['09:00', '09:30', '11:30', '13:00', '13:30', '14:00', '14:30', '15:00', '15:30', '16:00', '16:30'],
    freeRanges: [
      { start: '2026-12-03T09:00:00-05:00', end: '2026-12-03T10:00:00-05:00' },
      { start: '2026-12-03T11:30:00-05:00', end: '2026-12-03T12:00:00-05:00' },
      { start: '2026-12-03T13:00:00-05:00', end: '2026-12-03T17:00:00-05:00' },
    ],
  },
  {
    name: 'an off-grid busy block takes both slots it touches',
    date: '2026-12-03',
    busy: busy(['2026-12-03T14:45:00-05:00', '2026-12-03T15:15:00-05:00']),
    slots: ['09:00', '09:30', '10:00', '10:30', '11:00', '11:30', '13:00', '13:30', '14:00', '15:30', '16:00', '16:30'],
  },
  {
    name: 'back-to-back bookings leave the neighbours free',
    date: '2026-12-03',
    busy: busy(['2026-12-03T10:00:00-05:00', '2026-12-03T10:30:00-05:00']),
    slots: WEEKDAY_30.filter((t) => t !== '10:00'),
  },
  {
    name: 'a busy block spanning the whole day',
    date: '2026-12-03',
    busy: busy(['2026-12-03T00:00:00-05:00', '2026-12-04T00:00:00-05:00']),
    slots: [],
    freeRanges: [],
  },
  {
    name: 'busy blocks spilling over midnight on both ends',
    date: '2026-12-03',
    busy: busy(
      ['2026-12-02T22:00:00-05:00', '2026-12-03T10:00:00-05:00'],
      ['2026-12-03T16:00:00-05:00', '2026-12-04T02:00:00-05:00'],
    ),
    slots: ['10:00', '10:30', '11:00', '11:30', '13:00', '13:30', '14:00', '14:30', '15:00', '15:30'],
  },
  {
    name: 'busy time on other days is ignored',
    date: '2026-12-03',
    busy: busy(['2026-12-04T09:00:00-05:00', '2026-12-04T17:00:00-05:00']),
    slots: WEEKDAY_30,
  },
  {
    name: 'NY spring forward, 9-5: a normal day, all EDT',
    rules: rules({ weeklyHours: 'mon-sun 09:00-17:00' }),
    date: '2026-03-08',
    now: new Date('2026-03-01T09:00:00-05:00'),
    slots: WEEKDAY_30,
    openRanges: [
      { start: '2026-03-08T09:00:00-04:00', end: '2026-03-08T12:00:00-04:00' },
      { start: '2026-03-08T13:00:00-04:00', end: '2026-03-08T17:00:00-04:00' },
    ],
  },
  {
    name: 'NY fall back, 9-5: a normal day, all EST',
    rules: rules({ weeklyHours: 'mon-sun 09:00-17:00' }),
    date: '2026-11-01',
    now: new Date('2026-10-25T09:00:00-04:00'),
    slots: WEEKDAY_30,
    openRanges: [
      { start: '2026-11-01T09:00:00-05:00', end: '2026-11-01T12:00:00-05:00' },
      { start: '2026-11-01T13:00:00-05:00', end: '2026-11-01T17:00:00-05:00' },
    ],
  },
  {
    name: 'NY spring forward, 00-04: three real hours, 02:xx never happens',
    rules: rules({ weeklyHours: 'mon-sun 00:00-04:00', breaks: '' }),
    date: '2026-03-08',
    now: new Date('2026-03-01T09:00:00-05:00'),
    slotIsos: [
      '2026-03-08T00:00:00-05:00',
      '2026-03-08T00:30:00-05:00',
      '2026-03-08T01:00:00-05:00',
      '2026-03-08T01:30:00-05:00',
      '2026-03-08T03:00:00-04:00',
      '2026-03-08T03:30:00-04:00',
    ],
    openRanges: [{ start: '2026-03-08T00:00:00-05:00', end: '2026-03-08T04:00:00-04:00' }],
  },
  {
    name: 'NY spring forward, 00-04, 60 minutes: 01:30 EST runs to 03:30 EDT',
    rules: rules({ weeklyHours: 'mon-sun 00:00-04:00', breaks: '' }),
    date: '2026-03-08',
    durationMinutes: 60,
    now: new Date('2026-03-01T09:00:00-05:00'),
    slotIsos: [
      '2026-03-08T00:00:00-05:00',
      '2026-03-08T00:30:00-05:00',
      '2026-03-08T01:00:00-05:00',
      '2026-03-08T01:30:00-05:00',
      '2026-03-08T03:00:00-04:00',
    ],
  },
  {
    name: 'NY fall back, 00-04: five real hours, 01:xx happens twice',
    rules: rules({ weeklyHours: 'mon-sun 00:00-04:00', breaks: '' }),
    date: '2026-11-01',
    now: new Date('2026-10-25T09:00:00-04:00'),
    slotIsos: [
      '2026-11-01T00:00:00-04:00',
      '2026-11-01T00:30:00-04:00',
      '2026-11-01T01:00:00-04:00',
      '2026-11-01T01:30:00-04:00',
      '2026-11-01T01:00:00-05:00',
      '2026-11-01T01:30:00-05:00',
      '2026-11-01T02:00:00-05:00',
      '2026-11-01T02:30:00-05:00',
      '2026-11-01T03:00:00-05:00',
      '2026-11-01T03:30:00-05:00',
    ],
    openRanges: [{ start: '2026-11-01T00:00:00-04:00', end: '2026-11-01T04:00:00-05:00' }],
  },
  {
    name: 'Sydney DST ends (2026-04-05), 00-04: 02:xx happens twice',
    rules: rules({ timeZone: SYD, weeklyHours: 'mon-sun 00:00-04:00', breaks: '' }),
    date: '2026-04-05',
    now: new Date('2026-04-01T09:00:00+11:00'),
    slotIsos: [
      '2026-04-05T00:00:00+11:00',
      '2026-04-05T00:30:00+11:00',
      '2026-04-05T01:00:00+11:00',
      '2026-04-05T01:30:00+11:00',
      '2026-04-05T02:00:00+11:00',
      '2026-04-05T02:30:00+11:00',
      '2026-04-05T02:00:00+10:00',
      '2026-04-05T02:30:00+10:00',
      '2026-04-05T03:00:00+10:00',
      '2026-04-05T03:30:00+10:00',
    ],
  },
  {
    name: 'Sydney DST starts (2026-10-04), 00-04: 02:xx never happens',
    rules: rules({ timeZone: SYD, weeklyHours: 'mon-sun 00:00-04:00', breaks: '' }),
    date: '2026-10-04',
    now: new Date('2026-10-01T09:00:00+10:00'),
    slotIsos: [
      '2026-10-04T00:00:00+10:00',
      '2026-10-04T00:30:00+10:00',
      '2026-10-04T01:00:00+10:00',
      '2026-10-04T01:30:00+10:00',
      '2026-10-04T03:00:00+11:00',
      '2026-10-04T03:30:00+11:00',
    ],
  },
  {
    name: 'Sydney DST starts, 9-5 with lunch: normal day, AEDT',
    rules: rules({ timeZone: SYD, weeklyHours: 'mon-sun 09:00-17:00' }),
    date: '2026-10-04',
    now: new Date('2026-10-01T09:00:00+10:00'),
    slots: WEEKDAY_30,
    openRanges: [
      { start: '2026-10-04T09:00:00+11:00', end: '2026-10-04T12:00:00+11:00' },
      { start: '2026-10-04T13:00:00+11:00', end: '2026-10-04T17:00:00+11:00' },
    ],
  },
  {
    // 23:10 UTC on the 2nd is already 10:10 on the 3rd in Sydney: "today" and lead time are Sydney's.
    name: 'Sydney: today is the shop-local today',
    rules: rules({ timeZone: SYD }),
    date: '2026-12-03',
    now: new Date('2026-12-02T23:10:00Z'),
    slots: ['11:30', '13:00', '13:30', '14:00', '14:30', '15:00', '15:30', '16:00', '16:30'],
  },
  {
    name: 'Kolkata: half-hour offset, busy given in UTC',
    rules: rules({ timeZone: KOL }),
    date: '2026-12-03',
    busy: busy(['2026-12-03T04:30:00Z', '2026-12-03T05:30:00Z']),
    now: new Date('2026-12-01T09:00:00+05:30'),
    slots: WEEKDAY_30.filter((t) => t !== '10:00' && t !== '10:30'),
    openRanges: [
      { start: '2026-12-03T09:00:00+05:30', end: '2026-12-03T12:00:00+05:30' },
      { start: '2026-12-03T13:00:00+05:30', end: '2026-12-03T17:00:00+05:30' },
    ],
  },
  {
    name: 'a 15-minute grid',
    rules: rules({ weeklyHours: 'mon-fri 09:00-10:00', breaks: '', slotMinutes: 15 }),
    date: '2026-12-03',
    durationMinutes: 45,
    slots: ['09:00', '09:15'],
  },
  {
    name: 'a job longer than the day has no slots',
    rules: rules({ weeklyHours: 'mon-sat 09:00-15:00' }),
    date: '2026-12-05',
    durationMinutes: 240,
    slots: [],
  },
];

describe('computeAvailability', () => {
  it.each(cases)('$name', (c) => {
    const shopRules = c.rules ?? rules();
    const result = computeAvailability({
      date: c.date,
      durationMinutes: c.durationMinutes ?? 30,
      busy: c.busy ?? [],
      now: c.now ?? EARLY,
      rules: shopRules,
    });
    expect(result.date).toBe(c.date);
    expect(result.timeZone).toBe(shopRules.timeZone);
    if (c.closedReason !== undefined) {
      expect(result).toMatchObject({ closed: true, closedReason: c.closedReason, openRanges: [], freeRanges: [], slots: [] });
      return;
    }
    expect(result.closed).toBe(false);
    expect(result.closedReason).toBeUndefined();
    if (c.slots !== undefined) expect(hhmm(result)).toEqual(c.slots);
    if (c.slotIsos !== undefined) expect(result.slots.map((s) => s.start)).toEqual(c.slotIsos);
    if (c.openRanges !== undefined) expect(result.openRanges).toEqual(c.openRanges);
    if (c.freeRanges !== undefined) expect(result.freeRanges).toEqual(c.freeRanges);
    const durationMs = (c.durationMinutes ?? 30) * 60_000;
    for (const slot of result.slots) {
      expect(new Date(slot.end).getTime() - new Date(slot.start).getTime()).toBe(durationMs);
    }
  });

  it('labels slots in speakable shop time, and the day too', () => {
    const result = computeAvailability({ date: '2026-12-03', durationMinutes: 30, busy: [], now: EARLY, rules: rules() });
    expect(result.dateLabel).toBe('Thursday, December 3');
    expect(result.slots[0]).toEqual({ start: '2026-12-03T09:00:00-05:00', end: '2026-12-03T09:30:00-05:00', label: '9:00 AM' });
    expect(result.slots.at(-1)).toEqual({ start: '2026-12-03T16:30:00-05:00', end: '2026-12-03T17:00:00-05:00', label: '4:30 PM' });
  });

  const invalid: Array<{ name: string; date: string; durationMinutes: number; code: string }> = [
    { name: 'impossible date', date: '2026-02-30', durationMinutes: 30, code: 'invalid_date' },
    { name: 'not a date', date: 'next friday', durationMinutes: 30, code: 'invalid_date' },
    { name: 'zero duration', date: '2026-12-03', durationMinutes: 0, code: 'invalid_duration' },
    { name: 'negative duration', date: '2026-12-03', durationMinutes: -30, code: 'invalid_duration' },
    { name: 'fractional duration', date: '2026-12-03', durationMinutes: 2.5, code: 'invalid_duration' },
  ];
  it.each(invalid)('rejects $name', ({ date, durationMinutes, code }) => {
    const run = (): unknown => computeAvailability({ date, durationMinutes, busy: [], now: EARLY, rules: rules() });
    expect(run).toThrow(ValidationError);
    expect(run).toThrow(expect.objectContaining({ code }));
  });
});

interface CheckCase {
  name: string;
  rules?: BusinessRules;
  start: string;
  durationMinutes?: number;
  now?: string;
  expected: SlotCheck;
}

const THURSDAY_BUSY = busy(['2026-12-03T14:00:00-05:00', '2026-12-03T15:00:00-05:00']);
const NOW_1010 = '2026-12-03T10:10:00-05:00';

const checkCases: CheckCase[] = [
  { name: 'free on-grid slot', start: '2026-12-03T13:00:00-05:00', expected: { ok: true, bay: 1 } },
  { name: 'off-grid start that fits (10:15)', start: '2026-12-04T10:15:00-05:00', expected: { ok: true, bay: 1 } },
  { name: 'ends exactly when a booking starts', start: '2026-12-03T13:30:00-05:00', expected: { ok: true, bay: 1 } },
  { name: 'exactly at the lead time', start: '2026-12-03T11:10:00-05:00', expected: { ok: true, bay: 1 } },
  { name: 'ends exactly at lunch', start: '2026-12-04T10:30:00-05:00', durationMinutes: 90, expected: { ok: true, bay: 1 } },
  { name: 'ends exactly at closing', start: '2026-12-04T15:30:00-05:00', durationMinutes: 90, expected: { ok: true, bay: 1 } },
  {
    name: 'in the past',
    start: '2026-12-03T09:00:00-05:00',
    expected: { ok: false, reason: 'in_past', message: 'Thursday, December 3 at 9:00 AM has already passed. Please pick a later time.' },
  },
  {
    name: 'a past Sunday is a past day first',
    start: '2026-11-29T10:00:00-05:00',
    expected: {
      ok: false,
      reason: 'date_in_past',
      message: 'Sunday, November 29th, 2026 has already passed. I can book from today up to Wednesday, March 3rd, 2027.',
    },
  },
  { name: 'the last day of the 90-day horizon', start: '2027-03-03T10:00:00-05:00', expected: { ok: true, bay: 1 } },
  {
    name: 'the day after the horizon',
    start: '2027-03-04T10:00:00-05:00',
    expected: {
      ok: false,
      reason: 'date_too_far',
      message: 'Thursday, March 4th, 2027 is too far ahead. I can book from today up to Wednesday, March 3rd, 2027.',
    },
  },
  {
    name: 'year 9999 with a one-week horizon',
    rules: rules({ maxBookingDays: 7 }),
    start: '9999-12-31T10:00:00-05:00',
    expected: {
      ok: false,
      reason: 'date_too_far',
      message: 'Friday, December 31st, 9999 is too far ahead. I can book from today up to Thursday, December 10th, 2026.',
    },
  },
  {
    name: 'inside the lead time',
    start: '2026-12-03T10:30:00-05:00',
    expected: {
      ok: false,
      reason: 'too_soon',
      message: 'We need at least 1 hour of notice, so the earliest we can start is Thursday, December 3 at 11:10 AM.',
    },
  },
  {
    name: 'Sunday',
    start: '2026-12-06T10:00:00-05:00',
    expected: {
      ok: false,
      reason: 'closed_day',
      message: "We're closed on Sunday, December 6. Our hours are Monday to Friday 9 AM to 5 PM, Saturday 9 AM to 3 PM, closed Sunday.",
    },
  },
  {
    name: 'holiday',
    rules: rules({ holidays: '2026-12-25' }),
    start: '2026-12-25T10:00:00-05:00',
    expected: { ok: false, reason: 'holiday', message: "We're closed on Friday, December 25 for a holiday." },
  },
  {
    name: 'before opening',
    start: '2026-12-04T08:00:00-05:00',
    expected: {
      ok: false,
      reason: 'outside_hours',
      message: "Friday, December 4 at 8:00 AM is outside our hours; that day we're open 9 AM to 5 PM.",
    },
  },
  {
    name: 'after closing',
    start: '2026-12-04T17:00:00-05:00',
    expected: {
      ok: false,
      reason: 'outside_hours',
      message: "Friday, December 4 at 5:00 PM is outside our hours; that day we're open 9 AM to 5 PM.",
    },
  },
  {
    name: 'runs past closing',
    start: '2026-12-04T16:00:00-05:00',
    durationMinutes: 90,
    expected: {
      ok: false,
      reason: 'outside_hours',
      message: "A 90-minute appointment starting Friday, December 4 at 4:00 PM would run past closing; that day we're open 9 AM to 5 PM.",
    },
  },
  {
    name: 'runs past Saturday closing',
    start: '2026-12-05T14:30:00-05:00',
    durationMinutes: 45,
    expected: {
      ok: false,
      reason: 'outside_hours',
      message: "A 45-minute appointment starting Saturday, December 5 at 2:30 PM would run past closing; that day we're open 9 AM to 3 PM.",
    },
  },
  {
    name: 'runs into lunch',
    start: '2026-12-04T11:30:00-05:00',
    durationMinutes: 90,
    expected: {
      ok: false,
      reason: 'during_break',
      message: 'A 90-minute appointment starting Friday, December 4 at 11:30 AM would overlap our break from noon to 1 PM.',
    },
  },
  {
    name: 'starts during lunch',
    start: '2026-12-04T12:15:00-05:00',
    expected: {
      ok: false,
      reason: 'during_break',
      message: 'A 30-minute appointment starting Friday, December 4 at 12:15 PM would overlap our break from noon to 1 PM.',
    },
  },
  {
    name: 'taken',
    start: '2026-12-03T14:30:00-05:00',
    expected: { ok: false, reason: 'busy', message: 'Thursday, December 3 at 2:30 PM is already taken.' },
  },
  {
    name: 'overlaps the start of a booking',
    start: '2026-12-03T13:45:00-05:00',
    expected: { ok: false, reason: 'busy', message: 'Thursday, December 3 at 1:45 PM is already taken.' },
  },
  {
    name: 'NY spring forward: 01:30 EST for an hour ends 03:30 EDT, inside 00-04',
    rules: rules({ weeklyHours: 'mon-sun 00:00-04:00', breaks: '' }),
    start: '2026-03-08T01:30:00-05:00',
    durationMinutes: 60,
    now: '2026-03-01T09:00:00-05:00',
    expected: { ok: true, bay: 1 },
  },
  {
    name: 'NY spring forward: 03:30 EDT for an hour runs past 04:00',
    rules: rules({ weeklyHours: 'mon-sun 00:00-04:00', breaks: '' }),
    start: '2026-03-08T03:30:00-04:00',
    durationMinutes: 60,
    now: '2026-03-01T09:00:00-05:00',
    expected: {
      ok: false,
      reason: 'outside_hours',
      message: "A 60-minute appointment starting Sunday, March 8 at 3:30 AM would run past closing; that day we're open midnight to 4 AM.",
    },
  },
  {
    name: 'NY fall back: the second 01:30 (EST) is bookable',
    rules: rules({ weeklyHours: 'mon-sun 00:00-04:00', breaks: '' }),
    start: '2026-11-01T01:30:00-05:00',
    durationMinutes: 60,
    now: '2026-10-25T09:00:00-04:00',
    expected: { ok: true, bay: 1 },
  },
  {
    name: 'Sydney: a UTC instant that is Sunday in Sydney',
    rules: rules({ timeZone: SYD }),
    start: '2026-12-05T23:00:00Z',
    expected: {
      ok: false,
      reason: 'closed_day',
      message: "We're closed on Sunday, December 6. Our hours are Monday to Friday 9 AM to 5 PM, Saturday 9 AM to 3 PM, closed Sunday.",
    },
  },
  {
    name: 'Kolkata: 10:00 IST given in UTC',
    rules: rules({ timeZone: KOL }),
    start: '2026-12-04T04:30:00Z',
    expected: { ok: true, bay: 1 },
  },
];

describe('checkSlot', () => {
  it.each(checkCases)('$name', (c) => {
    const result = checkSlot({
      start: new Date(c.start),
      durationMinutes: c.durationMinutes ?? 30,
      busy: THURSDAY_BUSY,
      now: new Date(c.now ?? NOW_1010),
      rules: c.rules ?? rules(),
    });
    expect(result).toEqual(c.expected);
  });

  const invalid: Array<{ name: string; start: Date; durationMinutes: number; code: string }> = [
    { name: 'invalid start', start: new Date('nope'), durationMinutes: 30, code: 'invalid_datetime' },
    { name: 'zero duration', start: new Date('2026-12-04T10:00:00-05:00'), durationMinutes: 0, code: 'invalid_duration' },
  ];
  it.each(invalid)('rejects $name', ({ start, durationMinutes, code }) => {
    const run = (): unknown => checkSlot({ start, durationMinutes, busy: [], now: new Date(NOW_1010), rules: rules() });
    expect(run).toThrow(expect.objectContaining({ code }));
  });

  it('agrees with computeAvailability on every grid start of a busy day', () => {
    const shopRules = rules();
    const now = new Date(NOW_1010);
    const offered = computeAvailability({ date: '2026-12-03', durationMinutes: 60, busy: THURSDAY_BUSY, now, rules: shopRules });
    const offeredStarts = new Set(offered.slots.map((s) => new Date(s.start).getTime()));
    for (let t = Date.parse('2026-12-03T08:00:00-05:00'); t < Date.parse('2026-12-03T18:00:00-05:00'); t += 30 * 60_000) {
      const check = checkSlot({ start: new Date(t), durationMinutes: 60, busy: THURSDAY_BUSY, now, rules: shopRules });
      expect(check.ok, new Date(t).toISOString()).toBe(offeredStarts.has(t));
    }
  });
});

describe('several bays', () => {
  // Thursday 2026-12-03, checked at 10:10 with a one-hour lead: 11:10 is the earliest start.
  const at = (clock: string): string => `2026-12-03T${clock}:00-05:00`;
  const block = (from: string, to: string): Interval => ({ start: new Date(at(from)), end: new Date(at(to)) });
  const now = new Date(NOW_1010);

  interface BayCase {
    name: string;
    shop?: Interval[];
    bays: Interval[][];
    start: string;
    durationMinutes?: number;
    /** The bay a booking takes, or undefined when the start is refused as busy. */
    bay: number | undefined;
  }

  const bayCases: BayCase[] = [
    { name: 'two of three bays busy: the free one is offered', bays: [[block('14:00', '15:00')], [block('14:00', '15:00')], []], start: '14:00', bay: 3 },
    { name: 'every bay busy: refused', bays: [[block('14:00', '15:00')], [block('13:30', '16:00')], [block('14:15', '15:00')]], start: '14:00', bay: undefined },
    { name: 'all bays free: the lowest takes it', bays: [[], [], []], start: '14:00', bay: 1 },
    { name: 'bay 1 busy: bay 2, not bay 3', bays: [[block('14:00', '14:30')], [], []], start: '14:00', bay: 2 },
    { name: 'bay 1 frees up halfway: not enough, bay 2', bays: [[block('13:00', '14:30')], [], []], start: '14:00', durationMinutes: 60, bay: 2 },
    { name: 'ends exactly when bay 1 is next busy', bays: [[block('14:30', '15:00')], []], start: '14:00', bay: 1 },
    { name: 'the shop calendar blocks every bay', shop: [block('14:00', '15:00')], bays: [[], [], []], start: '14:00', bay: undefined },
    { name: 'shop busy elsewhere blocks nothing here', shop: [block('09:00', '11:00')], bays: [[], []], start: '14:00', bay: 1 },
    {
      name: 'no bay is free for the whole job, though together they would be',
      bays: [[block('14:30', '16:00')], [block('13:00', '14:30')]],
      start: '14:00',
      durationMinutes: 60,
      bay: undefined,
    },
  ];

  it.each(bayCases)('$name', (c) => {
    const durationMinutes = c.durationMinutes ?? 30;
    const request = { busy: c.shop ?? [], bays: c.bays, durationMinutes, now, rules: rules() };
    const check = checkSlot({ ...request, start: new Date(at(c.start)) });
    expect(check).toEqual(
      c.bay === undefined
        ? { ok: false, reason: 'busy', message: expect.stringContaining('is already taken') }
        : { ok: true, bay: c.bay },
    );
    const day = computeAvailability({ ...request, date: '2026-12-03' });
    expect(hhmm(day).includes(c.start), 'offered by computeAvailability').toBe(c.bay !== undefined);
  });

  it('offers each start once, however many bays are free', () => {
    const one = computeAvailability({ date: '2026-12-03', durationMinutes: 30, busy: [], now, rules: rules() });
    const five = computeAvailability({ date: '2026-12-03', durationMinutes: 30, busy: [], bays: [[], [], [], [], []], now, rules: rules() });
    expect(hhmm(five)).toEqual(hhmm(one));
    expect(new Set(hhmm(five)).size).toBe(hhmm(five).length);
  });

  it('still applies hours, lunch and lead time to every bay', () => {
    const day = computeAvailability({ date: '2026-12-03', durationMinutes: 30, busy: [], bays: [[], []], now, rules: rules() });
    expect(hhmm(day)).toEqual(['11:30', '13:00', '13:30', '14:00', '14:30', '15:00', '15:30', '16:00', '16:30']);
    const lunch = checkSlot({ start: new Date(at('11:30')), durationMinutes: 60, busy: [], bays: [[], []], now, rules: rules() });
    expect(lunch).toMatchObject({ ok: false, reason: 'during_break' });
  });

  it('reports free ranges as the times at least one bay is free', () => {
    const day = computeAvailability({
      date: '2026-12-03',
      durationMinutes: 60,
      busy: [block('16:00', '17:00')],
      bays: [[block('13:00', '14:00')], [block('14:00', '15:00')]],
      now,
      rules: rules(),
    });
    expect(day.freeRanges).toEqual([
      { start: at('11:10'), end: at('12:00') },
      { start: at('13:00'), end: at('16:00') },
    ]);
    // 13:30 for an hour would need bay 1 from 14:00 and bay 2 until 14:30: neither alone has it.
    expect(hhmm(day)).toEqual(['13:00', '14:00', '14:30', '15:00']);
  });

  it('refuses a bay list that is empty or longer than 50', () => {
    const request = { date: '2026-12-03', durationMinutes: 30, busy: [], now, rules: rules() };
    expect(() => computeAvailability({ ...request, bays: [] })).toThrow(/bay count/);
    expect(() => computeAvailability({ ...request, bays: Array.from({ length: 51 }, () => []) })).toThrow(/bay count/);
  });
});

describe('slot formatting matches luxon exactly', () => {
  // The fast path formats by arithmetic from one offset per day; these are the strings luxon gives.
  const zones = ['America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'Europe/London', 'UTC', 'Pacific/Chatham', 'America/St_Johns'];
  const dates = ['2026-03-08', '2026-03-29', '2026-04-05', '2026-07-15', '2026-10-04', '2026-10-25', '2026-11-01', '2026-12-31'];
  it.each(zones)('%s', (zone) => {
    const rules = buildBusinessRules({ timeZone: zone, weeklyHours: 'mon-sun 00:00-24:00', breaks: '', minLeadMinutes: 0, slotMinutes: 30 });
    for (const date of dates) {
      const day = computeAvailability({ date, durationMinutes: 30, busy: [], now: new Date('2026-01-01T00:00:00Z'), rules });
      expect(day.slots.length).toBeGreaterThan(40);
      for (const slot of day.slots) {
        const start = new Date(slot.start);
        expect(slot.start).toBe(isoInZone(start, zone));
        expect(slot.end).toBe(isoInZone(new Date(slot.end), zone));
        expect(slot.label).toBe(speakableTime(start, zone));
      }
    }
  });
});
