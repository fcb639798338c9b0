/**
 * The calendar when no Google credentials are set: the database is the calendar. Busy time is
 * the active appointments themselves, and an appointment row is its own event, so writing an
 * event has nothing further to do and always succeeds.
 */
import type { Db } from '../db/client.js';
import { activeAppointmentsIn } from '../db/appointment-queries.js';
import type { CalendarProvider, TimeRange } from './calendar.js';

export function createLocalCalendar(db: Db): CalendarProvider {
  return {
    kind: 'local',
    async freeBusy(range: TimeRange): Promise<TimeRange[]> {
      const rows = await activeAppointmentsIn(db, range);
      return rows.map((row) => ({ start: row.startsAt, end: row.endsAt }));
    },
    async createEvent() {
      return { created: true };
    },
    async updateEvent() {},
    async deleteEvent() {},
  };
}
