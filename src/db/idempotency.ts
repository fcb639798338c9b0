/**
 * Stored results of side-effecting requests. A request carrying a key it has seen before gets the
 * first result back instead of acting twice (an LLM retrying a tool call, a client resending).
 */
import { eq } from 'drizzle-orm';
import type { Db } from './client.js';
import { idempotencyKeys } from './schema.js';

export async function storedResult<T>(db: Db, operation: string, key: string): Promise<T | undefined> {
  const row = await db.query.idempotencyKeys.findFirst({ where: eq(idempotencyKeys.key, scopedKey(operation, key)) });
  return row === undefined ? undefined : (row.result as T);
}

/** Records `result`; inside the transaction that made the change, so both commit or neither. */
export async function storeResult(db: Db, operation: string, key: string, result: unknown): Promise<void> {
  await db.insert(idempotencyKeys).values({ key: scopedKey(operation, key), operation, result });
}

/** The same key used for two different operations must not return one's result for the other. */
function scopedKey(operation: string, key: string): string {
  return `${operation}:${key}`;
}
