/**
 * events.list: a full listing or, with `syncToken`, only what changed since that token (Google's
 * "Synchronize resources efficiently" guide and the events.list reference):
 * - pages of `maxResults` (default 250, never more than 2500) linked by `nextPageToken`; only the
 *   last page carries `nextSyncToken`, full listings included;
 * - incremental results always include deleted events (status 'cancelled'); without
 *   `showDeleted=true` they carry only their id and status (the Event.status reference: "incremental
 *   sync requests with showDeleted set to false will not return these details");
 * - `syncToken` cannot be combined with iCalUID, orderBy, privateExtendedProperty, q,
 *   sharedExtendedProperty, timeMin, timeMax or updatedMin (400);
 * - a token the server no longer honours answers 410 with reason fullSyncRequired.
 *
 * Pages without an explicit order follow the change log, and the page token remembers the last
 * change number served: an event written while a client is paging moves behind that point and is
 * served again, so a paged sync never misses a change that happened during it.
 */
import type { CalendarStore, StoredCalendar, StoredEvent } from './store.js';
import { eventInstant, parseOptionalTime } from './time.js';
import { HttpError, decodeToken, encodeToken } from './wire.js';

const DEFAULT_PAGE = 250;
const MAX_PAGE = 2500;
const NOT_WITH_SYNC_TOKEN = [
  'iCalUID',
  'orderBy',
  'privateExtendedProperty',
  'q',
  'sharedExtendedProperty',
  'timeMin',
  'timeMax',
  'updatedMin',
] as const;
/** Parameters that may change between the pages of one listing; every other one must stay the same. */
const PAGING_PARAMS = new Set(['pageToken', 'maxResults', 'alt', 'prettyPrint', 'fields']);

interface Filters {
  syncSince?: number;
  timeMin?: Date;
  timeMax?: Date;
  updatedMin?: Date;
  q?: string;
  iCalUID?: string;
  privateProps: Array<[string, string]>;
  sharedProps: Array<[string, string]>;
  showDeleted: boolean;
}

export function listEvents(store: CalendarStore, calendar: StoredCalendar, params: URLSearchParams): Record<string, unknown> {
  const syncToken = params.get('syncToken');
  if (syncToken !== null) {
    for (const name of NOT_WITH_SYNC_TOKEN) {
      if (params.has(name)) {
        throw new HttpError(400, 'invalid', `The syncToken parameter cannot be combined with ${name}.`, {}, name);
      }
    }
  }
  const orderBy = params.get('orderBy');
  if (orderBy !== null && orderBy !== 'startTime' && orderBy !== 'updated') {
    throw new HttpError(400, 'invalid', `Invalid value for orderBy: ${orderBy}`, {}, 'orderBy');
  }
  if (orderBy === 'startTime' && params.get('singleEvents') !== 'true') {
    // Ordering by start time is only defined once recurring events are expanded (singleEvents=true).
    throw new HttpError(400, 'badRequest', 'The requested ordering is not available for the particular query.', {}, 'orderBy');
  }
  const pageSize = pageSizeOf(params.get('maxResults'));
  const filters: Filters = {
    ...(syncToken === null ? {} : { syncSince: sinceOf(store, calendar, syncToken) }),
    timeMin: parseOptionalTime(params.get('timeMin'), 'timeMin'),
    timeMax: parseOptionalTime(params.get('timeMax'), 'timeMax'),
    updatedMin: parseOptionalTime(params.get('updatedMin'), 'updatedMin'),
    q: params.get('q')?.toLowerCase(),
    iCalUID: params.get('iCalUID') ?? undefined,
    privateProps: propertyFilters(params.getAll('privateExtendedProperty')),
    sharedProps: propertyFilters(params.getAll('sharedExtendedProperty')),
    showDeleted: params.get('showDeleted') === 'true',
  };
  if (filters.timeMin && filters.timeMax && filters.timeMax <= filters.timeMin) {
    throw new HttpError(400, 'timeRangeEmpty', 'The specified time range is empty.', {}, 'timeMax');
  }

  const fingerprint = fingerprintOf(calendar, params);
  const cursor = cursorOf(params.get('pageToken'), fingerprint);
  const byStart = orderBy === 'startTime';
  const matching = store
    .eventsOf(calendar.id)
    .filter(({ event, changeNumber }) => matches(event, changeNumber, filters))
    .sort(byStart ? compareStart : (a, b) => a.changeNumber - b.changeNumber);
  // The change-log order pages by "after change number n", the start-time order by position.
  const rest = byStart ? matching.slice(cursor) : matching.filter((m) => m.changeNumber > cursor);
  const page = rest.slice(0, pageSize);
  const more = rest.length > page.length;
  const last = page.at(-1);
  const nextCursor = byStart ? cursor + page.length : (last?.changeNumber ?? cursor);

  const hideDeletedDetails = !filters.showDeleted;
  return {
    kind: 'calendar#events',
    etag: `"${store.latestChange()}"`,
    summary: calendar.summary,
    updated: latestUpdate(store.eventsOf(calendar.id).map((e) => e.event)),
    timeZone: params.get('timeZone') ?? calendar.timeZone,
    accessRole: calendar.accessRole,
    defaultReminders: [],
    items: page.map(({ event }) => (event.status === 'cancelled' && hideDeletedDetails ? deletedStub(event) : event)),
    ...(more
      ? { nextPageToken: encodeToken({ f: fingerprint, c: nextCursor }) }
      : { nextSyncToken: encodeToken({ c: calendar.id, e: store.syncEpoch(calendar.id), n: store.latestChange() }) }),
  };
}

