/**
 * What the agent may say about the customer's calendar invitation after a booking, a move or a
 * cancellation: only what is true. An invitation goes out when the event is on Google Calendar
 * (written now, with sendUpdates=all) and the customer has an email; while the write is pending it
 * is only on its way once the calendar is updated; the local calendar sends nothing.
 */
import type { ToolResult } from '../core/tool-port.js';
import type { AppointmentView } from '../scheduling/booking-service.js';
import { appointmentData } from './appointment-data.js';
import { ok } from './tool.js';
import type { ToolContext } from './tool.js';

/** `sent`: Google has the change and emailed it; `pending`: it will once the calendar is updated; `none`: no email goes out. */
export type Invitation = 'sent' | 'pending' | 'none';

export type InvitationChange = 'booked' | 'moved' | 'cancelled';

export function invitationOf(appointment: Pick<AppointmentView, 'calendarEvent'>, email: string | null | undefined): Invitation {
  if (!email || appointment.calendarEvent === 'none') return 'none';
  return appointment.calendarEvent === 'written' ? 'sent' : 'pending';
}

const SENTENCES: Record<InvitationChange, Record<Exclude<Invitation, 'none'>, string>> = {
  booked: {
    sent: 'A calendar invitation is on its way to your email.',
    pending: "We'll email you the calendar invitation once our calendar is updated.",
  },
  moved: {
    sent: 'An updated invitation is on its way to your email.',
    pending: "We'll email you the updated invitation once our calendar is updated.",
  },
  cancelled: {
    sent: "You'll get an email cancelling the calendar invitation.",
    pending: "We'll email you to cancel the calendar invitation once our calendar is updated.",
  },
};

/** The sentence to add to the tool's message, with a leading space, or '' when there is nothing to promise. */
export function invitationSentence(change: InvitationChange, invitation: Invitation): string {
  return invitation === 'none' ? '' : ` ${SENTENCES[change][invitation]}`;
}

/**
 * The result of moving or cancelling an existing appointment: its data and what the customer will
 * be emailed, with the matching invitation sentence after `message`.
 */
export async function changedAppointmentResult(
  context: ToolContext,
  appointment: AppointmentView,
  change: Exclude<InvitationChange, 'booked'>,
  message: string,
): Promise<ToolResult> {
  const invitation = invitationOf(appointment, await ownerEmailOf(context, appointment));
  return ok({ appointment: appointmentData(appointment), invitation }, `${message}${invitationSentence(change, invitation)}`);
}

/** The email of the appointment's customer, or undefined if it cannot be read (the message then promises nothing). */
async function ownerEmailOf(context: ToolContext, appointment: Pick<AppointmentView, 'vehicleId' | 'customerId'>): Promise<string | undefined> {
  const owner = await context.services.customers.vehicleOwnedBy(appointment.vehicleId, appointment.customerId).catch(() => undefined);
  return owner?.ownerEmail ?? undefined;
}
