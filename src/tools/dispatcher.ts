/**
 * Runs the LLM's tool calls for one call session: validate every call, announce one filler
 * phrase, run the handlers (each with a signal and a time limit), turn errors into safe text and
 * hand each result back exactly once. Once a call has settled (by timeout or abort too), nothing
 * its handler does later can change the result.
 */
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import type { z } from 'zod';
import { AppError } from '../core/errors.js';
import type { DispatchedToolResult, DispatchOptions, DispatchOutcome, ToolCall, ToolResultInfo } from '../core/tool-port.js';
import { toOpenAiTools } from './openai-tools.js';
import { fail, type AnyTool, type ToolContext, type ToolResult } from './tool.js';

export interface ToolErrorInfo {
  toolCallId: string;
  toolName: string;
  /** 'handler': the tool failed unexpectedly; 'callback': one of the dispatch callbacks threw. */
  source: 'handler' | 'callback';
  error: unknown;
}

export interface DispatchContext extends DispatchOptions {
  /** What every tool call of the batch is given besides its signal and id: the call it serves. */
  base: Omit<ToolContext, 'signal' | 'toolCallId'>;
}

export interface ToolDispatcher {
  /** The `tools` of the chat completion request, computed once. */
  readonly tools: ChatCompletionFunctionTool[];
  /** Resolves with one result per call, in call order; never rejects because of a tool. */
  dispatch(calls: ReadonlyArray<ToolCall>, ctx: DispatchContext): Promise<DispatchedToolResult[]>;
}

export interface ToolDispatcherOptions {
  tools: readonly AnyTool[];
  /** For logging: handler errors that are not AppErrors, malformed results, throwing callbacks. */
  onError?: (info: ToolErrorInfo) => void;
}

export const INTERNAL_ERROR_MESSAGE = 'Sorry, something went wrong on our side.';
const MAX_TIMER_MS = 2_147_483_647;
const MAX_ISSUES_REPORTED = 3;

interface Settled {
  result: ToolResult;
  outcome: DispatchOutcome;
  startedAt: number;
}

type Planned =
  | { kind: 'settled'; call: ToolCall; result: ToolResult; outcome: DispatchOutcome; settle: (r: ToolResult) => void }
  | { kind: 'run'; call: ToolCall; tool: AnyTool; args: z.infer<z.ZodObject>; settle: (r: ToolResult) => void }
  | { kind: 'duplicate'; call: ToolCall; first: Promise<ToolResult> };

