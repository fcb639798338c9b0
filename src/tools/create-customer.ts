import { z } from 'zod';
import { callerPhone } from '../crm/caller.js';
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
    'Ask for the first and last name (and an email address, if they want to give one) first. ' +
    'Only when the number the caller is calling from is unknown, ask which number to put on the account and pass it as phone_number.',
  parameters: z.object({
    first_name: personName('first name'),
    last_name: personName('last name'),
    email: z.email().max(254).optional().describe('Email address, only if the caller gave one.'),
    phone_number: z
      .string()
      .max(32)
      .optional()
      .describe("The caller's phone number as they said it; only when the number they are calling from is unknown (ignored otherwise)."),
  }),
  filler: 'Let me set up your account.',
  timeoutMs: 5_000,
  mutates: true,
  async execute(args, context) {
    const created = await context.services.customers.createForCaller(context.caller, {
      firstName: args.first_name,
      lastName: args.last_name,
      email: args.email,
      phone: args.phone_number,
    });
    switch (created.kind) {
      case 'caller_number_unknown':
        return fail(
          'caller_number_unknown',
          "I can't see the number you're calling from. What phone number should I put on your account?",
        );
      case 'invalid_phone':
        return fail('invalid_phone', "That doesn't sound like a full phone number. Could you say it again, with the area code?");
      case 'number_taken':
        // Neutral on purpose: whether a number belongs to a customer is not told to whoever asks.
        return fail(
          'number_taken',
          "I can't set up a new account under that number. If you already have an account with us, tell me the last name on it and I'll look it up.",
        );
      case 'created':
        return ok(
          { created: true, customer: customerData(created.customer), vehicles: [], upcoming_appointments: [] },
          `You're all set up, ${created.customer.firstName}. Your account is under ${
            callerPhone(context.caller) === undefined ? 'the number you gave me' : "the number you're calling from"
          }.`,
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
