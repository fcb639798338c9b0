import { describe, expect, it } from 'vitest';
import type { CallRecord, ToolCallRecord } from '../pipeline/call-session.js';
import { callOutcome } from './call-records.js';

function record(overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    callId: 'CA1',
    callerNumber: '+15550001111',
    startedAtMs: 0,
    endedAtMs: 1000,
    endReason: 'caller_hung_up',
    transcript: [{ role: 'caller', text: 'hello', atMs: 10 }],
    toolCalls: [],
    turns: [],
    bargeIns: 0,
    transferred: false,
    ...overrides,
  };
}

const tool = (name: string, success: boolean): ToolCallRecord => ({
  id: `call_${name}`,
  name,
  arguments: '{}',
  result: success ? { success, data: null, message: 'ok' } : { success, error: 'x', message: 'no' },
  durationMs: 5,
  outcome: 'ok',
});

describe('callOutcome', () => {
  it.each([
    ['a successful booking', record({ toolCalls: [tool('get_available_slots', true), tool('book_appointment', true)] }), 'booked'],
    ['a failed booking then a reschedule', record({ toolCalls: [tool('book_appointment', false), tool('reschedule_appointment', true)] }), 'rescheduled'],
    ['a cancellation', record({ toolCalls: [tool('cancel_appointment', true)] }), 'cancelled'],
    ['a transfer', record({ transferred: true }), 'transferred'],
    ['a caller who never spoke', record({ transcript: [] }), 'abandoned'],
    ['silence until the agent hung up', record({ endReason: 'idle' }), 'abandoned'],
    ['a conversation with no action', record(), 'completed'],
    ['a call that failed to start', record({ endReason: 'start_failed' }), 'error'],
  ])('%s -> %s', (_name, input, expected) => {
    expect(callOutcome(input)).toBe(expected);
  });
});
