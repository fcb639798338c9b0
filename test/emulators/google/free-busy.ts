/**
 * freebusy.query over several calendars. The reference documents the shape: per-calendar `busy`
 * periods, per-calendar `errors` (notFound for a calendar that cannot be read, inside a 200), times
 * in the requested `timeZone` (UTC by default). It does not say whether periods are clipped to
 * [timeMin, timeMax] or merged; Google's answers in practice do both (an event running past timeMax
 * ends at timeMax, back-to-back events come back as one period), so the emulator does too and a
 * client cannot come to depend on per-event periods. Only opaque, non-cancelled events count.
 */
import type { CalendarStore } from './store.js';
import { eventInstant, formatInZone, parseTime } from './time.js';
import { HttpError, asObject } from './wire.js';

export interface Interval {
  start: Date;
  end: Date;
}

interface FreeBusyCalendar {
  busy: Array<{ start: string; end: string }>;
  errors?: Array<{ domain: string; reason: string }>;
}

export function freeBusy(store: CalendarStore, extraBusy: ReadonlyMap<string, Interval[]>, body: unknown): unknown {
  const request = asObject(body);
  const timeMin = parseTime(request.timeMin, 'timeMin');
  const timeMax = parseTime(request.timeMax, 'timeMax');
  if (timeMax <= timeMin) throw new HttpError(400, 'timeRangeEmpty', 'The specified time range is empty.', {}, 'timeMax');
  const timeZone = typeof request.timeZone === 'string' ? request.timeZone : 'UTC';
  const items = Array.isArray(request.items) ? (request.items as Array<{ id?: unknown }>) : [];

  const calendars: Record<string, FreeBusyCalendar> = {};
  for (const item of items) {
    // The answer is keyed by the id as asked ('primary' stays 'primary').
    const requestedId = String(item.id);
    const calendar = store.find(requestedId);
    if (!calendar) {
      calendars[requestedId] = { errors: [{ domain: 'global', reason: 'notFound' }], busy: [] };
      continue;
    }
    const busy: Interval[] = [...(extraBusy.get(calendar.id) ?? [])];
    for (const { event } of store.eventsOf(calendar.id)) {
      if (event.status === 'cancelled' || event.transparency === 'transparent') continue;
      const start = eventInstant(event.start);
      const end = eventInstant(event.end);
      if (start && end) busy.push({ start, end });
    }
    calendars[requestedId] = {
      busy: mergeIntervals(clip(busy, timeMin, timeMax)).map((b) => ({
        start: formatInZone(b.start, timeZone),
        end: formatInZone(b.end, timeZone),
      })),
    };
  }
  return {
    kind: 'calendar#freeBusy',
    timeMin: formatInZone(timeMin, 'UTC'),
    timeMax: formatInZone(timeMax, 'UTC'),
    calendars,
  };
}

function clip(intervals: Interval[], min: Date, max: Date): Interval[] {
  return intervals.flatMap(({ start, end }) =>
    start < max && end > min ? [{ start: start < min ? min : start, end: end > max ? max : end }] : [],
  );
}

function mergeIntervals(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a.start.getTime() - b.start.getTime());
  const merged: Interval[] = [];
  for (const next of sorted) {
    const last = merged.at(-1);
    if (last && next.start <= last.end) {
      if (next.end > last.end) last.end = next.end;
    } else {
      merged.push({ ...next });
    }
  }
  return merged;
}
