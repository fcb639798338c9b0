import { describe, expect, it } from 'vitest';
import { partWindow, shopHour, understandWhen } from './spoken-when.js';
import type { WhenWish } from './spoken-when.js';

const ZONE = 'America/New_York';
// Wednesday, December 9, 2026, 10:00 in New York.
const NOW = new Date('2026-12-09T15:00:00Z');

const at = (hour: number, minute = 0) => ({ kind: 'at', time: { hour, minute } }) as const;
const date = (d: string) => ({ kind: 'date', date: d }) as const;

function read(text: string, options: { anchor?: string; expectingTime?: boolean } = {}): WhenWish {
  return understandWhen(text, { now: NOW, zone: ZONE, ...options });
}

describe('understandWhen: days', () => {
  it.each<[string, string | undefined]>([
    ['today please', '2026-12-09'],
    ['tomorrow at 2 pm', '2026-12-10'],
    ['the day after tomorrow', '2026-12-11'],
    ["what's free on Friday?", '2026-12-11'],
    ['this friday', '2026-12-11'],
    ['monday', '2026-12-14'],
    ['Sat', '2026-12-12'],
    ['next tuesday at 3pm', '2026-12-15'],
    ['tuesday next week', '2026-12-15'],
    ['in two weeks', '2026-12-23'],
    ['a week from friday', '2026-12-18'],
    ['december 3rd', '2027-12-03'],
    ['Dec 15 at 11', '2026-12-15'],
    ['January 5th', '2027-01-05'],
    ['the 15th of january', '2027-01-15'],
    // chrono misses a day of the month said alone: this month, or next once it has passed.
    ['the 15th', '2026-12-15'],
    ['what about the 15th at 3pm', '2026-12-15'],
    ['how about the 14th at 1', '2026-12-14'],
    ['tuesday the 15th', '2026-12-15'],
    ['the 9th', '2026-12-09'],
    ['on the 3rd', '2027-01-03'],
    ['the 31st', '2026-12-31'],
    ['this afternoon', '2026-12-09'],
    ['book an oil change', undefined],
    ['I have a 2019 Honda Civic', undefined],
    ['my number is 555 123 4567', undefined],
  ])('%s -> %s', (text, expected) => {
    const day = read(text).day;
    expect(day?.kind === 'date' ? day.date : day).toBe(expected);
  });

  it('reads "the following monday" from the date under discussion, not from today', () => {
    // The appointment under discussion is on Wednesday, December 16: the Monday after it is the 21st.
    expect(read('can we push it to the following monday at 9', { anchor: '2026-12-16' })).toEqual({
      day: date('2026-12-21'),
      time: at(9),
      relative: true,
    });
    expect(read('the monday after that', { anchor: '2026-12-16' }).day).toEqual(date('2026-12-21'));
    // With nothing under discussion it is simply the next Monday.
    expect(read('the following monday').day).toEqual(date('2026-12-14'));
  });

  it('counts "a week later" and "push it back a week" from the date under discussion, keeping the time', () => {
    expect(read('a week later', { anchor: '2026-12-11' })).toEqual({ day: date('2026-12-18'), keepsTime: true, relative: true });
    expect(read('push it back a week', { anchor: '2026-12-16' })).toEqual({ day: date('2026-12-23'), keepsTime: true, relative: true });
    expect(read('same time next week', { anchor: '2026-12-16' })).toEqual({ day: date('2026-12-23'), keepsTime: true, relative: true });
    expect(read('the next day', { anchor: '2026-12-11' }).day).toEqual(date('2026-12-12'));
    expect(read('two days later at 10', { anchor: '2026-12-11' })).toEqual({ day: date('2026-12-13'), time: at(10), keepsTime: false, relative: true });
  });

  it('reads a week as a range to search', () => {
    expect(read('anything this week').day).toEqual({ kind: 'range', from: '2026-12-09', to: '2026-12-13', label: 'this week' });
    expect(read('sometime next week').day).toEqual({ kind: 'range', from: '2026-12-14', to: '2026-12-20', label: 'next week' });
  });

  it('searches two weeks ahead for "the earliest" with no day', () => {
    expect(read("ok what's the earliest you have")).toEqual({
      time: { kind: 'earliest' },
      day: { kind: 'range', from: '2026-12-09', to: '2026-12-22', label: 'earliest' },
    });
    expect(read('earliest on friday')).toEqual({ day: date('2026-12-11'), time: { kind: 'earliest' } });
  });
});

describe('understandWhen: times', () => {
  it.each<[string, boolean, WhenWish['time']]>([
    ['2 pm', false, at(14)],
    ['at 2:30pm', false, at(14, 30)],
    ['10 a.m.', false, at(10)],
    ['two pm', false, at(14)],
    ['at two', false, at(14)],
    ['ten thirty', false, at(10, 30)],
    ['half past two', false, at(14, 30)],
    ['14:00', false, at(14)],
    ['9:30', false, at(9, 30)],
    ['noon on monday', false, at(12)],
    ['at 12', false, at(12)],
    // A bare hour is read in shop hours: 1 to 6 afternoons, 7 to 11 mornings.
    ['at 3', false, at(15)],
    ['thursday at 10', false, at(10)],
    ['friday at 2:30', false, at(14, 30)],
    ["3 o'clock", false, at(15)],
    ['4', true, at(16)],
    ['how about 4', true, at(16)],
    ['is 4 ok', true, at(16)],
    ['4', false, undefined],
    ['around 3', false, { kind: 'around', time: { hour: 15, minute: 0 } }],
    ['do you have anything thursday around 3', false, { kind: 'around', time: { hour: 15, minute: 0 } }],
    ['about 2pm', false, { kind: 'around', time: { hour: 14, minute: 0 } }],
    ['3ish', false, { kind: 'around', time: { hour: 15, minute: 0 } }],
    ['at 3 or 4', false, { kind: 'either', times: [{ hour: 15, minute: 0 }, { hour: 16, minute: 0 }] }],
    ['10 or 11', true, { kind: 'either', times: [{ hour: 10, minute: 0 }, { hour: 11, minute: 0 }] }],
    ['what do you have friday afternoon', false, { kind: 'part', part: 'afternoon' }],
    ['tomorrow morning', false, { kind: 'part', part: 'morning' }],
    ['after lunch on friday', false, { kind: 'part', part: 'after_lunch' }],
    ['friday evening', false, { kind: 'part', part: 'evening' }],
    ['first thing tomorrow', false, { kind: 'earliest' }],
    ['the latest you have on friday', false, { kind: 'latest' }],
    ['the 15th', false, undefined],
    ['I need 2 tires', false, undefined],
    ['the second one', true, undefined],
  ])('%s (expecting a time: %s)', (text, expectingTime, expected) => {
    expect(read(text, { expectingTime }).time).toEqual(expected);
  });
});

describe('shop hours', () => {
  it('reads 1-6 as afternoon and 7-11 as morning', () => {
    expect([1, 3, 6, 7, 9, 11, 12].map((h) => shopHour(h, 0).hour)).toEqual([13, 15, 18, 7, 9, 11, 12]);
  });

  it('puts parts of the day in windows', () => {
    expect(partWindow('morning')).toEqual({ from: 0, to: 720 });
    expect(partWindow('after_lunch').from).toBe(780);
  });
});
