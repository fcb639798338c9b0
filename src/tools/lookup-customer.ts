import { z } from 'zod';
import { callerPhone } from '../crm/caller.js';
import { customerView, describeCustomerView } from './customer-view.js';
import { defineTool, fail, ok } from './tool.js';

const WHICH_VEHICLE = 'Which vehicle is this about?';

export const lookupCustomer = defineTool({
  name: 'lookup_customer',
  description:
    "Finds the caller's account (name, vehicles, upcoming appointments) by the number they are calling from. " +
    'Call it at the start of the call. Only if the caller says their account is under a different number, ' +
    'pass that number together with the last name on the account.',
  parameters: z.object({
    phone_number: z
      .string()
      .trim()
      .max(32)
      .optional()
      .describe("A different phone number than the one calling, as the caller said it. Omit to use the caller's own number."),
    last_name: z
      .string()
      .trim()
      .max(60)
      .optional()
      .describe('The last name on the account; required when phone_number is given.'),
  }),
  filler: 'Let me pull up your account.',
  timeoutMs: 5_000,
  async execute(args, context) {
    const found = await context.services.customers.lookup(context.caller, { phone: args.phone_number, lastName: args.last_name });
    switch (found.kind) {
      case 'invalid_phone':
        return fail('invalid_phone_number', "I didn't catch that as a full phone number. Could you say it again, with the area code?");
      case 'phone_required':
        return fail(
          'phone_number_required',
          "I can't see the number you're calling from. What phone number is your account under, and what's the last name on it?",
        );
      case 'last_name_required':
        return ok(
          { found: false, last_name_required: true },
          'To look up an account under another number, I also need the last name on the account.',
        );
      case 'not_found':
        return ok(
          { found: false },
          found.own
            ? "I don't see an account for this phone number yet. I can set one up if you tell me your first and last name."
            : callerPhone(context.caller) === undefined
              ? "I couldn't find an account for that number under that last name. If you're new, I can set one up under that number: just tell me your first and last name."
              : "I couldn't find an account for that number under that last name.",
        );
      case 'found': {
        const view = customerView(found.record);
        // With several cars, booking for "the" car would be a guess: the caller says which.
        if (view.vehicles.length > 1) {
          return ok({ found: true, ...view, ask_which_vehicle: true }, `${describeCustomerView(view)} ${WHICH_VEHICLE}`);
        }
        return ok({ found: true, ...view }, describeCustomerView(view));
      }
    }
  },
});
