import { z } from 'zod';
import { customerData, customerView, describeCustomerView } from './customer-view.js';
import { defineTool, fail, ok } from './tool.js';

/** Letters (any script), spaces, apostrophes, hyphens and periods, with at least one letter. */
const NAME = /^(?=.*\p{L})[\p{L}\p{M}' ’.-]+$/u;

const personName = (which: string) =>
  z
    .string()
    .trim()
    .min(1)
    .max(60)
    // A refinement, not .regex(): the pattern needs Unicode classes and a lookahead, which JSON
    // schema consumers (the LLM's strict mode) may not accept; the dispatcher still enforces it.
    .refine((name) => NAME.test(name), `a ${which} has only letters, spaces, apostrophes, hyphens and periods`)
    .describe(`The caller's ${which}, spelled as they gave it.`);

export const createCustomer = defineTool({
  name: 'create_customer',
  description:
    'Creates an account for the phone number the caller is calling from, when lookup_customer found none. ' +
    'Ask for the first and last name (and an email address, if they want to give one) first.',
  parameters: z.object({
    first_name: personName('first name'),
    last_name: personName('last name'),
    email: z.email().max(254).optional().describe('Email address, only if the caller gave one.'),
  }),
  filler: 'Let me set up your account.',
  timeoutMs: 5_000,
  mutates: true,
  async execute(args, context) {
    const created = await context.services.customers.createForCaller(context.caller, {
      firstName: args.first_name,
      lastName: args.last_name,
      email: args.email,
    });
    switch (created.kind) {
      case 'caller_number_unknown':
        return fail(
          'caller_number_unknown',
          "I can't see the number you're calling from, so I can't set up an account on this call. Someone from the shop can help with that.",
        );
      case 'created':
        return ok(
          { created: true, customer: customerData(created.customer), vehicles: [], upcoming_appointments: [] },
          `You're all set up, ${created.customer.firstName}. Your account is under the number you're calling from.`,
        );
      case 'exists': {
        const view = customerView(created.record);
        return ok(
          { created: false, ...view },
          describeCustomerView(view, `You already have an account with us under this number, ${view.customer.first_name}.`),
        );
      }
    }
  },
});
