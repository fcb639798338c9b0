import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import {
  DEFAULT_BREAKS_SPEC,
  DEFAULT_WEEKLY_HOURS_SPEC,
  buildBusinessRules,
  checkBookingWindow,
  defaultBusinessRules,
  describeBreaks,
  describeHours,
  parseDailyRanges,
  parseHolidays,
  parseWeeklyHours,
  type WeeklyHours,
} from './business-rules.js';

const closedWeek: WeeklyHours = { 1: null, 2: null, 3: null, 4: null, 5: null, 6: null, 7: null };
const nineToFive = { open: '09:00', close: '17:00' };

function errorOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('parseWeeklyHours', () => {
  const valid: Array<{ spec: string; expected: WeeklyHours }> = [
    {
      spec: DEFAULT_WEEKLY_HOURS_SPEC,
      expected: { ...closedWeek, 1: nineToFive, 2: nineToFive, 3: nineToFive, 4: nineToFive, 5: nineToFive, 6: { open: '09:00', close: '15:00' } },
    },
    {
      spec: 'mon-fri 09:00-17:00; sat 9:00-15:00; sun closed',
      expected: { ...closedWeek, 1: nineToFive, 2: nineToFive, 3: nineToFive, 4: nineToFive, 5: nineToFive, 6: { open: '09:00', close: '15:00' } },
    },
    { spec: 'Monday 09:00-17:00', expected: { ...closedWeek, 1: nineToFive } },
    { spec: 'mon - wed 09:00 - 17:00', expected: { ...closedWeek, 1: nineToFive, 2: nineToFive, 3: nineToFive } },
    { spec: 'fri-mon 09:00-17:00', expected: { ...closedWeek, 5: nineToFive, 6: nineToFive, 7: nineToFive, 1: nineToFive } },
    { spec: 'thu 07:30-24:00', expected: { ...closedWeek, 4: { open: '07:30', close: '24:00' } } },
    {
      spec: 'mon-sun 00:00-04:00',
      expected: Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((d) => [d, { open: '00:00', close: '04:00' }])) as WeeklyHours,
    },
  ];
  it.each(valid)('$spec', ({ spec, expected }) => {
    expect(parseWeeklyHours(spec)).toEqual(expected);
  });

  const invalid: Array<{ spec: string; message: string }> = [
    { spec: 'mon-fri 17:00-09:00', message: 'Invalid business hours "mon-fri 17:00-09:00": end 09:00 is not after start 17:00 in "mon-fri 17:00-09:00"' },
    { spec: 'mon 09:00-09:00', message: 'end 09:00 is not after start 09:00' },
    { spec: 'mon-fri 09:00-25:00', message: '"25:00" is not a valid time (use HH:mm, 00:00 to 24:00)' },
    { spec: 'mon-fri 24:00-23:00', message: '"24:00" is not a valid time (use HH:mm, 00:00 to 23:59)' },
    { spec: 'mon-fri 09:60-17:00', message: '"09:60" is not a valid time' },
    { spec: 'mon-fri 9-17', message: '"9" is not a valid time' },
    { spec: 'mon-fry 09:00-17:00', message: 'unknown day "fry" (use mon, tue, wed, thu, fri, sat, sun)' },
    { spec: 'funday 09:00-17:00', message: 'unknown day "funday"' },
    { spec: 'mon-fri 09:00-17:00, fri 09:00-12:00', message: 'Friday is given more than once ("fri 09:00-12:00")' },
    { spec: 'mon-sun 09:00-17:00, sun closed', message: 'Sunday is given more than once' },
    { spec: 'mon-fri', message: '"mon-fri" should look like "mon-fri 09:00-17:00" or "sun closed"' },
    { spec: 'mon-fri 09:00', message: '"09:00" should be a time range like 09:00-17:00' },
    { spec: '', message: 'no days given' },
    { spec: 'mon-sun closed', message: 'the shop would never be open' },
  ];
  it.each(invalid)('rejects $spec', ({ spec, message }) => {
    const error = errorOf(() => parseWeeklyHours(spec));
    expect(error.code).toBe('invalid_business_hours');
    expect(error.message).toContain(message);
    expect(error.message).not.toContain('\n');
  });
});

describe('parseDailyRanges', () => {
  const valid: Array<{ spec: string; expected: Array<{ start: string; end: string }> }> = [
    { spec: DEFAULT_BREAKS_SPEC, expected: [{ start: '12:00', end: '13:00' }] },
    { spec: '', expected: [] },
    { spec: '  ', expected: [] },
    { spec: '15:00-15:15, 12:00-12:45', expected: [{ start: '12:00', end: '12:45' }, { start: '15:00', end: '15:15' }] },
  ];
  it.each(valid)('$spec', ({ spec, expected }) => {
    expect(parseDailyRanges(spec)).toEqual(expected);
  });

  const invalid: Array<{ spec: string; message: string }> = [
    { spec: '13:00-12:00', message: 'Invalid breaks "13:00-12:00": end 12:00 is not after start 13:00' },
    { spec: '12:00', message: '"12:00" should be a time range like 09:00-17:00' },
    { spec: '12:00-13:00, lunch', message: '"lunch" should be a time range' },
    { spec: '12:00-13:99', message: '"13:99" is not a valid time' },
  ];
  it.each(invalid)('rejects $spec', ({ spec, message }) => {
    const error = errorOf(() => parseDailyRanges(spec));
    expect(error.code).toBe('invalid_breaks');
    expect(error.message).toContain(message);
  });
});

