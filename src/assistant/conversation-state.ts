/**
 * The offline assistant's memory is the conversation itself: the session re-sends every message on
 * every request, so this module replays them from the start into one typed state. Two kinds of
 * message count: the caller's sentences and the tool results. The assistant's own sentences are
 * never read back; which question the caller was answering (the `Phase`) is recomputed at each of
 * their turns by asking the same deterministic planner what it said at that point. Nothing is kept
 * between requests, so two calls can never leak into each other, a retried request sees exactly
 * what the first one saw, and a context cut short (barge-in, trimming) still replays cleanly.
 */
import type { ChatMessage } from '../providers/llm.js';
import { applyUser } from './caller-turns.js';
import { freshJob } from './dialogue.js';
import type { Clock, ConversationState, Phase } from './dialogue.js';
import { applyResult, parseObject, parseToolResult } from './tool-results.js';

/** What the planner would say in this state: the question the caller then answers. */
export type PhaseOf = (state: ConversationState) => Phase;

export function replayConversation(messages: readonly ChatMessage[], clock: Clock, phaseOf: PhaseOf): ConversationState {
  const state: ConversationState = {
    phase: { kind: 'idle' },
    lookup: 'none',
    lookupsTried: [],
    customer: undefined,
    vehicles: [],
    appointments: [],
    slots: new Map(),
    offeredSoFar: new Set(),
    name: undefined,
    namesTried: [],
    createBlocked: false,
    vehicleDraft: undefined,
    vehicleConfirmed: false,
    vehiclesTried: [],
    vehicleMisses: 0,
    phoneGiven: undefined,
    job: freshJob(),
    asksList: false,
    farewell: false,
    wantsHuman: false,
    transferred: false,
    ended: false,
    lastUser: undefined,
    latestResults: [],
  };
  const calls = new Map<string, { name: string; args: Record<string, unknown> }>();
  // Whether the assistant's reply to the latest turn was spoken (a question the caller then answers).
  let replied = false;

  for (const message of messages) {
    switch (message.role) {
      case 'system':
        break;
      case 'user':
        // Only a reply the caller heard poses a question; one cut off before any words does not.
        state.phase = replied ? phaseOf(state) : { kind: 'idle' };
        if (state.phase.kind === 'offering') for (const slot of state.phase.offered) state.offeredSoFar.add(slot.start);
        state.latestResults = [];
        applyUser(state, message.content, clock);
        replied = false;
        break;
      case 'assistant':
        if (message.tool_calls !== undefined && message.tool_calls.length > 0) {
          state.latestResults = [];
          for (const call of message.tool_calls) calls.set(call.id, { name: call.function.name, args: parseObject(call.function.arguments) });
          replied = false;
        } else {
          replied = (message.content ?? '').trim() !== '';
        }
        break;
      case 'tool': {
        const call = calls.get(message.tool_call_id);
        if (call === undefined) break;
        const outcome = parseToolResult(call, message.content);
        state.latestResults.push(outcome);
        applyResult(state, outcome, clock);
        break;
      }
    }
  }
  return state;
}
