/**
 * The single-use ledger of stream tokens, in the database every instance shares: the first insert
 * of a token's id wins (`ON CONFLICT DO NOTHING RETURNING`), atomically across instances and
 * connections, so a token starts one stream however many instances see it. Each claim also sweeps
 * a few long-expired rows, which keeps the table to the calls of the last few minutes without a
 * worker of its own.
 */
import { inArray, lt, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { usedStreamTokens } from './schema.js';

export interface StreamTokenLedgerOptions {
  /**
   * How long after its expiry a row is kept. The expiry was checked against the clock of the
   * instance that verified the token; the sweep uses the database's. The grace keeps an instance
   * whose clock runs behind from accepting a token whose row another instance already swept.
   */
  sweepGraceMs?: number;
  /** Expired rows removed per claim at most: one claim per call, so the table cannot outgrow it. */
  sweepBatch?: number;
}

export function createStreamTokenLedger(db: Db, options: StreamTokenLedgerOptions = {}) {
  const graceSeconds = Math.max(0, Math.round((options.sweepGraceMs ?? 10 * 60_000) / 1000));
  const sweepBatch = options.sweepBatch ?? 20;
  return {
    async claim(id: string, expiresAt: Date): Promise<boolean> {
      try {
        // SKIP LOCKED: two instances sweeping at once take different rows instead of waiting.
        const expired = db
          .select({ tokenId: usedStreamTokens.tokenId })
          .from(usedStreamTokens)
          .where(lt(usedStreamTokens.expiresAt, sql`now() - make_interval(secs => ${graceSeconds})`))
          .limit(sweepBatch)
          .for('update', { skipLocked: true });
        await db.delete(usedStreamTokens).where(inArray(usedStreamTokens.tokenId, expired));
        const claimed = await db
          .insert(usedStreamTokens)
          .values({ tokenId: id, expiresAt })
          .onConflictDoNothing({ target: usedStreamTokens.tokenId })
          .returning({ tokenId: usedStreamTokens.tokenId });
        return claimed.length === 1;
      } catch (error) {
        // drizzle's message quotes the query and its parameters (the id): say only what failed.
        throw new Error(`the stream token ledger is unavailable: ${driverMessage(error)}`, { cause: error });
      }
    },
  };
}

function driverMessage(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const source = cause instanceof Error ? cause : error;
  return source instanceof Error ? source.message.split('\n')[0]!.slice(0, 200) : 'unknown error';
}
