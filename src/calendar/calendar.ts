/**
 * The shop calendar as the scheduling core sees it. The database is the system of record; a
 * calendar is a projection of it plus whatever else the shop blocks out (staff meetings, closures).
 * A shop has service bays: one shop-wide calendar whose busy time blocks every bay, and optionally
 * a calendar per bay that its bookings are written to. Every call takes a signal so a barge-in or
 * a shutdown stops the request.
 */
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
