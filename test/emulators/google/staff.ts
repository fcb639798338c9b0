/**
 * What the shop's staff do in the Google Calendar UI, applied straight to the store: no request, no
 * access check, but the same bookkeeping as an API write (a new `updated`, `sequence` up when the
 * time moves or the event is deleted, deletion as status 'cancelled'), so sync tokens and watch
 * channels see it exactly as they would see a change made in Google.
 */
import type { CalendarStore, StoredEvent } from './store.js';
import { HttpError } from './wire.js';

export interface StaffEvent {
  /** Default: an id Google would generate. */
  id?: string;
  summary?: string;
  description?: string;
  start: Date | string;
  end: Date | string;
  /** 'transparent' is "show as available": not busy in free/busy. */
  transparency?: 'opaque' | 'transparent';
  [field: string]: unknown;
}

export interface StaffActions {
  insertEvent(calendarId: string, event: StaffEvent): StoredEvent;
  /** Drags the event to a new time, keeping its time zone. */
  moveEvent(calendarId: string, eventId: string, start: Date | string, end: Date | string): StoredEvent;
  /** Edits fields with patch semantics (objects merge, null clears). */
  updateEvent(calendarId: string, eventId: string, patch: Record<string, unknown>): StoredEvent;
  deleteEvent(calendarId: string, eventId: string): StoredEvent;
}

export function createStaffActions(store: CalendarStore): StaffActions {
  // A staff helper used wrongly is a broken test: say which call, not Google's terse 404.
  function act<T>(what: string, calendarId: string, action: () => T): T {
    try {
      return action();
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      throw new Error(`staff ${what} on calendar ${calendarId}: ${error.status} ${error.reason ?? ''} ${error.message}`);
    }
  }

  return {
    insertEvent(calendarId, { start, end, ...fields }) {
      return act('insertEvent', calendarId, () => {
        const calendar = store.get(calendarId);
        const timeZone = calendar.timeZone;
        return store.insertEvent(calendar, {
          ...fields,
          start: { dateTime: iso(start), timeZone },
          end: { dateTime: iso(end), timeZone },
        });
      });
    },
    moveEvent(calendarId, eventId, start, end) {
      return act('moveEvent', calendarId, () => {
        const calendar = store.get(calendarId);
        const event = store.getEvent(calendar.id, eventId);
        return store.updateEvent(
          calendar,
          eventId,
          {
            start: { dateTime: iso(start), timeZone: event?.start?.timeZone ?? calendar.timeZone },
            end: { dateTime: iso(end), timeZone: event?.end?.timeZone ?? calendar.timeZone },
          },
          'patch',
        );
      });
    },
    updateEvent(calendarId, eventId, patch) {
      return act('updateEvent', calendarId, () => store.updateEvent(store.get(calendarId), eventId, patch, 'patch'));
    },
    deleteEvent(calendarId, eventId) {
      return act('deleteEvent', calendarId, () => store.cancelEvent(store.get(calendarId), eventId));
    },
  };
}

function iso(time: Date | string): string {
  return new Date(time).toISOString();
}
