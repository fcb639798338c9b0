/**
 * Persists a finished call: who called, when, how it ended, what was said (and what the caller
 * actually heard of the agent), every tool call with its result and duration, and each turn's
 * latency timeline.
 */
import type { CallRecord } from '../pipeline/call-session.js';
import type { Db } from './client.js';
import { callRecords } from './schema.js';

export type CallOutcome = (typeof callRecords.$inferInsert)['outcome'];

/** The most significant thing that happened on the call, for reporting. */
export function callOutcome(record: CallRecord): NonNullable<CallOutcome> {
  const succeeded = (name: string) => record.toolCalls.some((c) => c.name === name && c.result.success);
  if (record.endReason === 'start_failed') return 'error';
  if (succeeded('book_appointment')) return 'booked';
  if (succeeded('reschedule_appointment')) return 'rescheduled';
  if (succeeded('cancel_appointment')) return 'cancelled';
  if (record.transferred) return 'transferred';
  const callerSpoke = record.transcript.some((t) => t.role === 'caller');
  if (!callerSpoke || record.endReason === 'idle') return 'abandoned';
  return 'completed';
}

export async function saveCallRecord(
  db: Db,
  record: CallRecord,
  transport: string,
  wallClock: { startedAt: Date; endedAt: Date },
): Promise<void> {
  await db
    .insert(callRecords)
    .values({
      callId: record.callId,
      callerNumber: record.callerNumber ?? null,
      transport,
      startedAt: wallClock.startedAt,
      endedAt: wallClock.endedAt,
      outcome: callOutcome(record),
      transcript: record.transcript,
      toolCalls: record.toolCalls,
      latencies: record.turns,
    })
    .onConflictDoNothing({ target: callRecords.callId });
}
