import { z } from 'zod';
import { appointmentData } from './appointment-data.js';
import { callerCustomerIds } from './caller-access.js';
import { changedAppointmentResult } from './invitation.js';
import { defineTool, idempotencyKey, ok } from './tool.js';

export const cancelAppointment = defineTool({
  name: 'cancel_appointment',
  description: "Cancels one of the caller's own upcoming appointments, after the caller confirmed which one.",
  parameters: z.object({
    appointment_id: z.string().min(1).describe('The appointment id from lookup_customer or get_upcoming_appointments.'),
    reason: z.string().max(300).optional().describe("Why, in the caller's words, if they said."),
  }),
  filler: 'Let me take care of that.',
  timeoutMs: 8_000,
  mutates: true,
  outcome: 'cancelled',
  async execute(args, context) {
    const { appointment, unchanged } = await context.services.booking.cancel(
      { appointmentId: args.appointment_id, customerId: await callerCustomerIds(context), reason: args.reason },
      { signal: context.signal, idempotencyKey: idempotencyKey(context) },
    );
    if (unchanged) {
      return ok({ appointment: appointmentData(appointment), invitation: 'none' }, `That appointment on ${appointment.when} was already cancelled.`);
    }
    return changedAppointmentResult(context, appointment, 'cancelled', `Your ${appointment.serviceType.toLowerCase()} on ${appointment.when} is cancelled.`);
  },
});
