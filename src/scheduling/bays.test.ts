import { describe, expect, it } from 'vitest';
import { bayBusyFrom, freeBays, pickBay, type BayBusy } from './bays.js';
import type { Interval } from './intervals.js';

const range = (from: number, to: number): Interval => ({
  start: new Date(Date.UTC(2026, 11, 3, from)),
  end: new Date(Date.UTC(2026, 11, 3, to)),
});

describe('pickBay and freeBays', () => {
  const cases: Array<{ name: string; busy: BayBusy; want: Interval; free: number[] }> = [
    { name: 'one bay, free', busy: { shop: [], bays: [[]] }, want: range(10, 11), free: [1] },
    { name: 'one bay, busy', busy: { shop: [], bays: [[range(10, 11)]] }, want: range(10, 11), free: [] },
    { name: 'lowest free first', busy: { shop: [], bays: [[range(9, 12)], [], []] }, want: range(10, 11), free: [2, 3] },
    { name: 'touching blocks do not collide', busy: { shop: [], bays: [[range(9, 10), range(11, 12)]] }, want: range(10, 11), free: [1] },
    { name: 'partly busy is busy', busy: { shop: [], bays: [[range(10, 12)], [range(8, 10)]] }, want: range(9, 11), free: [] },
    { name: 'the shop calendar blocks all', busy: { shop: [range(10, 11)], bays: [[], [], []] }, want: range(10, 12), free: [] },
  ];
  it.each(cases)('$name', ({ busy, want, free }) => {
    expect(freeBays(want, busy)).toEqual(free);
    expect(pickBay(want, busy)).toBe(free[0]);
  });
});

describe('pickBay for a booking being moved', () => {
  const busy: BayBusy = { shop: [], bays: [[], [range(9, 10)], []] };
  it.each([
    { name: 'keeps its bay when free', prefer: 3, want: range(10, 11), bay: 3 },
    { name: 'takes the lowest free when its bay is busy', prefer: 2, want: range(9, 10), bay: 1 },
    { name: 'takes the lowest free when its bay is gone', prefer: 7, want: range(10, 11), bay: 1 },
  ])('$name', ({ prefer, want, bay }) => {
    expect(pickBay(want, busy, prefer)).toBe(bay);
  });
});

describe('bayBusyFrom', () => {
  it('puts each appointment in its own bay and each bay calendar in its bay', () => {
    const busy = bayBusyFrom({
      bayCount: 3,
      appointments: [
        { bay: 1, ...range(9, 10) },
        { bay: 3, ...range(10, 11) },
      ],
      shop: [range(12, 13)],
      calendarBays: new Map([[2, [range(14, 15)]]]),
    });
    expect(busy).toEqual({ shop: [range(12, 13)], bays: [[range(9, 10)], [range(14, 15)], [range(10, 11)]] });
  });

  it('counts an appointment in a bay the shop no longer has against the last bay', () => {
    const busy = bayBusyFrom({ bayCount: 2, appointments: [{ bay: 4, ...range(9, 10) }], shop: [] });
    expect(busy.bays).toEqual([[], [range(9, 10)]]);
  });

  it.each([0, 51, 1.5])('refuses a bay count of %s', (bayCount) => {
    expect(() => bayBusyFrom({ bayCount, appointments: [], shop: [] })).toThrow(/bay count/);
  });
});
