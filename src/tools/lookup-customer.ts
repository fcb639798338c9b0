import { z } from 'zod';
import { callerPhone, customerViewByPhone, describeCustomerView } from './customer-view.js';
import { normalizePhone } from '../crm/phone.js';
import { defineTool, fail, ok } from './tool.js';

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
    const own = callerPhone(context);
    let phone = own;
    if (args.phone_number !== undefined && args.phone_number !== '') {
      phone = normalizePhone(args.phone_number);
      if (phone === undefined) {
        return fail('invalid_phone_number', "I didn't catch that as a full phone number. Could you say it again, with the area code?");
      }
    }
    if (phone === undefined) {
      return fail(
        'phone_number_required',
        "I can't see the number you're calling from. What phone number is your account under, and what's the last name on it?",
      );
    }

    // Another number is a claim, not a fact: without the last name on it the answer is the same as
    // for a number with no account, so the tool cannot be used to learn who is a customer.
    const isOwn = phone === own;
    if (!isOwn && (args.last_name === undefined || args.last_name === '')) {
      return ok(
        { found: false, last_name_required: true },
        'To look up an account under another number, I also need the last name on the account.',
      );
    }
    const view = await customerViewByPhone(context.services, phone);
    if (view === undefined || (!isOwn && !sameName(view.customer.last_name, args.last_name ?? ''))) {
      return ok(
        { found: false },
        isOwn
          ? "I don't see an account for this phone number yet. I can set one up if you tell me your first and last name."
          : "I couldn't find an account for that number under that last name.",
      );
    }
    context.caller.verifiedCustomerIds.add(view.customer.id);
    return ok({ found: true, ...view }, describeCustomerView(view));
  },
});

/** Case, spacing and accents aside: speech-to-text writes "Pena" for Peña and "mcdonald" for McDonald. */
function sameName(stored: string, said: string): boolean {
  return foldName(stored) === foldName(said) && foldName(said) !== '';
}

function foldName(name: string): string {
  return name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLocaleLowerCase('en-US');
}
