import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseBackends } from '../../test/support/databases.js';
import { createLogger } from '../observability/logger.js';
import { callOutcome, saveCallRecord } from './call-records.js';
import type { FinishedCall } from './call-records.js';
import type { Database } from './client.js';
import { callRecords } from './schema.js';

function record(overrides: Partial<FinishedCall> = {}): FinishedCall {
  return {
    callId: 'CA1',
    callerNumber: '+15550001111',
    endReason: 'caller_hung_up',
    outcome: undefined,
    transcript: [{ role: 'caller', text: 'hello' }],
    toolCalls: [],
    turns: [],
    ...overrides,
  };
}

describe('callOutcome', () => {
  it.each([
    ['the last action the tools reported', 'cancelled', record({ outcome: 'cancelled' })],
    ['a transfer', 'transferred', record({ outcome: 'transferred' })],
    ['an outcome the database does not know', 'completed', record({ outcome: 'sold_a_car' })],
    ['a caller who never spoke', 'abandoned', record({ transcript: [] })],
    ['silence until the agent hung up', 'abandoned', record({ endReason: 'idle' })],
    ['a conversation with no action', 'completed', record()],
    ['a call that failed to start', 'error', record({ endReason: 'start_failed' })],
  ])('%s -> %s', (_name, expected, input) => {
    expect(callOutcome(input)).toBe(expected);
  });
});

describe.each(databaseBackends())('saveCallRecord on $name', (backend) => {
  let database: Database;
  let counter = 0;
  const wallClock = { startedAt: new Date('2026-12-01T15:00:00Z'), endedAt: new Date('2026-12-01T15:05:00Z') };

  beforeAll(async () => {
    database = await backend.open();
  });
  afterAll(async () => {
    await database?.close();
  });

  const read = async (callId: string) => (await database.db.select().from(callRecords).where(eq(callRecords.callId, callId)))[0];

  it('stores text PostgreSQL refuses (NUL, control characters, lone surrogates) cleaned', async () => {
    const callId = `CA-nul-${counter++}`;
    const saved = await saveCallRecord(
      database.db,
      record({
        callId,
        outcome: 'booked',
        transcript: [
          { role: 'caller', text: 'my name is Ana\u0000 Lopez\u0007, line\nbreak\ttab' },
          { role: 'agent', text: 'Booked\ud800 for \udc00you\u001b.' },
        ],
        toolCalls: [
          {
            id: 'call_1',
            name: 'book_appointment',
            arguments: '{"notes":"rattle\u0000 at \u0001speed"}',
            result: { success: true, data: { notes: 'rattle\u0000' }, message: 'ok\u0000' },
            durationMs: 12,
            outcome: 'ok',
          },
        ],
      }),
      'browser\u0000',
      wallClock,
    );
    expect(saved).toEqual({ transcript: 'kept' });
    const row = await read(callId);
    expect(row?.transport).toBe('browser');
    expect(row?.outcome).toBe('booked');
    expect(row?.transcript).toEqual([
      { role: 'caller', text: 'my name is Ana Lopez, line\nbreak\ttab' },
      { role: 'agent', text: 'Booked for you.' },
    ]);
    expect(row?.toolCalls).toEqual([
      {
        id: 'call_1',
        name: 'book_appointment',
        arguments: '{"notes":"rattle at speed"}',
        result: { success: true, data: { notes: 'rattle' }, message: 'ok' },
        durationMs: 12,
        outcome: 'ok',
      },
    ]);
  });

  it('keeps a surrogate pair (an emoji) intact', async () => {
    const callId = `CA-emoji-${counter++}`;
    await saveCallRecord(database.db, record({ callId, transcript: [{ role: 'caller', text: 'thanks 👍' }] }), 'browser', wallClock);
    expect((await read(callId))?.transcript).toEqual([{ role: 'caller', text: 'thanks 👍' }]);
  });

  /**
   * Runs `fn` while the database enforces a limit on the size of a transcript: a full row is then
   * refused for a reason that has nothing to do with the characters in it.
   */
  async function withTranscriptLimit(fn: () => Promise<void>): Promise<void> {
    await database.db.execute(
      sql.raw('ALTER TABLE call_records ADD CONSTRAINT test_transcript_size CHECK (pg_column_size(transcript) < 2000)'),
    );
    try {
      await fn();
    } finally {
      await database.db.execute(sql.raw('ALTER TABLE call_records DROP CONSTRAINT test_transcript_size'));
    }
  }

  it('logs a refused insert with its SQLSTATE, never its parameters or the row it refused', async () => {
    await withTranscriptLimit(async () => {
      const transcript = [{ role: 'caller', text: 'This is Ana Lopez on 555 0001111. '.repeat(200) }];
      const failure = await database.db
        .insert(callRecords)
        .values({ callId: `CA-log-${counter++}`, callerNumber: '+15550001111', transport: 'twilio', startedAt: new Date(), transcript })
        .then(() => undefined, (error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      const lines: string[] = [];
      const logger = createLogger({ destination: { write: (line) => lines.push(line) } });
      logger.error({ callId: 'CA-log', err: failure }, 'call error');
      const out = lines.join('');
      expect(out).not.toContain('Ana Lopez');
      expect(out).not.toContain('+15550001111');
      expect(out).not.toContain('params');
      expect(JSON.parse(out).err).toMatchObject({
        code: '23514',
        constraint: 'test_transcript_size',
        message: expect.stringMatching(/^Failed query: insert into "call_records" .*: new row for relation "call_records" violates check constraint "test_transcript_size"$/),
      });
    });
  });

  it('stores a row the database refuses again without its transcript and tool payloads', async () => {
    await withTranscriptLimit(async () => {
      const callId = `CA-big-${counter++}`;
      const saved = await saveCallRecord(
        database.db,
        record({
          callId,
          outcome: 'booked',
          transcript: [{ role: 'caller', text: 'a long story '.repeat(1_000) }],
          toolCalls: [
            {
              id: 'call_1',
              name: 'book_appointment',
              arguments: '{"notes":"secret notes"}',
              result: { success: true, data: { id: 'apt' }, message: 'Booked.' },
              durationMs: 20,
              outcome: 'ok',
            },
          ],
          turns: [{ turn: 1, marks: { llm_request: 5 } }],
        }),
        'twilio',
        wallClock,
      );
      expect(saved).toEqual({ transcript: 'dropped', errorCode: '23514' });
      const row = await read(callId);
      expect(row).toMatchObject({ callerNumber: '+15550001111', transport: 'twilio', outcome: 'booked', transcript: [] });
      expect(row?.toolCalls).toEqual([{ id: 'call_1', name: 'book_appointment', durationMs: 20, outcome: 'ok', result: { success: true } }]);
      expect(row?.latencies).toEqual([{ turn: 1, marks: { llm_request: 5 } }]);
    });
  });

  it('throws when the row without transcript cannot be stored either', async () => {
    await expect(
      saveCallRecord(database.db, record({ callId: `CA-bad-${counter++}` }), 'twilio', {
        startedAt: new Date(Number.NaN),
        endedAt: new Date(Number.NaN),
      }),
    ).rejects.toThrow();
  });
});