export function createToolDispatcher(options: ToolDispatcherOptions): ToolDispatcher {
  for (const tool of options.tools) {
    if (!Number.isFinite(tool.timeoutMs) || tool.timeoutMs <= 0 || tool.timeoutMs > MAX_TIMER_MS) {
      throw new Error(`tool "${tool.name}" has an invalid timeoutMs: ${tool.timeoutMs}`);
    }
  }
  const tools = toOpenAiTools(options.tools);
  const byName = new Map(options.tools.map((tool) => [tool.name, tool] as const));
  // Every call id this session has seen, with its first result: the LLM (or a retried request)
  // repeating an id must not book twice.
  const firstResults = new Map<string, Promise<ToolResult>>();

  const report = (info: ToolErrorInfo): void => {
    try {
      options.onError?.(info);
    } catch {
      // A broken logger must not break the call.
    }
  };

  function plan(call: ToolCall): Planned {
    const first = firstResults.get(call.id);
    if (first !== undefined) return { kind: 'duplicate', call, first };
    let settle!: (r: ToolResult) => void;
    firstResults.set(call.id, new Promise<ToolResult>((resolve) => (settle = resolve)));

    const tool = byName.get(call.name);
    if (tool === undefined) {
      const result = fail('unknown_tool', `There is no tool named ${call.name.slice(0, 64)}.`);
      return { kind: 'settled', call, result, outcome: 'unknown_tool', settle };
    }
    const validated = validate(tool, call);
    if ('result' in validated) return { kind: 'settled', call, ...validated, settle };
    return { kind: 'run', call, tool, args: validated.args, settle };
  }

  function validate(
    tool: AnyTool,
    call: ToolCall,
  ): { args: z.infer<z.ZodObject> } | { result: ToolResult; outcome: DispatchOutcome } {
    let value: unknown;
    if (call.arguments.trim() === '') {
      value = {};
    } else {
      try {
        value = JSON.parse(call.arguments);
      } catch {
        return { result: fail('invalid_arguments', 'Invalid arguments: not valid JSON.'), outcome: 'invalid' };
      }
    }
    try {
      const parsed = tool.parameters.safeParse(value);
      if (parsed.success) return { args: parsed.data };
      return { result: fail('invalid_arguments', describeIssues(parsed.error.issues, value)), outcome: 'invalid' };
    } catch (error) {
      // safeParse throws only on schema misuse (an async refinement): our bug, not the LLM's.
      report({ toolCallId: call.id, toolName: call.name, source: 'handler', error });
      return { result: fail('internal_error', INTERNAL_ERROR_MESSAGE), outcome: 'error' };
    }
  }

  function run(tool: AnyTool, args: z.infer<z.ZodObject>, call: ToolCall, ctx: DispatchContext): Promise<Settled> {
    const startedAt = performance.now();
    if (ctx.signal.aborted) {
      return Promise.resolve({ result: abortedResult(tool, false), outcome: 'aborted', startedAt });
    }
    return new Promise<Settled>((resolve) => {
      const controller = new AbortController();
      let settled = false;
      const finish = (result: ToolResult, outcome: DispatchOutcome): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        resolve({ result, outcome, startedAt });
        return true;
      };
      // Settle first, then abort the handler: whatever it rejects or resolves with afterwards is
      // dropped, and a handler that ignores its signal cannot hold the batch past its limit.
      const onAbort = (): void => {
        if (finish(abortedResult(tool, true), 'aborted')) controller.abort(ctx.signal.reason);
      };
      const timer = setTimeout(() => {
        if (finish(timeoutResult(tool), 'timeout')) {
          controller.abort(new DOMException(`tool ${tool.name} timed out after ${tool.timeoutMs} ms`, 'TimeoutError'));
        }
      }, tool.timeoutMs);
      ctx.signal.addEventListener('abort', onAbort, { once: true });

      callback(call, () => ctx.onStart?.(call));
      let handler: Promise<ToolResult>;
      try {
        handler = tool.execute(args, { ...ctx.base, signal: controller.signal, toolCallId: call.id });
      } catch (error) {
        handler = Promise.reject(error);
      }
      Promise.resolve(handler).then(
        (value) => {
          if (settled) return;
          const result = toJsonResult(value);
          if (result !== undefined) {
            finish(result, 'ok');
            return;
          }
          report({ toolCallId: call.id, toolName: call.name, source: 'handler', error: new Error('tool returned a result that is not a JSON ToolResult') });
          finish(fail('internal_error', INTERNAL_ERROR_MESSAGE), 'error');
        },
        (error: unknown) => {
          if (settled) return;
          if (error instanceof AppError) {
            finish(fail(error.code, error.safeMessage), 'error');
            return;
          }
          report({ toolCallId: call.id, toolName: call.name, source: 'handler', error });
          // A dependency's own deadline (fetch with AbortSignal.timeout) is still "too slow" to the caller.
          if (error instanceof Error && error.name === 'TimeoutError') finish(timeoutResult(tool), 'timeout');
          else finish(fail('internal_error', INTERNAL_ERROR_MESSAGE), 'error');
        },
      );
    });
  }

  /** The call outcome a successful result of `tool` stands for, if it declares one. */
  function declaredOutcome(tool: AnyTool, call: ToolCall, result: ToolResult): string | undefined {
    if (!result.success || tool.outcome === undefined) return undefined;
    if (typeof tool.outcome === 'string') return tool.outcome;
    try {
      return tool.outcome(result.data);
    } catch (error) {
      report({ toolCallId: call.id, toolName: call.name, source: 'handler', error });
      return undefined;
    }
  }

  /** Runs a dispatch callback; one that throws is reported, never allowed to break the batch. */
  function callback(call: ToolCall, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      report({ toolCallId: call.id, toolName: call.name, source: 'callback', error });
    }
  }

  async function dispatch(calls: ReadonlyArray<ToolCall>, ctx: DispatchContext): Promise<DispatchedToolResult[]> {
    const batchStartedAt = performance.now();
    const planned = calls.map(plan);

    const deliver = (
      call: ToolCall,
      result: ToolResult,
      outcome: DispatchOutcome,
      since: number,
      tool?: AnyTool,
    ): DispatchedToolResult => {
      const callOutcome = tool !== undefined && outcome === 'ok' ? declaredOutcome(tool, call, result) : undefined;
      const info: ToolResultInfo = {
        name: call.name,
        durationMs: Math.round(performance.now() - since),
        outcome,
        callOutcome,
        // Asked for is enough: the model meant to end the call even when its arguments were off.
        endsCall: byName.get(call.name)?.endsCall === true,
      };
      callback(call, () => ctx.onResult?.(call.id, result, info));
      return { id: call.id, name: call.name, result };
    };

    // One phrase per batch, from the first call that will actually run: several overlapping
    // "just a moment"s sound broken, and there is nothing to wait for when nothing runs.
    if (!ctx.signal.aborted) {
      const announcing = planned.find(
        (p): p is Extract<Planned, { kind: 'run' }> => p.kind === 'run' && p.tool.filler !== null && p.tool.filler.trim() !== '',
      );
      const filler = announcing?.tool.filler;
      if (announcing !== undefined && filler != null) callback(announcing.call, () => ctx.onFiller?.(filler));
    }

    let lastMutation: Promise<unknown> | undefined;
    const pending = planned.map((p): Promise<DispatchedToolResult> => {
      switch (p.kind) {
        case 'settled':
          p.settle(p.result);
          return Promise.resolve(deliver(p.call, p.result, p.outcome, batchStartedAt));
        case 'duplicate':
          return p.first.then((result) => deliver(p.call, result, 'duplicate', batchStartedAt));
        case 'run': {
          // Mutations run one after another in the LLM's order (book, then cancel the old one);
          // reads run alongside. The next mutation waits for the previous call to settle, not for
          // a handler that overran its limit and was cut loose.
          const start = (): Promise<Settled> => run(p.tool, p.args, p.call, ctx);
          let running: Promise<Settled>;
          if (p.tool.mutates) {
            running = lastMutation === undefined ? start() : lastMutation.then(start);
            lastMutation = running;
          } else {
            running = start();
          }
          return running.then(({ result, outcome, startedAt }) => {
            p.settle(result);
            return deliver(p.call, result, outcome, startedAt, p.tool);
          });
        }
      }
    });
    return Promise.all(pending);
  }

  return { tools, dispatch };
}