describe('parseHolidays', () => {
  const valid: Array<{ spec: string; expected: string[] }> = [
    { spec: '2026-12-25,2027-01-01', expected: ['2026-12-25', '2027-01-01'] },
    { spec: '2027-01-01; 2026-12-25 2026-12-25', expected: ['2026-12-25', '2027-01-01'] },
    { spec: '', expected: [] },
    { spec: '2028-02-29', expected: ['2028-02-29'] },
  ];
  it.each(valid)('$spec', ({ spec, expected }) => {
    expect(parseHolidays(spec)).toEqual(expected);
  });

  const invalid: Array<{ spec: string; bad: string }> = [
    { spec: '2026-12-25,2026-02-30', bad: '2026-02-30' },
    { spec: '2027-02-29', bad: '2027-02-29' },
    { spec: '2026-12-25,christmas', bad: 'christmas' },
    { spec: '25/12/2026', bad: '25/12/2026' },
  ];
  it.each(invalid)('rejects $spec', ({ spec, bad }) => {
    const error = errorOf(() => parseHolidays(spec));
    expect(error.code).toBe('invalid_holidays');
    expect(error.message).toBe(`Invalid holidays "${spec}": "${bad}" is not a real date as YYYY-MM-DD`);
  });
});

describe('buildBusinessRules', () => {
  it('fills in the defaults', () => {
    expect(defaultBusinessRules('America/New_York')).toEqual({
      timeZone: 'America/New_York',
      weeklyHours: parseWeeklyHours(DEFAULT_WEEKLY_HOURS_SPEC),
      breaks: [{ start: '12:00', end: '13:00' }],
      holidays: [],
      minLeadMinutes: 60,
      slotMinutes: 30,
      maxBookingDays: 90,
    });
  });

  const invalid: Array<{ name: string; input: Parameters<typeof buildBusinessRules>[0]; code: string }> = [
    { name: 'unknown zone', input: { timeZone: 'Mars/Olympus' }, code: 'invalid_time_zone' },
    { name: 'negative lead', input: { timeZone: 'UTC', minLeadMinutes: -5 }, code: 'invalid_min_lead' },
    { name: 'zero slot', input: { timeZone: 'UTC', slotMinutes: 0 }, code: 'invalid_slot_minutes' },
    { name: 'fractional slot', input: { timeZone: 'UTC', slotMinutes: 7.5 }, code: 'invalid_slot_minutes' },
    { name: 'bad hours', input: { timeZone: 'UTC', weeklyHours: 'mon 9-5' }, code: 'invalid_business_hours' },
    { name: 'zero-day horizon', input: { timeZone: 'UTC', maxBookingDays: 0 }, code: 'invalid_max_booking_days' },
    { name: 'horizon past ten years', input: { timeZone: 'UTC', maxBookingDays: 3651 }, code: 'invalid_max_booking_days' },
    { name: 'fractional horizon', input: { timeZone: 'UTC', maxBookingDays: 1.5 }, code: 'invalid_max_booking_days' },
  ];
  it.each(invalid)('rejects $name', ({ input, code }) => {
    expect(errorOf(() => buildBusinessRules(input)).code).toBe(code);
  });
});

