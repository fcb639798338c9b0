import { createHash } from 'node:crypto';
import { isUuid } from '../core/ids.js';


/** Google's rule for client-supplied event ids: base32hex characters, 5 to 1024 of them. */
export const GOOGLE_EVENT_ID = /^[a-v0-9]{5,1024}$/;

/**
 * The Google Calendar event id for an appointment. Deterministic, so a retried or reconciled
 * insert hits 409 instead of making a second event. A UUID's hex digits already are base32hex, so
 * the id is the UUID without dashes (easy to trace back by hand). Any other id is hashed behind a
 * 'v' prefix, a letter hex never contains, so the two forms cannot collide.
 */
export function eventIdForAppointment(appointmentId: string): string {
  if (isUuid(appointmentId)) return appointmentId.replaceAll('-', '').toLowerCase();
  if (appointmentId.length === 0) throw new Error('eventIdForAppointment: empty appointment id');
  return `v${createHash('sha256').update(appointmentId, 'utf8').digest('hex')}`;
}

/**
 * The appointment id behind an event id of the UUID form, or undefined for any other id (events
 * staff made, which are busy time only). Only the UUID form can be reversed, and every appointment
 * id is a UUID; the caller still checks the appointment's recorded event id, since a staff event
 * could by chance have 32 hex characters for an id.
 */
export function appointmentIdForEventId(eventId: string): string | undefined {
  if (!/^[0-9a-f]{32}$/.test(eventId)) return undefined;
  return `${eventId.slice(0, 8)}-${eventId.slice(8, 12)}-${eventId.slice(12, 16)}-${eventId.slice(16, 20)}-${eventId.slice(20)}`;
}
