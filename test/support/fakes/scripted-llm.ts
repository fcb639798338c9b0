/**
 * A scripted LlmProvider for pipeline tests: each `stream` call takes the next script entry. It
 * behaves like the real adapter where the pipeline can tell: abort ends iteration by throwing
 * `signal.reason`, errors are thrown from the iteration (not from `stream()` itself), and a
 * response always ends with `done`.
 */
import { sleep } from '../../../src/core/abort.js';
import type { ChatMessage, LlmEvent, LlmProvider, LlmRequest, LlmTool } from '../../../src/providers/llm.js';

export type ScriptedLlmStep =
  | LlmEvent[]
  | ((request: LlmRequest) => LlmEvent[] | Promise<LlmEvent[]>)
  | Error;

export interface ScriptedLlmOptions {
  /** Wait before the first event (or before throwing an Error entry). */
  firstTokenDelayMs?: number;
  interEventDelayMs?: number;
}

export interface RecordedLlmRequest {
  /** Deep copies: later changes to the session's context do not rewrite history. */
  messages: ChatMessage[];
  tools: LlmTool[];
}

export interface ScriptedLlm extends LlmProvider {
  readonly requests: readonly RecordedLlmRequest[];
  /** Appends more steps to the script. */
  push(...steps: ScriptedLlmStep[]): void;
  /** Steps not consumed yet. */
  remaining(): number;
}

export function createScriptedLlm(script: ScriptedLlmStep[], options: ScriptedLlmOptions = {}): ScriptedLlm {
  const steps = [...script];
  const requests: RecordedLlmRequest[] = [];
  const firstTokenDelayMs = options.firstTokenDelayMs ?? 0;
  const interEventDelayMs = options.interEventDelayMs ?? 0;

  async function* stream(request: LlmRequest): AsyncGenerator<LlmEvent> {
    const { signal } = request;
    const number = requests.push({
      messages: structuredClone([...request.messages]),
      tools: structuredClone([...request.tools]),
    });
    const step = steps.shift();
    if (step === undefined) {
      // Fails loudly: a pipeline asking for more responses than the test planned is a bug.
      throw new Error(`scripted LLM: no scripted response for request #${number}`);
    }
    signal.throwIfAborted();
    if (firstTokenDelayMs > 0) await sleep(firstTokenDelayMs, signal);
    if (step instanceof Error) throw step;

    const events = withDone(typeof step === 'function' ? await step(request) : step);
    for (const [i, event] of events.entries()) {
      signal.throwIfAborted();
      if (i > 0 && interEventDelayMs > 0) await sleep(interEventDelayMs, signal);
      yield structuredClone(event);
    }
  }

  return {
    name: 'scripted',
    requests,
    stream,
    push(...more) {
      steps.push(...more);
    },
    remaining: () => steps.length,
  };
}

/** Scripts may leave out the final `done`; the real adapter always sends one. */
function withDone(events: LlmEvent[]): LlmEvent[] {
  if (events.some((e) => e.type === 'done')) return events;
  const calledTools = events.some((e) => e.type === 'tool_calls');
  return [...events, { type: 'done', finishReason: calledTools ? 'tool_calls' : 'stop' }];
}