describe('checkBookingWindow', () => {
  const NY = 'America/New_York';
  const SYD = 'Australia/Sydney';
  /** Tuesday 2026-12-01 10:00 in New York; 90 days ahead is Monday 2027-03-01. */
  const NOW = '2026-12-01T15:00:00Z';
  const NY_RANGE = 'I can book from today up to Monday, March 1st, 2027.';
  const cases: Array<{ name: string; day: string; now?: string; zone?: string; days?: number; expected: ReturnType<typeof checkBookingWindow> }> = [
    { name: 'the first instant of today', day: '2026-12-01T05:00:00Z', expected: { ok: true } },
    // Whole days: an hour already gone today is checkSlot's business ('in_past'), not the window's.
    { name: 'an hour earlier today', day: '2026-12-01T14:00:00Z', expected: { ok: true } },
    {
      name: 'the last minute of yesterday',
      day: '2026-12-01T04:59:00Z',
      expected: { ok: false, reason: 'date_in_past', message: `Monday, November 30th, 2026 has already passed. ${NY_RANGE}` },
    },
    { name: 'the last minute of the last day', day: '2027-03-02T04:59:00Z', expected: { ok: true } },
    {
      name: 'the first minute after the horizon',
      day: '2027-03-02T05:00:00Z',
      expected: { ok: false, reason: 'date_too_far', message: `Tuesday, March 2nd, 2027 is too far ahead. ${NY_RANGE}` },
    },
    {
      name: 'year 9999',
      day: '9999-12-31T15:00:00Z',
      expected: { ok: false, reason: 'date_too_far', message: `Friday, December 31st, 9999 is too far ahead. ${NY_RANGE}` },
    },
    { name: 'year 0', day: '0000-06-15T12:00:00Z', expected: expect.objectContaining({ ok: false, reason: 'date_in_past' }) },
    { name: 'the Unix epoch', day: '1970-01-01T00:00:00Z', expected: expect.objectContaining({ ok: false, reason: 'date_in_past' }) },
    // 21:00 on Dec 1 in New York is already Dec 2 in Sydney: "today" is the shop's today.
    { name: 'NY evening: 07:00 NY is today', now: '2026-12-02T02:00:00Z', day: '2026-12-01T12:00:00Z', expected: { ok: true } },
    {
      name: 'Sydney afternoon: 23:00 yesterday in Sydney is past',
      now: '2026-12-02T02:00:00Z',
      zone: SYD,
      day: '2026-12-01T12:00:00Z',
      expected: expect.objectContaining({ ok: false, reason: 'date_in_past' }),
    },
    { name: 'a one-day horizon allows tomorrow', days: 1, day: '2026-12-02T22:00:00Z', expected: { ok: true } },
    {
      name: 'a one-day horizon refuses the day after',
      days: 1,
      day: '2026-12-03T14:00:00Z',
      expected: {
        ok: false,
        reason: 'date_too_far',
        message: 'Thursday, December 3rd, 2026 is too far ahead. I can book from today up to Wednesday, December 2nd, 2026.',
      },
    },
    // Counted in calendar days across spring forward (a 23-hour day), not in 24-hour steps.
    { name: 'DST: the last evening of the horizon', now: '2027-03-01T15:00:00Z', days: 13, day: '2027-03-15T03:59:00Z', expected: { ok: true } },
    {
      name: 'DST: midnight after the horizon',
      now: '2027-03-01T15:00:00Z',
      days: 13,
      day: '2027-03-15T04:00:00Z',
      expected: expect.objectContaining({ ok: false, reason: 'date_too_far' }),
    },
  ];
  it.each(cases)('$name', ({ day, now, zone, days, expected }) => {
    const check = checkBookingWindow({ day: new Date(day), now: new Date(now ?? NOW), timeZone: zone ?? NY, maxBookingDays: days ?? 90 });
    expect(check).toEqual(expected);
  });

  it.each([
    ['an invalid day', new Date('nope'), new Date(NOW)],
    ['an invalid now', new Date(NOW), new Date(Number.NaN)],
  ])('fails loudly on %s instead of letting it through', (_name, day, now) => {
    expect(errorOf(() => checkBookingWindow({ day, now, timeZone: NY, maxBookingDays: 90 })).code).toBe('invalid_datetime');
  });

  it('takes a luxon DateTime in any zone and judges it by its shop-local day', () => {
    // 20:00 on March 1 in Los Angeles is already March 2 in New York.
    const day = DateTime.fromISO('2027-03-01T21:00', { zone: 'America/Los_Angeles' });
    expect(checkBookingWindow({ day, now: new Date(NOW), timeZone: NY, maxBookingDays: 90 })).toMatchObject({ reason: 'date_too_far' });
    expect(checkBookingWindow({ day, now: new Date(NOW), timeZone: 'America/Los_Angeles', maxBookingDays: 90 })).toEqual({ ok: true });
  });
});

describe('describeHours', () => {
  const cases: Array<{ spec: string; expected: string }> = [
    { spec: DEFAULT_WEEKLY_HOURS_SPEC, expected: 'Monday to Friday 9 AM to 5 PM, Saturday 9 AM to 3 PM, closed Sunday' },
    { spec: 'mon-sun 09:00-17:00', expected: 'every day 9 AM to 5 PM' },
    { spec: 'mon-fri 08:30-17:30', expected: 'Monday to Friday 8:30 AM to 5:30 PM, closed Saturday and Sunday' },
    { spec: 'mon-tue 09:00-17:00, thu-fri 09:00-12:00', expected: 'Monday and Tuesday 9 AM to 5 PM, Thursday and Friday 9 AM to noon, closed Wednesday, Saturday and Sunday' },
    { spec: 'mon 07:00-24:00, wed 07:00-24:00', expected: 'Monday 7 AM to midnight, Wednesday 7 AM to midnight, closed Tuesday, Thursday, Friday, Saturday and Sunday' },
  ];
  it.each(cases)('$spec', ({ spec, expected }) => {
    expect(describeHours({ weeklyHours: parseWeeklyHours(spec) })).toBe(expected);
  });

  it.each([
    ['12:00-13:00', 'closed for a break from noon to 1 PM'],
    ['', ''],
    ['10:00-10:15, 12:00-12:30', 'closed for a break from 10 AM to 10:15 AM and from noon to 12:30 PM'],
  ])('breaks %j', (spec, expected) => {
    expect(describeBreaks({ breaks: parseDailyRanges(spec) })).toBe(expected);
  });
});
