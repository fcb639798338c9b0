import { z } from 'zod';
import { appointmentData } from './appointment-data.js';
import { spokenList, withArticle } from './spoken.js';
import { refuseUnlessCallerOwns } from './caller-access.js';
import { defineTool, ok } from './tool.js';

export const getUpcomingAppointments = defineTool({
  name: 'get_upcoming_appointments',
  description: "Lists the caller's own upcoming appointments, soonest first.",
  parameters: z.object({
    customer_id: z.string().min(1).describe('The customer id from lookup_customer.'),
  }),
  filler: 'Let me check your appointments.',
  timeoutMs: 5_000,
  async execute(args, context) {
    const refusal = await refuseUnlessCallerOwns(args.customer_id, context);
    if (refusal) return refusal;
    const upcoming = await context.services.booking.upcoming(args.customer_id);
    const spoken = upcoming.map((a) => `${withArticle(a.serviceType)} on ${a.when}`);
    const message =
      upcoming.length === 0
        ? "You don't have any upcoming appointments."
        : `You have ${upcoming.length === 1 ? 'one upcoming appointment' : `${upcoming.length} upcoming appointments`}: ${spokenList(spoken)}.`;
    return ok({ appointments: upcoming.map(appointmentData) }, message);
  },
});
