/**
 * The whole system as deployed: `startApp` (the real composition root) configured against local
 * emulators of every vendor, a phone call placed through the signed Twilio webhook and the media
 * stream. It checks what a shop would notice: the greeting arrives as mu-law media with marks, a
 * booking conversation completes and is in the database, barge-in produces `clear`, the call is
 * recorded, and no secret appears anywhere in the logs.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appointments, callRecords, customers, vehicles } from '../src/db/schema.js';
import type { RunningApp } from '../src/main.js';
import type { TwilioRestEmulator } from './emulators/twilio.js';
import { AUTH_TOKEN, say, startPhoneApp, waitUntil } from './support/phone-app.js';
import type { PhoneApp } from './support/phone-app.js';
import type { VoiceStack } from './support/voice-stack.js';

const CALLER = '+15558675309';

let phone: PhoneApp;
let stack: VoiceStack;
let rest: TwilioRestEmulator;
let running: RunningApp;

beforeAll(async () => {
  phone = await startPhoneApp({ google: false, env: { HARNESS_TOKEN: 'harness-token-secret-42' } });
  ({ stack, rest, running } = phone);
  expect(phone.secrets).toEqual(
    expect.arrayContaining([AUTH_TOKEN, stack.openai.apiKey, stack.deepgram.apiKey, stack.elevenlabs.apiKey, 'harness-token-secret-42']),
  );
}, 60_000);

afterAll(async () => {
  await phone?.close();
});

const placeCall = () => phone.placeCall(CALLER);


describe('a phone call through Twilio, end to end', () => {
  it('refuses an unsigned webhook', async () => {
    const response = await running.app.inject({
      method: 'POST',
      url: '/twilio/voice',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'CallSid=CA123&From=%2B15550001111',
    });
    expect(response.statusCode).toBe(403);
    expect(response.body).not.toContain('<Response>');
  });

  it('answers a signed webhook with a media stream carrying the caller and a call-bound token', async () => {
    const { statusCode, body } = await phone.webhook('CA0123456789abcdef0123456789abcdef', CALLER);
    expect(statusCode).toBe(200);
    expect(body).toContain('<Connect><Stream url="wss://agent.example.test/twilio/stream">');
    expect(body).toContain(`<Parameter name="callerNumber" value="${CALLER}"`);
    expect(body).toMatch(/<Parameter name="token" value="v1\.\d+\.[A-Za-z0-9_-]+"/);
  });

  it('books an appointment on a call, and records the call', async () => {
    const [customer] = await running.database.db
      .insert(customers)
      .values({ phone: CALLER, firstName: 'Jenny', lastName: 'Tutone', email: 'jenny@example.com' })
      .returning();
    const [vehicle] = await running.database.db
      .insert(vehicles)
      .values({ customerId: customer!.id, year: 2020, make: 'Honda', model: 'Accord' })
      .returning();
    stack.deepgram.script(['I need a tire rotation next Monday at ten', 'Yes please book it', 'No thanks bye']);
    stack.openai.script([
      { toolCalls: [{ name: 'lookup_customer', arguments: {} }] },
      { toolCalls: [{ name: 'get_available_slots', arguments: { date: nextMonday(), service_type: 'tire rotation' } }] },
      { text: 'Ten AM on Monday is open. Shall I book your Accord for a tire rotation then?' },
      {
        toolCalls: [
          {
            name: 'book_appointment',
            arguments: { customer_id: customer!.id, vehicle_id: vehicle!.id, scheduled_at: `${nextMonday()}T10:00`, service_type: 'tire rotation' },
          },
        ],
      },
      { text: "Done! You'll get a calendar invitation by email. Anything else?" },
      { text: 'Thanks for calling, goodbye!', toolCalls: [{ name: 'end_call', arguments: {} }] },
    ]);

    const caller = await placeCall();
    await caller.waitFor(() => caller.audioBytes() > 2_000, 10_000);
    // Greeting: mu-law media, each chunk followed by a mark.
    const kinds = caller.events.filter((e) => e.type === 'media' || e.type === 'mark').map((e) => e.type);
    expect(kinds[0]).toBe('media');
    expect(kinds[1]).toBe('mark');
    expect(caller.protocolErrors).toEqual([]);

    await caller.waitFor(() => caller.echoedMarks.length > 3, 10_000);
    say(caller);
    await waitUntil(() => stack.elevenlabs.spokenTexts().some((t) => t.includes('Shall I book')), 15_000);
    say(caller);
    await waitUntil(() => stack.elevenlabs.spokenTexts().some((t) => t.includes('Anything else?')), 15_000);
    say(caller);
    // end_call: the goodbye plays, then the call is completed over Twilio's REST API.
    await waitUntil(() => rest.requests.some((r) => r.callSid === caller.callSid && r.params.Status === 'completed'), 15_000);

    const booked = await running.database.db.select().from(appointments).where(eq(appointments.customerId, customer!.id));
    expect(booked).toHaveLength(1);
    expect(booked[0]!.serviceType).toBe('Tire rotation');

    await waitUntil(async () => (await running.database.db.select().from(callRecords).where(eq(callRecords.callId, caller.callSid))).length === 1, 10_000);
    const [record] = await running.database.db.select().from(callRecords).where(eq(callRecords.callId, caller.callSid));
    expect(record).toMatchObject({ callerNumber: CALLER, transport: 'twilio', outcome: 'booked' });
    expect((record!.toolCalls as Array<{ name: string }>).map((c) => c.name)).toEqual([
      'lookup_customer',
      'get_available_slots',
      'book_appointment',
      'end_call',
    ]);
    expect((record!.latencies as unknown[]).length).toBeGreaterThanOrEqual(3);
    // The call lasted through three spoken turns: seconds, not a zero-length record.
    expect(record!.endedAt!.getTime() - record!.startedAt.getTime()).toBeGreaterThan(200);
  }, 60_000);

  it('sends clear when the caller talks over the agent', async () => {
    stack.deepgram.script(['Tell me everything', 'Stop']);
    stack.openai.script([
      { text: 'Our shop has been open since nineteen eighty. '.repeat(15), interChunkDelayMs: 30 },
      { text: 'Sure.' },
    ]);
    const caller = await placeCall();
    caller.setSpeed(1);
    await caller.waitFor(() => caller.audioBytes() > 0, 10_000);
    await new Promise((r) => setTimeout(r, 2_500)); // the greeting plays in real time
    say(caller);
    await waitUntil(() => stack.elevenlabs.spokenTexts().some((t) => t.includes('nineteen eighty')), 10_000);
    await new Promise((r) => setTimeout(r, 1_000));
    say(caller, 600);
    await caller.waitFor(() => caller.clears > 0, 10_000);
    caller.hangUp();
    await caller.closed;
    await waitUntil(() => running.calls.activeCalls() === 0, 5_000);
  }, 60_000);

  it('exposes what happened in /metrics and the sync backlog in /ready', async () => {
    const metrics = (await running.app.inject({ method: 'GET', url: '/metrics' })).body;
    const value = (series: string) => Number(metrics.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1]);
    expect(value('agent_calls_total{transport="twilio",outcome="booked"}')).toBe(1);
    expect(value('agent_voice_to_voice_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(value('agent_llm_first_token_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(value('agent_tool_duration_seconds_count{tool="book_appointment",outcome="ok"}')).toBe(1);
    expect(value('agent_barge_ins_total')).toBeGreaterThanOrEqual(1);
    expect(value('agent_calendar_sync_backlog')).toBe(0);
    expect(metrics).toContain('agent_nodejs_heap_size_total_bytes');

    const ready = await running.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ checks: { calendar_sync: { ok: true, kind: 'local', backlog: 0 } } });
  });

  it('never writes a secret to the logs', () => {
    const all = phone.logLines.join('');
    expect(all.length).toBeGreaterThan(1_000);
    for (const secret of phone.secrets) {
      expect(all).not.toContain(secret);
      expect(all).not.toContain(encodeURIComponent(secret));
    }
    // Stream tokens issued in the TwiML are secrets too.
    expect(all).not.toMatch(/v1\.\d+\.[A-Za-z0-9_-]{20,}/);
  });
});

function nextMonday(): string {
  const d = new Date();
  const daysAhead = ((8 - d.getUTCDay()) % 7) + 7; // a Monday 7-13 days out, far from the lead time
  d.setUTCDate(d.getUTCDate() + daysAhead);
  return d.toISOString().slice(0, 10);
}
