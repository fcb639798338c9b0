/**
 * Which customers the caller may act for: the record with the caller's verified number, plus any
 * verified during the call (looked up with a matching last name, or created on this call). Tools
 * never trust a customer id just because the LLM supplied it.
 */
import { eq } from 'drizzle-orm';
import { customers } from '../db/schema.js';
import type { ToolContext, ToolResult } from './tool.js';
import { fail } from './tool.js';

export async function callerCustomerIds(context: ToolContext): Promise<Set<string>> {
  const ids = new Set(context.caller.verifiedCustomerIds);
  if (context.caller.phoneNumber !== undefined) {
    const own = await context.services.db.query.customers.findFirst({
      where: eq(customers.phone, context.caller.phoneNumber),
      columns: { id: true },
    });
    if (own !== undefined) {
      ids.add(own.id);
      context.caller.verifiedCustomerIds.add(own.id);
    }
  }
  return ids;
}

/** undefined when the caller may act for `customerId`; otherwise the refusal to return. */
export async function refuseUnlessCallerOwns(customerId: string, context: ToolContext): Promise<ToolResult | undefined> {
  if ((await callerCustomerIds(context)).has(customerId)) return undefined;
  return fail(
    'not_your_account',
    "I can only help with the account that belongs to this phone number. Let me look up your account first.",
  );
}
