/** Times on Google's wire: RFC 3339 with a mandatory offset in requests, zone offsets in replies. */
import { HttpError } from './wire.js';

export interface EventTime {
  dateTime?: string;
  date?: string;
  timeZone?: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

export function eventInstant(time: EventTime | undefined): Date | undefined {
  // The emulator treats an all-day date as UTC midnight: enough for free/busy tests.
  const text = time?.dateTime ?? (time?.date ? `${time.date}T00:00:00Z` : undefined);
  if (text === undefined) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A required RFC 3339 request field or parameter. */
export function parseTime(value: unknown, field: string): Date {
  if (typeof value !== 'string') throw new HttpError(400, 'required', `Missing ${field} parameter.`, {}, field);
  return parseOptionalTime(value, field) as Date;
}

export function parseOptionalTime(value: string | null | undefined, field: string): Date | undefined {
  if (value === null || value === undefined) return undefined;
  // RFC 3339 requires an offset; Google rejects a bare local time.
  if (!RFC3339.test(value)) throw new HttpError(400, 'badRequest', `Bad Request: invalid ${field}.`, {}, field);
  return new Date(value);
}

/** RFC 3339 with the zone's offset at that instant, as Google writes times in a requested zone. */
export function formatInZone(date: Date, timeZone: string): string {
  if (timeZone === 'UTC') return date.toISOString().replace('.000Z', 'Z');
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'longOffset',
  }).formatToParts(date);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  const offset = get('timeZoneName').replace('GMT', '') || '+00:00';
  return `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}${offset}`;
}
