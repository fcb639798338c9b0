/**
 * The tool contract. A tool is a declarative object: name and description for the LLM, zod
 * parameters (the JSON schema the LLM sees is generated from them), a filler phrase spoken while
 * it runs, a time limit, and `execute`, which gets validated arguments and a context carrying the
 * turn's abort signal, who is calling, the shared services and the call's own actions.
 */
import type { z } from 'zod';
import type { CallActions, ToolResult } from '../core/tool-port.js';
import type { CallerIdentity } from '../crm/caller.js';
import type { CustomerService } from '../crm/customer-service.js';
import type { CallOutcome } from '../db/call-records.js';
import type { BookingService } from '../scheduling/booking-service.js';
import type { BusinessRules } from '../scheduling/business-rules.js';

/** The result and call-action types are the tool port's (core), which these tools implement. */
export type { CallActions, ToolResult };

export function ok(data: unknown, message: string): ToolResult {
  return { success: true, data, message };
}

export function fail(error: string, message: string): ToolResult {
  return { success: false, error, message };
}

/** Who is on the line; the CRM decides which customers that lets them act for. */
export type { CallerIdentity };

/** Shared services every tool may use; built once per process in main.ts. Never a database handle. */
export interface ToolServices {
  booking: BookingService;
  customers: CustomerService;
  rules: BusinessRules;
  shopName: string;
  now: () => Date;
}

export interface ToolContext {
  signal: AbortSignal;
  /** The LLM's id for this call: unique per call; with callId it keys side effects (idempotencyKey). */
  toolCallId: string;
  /** The phone call's id (as in logs and call records), not the tool call's. */
  callId: string;
  caller: CallerIdentity;
  services: ToolServices;
  actions: CallActions;
}

/**
 * The idempotency key of a tool call's side effect, scoped by call: a retried tool call (same id)
 * gets the first result back instead of acting twice. The services scope it by operation.
 */
export function idempotencyKey(context: Pick<ToolContext, 'callId' | 'toolCallId'>): string {
  return `${context.callId}:${context.toolCallId}`;
}

export interface ToolDefinition<Schema extends z.ZodObject = z.ZodObject> {
  name: string;
  description: string;
  parameters: Schema;
  /**
   * Said while the tool runs ("Let me check the calendar."); null for tools that should not be
   * announced (ending the call). One phrase is spoken per batch of calls.
   */
  filler: string | null;
  timeoutMs: number;
  /** True when the tool changes records: such calls in one batch run one after another. */
  mutates: boolean;
  /**
   * What a successful call of this tool achieves for the call as a whole ('booked'); the call is
   * recorded with the last one achieved. A function decides from the result's data when success
   * alone does not say (a transfer that became a call-back achieved nothing).
   */
  outcome?: CallOutcome | ((data: unknown) => CallOutcome | undefined);
  /** True for the tool that ends the call: the turn gets no further model response once it is asked for. */
  endsCall?: boolean;
  execute(args: z.infer<Schema>, context: ToolContext): Promise<ToolResult>;
}

export const DEFAULT_FILLER = 'Sure, just a moment.';
export const DEFAULT_TOOL_TIMEOUT_MS = 8_000;

type ToolSpec<Schema extends z.ZodObject> = Omit<ToolDefinition<Schema>, 'filler' | 'timeoutMs' | 'mutates'> &
  Partial<Pick<ToolDefinition<Schema>, 'filler' | 'timeoutMs' | 'mutates'>>;

export function defineTool<Schema extends z.ZodObject>(spec: ToolSpec<Schema>): ToolDefinition<Schema> {
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(spec.name)) {
    throw new Error(`tool name "${spec.name}" is not a valid function name (a-z, A-Z, 0-9, _ and -, at most 64)`);
  }
  if (spec.outcome !== undefined && spec.mutates !== true) {
    throw new Error(`tool "${spec.name}" declares an outcome but does not change records (mutates: true)`);
  }
  return {
    filler: DEFAULT_FILLER,
    timeoutMs: DEFAULT_TOOL_TIMEOUT_MS,
    mutates: false,
    ...spec,
  };
}

/** A tool list as the dispatcher holds it, without each tool's argument type. */
export type AnyTool = ToolDefinition<z.ZodObject>;
