import { z } from 'zod';
import { appointmentData } from './appointment-data.js';
import { callerCustomerIds } from './caller-access.js';
import { changedAppointmentResult } from './invitation.js';
import { defineTool, idempotencyKey, ok } from './tool.js';

export const rescheduleAppointment = defineTool({
  name: 'reschedule_appointment',
  description:
    "Moves one of the caller's own appointments to a new start time. Check the new time with get_available_slots " +
    'first, and confirm it with the caller.',
  parameters: z.object({
    appointment_id: z.string().min(1).describe('The appointment id from lookup_customer or get_upcoming_appointments.'),
    new_datetime: z
      .string()
      .min(16)
      .max(40)
      .describe('New start time, ISO 8601 such as 2026-12-04T10:00 (shop time when no offset is given).'),
  }),
  filler: 'Let me move that for you.',
  timeoutMs: 8_000,
  mutates: true,
  outcome: 'rescheduled',
  async execute(args, context) {
    const { appointment, unchanged } = await context.services.booking.reschedule(
      { appointmentId: args.appointment_id, customerId: await callerCustomerIds(context), newScheduledAt: args.new_datetime },
      { signal: context.signal, idempotencyKey: idempotencyKey(context) },
    );
    if (unchanged) {
      return ok({ appointment: appointmentData(appointment), invitation: 'none' }, `That appointment is already on ${appointment.when}.`);
    }
    return changedAppointmentResult(context, appointment, 'moved', `Done. Your ${appointment.serviceType.toLowerCase()} is now on ${appointment.when}.`);
  },
});
