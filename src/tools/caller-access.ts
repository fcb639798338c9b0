/**
 * The tools' side of caller verification: the CRM service decides which customers the caller may
 * act for (their own number's record, plus any verified during the call); this turns "no" into the
 * answer the caller hears. Tools never trust a customer id just because the LLM supplied it.
 */
import type { ToolContext, ToolResult } from './tool.js';
import { fail } from './tool.js';

export function callerCustomerIds(context: ToolContext): Promise<Set<string>> {
  return context.services.customers.customerIdsOf(context.caller);
}

/** undefined when the caller may act for `customerId`; otherwise the refusal to return. */
export async function refuseUnlessCallerOwns(customerId: string, context: ToolContext): Promise<ToolResult | undefined> {
  if (await context.services.customers.canActFor(context.caller, customerId)) return undefined;
  return fail(
    'not_your_account',
    "I can only help with the account that belongs to this phone number. Let me look up your account first.",
  );
}
