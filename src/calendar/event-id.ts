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
