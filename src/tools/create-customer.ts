import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { SQLSTATE, sqlState } from '../db/client.js';
import { customers } from '../db/schema.js';
import { invalidateCustomer } from '../crm/customer-cache.js';
import { callerPhone, customerData, describeCustomerView, loadCustomerView } from './customer-view.js';
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
    'Ask for the first and last name (and an email if they want calendar invitations) first.',
  parameters: z.object({
    first_name: personName('first name'),
    last_name: personName('last name'),
    email: z.email().max(254).optional().describe('Email address for appointment invitations, only if the caller gave one.'),
  }),
  filler: 'Let me set up your account.',
  timeoutMs: 5_000,
  mutates: true,
  async execute(args, context) {
    const phone = callerPhone(context);
    if (phone === undefined) {
      // The account is keyed by the network-verified number; a number the caller says is not proof.
      return fail(
        'caller_number_unknown',
        "I can't see the number you're calling from, so I can't set up an account on this call. Someone from the shop can help with that.",
      );
    }
    const { db } = context.services;
    const existing = await db.query.customers.findFirst({ where: eq(customers.phone, phone), columns: { id: true } });
    if (existing === undefined) {
      try {
        const [row] = await db
          .insert(customers)
          .values({ phone, firstName: tidy(args.first_name), lastName: tidy(args.last_name), email: args.email ?? null })
          .returning();
        if (row === undefined) throw new Error('insert into customers returned no row');
        context.caller.verifiedCustomerIds.add(row.id);
        await invalidateCustomer(context.services.cache, row);
        return ok(
          { created: true, customer: customerData(row), vehicles: [], upcoming_appointments: [] },
          `You're all set up, ${row.firstName}. Your account is under the number you're calling from.`,
        );
      } catch (error) {
        // Another instance created it between our read and our insert (a retried call): use theirs.
        if (sqlState(error) !== SQLSTATE.uniqueViolation) throw error;
      }
    }

    const view = await loadCustomerView(context.services, phone);
    if (view === undefined) throw new Error('the customer with the caller number vanished after a unique conflict');
    context.caller.verifiedCustomerIds.add(view.customer.id);
    return ok(
      { created: false, ...view },
      describeCustomerView(view, `You already have an account with us under this number, ${view.customer.first_name}.`),
    );
  },
});

function tidy(name: string): string {
  return name.replace(/\s+/g, ' ').trim();
}