function timeoutResult(tool: AnyTool): ToolResult {
  return fail(
    'timeout',
    tool.mutates
      ? 'That is taking too long right now, so I cannot confirm it went through.'
      : 'That is taking too long right now. Please try again in a moment.',
  );
}

function abortedResult(tool: AnyTool, started: boolean): ToolResult {
  if (!started) return fail('aborted', 'That was cancelled before it started.');
  return fail('aborted', tool.mutates ? 'That was interrupted, so I cannot confirm it went through.' : 'That was cancelled.');
}

/**
 * The result as the LLM will read it (a JSON round trip: dates become strings, undefined goes),
 * or undefined when the handler broke the contract (not serialisable, not a ToolResult).
 */
function toJsonResult(value: unknown): ToolResult | undefined {
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(value) ?? 'null');
  } catch {
    return undefined;
  }
  if (!isRecord(copy) || typeof copy.message !== 'string') return undefined;
  if (copy.success === true) return { success: true, data: copy.data ?? null, message: copy.message };
  if (copy.success === false && typeof copy.error === 'string') {
    return { success: false, error: copy.error, message: copy.message };
  }
  return undefined;
}

/** "Invalid argument date: expected YYYY-MM-DD. Missing argument kind." */
function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string {
  const parts = issues.slice(0, MAX_ISSUES_REPORTED).map((issue) => {
    if (issue.path.length === 0) return sentence(`Invalid arguments: ${issue.message}`);
    const field = formatPath(issue.path);
    const key = issue.path[0];
    // zod words a missing enum as "invalid option", so look at the input rather than the code.
    const missing = issue.path.length === 1 && isRecord(input) && typeof key === 'string' && input[key] === undefined;
    return missing ? `Missing argument ${field}.` : sentence(`Invalid argument ${field}: ${issue.message}`);
  });
  const more = issues.length - MAX_ISSUES_REPORTED;
  if (more > 0) parts.push(`(${more} more problem${more === 1 ? '' : 's'}.)`);
  return parts.join(' ');
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : `${i === 0 ? '' : '.'}${String(segment)}`))
    .join('');
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
