/**
 * The database refusing a finished call's record, on the deployed system (`startApp` against the
 * emulators, embedded PGlite): the row is stored without its transcript rather than lost, and the
 * logs say so with the call id and the error code only, never with what the caller said.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callRecords } from '../src/db/schema.js';
import { say, startPhoneApp, waitUntil } from './support/phone-app.js';
import type { PhoneApp } from './support/phone-app.js';

let app: PhoneApp;

beforeAll(async () => {
  app = await startPhoneApp({ google: false });
}, 60_000);
afterAll(async () => {
  await app?.close();
});

describe('a call record the database refuses', () => {
  it('is stored without its transcript, with a warning that carries no caller data', async () => {
    // A rule the full row breaks for a reason other than its characters.
    await app.running.database.db.execute(
      sql.raw('ALTER TABLE call_records ADD CONSTRAINT test_no_transcripts CHECK (jsonb_array_length(transcript) = 0)'),
    );
    app.stack.deepgram.script(['This is Zygmunt Quillfeather, that is all']);
    app.stack.openai.script([{ text: 'Thanks for calling, goodbye!', toolCalls: [{ name: 'end_call', arguments: {} }] }]);
    const caller = await app.placeCall('+15559990020');
    await caller.waitFor(() => caller.audioBytes() > 2_000, 10_000);
    say(caller);
    await caller.closed;

    const stored = async () => app.running.database.db.select().from(callRecords).where(eq(callRecords.callId, caller.callSid));
    await waitUntil(async () => (await stored()).length === 1, 10_000, 'call record');
    const [record] = await stored();
    expect(record).toMatchObject({ callerNumber: '+15559990020', transport: 'twilio', outcome: 'completed', transcript: [] });
    expect(record!.toolCalls).toEqual([
      { id: expect.any(String), name: 'end_call', durationMs: expect.any(Number), outcome: 'ok', result: { success: true } },
    ]);

    const lines = app.logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const warning = lines.find((line) => typeof line.msg === 'string' && line.msg.startsWith('call record refused'));
    expect(warning).toEqual({
      level: 40,
      time: expect.any(String),
      service: 'service-desk-agent',
      callId: caller.callSid,
      code: '23514',
      msg: 'call record refused by the database: stored without its transcript',
    });
    expect(app.logLines.join('')).not.toContain('Quillfeather');
  }, 30_000);
});
