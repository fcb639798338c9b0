import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import {
  formatClock,
  isoInZone,
  parseShopDate,
  parseShopDateTime,
  resolveWallClock,
  speakableDate,
  speakableDateTime,
  speakableDuration,
  speakableFullDate,
  speakableTime,
  todayContext,
} from './time.js';

const NY = 'America/New_York';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ValidationError ? error.code : 'not a ValidationError';
  }
  return undefined;
}

describe('parseShopDate', () => {
  const valid: Array<{ input: string; zone: string; iso: string }> = [
    { input: '2026-12-03', zone: NY, iso: '2026-12-03T00:00:00.000-05:00' },
    { input: ' 2026-07-01 ', zone: NY, iso: '2026-07-01T00:00:00.000-04:00' },
    { input: '2028-02-29', zone: NY, iso: '2028-02-29T00:00:00.000-05:00' },
    { input: '2026-03-08', zone: NY, iso: '2026-03-08T00:00:00.000-05:00' },
    { input: '2026-10-04', zone: 'Australia/Sydney', iso: '2026-10-04T00:00:00.000+10:00' },
    { input: '2026-06-15', zone: 'Asia/Kolkata', iso: '2026-06-15T00:00:00.000+05:30' },
    // Midnight does not exist on Santiago's spring-forward day: the day starts at 01:00.
    { input: '2026-09-06', zone: 'America/Santiago', iso: '2026-09-06T01:00:00.000-03:00' },
  ];
  it.each(valid)('$input in $zone', ({ input, zone, iso }) => {
    expect(parseShopDate(input, zone).toISO()).toBe(iso);
  });

  const invalid = ['2026-02-30', '2026-13-01', '2026-00-10', '2026-1-5', '12/03/2026', 'tomorrow', '', '2026-12-03T10:00'];
  it.each(invalid)('rejects %j with invalid_date', (input) => {
    expect(codeOf(() => parseShopDate(input, NY))).toBe('invalid_date');
  });

  it('names the bad input in the message', () => {
    expect(() => parseShopDate('2026-02-30', NY)).toThrow(/"2026-02-30".*YYYY-MM-DD/);
  });
});

describe('parseShopDateTime', () => {
  const valid: Array<{ name: string; input: string; zone: string; iso: string }> = [
    { name: 'local, minutes', input: '2026-12-03T14:00', zone: NY, iso: '2026-12-03T14:00:00.000-05:00' },
    { name: 'local, seconds', input: '2026-12-03T14:00:30', zone: NY, iso: '2026-12-03T14:00:30.000-05:00' },
    { name: 'local, fraction', input: '2026-12-03T14:00:30.250', zone: NY, iso: '2026-12-03T14:00:30.250-05:00' },
    { name: 'local, long fraction', input: '2026-12-03T14:00:59.9999', zone: NY, iso: '2026-12-03T14:00:59.999-05:00' },
    { name: 'space instead of T', input: '2026-12-03 14:00', zone: NY, iso: '2026-12-03T14:00:00.000-05:00' },
    { name: 'summer local', input: '2026-07-01T09:30', zone: NY, iso: '2026-07-01T09:30:00.000-04:00' },
    { name: 'Z honoured', input: '2026-12-03T19:00:00Z', zone: NY, iso: '2026-12-03T14:00:00.000-05:00' },
    { name: 'other offset honoured', input: '2026-12-03T14:00:00+01:00', zone: NY, iso: '2026-12-03T08:00:00.000-05:00' },
    { name: 'compact offset', input: '2026-12-03T14:00-0800', zone: NY, iso: '2026-12-03T17:00:00.000-05:00' },
    { name: 'hour-only offset', input: '2026-12-03T14:00+05', zone: NY, iso: '2026-12-03T04:00:00.000-05:00' },
    // The wrong-season offset for the zone is still that instant: never overwritten with the local reading.
    { name: 'EDT offset in winter', input: '2026-12-03T14:00:00-04:00', zone: NY, iso: '2026-12-03T13:00:00.000-05:00' },
    { name: 'ambiguous -> earlier (EDT)', input: '2026-11-01T01:30', zone: NY, iso: '2026-11-01T01:30:00.000-04:00' },
    { name: 'ambiguous with EST offset kept', input: '2026-11-01T01:30-05:00', zone: NY, iso: '2026-11-01T01:30:00.000-05:00' },
    { name: 'Sydney ambiguous -> earlier (AEDT)', input: '2026-04-05T02:30', zone: 'Australia/Sydney', iso: '2026-04-05T02:30:00.000+11:00' },
    { name: 'Kolkata half-hour offset', input: '2026-06-15T10:00', zone: 'Asia/Kolkata', iso: '2026-06-15T10:00:00.000+05:30' },
    { name: 'just before the gap', input: '2026-03-08T01:59', zone: NY, iso: '2026-03-08T01:59:00.000-05:00' },
    { name: 'just after the gap', input: '2026-03-08T03:00', zone: NY, iso: '2026-03-08T03:00:00.000-04:00' },
  ];
  it.each(valid)('$name: $input', ({ input, zone, iso }) => {
    const parsed = parseShopDateTime(input, zone);
    expect(parsed.toISO()).toBe(iso);
    expect(parsed.zoneName).toBe(zone);
  });

  const invalid: Array<{ input: string; zone: string; code: string }> = [
    { input: '2026-03-08T02:30', zone: NY, code: 'nonexistent_local_time' },
    { input: '2026-03-08T02:00', zone: NY, code: 'nonexistent_local_time' },
    { input: '2026-10-04T02:15', zone: 'Australia/Sydney', code: 'nonexistent_local_time' },
    { input: 'next tuesday at 2', zone: NY, code: 'invalid_datetime' },
    { input: '2026-12-03', zone: NY, code: 'invalid_datetime' },
    { input: '2026-02-30T10:00', zone: NY, code: 'invalid_datetime' },
    { input: '2026-12-03T24:00', zone: NY, code: 'invalid_datetime' },
    { input: '2026-12-03T14:60', zone: NY, code: 'invalid_datetime' },
    { input: '2026-12-03T14:00+25:00', zone: NY, code: 'invalid_datetime' },
    { input: '', zone: NY, code: 'invalid_datetime' },
    { input: '2026-12-03T14:00', zone: 'Mars/Olympus', code: 'invalid_time_zone' },
  ];
  it.each(invalid)('$input in $zone -> $code', ({ input, zone, code }) => {
    expect(codeOf(() => parseShopDateTime(input, zone))).toBe(code);
  });

  it('explains a nonexistent time in words a caller understands', () => {
    try {
      parseShopDateTime('2026-03-08T02:30', NY);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).safeMessage).toBe(
        "2:30 AM doesn't exist on Sunday, March 8 because the clocks go forward that night. Please pick another time.",
      );
    }
  });
});

