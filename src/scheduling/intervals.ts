/**
 * Set algebra on absolute time ranges. Ranges are half-open, [start, end): a booking ending at 10:00
 * and one starting at 10:00 do not collide, which is what a shop's calendar means.
 * Everything here works on instants (ms since the epoch), so it knows nothing of zones or DST.
 */
import type { TimeRange } from '../calendar/calendar.js';

export type Interval = TimeRange;

function isUsable(interval: Interval): boolean {
  const start = interval.start.getTime();
  const end = interval.end.getTime();
  // A NaN date would poison every comparison after it, so it is dropped like an empty range.
  return Number.isFinite(start) && Number.isFinite(end) && end > start;
}

/** Sorted, non-overlapping, non-touching copies; empty, inverted and invalid ranges are dropped. */
export function mergeIntervals(list: readonly Interval[]): Interval[] {
  const sorted = list
    .filter(isUsable)
    .map((i) => ({ start: i.start.getTime(), end: i.end.getTime() }))
    .sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: Array<{ start: number; end: number }> = [];
  for (const current of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && current.start <= last.end) {
      last.end = Math.max(last.end, current.end);
    } else {
      merged.push({ ...current });
    }
  }
  return merged.map((i) => ({ start: new Date(i.start), end: new Date(i.end) }));
}

/** The parts of `list` inside `window`, merged. */
export function clipIntervals(list: readonly Interval[], window: Interval): Interval[] {
  if (!isUsable(window)) return [];
  const lo = window.start.getTime();
  const hi = window.end.getTime();
  return mergeIntervals(
    list.map((i) => ({
      start: new Date(Math.max(i.start.getTime(), lo)),
      end: new Date(Math.min(i.end.getTime(), hi)),
    })),
  );
}

/** `windows` minus `busy`: the free ranges, sorted and merged. */
export function subtractIntervals(windows: Interval | readonly Interval[], busy: readonly Interval[]): Interval[] {
  const base = mergeIntervals(Array.isArray(windows) ? (windows as readonly Interval[]) : [windows as Interval]);
  const blocks = mergeIntervals(busy);
  const free: Interval[] = [];
  for (const window of base) {
    let cursor = window.start.getTime();
    const end = window.end.getTime();
    for (const block of blocks) {
      const blockStart = block.start.getTime();
      const blockEnd = block.end.getTime();
      if (blockEnd <= cursor) continue;
      if (blockStart >= end) break;
      if (blockStart > cursor) free.push({ start: new Date(cursor), end: new Date(blockStart) });
      cursor = Math.max(cursor, blockEnd);
      if (cursor >= end) break;
    }
    if (cursor < end) free.push({ start: new Date(cursor), end: new Date(end) });
  }
  return free;
}

/** True when the two half-open ranges share at least one instant. */
export function intervalsOverlap(a: Interval, b: Interval): boolean {
  return a.start.getTime() < b.end.getTime() && b.start.getTime() < a.end.getTime();
}

/** True when `inner` lies entirely within `outer`. */
export function intervalContains(outer: Interval, inner: Interval): boolean {
  return outer.start.getTime() <= inner.start.getTime() && inner.end.getTime() <= outer.end.getTime();
}
