/**
 * What one listed calendar event means for the appointment it belongs to, when staff may have
 * moved or deleted it in the calendar. Pure: the sync service reads the event and the row, asks
 * here, and does the I/O.
 *
 * The database is the system of record for the agent's own changes; the calendar shows the last
 * one the agent projected. So a staff edit wins only over a row whose latest change is already in
 * the calendar (sync state `synced`): while a newer change is pending, the event shows an older
 * state, and projecting the row will overwrite it. Echoes of the agent's own writes (same times,
 * or a deletion of an appointment it cancelled) change nothing.
 */
import type { ListedEvent } from '../calendar/calendar.js';

/** The parts of an appointment row the decision reads. */
export interface AppointmentState {
  status: 'scheduled' | 'cancelled' | 'completed' | 'no_show';
  startsAt: Date;
  endsAt: Date;
  calendarSyncState: 'pending' | 'synced';
}

export interface StaffEditInput {
  event: ListedEvent;
  /** The appointment whose event id this is; undefined when the event is not the agent's. */
  appointment: AppointmentState | undefined;
  /** The event sits in the calendar that holds this appointment (not a copy elsewhere). */
  inItsCalendar: boolean;
  now: Date;
}

export type StaffEditDecision =
  /** Not the agent's concern: another event, another calendar's copy, or history. */
  | { action: 'ignore'; reason: 'not_agent_event' | 'other_calendar' | 'not_scheduled' | 'already_over' }
  /** The database has a newer change the calendar has not seen; projecting it settles the event. */
  | { action: 'defer'; reason: 'local_change_pending' }
  /** Calendar and database agree (typically the agent's own write coming back). */
  | { action: 'in_step' }
  | { action: 'cancel' }
  | { action: 'move'; start: Date; end: Date }
  /** An edit that cannot be applied whatever the bay holds: flagged for staff, left as it is. */
  | { action: 'flag'; detail: string };

export const CANCELLED_IN_CALENDAR = 'cancelled in the calendar';

export function decideStaffEdit({ event, appointment, inItsCalendar, now }: StaffEditInput): StaffEditDecision {
  if (appointment === undefined) return { action: 'ignore', reason: 'not_agent_event' };
  if (!inItsCalendar) return { action: 'ignore', reason: 'other_calendar' };
  if (appointment.calendarSyncState === 'pending') return { action: 'defer', reason: 'local_change_pending' };

  if (event.status === 'cancelled') {
    // Cancelled, completed or no-show already: the deletion is the agent's own, or tidying up.
    if (appointment.status !== 'scheduled') return { action: 'in_step' };
    // Deleting old events is how staff tidy a calendar; it does not rewrite what happened.
    if (appointment.endsAt.getTime() <= now.getTime()) return { action: 'ignore', reason: 'already_over' };
    return { action: 'cancel' };
  }

  // A live event for an appointment that is no longer scheduled (restored from the bin, say) is
  // busy time like any staff event; it does not bring the appointment back.
  if (appointment.status !== 'scheduled') return { action: 'ignore', reason: 'not_scheduled' };
  if (event.allDay || event.start === undefined || event.end === undefined) {
    return { action: 'flag', detail: 'made an all-day event in the calendar; an appointment needs a start and an end time' };
  }
  if (event.start.getTime() === appointment.startsAt.getTime() && event.end.getTime() === appointment.endsAt.getTime()) {
    return { action: 'in_step' };
  }
  if (event.end.getTime() <= event.start.getTime()) {
    return { action: 'flag', detail: `given no duration in the calendar (${event.start.toISOString()})` };
  }
  return { action: 'move', start: event.start, end: event.end };
}