function matches(event: StoredEvent, changeNumber: number, f: Filters): boolean {
  if (f.syncSince !== undefined) return changeNumber > f.syncSince;
  // Deleted events show with showDeleted, and always when filtering by modification time.
  if (event.status === 'cancelled' && !f.showDeleted && f.updatedMin === undefined) return false;
  if (f.updatedMin && new Date(event.updated) < f.updatedMin) return false;
  // timeMin bounds an event's end and timeMax its start, both exclusive.
  const start = eventInstant(event.start);
  const end = eventInstant(event.end);
  if (f.timeMin && end && end <= f.timeMin) return false;
  if (f.timeMax && start && start >= f.timeMax) return false;
  if (f.iCalUID !== undefined && event.iCalUID !== f.iCalUID) return false;
  if (f.q !== undefined && !searchableText(event).includes(f.q)) return false;
  const props = event.extendedProperties as { private?: Record<string, string>; shared?: Record<string, string> } | undefined;
  if (f.privateProps.some(([k, v]) => props?.private?.[k] !== v)) return false;
  return !f.sharedProps.some(([k, v]) => props?.shared?.[k] !== v);
}

function sinceOf(store: CalendarStore, calendar: StoredCalendar, syncToken: string): number {
  const token = decodeToken(syncToken);
  // Any token the server cannot honour (expired, mangled, another calendar's) asks for a full sync.
  if (!token || token.c !== calendar.id || token.e !== store.syncEpoch(calendar.id) || typeof token.n !== 'number') {
    throw new HttpError(410, 'fullSyncRequired', 'Sync token is no longer valid, a full sync is required.', {}, 'syncToken');
  }
  return token.n;
}

function pageSizeOf(value: string | null): number {
  if (value === null) return DEFAULT_PAGE;
  const size = Number(value);
  if (!Number.isInteger(size) || size < 1) {
    throw new HttpError(400, 'invalid', `Invalid value '${value}'. Values must be within the range: [1, ${MAX_PAGE}]`, {}, 'maxResults');
  }
  return Math.min(size, MAX_PAGE);
}

function cursorOf(pageToken: string | null, fingerprint: string): number {
  if (pageToken === null) return 0;
  const token = decodeToken(pageToken);
  // A page token belongs to one query: a client that drops its syncToken (or changes a filter)
  // between pages would silently get a different result, so it is refused instead.
  if (!token || token.f !== fingerprint || typeof token.c !== 'number') {
    throw new HttpError(400, 'invalid', 'Invalid page token value.', {}, 'pageToken');
  }
  return token.c;
}

function fingerprintOf(calendar: StoredCalendar, params: URLSearchParams): string {
  const kept = [...params].filter(([name]) => !PAGING_PARAMS.has(name)).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([calendar.id, kept]);
}

function propertyFilters(values: string[]): Array<[string, string]> {
  return values.map((value) => {
    const at = value.indexOf('=');
    if (at < 1) throw new HttpError(400, 'invalid', `Invalid extended property constraint: ${value}`);
    return [value.slice(0, at), value.slice(at + 1)];
  });
}

function searchableText(event: StoredEvent): string {
  const people = [...(event.attendees ?? []), event.organizer] as Array<{ email?: string; displayName?: string } | undefined>;
  return [event.summary, event.description, event.location, ...people.flatMap((p) => [p?.email, p?.displayName])]
    .filter((text): text is string => typeof text === 'string')
    .join('\n')
    .toLowerCase();
}

function compareStart(a: { event: StoredEvent }, b: { event: StoredEvent }): number {
  const diff = (eventInstant(a.event.start)?.getTime() ?? 0) - (eventInstant(b.event.start)?.getTime() ?? 0);
  return diff !== 0 ? diff : a.event.id.localeCompare(b.event.id);
}

function deletedStub(event: StoredEvent): Record<string, unknown> {
  return { kind: event.kind, etag: event.etag, id: event.id, status: event.status };
}

function latestUpdate(events: StoredEvent[]): string {
  const latest = events.reduce((max, e) => (e.updated > max ? e.updated : max), '');
  return latest || new Date(0).toISOString();
}
