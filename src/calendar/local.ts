/**
 * The calendar when no Google credentials are set: the database is the calendar. An appointment
 * row is its own event, so writing an event has nothing further to do and always succeeds, and
 * there is no busy time beyond the appointments, which the booking service reads per bay itself
 * (returning them here as well would make one bay's booking block every bay).
 */
import type { CalendarProvider, FreeBusy } from './calendar.js';

export interface LocalCalendarOptions {
  /** SERVICE_BAYS (validated by config); default 1. */
  bays?: number;
}

export function createLocalCalendar(options: LocalCalendarOptions = {}): CalendarProvider {
  return {
    kind: 'local',
    bays: options.bays ?? 1,
    shopCalendarId: null,
    calendarIdFor: () => null,
    async freeBusy(): Promise<FreeBusy> {
      return { shop: [], bays: new Map() };
    },
    async createEvent() {
      return { created: true };
    },
    async updateEvent() {},
    async deleteEvent() {},
    async moveEvent() {
      return { moved: true };
    },
  };
}
