/**
 * Persists a finished call: who called, when, how it ended, what was said (and what the caller
 * actually heard of the agent), every tool call with its result and duration, and each turn's
 * latency timeline.
 */
import type { Db } from './client.js';
import { sqlState } from './client.js';
import { callOutcome as callOutcomeEnum, callRecords } from './schema.js';

export type CallOutcome = (typeof callOutcomeEnum.enumValues)[number];

/**
 * What a finished call hands over to be stored. The voice pipeline's call record has this shape;
 * the database only names what it reads, and stores the rest of each entry as it comes.
 */
export interface FinishedCall {
  callId: string;
  callerNumber: string | undefined;
  endReason: string | undefined;
  /** What the call achieved, as declared by the last tool that changed something ('booked'). */
  outcome: string | undefined;
  transcript: ReadonlyArray<{ role: string; text: string; atMs?: number; complete?: boolean }>;
  toolCalls: ReadonlyArray<{
    id: string;
    name: string;
    arguments: string;
    result: { success: boolean; [field: string]: unknown };
    durationMs: number;
    outcome: string;
  }>;
  turns: readonly unknown[];
}

const STORED_OUTCOMES: ReadonlySet<string> = new Set(callOutcomeEnum.enumValues);

function isCallOutcome(value: string | undefined): value is CallOutcome {
  return value !== undefined && STORED_OUTCOMES.has(value);
}

/** How the call ended, for reporting: its last record-changing action, else how the talk went. */
export function callOutcome(record: FinishedCall): CallOutcome {
  if (record.endReason === 'start_failed') return 'error';
  if (isCallOutcome(record.outcome)) return record.outcome;
  const callerSpoke = record.transcript.some((t) => t.role === 'caller');
  if (!callerSpoke || record.endReason === 'idle') return 'abandoned';
  return 'completed';
}

export type SavedCallRecord =
  | { transcript: 'kept' }
  /** The full row was refused; the row was stored without transcript and tool payloads. */
  | { transcript: 'dropped'; errorCode: string };

/**
 * Stores the call once (a repeat is ignored). Should the database refuse the row, it is stored
 * again without the free text (transcript, tool arguments and results), which is what a database
 * can refuse: who called, when and how it ended are worth keeping. Throws when that fails too.
 */
export async function saveCallRecord(
  db: Db,
  record: FinishedCall,
  transport: string,
  wallClock: { startedAt: Date; endedAt: Date },
): Promise<SavedCallRecord> {
  const row = {
    callId: record.callId,
    callerNumber: record.callerNumber ?? null,
    transport,
    startedAt: wallClock.startedAt,
    endedAt: wallClock.endedAt,
    outcome: callOutcome(record),
    transcript: record.transcript,
    toolCalls: record.toolCalls,
    latencies: record.turns,
  };
  try {
    await insertOnce(db, row);
    return { transcript: 'kept' };
  } catch (error) {
    const toolCalls = record.toolCalls.map(({ id, name, durationMs, outcome, result }) => ({
      id,
      name,
      durationMs,
      outcome,
      result: { success: result.success },
    }));
    await insertOnce(db, { ...row, transcript: [], toolCalls });
    return { transcript: 'dropped', errorCode: sqlState(error) ?? (error instanceof Error ? error.name : 'unknown') };
  }
}

async function insertOnce(db: Db, row: typeof callRecords.$inferInsert): Promise<void> {
  await db.insert(callRecords).values(row).onConflictDoNothing({ target: callRecords.callId });
}