describe('resolveWallClock', () => {
  const cases: Array<{ name: string; zone: string; wall: [number, number, number, number, number]; iso: string; exists: boolean }> = [
    { name: 'ordinary', zone: NY, wall: [2026, 12, 3, 14, 0], iso: '2026-12-03T14:00:00.000-05:00', exists: true },
    { name: 'NY gap -> end of gap', zone: NY, wall: [2026, 3, 8, 2, 30], iso: '2026-03-08T03:00:00.000-04:00', exists: false },
    { name: 'NY overlap -> earlier', zone: NY, wall: [2026, 11, 1, 1, 0], iso: '2026-11-01T01:00:00.000-04:00', exists: true },
    { name: 'NY overlap end', zone: NY, wall: [2026, 11, 1, 1, 59], iso: '2026-11-01T01:59:00.000-04:00', exists: true },
    { name: 'NY after overlap', zone: NY, wall: [2026, 11, 1, 2, 0], iso: '2026-11-01T02:00:00.000-05:00', exists: true },
    { name: 'Sydney gap', zone: 'Australia/Sydney', wall: [2026, 10, 4, 2, 0], iso: '2026-10-04T03:00:00.000+11:00', exists: false },
    { name: 'Sydney overlap -> earlier', zone: 'Australia/Sydney', wall: [2026, 4, 5, 2, 0], iso: '2026-04-05T02:00:00.000+11:00', exists: true },
    { name: 'UTC', zone: 'UTC', wall: [2026, 3, 8, 2, 30], iso: '2026-03-08T02:30:00.000Z', exists: true },
  ];
  it.each(cases)('$name', ({ zone, wall, iso, exists }) => {
    const [year, month, day, hour, minute] = wall;
    const resolved = resolveWallClock({ year, month, day, hour, minute }, zone);
    expect(resolved.instant.toISO()).toBe(iso);
    expect(resolved.exists).toBe(exists);
  });
});

