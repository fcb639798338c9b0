import { z } from 'zod';
import { appointmentData } from './appointment-data.js';
import { invitationOf, invitationSentence } from './invitation.js';
import { withArticle } from './spoken.js';
import { refuseUnlessCallerOwns } from './caller-access.js';
import { defineTool, idempotencyKey, ok } from './tool.js';

export const bookAppointment = defineTool({
  name: 'book_appointment',
  description:
    'Books a service appointment. Only for a time get_available_slots just returned, and only after the caller ' +
    'confirmed the service, the vehicle, the day and the time.',
  parameters: z.object({
    customer_id: z.string().min(1).describe('The customer id from lookup_customer or create_customer.'),
    vehicle_id: z.string().min(1).describe("The id of one of the customer's vehicles."),
    scheduled_at: z
      .string()
      .min(16)
      .max(40)
      .describe('Start time, ISO 8601 such as 2026-12-03T14:00 (shop time when no offset is given).'),
    service_type: z.string().min(2).max(100).describe('The service, e.g. "oil change", "brake service".'),
    duration_minutes: z.number().int().min(5).max(480).optional().describe('Only if the work needs a non-standard length.'),
    notes: z.string().max(500).optional().describe("Anything the technician should know, in the caller's words."),
  }),
  filler: 'Booking that for you now.',
  timeoutMs: 8_000,
  mutates: true,
  outcome: 'booked',
  async execute(args, context) {
    const refusal = await refuseUnlessCallerOwns(args.customer_id, context);
    if (refusal) return refusal;
    const { appointment, alreadyBooked } = await context.services.booking.book(
      {
        customerId: args.customer_id,
        vehicleId: args.vehicle_id,
        scheduledAt: args.scheduled_at,
        serviceType: args.service_type,
        durationMinutes: args.duration_minutes,
        notes: args.notes,
      },
      // Scoped by call: a retried tool call (same id) returns the first booking instead of a second.
      { signal: context.signal, idempotencyKey: idempotencyKey(context) },
    );
    // Booked: a failed look-up of the details below only makes the confirmation shorter.
    const owner = await context.services.customers
      .vehicleOwnedBy(appointment.vehicleId, appointment.customerId)
      .catch(() => undefined);
    const car = owner ? ` for the ${owner.year} ${owner.make} ${owner.model}` : '';
    if (alreadyBooked !== undefined) {
      return ok(
        { appointment: appointmentData(appointment), already_booked: true, invitation: 'none' },
        alreadyBookedMessage(appointment.serviceType, alreadyBooked.requestedServiceType, `${car} on ${appointment.when}`),
      );
    }
    // A lookup that failed leaves the email unknown: then no invitation is promised.
    const invitation = invitationOf(appointment, owner?.ownerEmail);
    return ok(
      { appointment: appointmentData(appointment), invitation },
      `You're all set: ${withArticle(appointment.serviceType)}${car} on ${appointment.when}.${invitationSentence('booked', invitation)}`,
    );
  },
});

/** The caller already has this car booked at that time (say, after a dropped call): say so, never "taken". */
function alreadyBookedMessage(bookedService: string, requestedService: string, carAndWhen: string): string {
  const booked = `You already have ${withArticle(bookedService)} booked${carAndWhen}`;
  if (bookedService.toLowerCase() === requestedService.toLowerCase()) return `${booked}, so you're all set.`;
  return (
    `${booked}, so I kept that booking rather than add ${withArticle(requestedService)} at the same time. ` +
    `If you'd rather have ${withArticle(requestedService)} instead, I can cancel it and book that.`
  );
}
