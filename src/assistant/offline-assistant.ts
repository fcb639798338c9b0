/**
 * The offline mode's "LLM": a deterministic, rule-based scheduling assistant, no model and no
 * network. Each request replays the conversation into a typed state (conversation-state.ts),
 * decides the next step (planner.ts), and either asks the caller something or calls the same
 * tools a real model would, phrasing its replies from their results. It exists so the whole
 * pipeline (tools, database, calendar, speech) can be tried with no accounts; it understands
 * scheduling requests, not open conversation.
 */
import { randomUUID } from 'node:crypto';
import type { LlmEvent, LlmProvider, LlmRequest } from '../providers/llm.js';
import { replayConversation } from './conversation-state.js';
import type { Clock, ConversationState } from './dialogue.js';
import { OFFLINE_HELP, planNextStep } from './planner.js';

export { OFFLINE_HELP } from './planner.js';

export interface OfflineAssistantOptions {
  /** The shop's IANA zone: "tomorrow" and "2 pm" are read there. */
  timeZone: string;
  now: () => Date;
  /** Tool call ids; random by default (they key idempotent side effects, so they must not repeat). */
  newToolCallId?: () => string;
}

export function createOfflineAssistant(options: OfflineAssistantOptions): LlmProvider {
  const newToolCallId = options.newToolCallId ?? (() => `call_offline_${randomUUID().replace(/-/g, '').slice(0, 20)}`);
  return {
    name: 'offline-assistant',
    stream(request) {
      return respond(request, options, newToolCallId);
    },
  };
}

/** The state a conversation replays to; the planner recomputes each question the caller answered. */
export function conversationState(messages: LlmRequest['messages'], clock: Clock): ConversationState {
  return replayConversation(messages, clock, (state) => planNextStep(state).phase);
}

async function* respond(
  request: LlmRequest,
  options: OfflineAssistantOptions,
  newToolCallId: () => string,
): AsyncGenerator<LlmEvent> {
  const throwIfAborted = (): void => {
    if (request.signal.aborted) throw request.signal.reason;
  };
  throwIfAborted();
  const state = conversationState(request.messages, { now: options.now(), zone: options.timeZone });
  const offered = new Set(request.tools.map((t) => t.function.name));
  const step = planNextStep(state);
  // A tool the session did not offer is not called: the caller hears the help sentence instead.
  const calls = step.calls.filter((c) => offered.has(c.name));
  const text = calls.length < step.calls.length && step.text === '' ? OFFLINE_HELP : step.text;
  for (const piece of splitForStreaming(text)) {
    // Yield between pieces like a model's stream, so an abort lands between them.
    await Promise.resolve();
    throwIfAborted();
    yield { type: 'text', delta: piece };
  }
  if (calls.length > 0) {
    throwIfAborted();
    yield {
      type: 'tool_calls',
      calls: calls.map((c) => ({ id: newToolCallId(), name: c.name, arguments: JSON.stringify(c.arguments) })),
    };
  }
  yield { type: 'done', finishReason: calls.length > 0 ? 'tool_calls' : 'stop' };
}

/** A reply in a few deltas (word groups, spaces kept), as a streaming model would send it. */
export function splitForStreaming(text: string, pieces = 3): string[] {
  if (text === '') return [];
  const words = text.match(/\S+\s*/g) ?? [text];
  const size = Math.max(1, Math.ceil(words.length / pieces));
  const out: string[] = [];
  for (let i = 0; i < words.length; i += size) out.push(words.slice(i, i + size).join(''));
  return out;
}
