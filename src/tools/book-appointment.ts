import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { customers, vehicles } from '../db/schema.js';
import { appointmentData } from './appointment-data.js';
import { withArticle } from './spoken.js';
import { refuseUnlessCallerOwns } from './caller-access.js';
import { defineTool, ok } from './tool.js';

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
    const { appointment } = await context.services.booking.book(
      {
        customerId: args.customer_id,
        vehicleId: args.vehicle_id,
        scheduledAt: args.scheduled_at,
        serviceType: args.service_type,
        durationMinutes: args.duration_minutes,
        notes: args.notes,
      },
      // Scoped by call: a retried tool call (same id) returns the first booking instead of a second.
      { signal: context.signal, idempotencyKey: `${context.callId}:${context.toolCallId}` },
    );
    // Booked: a failed look-up of the details below only makes the confirmation shorter.
    const [owner] = await context.services.db
      .select({ email: customers.email, year: vehicles.year, make: vehicles.make, model: vehicles.model })
      .from(vehicles)
      .innerJoin(customers, eq(customers.id, vehicles.customerId))
      .where(and(eq(vehicles.id, appointment.vehicleId), eq(customers.id, appointment.customerId)))
      .catch(() => []);
    const car = owner ? ` for the ${owner.year} ${owner.make} ${owner.model}` : '';
    const invitation = owner?.email ? ' A calendar invitation is on its way to your email.' : '';
    return ok(
      { appointment: appointmentData(appointment), calendar_invitation_sent_to: owner?.email ?? null },
      `You're all set: ${withArticle(appointment.serviceType)}${car} on ${appointment.when}.${invitation}`,
    );
  },
});
