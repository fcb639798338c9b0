import { describe, expect, it } from 'vitest';
import type { DaySlots } from './dialogue.js';
import { chooseSlots } from './offers.js';
import type { OfferRequest } from './offers.js';

/** A day of open starts, as get_available_slots results are read. */
function day(date: string, label: string, times: string[]): DaySlots {
  return {
    date,
    dateLabel: label,
    message: '',
    slots: times.map((t) => ({ start: `${date}T${t}:00-05:00`, date, minutes: Number(t.slice(0, 2)) * 60 + Number(t.slice(3)) })),
  };
}
const FRIDAY = day('2026-12-11', 'Friday, December 11', ['09:00', '09:30', '10:00', '10:30', '11:00', '11:30', '13:00', '13:30', '14:00', '16:30']);
const MONDAY = day('2026-12-14', 'Monday, December 14', ['10:00', '15:00']);

function choose(request: Partial<OfferRequest>) {
  return chooseSlots({ days: [FRIDAY], wish: undefined, more: undefined, seen: new Set(), rangeLabel: undefined, ...request });
}
const times = (choice: ReturnType<typeof chooseSlots>) => (choice.kind === 'offer' ? choice.offered.map((s) => s.minutes / 60) : choice.kind);

describe('chooseSlots', () => {
  it('offers the first times of a day when nothing narrower was asked', () => {
    expect(choose({})).toMatchObject({ kind: 'offer', text: 'On Friday, December 11 I have 9 AM, 9:30 AM, and 10 AM open, and later times too.' });
  });

  it('takes an open time asked for, and offers the nearest when it is not open', () => {
    expect(choose({ wish: { kind: 'at', time: { hour: 13, minute: 30 } } })).toMatchObject({ kind: 'chosen', slot: { minutes: 810 } });
    expect(times(choose({ wish: { kind: 'at', time: { hour: 12, minute: 30 } } }))).toEqual([11.5, 13, 13.5]);
  });

  it('keeps to the part of the day, and says so when it has nothing there', () => {
    expect(times(choose({ wish: { kind: 'part', part: 'afternoon' } }))).toEqual([13, 13.5, 14]);
    const evening = choose({ days: [MONDAY], wish: { kind: 'part', part: 'evening' } });
    expect(evening).toMatchObject({ kind: 'offer', text: expect.stringContaining("I don't have anything in the evening on Monday, December 14.") });
  });

  it('takes the one open time of "3 or 4", and offers both when both are open', () => {
    expect(choose({ wish: { kind: 'either', times: [{ hour: 14, minute: 0 }, { hour: 15, minute: 0 }] } })).toMatchObject({ kind: 'chosen', slot: { minutes: 840 } });
    expect(times(choose({ wish: { kind: 'either', times: [{ hour: 9, minute: 0 }, { hour: 10, minute: 0 }] } }))).toEqual([9, 10]);
  });

  it('suggests the earliest and the latest, so a plain yes takes them', () => {
    expect(choose({ wish: { kind: 'earliest' } })).toMatchObject({ suggested: { minutes: 540 } });
    expect(choose({ wish: { kind: 'latest' } })).toMatchObject({ suggested: { minutes: 990 }, text: 'The latest I have on Friday, December 11 is 4:30 PM. Before that I have 1:30 PM and 2 PM.' });
  });

  it('never offers the same times twice when asked for more', () => {
    const seen = new Set(FRIDAY.slots.slice(0, 3).map((s) => s.start));
    expect(times(choose({ more: 'next', seen }))).toEqual([10.5, 11, 11.5]);
    expect(times(choose({ more: 'earlier', seen }))).toBe('nothing');
    const all = new Set(FRIDAY.slots.map((s) => s.start));
    expect(choose({ more: 'next', seen: all })).toEqual({
      kind: 'nothing',
      text: "I don't have anything on Friday, December 11 besides the times I mentioned.",
    });
  });

  it('offers the first opening of each day for a range', () => {
    expect(choose({ days: [FRIDAY, MONDAY], rangeLabel: 'next week' })).toMatchObject({
      text: 'Next week I have Friday, December 11 at 9 AM and Monday, December 14 at 10 AM open.',
    });
  });
});
