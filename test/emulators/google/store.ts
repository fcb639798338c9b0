/**
 * The emulated account's calendars and their events, with a change log: every write (through the API
 * or as "staff" in the Google UI) takes the next change number, which is what sync tokens, etags and
 * push notifications are built on.
 */
import { randomBytes } from 'node:crypto';
import { eventInstant } from './time.js';
import type { EventTime } from './time.js';
import { HttpError, mergePatch, notFound } from './wire.js';

export type AccessRole = 'freeBusyReader' | 'reader' | 'writer' | 'owner';
const ROLE_RANK: Record<AccessRole, number> = { freeBusyReader: 0, reader: 1, writer: 2, owner: 3 };

export interface StoredCalendar {
  id: string;
  summary: string;
  timeZone: string;
  /** The account's role on the calendar, as calendarList reports it. */
  accessRole: AccessRole;
  primary: boolean;
}

export interface CalendarSpec {
  /** Default: a fresh `c_...@group.calendar.google.com`, like a secondary calendar Google creates. */
  id?: string;
  summary?: string;
  timeZone?: string;
  /** Default 'owner'. Below 'writer', event writes through the API get 403 requiredAccessLevel. */
  accessRole?: AccessRole;
}

/** An event as the emulator stores it (Google's Event resource, loosely typed). */
export interface StoredEvent {
  kind: 'calendar#event';
  id: string;
  etag: string;
  status: 'confirmed' | 'tentative' | 'cancelled';
  summary?: string;
  description?: string;
  start?: EventTime;
  end?: EventTime;
  attendees?: Array<{ email: string; responseStatus?: string }>;
  transparency?: 'opaque' | 'transparent';
  sequence: number;
  created: string;
  updated: string;
  [field: string]: unknown;
}

export interface CalendarStore {
  readonly primaryId: string;
  /** Keyed by calendar id, in creation order (the primary first). */
  readonly calendars: ReadonlyMap<string, StoredCalendar>;
  /** Keyed by `${calendarId}/${eventId}` with the real calendar id (never 'primary'). */
  readonly events: ReadonlyMap<string, StoredEvent>;
  addCalendar(spec: CalendarSpec, primary?: boolean): StoredCalendar;
  /** Resolves the 'primary' alias; undefined for an unknown calendar. */
  find(calendarId: string): StoredCalendar | undefined;
  /** Like find, but an unknown calendar is Google's 404 notFound. */
  get(calendarId: string): StoredCalendar;
  getEvent(calendarId: string, eventId: string): StoredEvent | undefined;
  /** The calendar's events (cancelled ones too) with the change number of their last write. */
  eventsOf(calendarId: string): Array<{ event: StoredEvent; changeNumber: number }>;
  insertEvent(calendar: StoredCalendar, resource: Record<string, unknown>): StoredEvent;
  updateEvent(calendar: StoredCalendar, eventId: string, body: Record<string, unknown>, mode: 'patch' | 'put'): StoredEvent;
  cancelEvent(calendar: StoredCalendar, eventId: string): StoredEvent;
  /**
   * events.move: the event changes organizer to `to`, keeping its id. The source keeps a cancelled
   * copy (so its incremental sync reports the event gone); a cancelled copy in `to` with that id (the
   * event was there before) is replaced, a live one is 409.
   */
  moveEvent(from: StoredCalendar, eventId: string, to: StoredCalendar): StoredEvent;
  /** The number of the latest change; a sync token taken now covers every change up to it. */
  latestChange(): number;
  /** Sync tokens carry their calendar's epoch; bumping it makes every older token 410. */
  syncEpoch(calendarId: string): number;
  invalidateSyncTokens(calendarId?: string): void;
  /** Called after every event write, with the real calendar id. */
  onEventChange(listener: (calendarId: string) => void): void;
}

const EVENT_ID = /^[a-v0-9]{5,1024}$/;
const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

