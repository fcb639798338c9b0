/**
 * The shop calendar as the scheduling core sees it. The database is the system of record; a
 * calendar is a projection of it plus whatever else the shop blocks out (staff meetings, closures).
 * A shop has service bays: one shop-wide calendar whose busy time blocks every bay, and optionally
 * a calendar per bay that its bookings are written to. Every call takes a signal so a barge-in or
 * a shutdown stops the request.
 */
import { ProviderError } from '../core/errors.js';

export interface TimeRange {
  start: Date;
  end: Date;
}

export interface CalendarEvent {
  /** Deterministic id derived from the appointment id, so a retried insert can never make two events. */
  eventId: string;
  summary: string;
  description: string;
  start: Date;
  end: Date;
  /** IANA zone the event is shown in (the shop's). */
  timeZone: string;
  attendeeEmail?: string | undefined;
}

export interface CalendarCallOptions {
  signal?: AbortSignal | undefined;
  /** Total time the call may spend across retries, in ms. Callers waiting on the phone use ~2000. */
  budgetMs?: number | undefined;
}

/**
 * Busy time, as one free/busy request answers it for the shop's calendars. Bays without a calendar
 * of their own (the local calendar, or Google with every bay in the shop calendar) are absent from
 * `bays`: the database's appointments are their busy time.
 */
export interface FreeBusy {
  /** The shop-wide calendar's busy time: it blocks every bay (staff meetings, closures). */
  shop: TimeRange[];
  /** Busy time of each bay's own calendar, by bay number (1 = the first). */
  bays: Map<number, TimeRange[]>;
}

export interface CalendarProvider {
  readonly kind: 'google' | 'local';
  /** How many service bays the shop has (1 to 50). */
  readonly bays: number;
  /** The shop-wide calendar, or null when there is no calendar to write to (local). */
  readonly shopCalendarId: string | null;
  /**
   * The calendar a bay's events are written to: the bay's own, or the shop calendar when the bays
   * share it; null for the local calendar. A bay beyond the configured ones (the count was lowered)
   * gets the shop calendar.
   */
  calendarIdFor(bay: number): string | null;
  /** Busy time overlapping `range` in the shop calendar and every bay calendar, in one request (may overlap; the caller merges). */
  freeBusy(range: TimeRange, options?: CalendarCallOptions): Promise<FreeBusy>;
  /** Creates the event; an event that already exists with this id counts as success (`created: false`). */
  createEvent(calendarId: string, event: CalendarEvent, options?: CalendarCallOptions): Promise<{ created: boolean }>;
  /** Moves/updates an existing event (PATCH semantics: only the given fields change). */
  updateEvent(
    calendarId: string,
    eventId: string,
    patch: Partial<Omit<CalendarEvent, 'eventId'>>,
    options?: CalendarCallOptions,
  ): Promise<void>;
  /** Deletes the event; one that is already gone counts as success. */
  deleteEvent(calendarId: string, eventId: string, options?: CalendarCallOptions): Promise<void>;
  /**
   * Moves the event to another calendar, keeping its id and attendees (a booking changing bays).
   * `moved: false` when the event is not in `from` (never written there, or already moved).
   */
  moveEvent(eventId: string, from: string, to: string, options?: CalendarCallOptions): Promise<{ moved: boolean }>;
}

// --- staff edits: reading a calendar's changes -----------------------------------------------

/** One event as a change listing reports it (only what deciding about a staff edit needs). */
export interface ListedEvent {
  eventId: string;
  /** 'cancelled' is a deleted event. */
  status: 'confirmed' | 'tentative' | 'cancelled';
  /** Undefined for a deleted event's stub, and for an all-day event (see `allDay`). */
  start?: Date | undefined;
  end?: Date | undefined;
  /** The event has dates, not times (staff turned it into an all-day event). */
  allDay: boolean;
}

export interface ChangePage {
  events: ListedEvent[];
  /** More of this listing follows: pass it back as `pageToken` with the same `syncToken`. */
  nextPageToken?: string | undefined;
  /** On the last page: what the next incremental listing starts from. */
  nextSyncToken?: string | undefined;
}

export interface WatchRequest {
  /** Our id for the channel (a UUID); notifications carry it back in X-Goog-Channel-ID. */
  channelId: string;
  /** https address Google POSTs notifications to. */
  address: string;
  /** Echoed in X-Goog-Channel-Token, so a notification can be told from a forgery. */
  token: string;
  /** Requested lifetime; the calendar may grant less (the answer says). */
  ttlMs?: number | undefined;
}

export interface WatchChannel {
  resourceId: string;
  expiresAt: Date;
}

/** The sync token is too old (Google answers 410 Gone): list everything again without it. */
export class SyncTokenExpiredError extends ProviderError {
  constructor(provider: string, calendarId: string) {
    super(provider, `sync token for calendar ${calendarId} is no longer valid; a full sync is required`, {
      status: 410,
      retryable: false,
    });
  }
}

/**
 * What a calendar offers beyond CalendarProvider so the database can follow staff edits: an
 * incremental change listing and push notifications. Google has both; the local calendar, which
 * is the database itself, needs neither.
 */
export interface CalendarChangeFeed {
  /**
   * One page of the calendar's events, deleted ones included: everything when `syncToken` is
   * undefined, else only what changed since it. Throws SyncTokenExpiredError when the token is gone.
   */
  listChanges(
    calendarId: string,
    page: { syncToken?: string | undefined; pageToken?: string | undefined; pageSize?: number | undefined },
    options?: CalendarCallOptions,
  ): Promise<ChangePage>;
  /** The event as the calendar holds it now; undefined when it was never there. */
  getEvent(calendarId: string, eventId: string, options?: CalendarCallOptions): Promise<ListedEvent | undefined>;
  /** Opens a push channel on the calendar's events. */
  watch(calendarId: string, request: WatchRequest, options?: CalendarCallOptions): Promise<WatchChannel>;
  /** Closes a channel; one that is already gone counts as success. */
  stopChannel(channel: { channelId: string; resourceId: string }, options?: CalendarCallOptions): Promise<void>;
}

export function hasChangeFeed<T extends CalendarProvider>(calendar: T): calendar is T & CalendarChangeFeed {
  const candidate = calendar as Partial<CalendarChangeFeed>;
  return (
    typeof candidate.listChanges === 'function' &&
    typeof candidate.getEvent === 'function' &&
    typeof candidate.watch === 'function' &&
    typeof candidate.stopChannel === 'function'
  );
}
