/**
 * The shop calendar as the scheduling core sees it. The database is the system of record; a
 * calendar is a projection of it plus whatever else the shop blocks out (staff meetings, closures).
 * Every call takes a signal so a barge-in or a shutdown stops the request.
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

export interface CalendarProvider {
  readonly kind: 'google' | 'local';
  /** Busy intervals overlapping `range` (may overlap each other; the caller merges them). */
  freeBusy(range: TimeRange, options?: CalendarCallOptions): Promise<TimeRange[]>;
  /** Creates the event; an event that already exists with this id counts as success (`created: false`). */
  createEvent(event: CalendarEvent, options?: CalendarCallOptions): Promise<{ created: boolean }>;
  /** Moves/updates an existing event (PATCH semantics: only the given fields change). */
  updateEvent(
    eventId: string,
    patch: Partial<Omit<CalendarEvent, 'eventId'>>,
    options?: CalendarCallOptions,
  ): Promise<void>;
  /** Deletes the event; one that is already gone counts as success. */
  deleteEvent(eventId: string, options?: CalendarCallOptions): Promise<void>;
}
