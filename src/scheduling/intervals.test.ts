import { describe, expect, it } from 'vitest';
import { clipIntervals, intervalContains, intervalsOverlap, mergeIntervals, subtractIntervals, type Interval } from './intervals.js';

/** Minutes since an arbitrary epoch keep the tables readable; [10, 20] means 10..20 minutes. */
const BASE = Date.UTC(2026, 0, 5);
const iv = ([start, end]: [number, number]): Interval => ({
  start: new Date(BASE + start * 60_000),
  end: new Date(BASE + end * 60_000),
});
const back = (list: Interval[]): Array<[number, number]> =>
  list.map((i) => [(i.start.getTime() - BASE) / 60_000, (i.end.getTime() - BASE) / 60_000]);

describe('mergeIntervals', () => {
  const cases: Array<{ name: string; input: Array<[number, number]>; expected: Array<[number, number]> }> = [
    { name: 'empty', input: [], expected: [] },
    { name: 'disjoint, unsorted', input: [[30, 40], [0, 10]], expected: [[0, 10], [30, 40]] },
    { name: 'overlapping', input: [[0, 20], [10, 30]], expected: [[0, 30]] },
    { name: 'touching', input: [[0, 10], [10, 20]], expected: [[0, 20]] },
    { name: 'nested', input: [[0, 60], [10, 20], [30, 40]], expected: [[0, 60]] },
    { name: 'chain', input: [[50, 70], [0, 20], [15, 55]], expected: [[0, 70]] },
    { name: 'drops empty and inverted', input: [[10, 10], [30, 20], [40, 50]], expected: [[40, 50]] },
  ];
  it.each(cases)('$name', ({ input, expected }) => {
    expect(back(mergeIntervals(input.map(iv)))).toEqual(expected);
  });

  it('drops invalid dates and does not alias its input', () => {
    const input = [iv([0, 10]), { start: new Date(NaN), end: new Date(BASE) }];
    const out = mergeIntervals(input);
    expect(back(out)).toEqual([[0, 10]]);
    expect(out[0]?.start).not.toBe(input[0]?.start);
  });
});

describe('clipIntervals', () => {
  const cases: Array<{ name: string; input: Array<[number, number]>; window: [number, number]; expected: Array<[number, number]> }> = [
    { name: 'inside', input: [[10, 20]], window: [0, 60], expected: [[10, 20]] },
    { name: 'spills both sides', input: [[-30, 90]], window: [0, 60], expected: [[0, 60]] },
    { name: 'spills start', input: [[-30, 10]], window: [0, 60], expected: [[0, 10]] },
    { name: 'outside', input: [[-30, 0], [60, 90]], window: [0, 60], expected: [] },
    { name: 'overlapping are merged', input: [[5, 25], [20, 30]], window: [0, 60], expected: [[5, 30]] },
    { name: 'empty window', input: [[0, 10]], window: [10, 10], expected: [] },
  ];
  it.each(cases)('$name', ({ input, window, expected }) => {
    expect(back(clipIntervals(input.map(iv), iv(window)))).toEqual(expected);
  });
});

describe('subtractIntervals', () => {
  const cases: Array<{ name: string; windows: Array<[number, number]>; busy: Array<[number, number]>; expected: Array<[number, number]> }> = [
    { name: 'nothing busy', windows: [[0, 60]], busy: [], expected: [[0, 60]] },
    { name: 'hole in the middle', windows: [[0, 60]], busy: [[20, 30]], expected: [[0, 20], [30, 60]] },
    { name: 'busy at the edges', windows: [[0, 60]], busy: [[-10, 10], [50, 70]], expected: [[10, 50]] },
    { name: 'busy covers all', windows: [[0, 60]], busy: [[-100, 100]], expected: [] },
    { name: 'overlapping and nested busy', windows: [[0, 100]], busy: [[10, 40], [20, 30], [35, 50]], expected: [[0, 10], [50, 100]] },
    { name: 'several windows', windows: [[0, 30], [60, 90]], busy: [[20, 70]], expected: [[0, 20], [70, 90]] },
    { name: 'busy between windows', windows: [[0, 30], [60, 90]], busy: [[30, 60]], expected: [[0, 30], [60, 90]] },
    { name: 'touching busy leaves nothing between', windows: [[0, 30]], busy: [[0, 10], [10, 30]], expected: [] },
  ];
  it.each(cases)('$name', ({ windows, busy, expected }) => {
    expect(back(subtractIntervals(windows.map(iv), busy.map(iv)))).toEqual(expected);
  });

  it('takes a single window too', () => {
    expect(back(subtractIntervals(iv([0, 60]), [iv([0, 30])]))).toEqual([[30, 60]]);
  });
});

describe('overlap and containment are half-open', () => {
  const cases: Array<{ a: [number, number]; b: [number, number]; overlap: boolean; contains: boolean }> = [
    { a: [0, 10], b: [10, 20], overlap: false, contains: false },
    { a: [0, 10], b: [9, 20], overlap: true, contains: false },
    { a: [0, 30], b: [10, 20], overlap: true, contains: true },
    { a: [0, 30], b: [0, 30], overlap: true, contains: true },
  ];
  it.each(cases)('$a vs $b', ({ a, b, overlap, contains }) => {
    expect(intervalsOverlap(iv(a), iv(b))).toBe(overlap);
    expect(intervalContains(iv(a), iv(b))).toBe(contains);
  });
});
