/**
 * Telephony faults on the deployed system (`startApp` against every emulator, MAX_CONCURRENT_CALLS=1):
 *   - at the concurrent-call limit, a second caller gets a polite <Say> and <Hangup/>, no stream;
 *   - Twilio's REST API answering 5xx when the agent hangs up: retried; and when it keeps failing,
 *     the media stream is closed anyway, so the call still ends and is recorded.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callRecords } from '../src/db/schema.js';
import { AT_CAPACITY_MESSAGE } from '../src/server/twilio-routes.js';
import { twilioSid } from './emulators/twilio.js';
import type { TwilioCaller } from './emulators/twilio.js';
import { say, startPhoneApp, waitUntil } from './support/phone-app.js';
import type { PhoneApp } from './support/phone-app.js';

let app: PhoneApp;

beforeAll(async () => {
  app = await startPhoneApp({ google: false, env: { MAX_CONCURRENT_CALLS: '1' } });
}, 60_000);
afterAll(async () => {
  await app?.close();
});

async function recordOf(caller: TwilioCaller) {
  await waitUntil(
    async () => (await app.running.database.db.select().from(callRecords).where(eq(callRecords.callId, caller.callSid))).length === 1,
    10_000,
    'call record',
  );
  const [record] = await app.running.database.db.select().from(callRecords).where(eq(callRecords.callId, caller.callSid));
  return record!;
}

describe('concurrent-call limit', () => {
  it('MAX_CONCURRENT_CALLS=1: a second caller hears the polite at-capacity message; a caller after the first hangs up gets through', async () => {
    const first = await app.placeCall('+15559990001');
    await first.waitFor(() => first.audioBytes() > 0, 10_000);
    expect(app.running.calls.activeCalls()).toBe(1);

    const second = await app.webhook(twilioSid('CA'), '+15559990002');
    expect(second.statusCode).toBe(200);
    expect(second.body).toContain(`<Say>${AT_CAPACITY_MESSAGE}</Say><Hangup/>`);
    expect(second.body).not.toContain('<Connect>');
    expect(second.body).not.toContain('<Stream');

    first.hangUp();
    await first.closed;
    await waitUntil(() => app.running.calls.activeCalls() === 0, 5_000, 'first call over');
    const third = await app.webhook(twilioSid('CA'), '+15559990003');
    expect(third.body).toContain('<Connect><Stream');
  }, 30_000);
});

describe("Twilio REST 5xx when the agent hangs up", () => {
  async function callThatEnds(failures: number) {
    const { stack, rest } = app;
    stack.deepgram.script(['That is all, bye']);
    stack.openai.script([{ text: 'Thanks for calling, goodbye!', toolCalls: [{ name: 'end_call', arguments: {} }] }]);
    const caller = await app.placeCall('+15559990010');
    await caller.waitFor(() => caller.audioBytes() > 2_000, 10_000);
    rest.failNext(503, failures);
    say(caller);
    const closed = await caller.closed;
    const updates = rest.requests.filter((r) => r.callSid === caller.callSid);
    return { caller, closed, updates };
  }

  it('two 503s, then success: the hang-up is retried and the call is completed over REST', async () => {
    const { caller, closed, updates } = await callThatEnds(2);
    expect(updates).toHaveLength(3);
    expect(updates.every((u) => u.params.Status === 'completed' && u.authorized)).toBe(true);
    expect(closed.code).toBe(1000);
    expect(await recordOf(caller)).toMatchObject({ outcome: 'completed' });
  }, 30_000);

  it('503 on every attempt: the media stream is closed anyway, so the call ends and is recorded', async () => {
    const started = Date.now();
    const { caller, closed, updates } = await callThatEnds(3);
    expect(updates).toHaveLength(3); // all of its attempts, then it gave up
    expect(closed.code).toBe(1000);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await recordOf(caller)).toMatchObject({ outcome: 'completed' });
    expect(app.running.calls.activeCalls()).toBe(0);
    expect(app.logLines.join('')).toContain('REST hang-up failed');
  }, 30_000);
});