describe('speakable labels', () => {
  const cases: Array<{ instant: string; zone: string; dateTime: string; date: string; time: string; iso: string }> = [
    {
      instant: '2026-12-03T19:00:00Z',
      zone: NY,
      dateTime: 'Thursday, December 3 at 2:00 PM',
      date: 'Thursday, December 3',
      time: '2:00 PM',
      iso: '2026-12-03T14:00:00-05:00',
    },
    {
      instant: '2026-07-04T13:05:00Z',
      zone: NY,
      dateTime: 'Saturday, July 4 at 9:05 AM',
      date: 'Saturday, July 4',
      time: '9:05 AM',
      iso: '2026-07-04T09:05:00-04:00',
    },
    // Same instant, a different calendar day in Sydney.
    {
      instant: '2026-12-03T19:00:00Z',
      zone: 'Australia/Sydney',
      dateTime: 'Friday, December 4 at 6:00 AM',
      date: 'Friday, December 4',
      time: '6:00 AM',
      iso: '2026-12-04T06:00:00+11:00',
    },
    {
      instant: '2026-06-15T06:30:00.789Z',
      zone: 'Asia/Kolkata',
      dateTime: 'Monday, June 15 at 12:00 PM',
      date: 'Monday, June 15',
      time: '12:00 PM',
      iso: '2026-06-15T12:00:00+05:30',
    },
    {
      instant: '2026-01-01T05:00:00Z',
      zone: NY,
      dateTime: 'Thursday, January 1 at 12:00 AM',
      date: 'Thursday, January 1',
      time: '12:00 AM',
      iso: '2026-01-01T00:00:00-05:00',
    },
  ];
  it.each(cases)('$instant in $zone', ({ instant, zone, dateTime, date, time, iso }) => {
    const d = new Date(instant);
    expect(speakableDateTime(d, zone)).toBe(dateTime);
    expect(speakableDate(d, zone)).toBe(date);
    expect(speakableTime(d, zone)).toBe(time);
    expect(isoInZone(d, zone)).toBe(iso);
  });

  it('accepts a luxon DateTime in another zone', () => {
    expect(speakableDateTime(parseShopDateTime('2026-12-03T14:00', 'Asia/Kolkata'), NY)).toBe(
      'Thursday, December 3 at 3:30 AM',
    );
  });
});

describe('speakableFullDate', () => {
  it.each([
    ['2027-03-01T15:00:00Z', NY, 'Monday, March 1st, 2027'],
    ['2027-03-02T15:00:00Z', NY, 'Tuesday, March 2nd, 2027'],
    ['2027-03-03T15:00:00Z', NY, 'Wednesday, March 3rd, 2027'],
    ['2027-03-04T15:00:00Z', NY, 'Thursday, March 4th, 2027'],
    ['2026-12-11T15:00:00Z', NY, 'Friday, December 11th, 2026'],
    ['2026-12-12T15:00:00Z', NY, 'Saturday, December 12th, 2026'],
    ['2026-12-13T15:00:00Z', NY, 'Sunday, December 13th, 2026'],
    ['2026-12-21T15:00:00Z', NY, 'Monday, December 21st, 2026'],
    ['2026-12-22T15:00:00Z', NY, 'Tuesday, December 22nd, 2026'],
    ['2026-12-23T15:00:00Z', NY, 'Wednesday, December 23rd, 2026'],
    // New Year's Eve afternoon in New York is already New Year's Day in Sydney.
    ['2026-12-31T15:00:00Z', NY, 'Thursday, December 31st, 2026'],
    ['2026-12-31T15:00:00Z', 'Australia/Sydney', 'Friday, January 1st, 2027'],
  ])('%s in %s', (instant, zone, expected) => {
    expect(speakableFullDate(new Date(instant), zone)).toBe(expected);
  });
});

describe('todayContext', () => {
  const cases: Array<{ now: string; zone: string; expected: { date: string; weekday: string; time: string } }> = [
    { now: '2026-12-02T19:05:00Z', zone: NY, expected: { date: '2026-12-02', weekday: 'Wednesday', time: '2:05 PM' } },
    // Late evening in New York is already tomorrow in Sydney: "today" must be the shop's today.
    { now: '2026-12-03T02:00:00Z', zone: NY, expected: { date: '2026-12-02', weekday: 'Wednesday', time: '9:00 PM' } },
    { now: '2026-12-03T02:00:00Z', zone: 'Australia/Sydney', expected: { date: '2026-12-03', weekday: 'Thursday', time: '1:00 PM' } },
  ];
  it.each(cases)('$now in $zone', ({ now, zone, expected }) => {
    expect(todayContext(new Date(now), zone)).toEqual({ ...expected, zone });
  });
});

describe('formatClock and speakableDuration', () => {
  it.each([
    [9, 0, '9 AM'],
    [17, 30, '5:30 PM'],
    [12, 0, 'noon'],
    [0, 0, 'midnight'],
    [24, 0, 'midnight'],
    [0, 15, '12:15 AM'],
  ])('%i:%i -> %s', (h, m, expected) => {
    expect(formatClock(h, m)).toBe(expected);
  });

  it.each([
    [30, '30 minutes'],
    [60, '1 hour'],
    [90, '1 hour and 30 minutes'],
    [120, '2 hours'],
    [1, '1 minute'],
  ])('%i -> %s', (minutes, expected) => {
    expect(speakableDuration(minutes)).toBe(expected);
  });
});
