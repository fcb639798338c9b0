/**
 * Child process for faults-database.test.ts: opens the database as the server does (src/db/client.ts),
 * starts a transaction, says so on stdout and waits inside it, so the parent can cut the connection
 * while the client is checked out of the pool. Prints how the transaction ended, then `survived`.
 * Usage: node --import tsx test/support/pg-drop-child.ts <postgres-url>
 */
import { sql } from 'drizzle-orm';
import { openDatabase } from '../../src/db/client.js';

const url = process.argv[2];
if (url === undefined) throw new Error('usage: pg-drop-child.ts <postgres-url>');
const database = await openDatabase({ url });
await database.ping();
const outcome = await database.db
  .transaction(async (tx) => {
    await tx.execute(sql`select 1`);
    process.stdout.write('in-transaction\n');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await tx.execute(sql`select 2`);
  })
  .then(
    () => 'committed',
    (error: unknown) => `failed (${error instanceof Error ? error.message : String(error)})`,
  );
process.stdout.write(`transaction ${outcome}\n`);
await database.close().catch(() => undefined);
process.stdout.write('survived\n');
