/**
 * A call's recorded outcome is its last record-changing action, as the tools declare it: the
 * session on a scripted LLM with the real tools, database (PGlite) and local calendar, typed
 * turns, no STT or TTS, and the record stored as main stores it.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_AUDIO } from '../src/core/frames.js';
import { callOutcome, saveCallRecord } from '../src/db/call-records.js';
import { callRecords } from '../src/db/schema.js';
import { createCallSession, DEFAULT_PHRASES } from '../src/pipeline/call-session.js';
import type { CallRecord } from '../src/core/call-record.js';
import { createScriptedLlm } from './support/fakes/scripted-llm.js';
import type { ScriptedLlmStep } from './support/fakes/scripted-llm.js';
import type { ChatMessage, LlmEvent, LlmRequest } from '../src/providers/llm.js';
import { createTestTransport } from './support/test-transport.js';
import { openToolFixture } from './support/tool-fixture.js';
import type { ToolFixture } from './support/tool-fixture.js';

let fixture: ToolFixture;
let counter = 0;

beforeAll(async () => {
  fixture = await openToolFixture();
});
afterAll(async () => {
  await fixture?.close();
});

function toolCall(name: string, args: Record<string, unknown>): LlmEvent {
  counter += 1;
  return { type: 'tool_calls', calls: [{ id: `call_${name}_${counter}`, name, arguments: JSON.stringify(args) }] };
}

/** The data of the latest tool result the model was given. */
function lastToolData(request: LlmRequest): { appointment?: { id: string } } {
  const message = [...request.messages].reverse().find((m): m is Extract<ChatMessage, { role: 'tool' }> => m.role === 'tool');
  const result = JSON.parse(message?.content ?? '{}') as { success: boolean; data?: { appointment?: { id: string } } };
  if (!result.success) throw new Error(`the tool failed: ${message?.content}`);
  return result.data ?? {};
}

async function newCaller() {
  counter += 1;
  const phone = `+1555${String(4_000_000 + counter).padStart(7, '0')}`;
  const { customerId, vehicleIds } = await fixture.addCustomer({ phone, vehicles: [{ year: 2019, make: 'Toyota', model: 'Camry' }] });
  return { phone, customerId, vehicleId: vehicleIds[0]! };
}

const booking = (caller: { customerId: string; vehicleId: string }, scheduledAt: string) => ({
  customer_id: caller.customerId,
  vehicle_id: caller.vehicleId,
  scheduled_at: scheduledAt,
  service_type: 'oil change',
});

/** One typed caller turn answered by `script` (tool rounds, then a closing line). */
async function runCall(callerNumber: string, script: ScriptedLlmStep[], options: { transferNumber?: string } = {}): Promise<CallRecord> {
  const transport = createTestTransport(BROWSER_AUDIO, { speed: 1000, ...options });
  const session = createCallSession({
    callId: `CA-outcome-${++counter}`,
    callerNumber,
    transport,
    stt: undefined,
    llm: createScriptedLlm([...script, [{ type: 'text', delta: 'Anything else?' }]]),
    tts: undefined,
    tools: fixture.toolPorts,
    instructions: fixture.instructions,
    phrases: { ...DEFAULT_PHRASES, greeting: 'Test Garage, how can I help?' },
    timing: { idleMs: 60_000 },
  });
  transport.attach((name) => session.handle({ kind: 'mark', name }));
  await session.start();
  session.handle({ kind: 'text', text: 'I need to sort out my appointment.' });
  await transport.waitFor(() => transport.events.some((e) => e.type === 'agent_text' && e.text === 'Anything else?'), 10_000);
  await session.end('caller_hung_up');
  return session.finished;
}

describe('call outcome', () => {
  it('is cancelled when the call booked and then cancelled', async () => {
    const me = await newCaller();
    const record = await runCall(me.phone, [
      [toolCall('book_appointment', booking(me, '2026-12-03T09:00'))],
      (request) => [toolCall('cancel_appointment', { appointment_id: lastToolData(request).appointment!.id })],
    ]);
    expect(record.toolCalls.map((c) => [c.name, c.result.success])).toEqual([
      ['book_appointment', true],
      ['cancel_appointment', true],
    ]);
    expect(callOutcome(record)).toBe('cancelled');

    // Stored as main stores it.
    const endedAt = new Date();
    await saveCallRecord(fixture.database.db, record, 'browser', { startedAt: endedAt, endedAt });
    const [row] = await fixture.database.db.select().from(callRecords).where(eq(callRecords.callId, record.callId));
    expect(row?.outcome).toBe('cancelled');
  });

  it('is booked when the call cancelled one appointment and then booked another', async () => {
    const me = await newCaller();
    const { appointment } = await fixture.services.booking.book({
      customerId: me.customerId,
      vehicleId: me.vehicleId,
      scheduledAt: '2026-12-03T10:00',
      serviceType: 'oil change',
    });
    const record = await runCall(me.phone, [
      [toolCall('cancel_appointment', { appointment_id: appointment.id })],
      [toolCall('book_appointment', booking(me, '2026-12-03T11:00'))],
    ]);
    expect(record.toolCalls.map((c) => [c.name, c.result.success])).toEqual([
      ['cancel_appointment', true],
      ['book_appointment', true],
    ]);
    expect(callOutcome(record)).toBe('booked');
  });

  it('stays booked when a cancellation after the booking failed', async () => {
    const me = await newCaller();
    const record = await runCall(me.phone, [
      [toolCall('book_appointment', booking(me, '2026-12-03T13:00'))],
      [toolCall('cancel_appointment', { appointment_id: '00000000-0000-4000-8000-000000000000' })],
    ]);
    expect(record.toolCalls.map((c) => [c.name, c.result.success])).toEqual([
      ['book_appointment', true],
      ['cancel_appointment', false],
    ]);
    expect(callOutcome(record)).toBe('booked');
  });

  it('is transferred when the call was handed to a person', async () => {
    const me = await newCaller();
    const record = await runCall(me.phone, [[toolCall('transfer_to_human', { reason: 'wants a quote' })]], { transferNumber: '+15550100000' });
    expect(record.toolCalls.map((c) => [c.name, c.result.success])).toEqual([['transfer_to_human', true]]);
    expect(callOutcome(record)).toBe('transferred');
  });

  it('is not transferred when the transfer became a call-back', async () => {
    const me = await newCaller();
    const record = await runCall(me.phone, [[toolCall('transfer_to_human', { reason: 'wants a quote' })]]);
    expect(record.toolCalls[0]?.result).toMatchObject({ success: true, data: { transferred: false } });
    expect(callOutcome(record)).toBe('completed');
  });
});