export function createCalendarStore(primary: CalendarSpec & { id: string }): CalendarStore {
  const calendars = new Map<string, StoredCalendar>();
  const events = new Map<string, StoredEvent>();
  const changeNumbers = new Map<string, number>();
  const epochs = new Map<string, number>();
  const listeners: Array<(calendarId: string) => void> = [];
  let lastChange = 0;

  function save(calendarId: string, event: StoredEvent): StoredEvent {
    const key = `${calendarId}/${event.id}`;
    lastChange++;
    event.etag = `"${lastChange}"`;
    events.set(key, event);
    changeNumbers.set(key, lastChange);
    for (const listener of listeners) listener(calendarId);
    return event;
  }

  function existing(calendar: StoredCalendar, eventId: string): StoredEvent {
    const event = events.get(`${calendar.id}/${eventId}`);
    if (!event) throw notFound();
    return event;
  }

  const store: CalendarStore = {
    primaryId: primary.id,
    calendars,
    events,
    addCalendar(spec, isPrimary = false) {
      const id = spec.id ?? `c_${randomBytes(16).toString('hex')}@group.calendar.google.com`;
      if (calendars.has(id) || id === 'primary') throw new Error(`calendar ${id} already exists`);
      const calendar: StoredCalendar = {
        id,
        summary: spec.summary ?? id,
        timeZone: spec.timeZone ?? 'UTC',
        accessRole: spec.accessRole ?? 'owner',
        primary: isPrimary,
      };
      calendars.set(id, calendar);
      epochs.set(id, 0);
      return calendar;
    },
    find: (calendarId) => calendars.get(calendarId === 'primary' ? primary.id : calendarId),
    get(calendarId) {
      const calendar = store.find(calendarId);
      if (!calendar) throw notFound();
      return calendar;
    },
    getEvent(calendarId, eventId) {
      const calendar = store.find(calendarId);
      return calendar && events.get(`${calendar.id}/${eventId}`);
    },
    eventsOf(calendarId) {
      const prefix = `${calendarId}/`;
      return [...events].flatMap(([key, event]) =>
        key.startsWith(prefix) ? [{ event, changeNumber: changeNumbers.get(key) ?? 0 }] : [],
      );
    },
    insertEvent(calendar, resource) {
      const id = typeof resource.id === 'string' ? resource.id : randomEventId();
      if (!EVENT_ID.test(id)) throw new HttpError(400, 'invalid', 'Invalid resource id value.');
      // Ids stay taken after a delete: the event lives on with status 'cancelled'.
      if (events.has(`${calendar.id}/${id}`)) throw new HttpError(409, 'duplicate', 'The requested identifier already exists.');
      const now = new Date().toISOString();
      const event: StoredEvent = {
        ...resource,
        kind: 'calendar#event',
        id,
        etag: '',
        status: resource.status === 'tentative' ? 'tentative' : 'confirmed',
        htmlLink: `https://www.google.com/calendar/event?eid=${id}`,
        iCalUID: `${id}@google.com`,
        organizer: { email: calendar.id, self: true },
        creator: { email: calendar.id, self: true },
        sequence: 0,
        created: now,
        updated: now,
      };
      validateTimes(event);
      return save(calendar.id, event);
    },
    updateEvent(calendar, eventId, body, mode) {
      const before = existing(calendar, eventId);
      const base = mode === 'put' ? systemFields(before) : before;
      const after = mergePatch(base, body) as StoredEvent;
      validateTimes(after);
      after.id = before.id;
      after.kind = 'calendar#event';
      after.updated = new Date().toISOString();
      // A new time is a significant change to attendees (iCalendar SEQUENCE); a new title is not.
      after.sequence = sameTimes(before, after) ? before.sequence : before.sequence + 1;
      return save(calendar.id, after);
    },
    cancelEvent(calendar, eventId) {
      const before = existing(calendar, eventId);
      if (before.status === 'cancelled') throw new HttpError(410, 'deleted', 'Resource has been deleted');
      return save(calendar.id, {
        ...before,
        status: 'cancelled',
        sequence: before.sequence + 1,
        updated: new Date().toISOString(),
      });
    },
    moveEvent(from, eventId, to) {
      const before = existing(from, eventId);
      if (before.status === 'cancelled') throw notFound();
      if (from.id === to.id) return before;
      const there = events.get(`${to.id}/${eventId}`);
      if (there !== undefined && there.status !== 'cancelled') {
        throw new HttpError(409, 'duplicate', 'The requested identifier already exists.');
      }
      const updated = new Date().toISOString();
      save(from.id, { ...before, status: 'cancelled', updated });
      return save(to.id, { ...before, organizer: { email: to.id, self: true }, updated });
    },
    latestChange: () => lastChange,
    syncEpoch: (calendarId) => epochs.get(calendarId) ?? 0,
    invalidateSyncTokens(calendarId) {
      const ids = calendarId === undefined ? [...calendars.keys()] : [store.get(calendarId).id];
      for (const id of ids) epochs.set(id, (epochs.get(id) ?? 0) + 1);
    },
    onEventChange(listener) {
      listeners.push(listener);
    },
  };
  store.addCalendar(primary, true);
  return store;
}

/** 403 unless the account's role on the calendar is at least `role` (Google's requiredAccessLevel). */
export function requireRole(calendar: StoredCalendar, role: AccessRole): void {
  if (ROLE_RANK[calendar.accessRole] < ROLE_RANK[role]) {
    throw new HttpError(403, 'requiredAccessLevel', `You need to have ${role} access to this calendar.`);
  }
}

export function isAccessRole(value: string): value is AccessRole {
  return Object.hasOwn(ROLE_RANK, value);
}

export function hasRole(calendar: StoredCalendar, role: AccessRole): boolean {
  return ROLE_RANK[calendar.accessRole] >= ROLE_RANK[role];
}

/** Google generates event ids in base32hex (lowercase a-v and digits), the alphabet it accepts from clients. */
function randomEventId(): string {
  return [...randomBytes(26)].map((byte) => BASE32HEX[byte % 32]).join('');
}

function systemFields(event: StoredEvent): Record<string, unknown> {
  const { kind, id, etag, htmlLink, iCalUID, organizer, creator, sequence, created, updated } = event;
  return { kind, id, etag, status: 'confirmed', htmlLink, iCalUID, organizer, creator, sequence, created, updated };
}

function sameTimes(a: StoredEvent, b: StoredEvent): boolean {
  return JSON.stringify([a.start, a.end]) === JSON.stringify([b.start, b.end]);
}

function validateTimes(event: StoredEvent): void {
  if (!event.start || (!event.start.dateTime && !event.start.date)) throw new HttpError(400, 'required', 'Missing start time.');
  if (!event.end || (!event.end.dateTime && !event.end.date)) throw new HttpError(400, 'required', 'Missing end time.');
  const start = eventInstant(event.start);
  const end = eventInstant(event.end);
  if (!start || !end) throw new HttpError(400, 'invalid', 'Invalid start or end time.');
  if (end < start) throw new HttpError(400, 'timeRangeEmpty', 'The specified time range is empty.');
}
