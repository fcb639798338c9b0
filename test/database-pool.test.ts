/**
 * DATABASE_POOL_SIZE reaches the PostgreSQL pool of the deployed system (`startApp`, as main.ts
 * wires it): each process holds at most that many connections, which is what the doctor's
 * "database connections" line adds up against max_connections.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { databaseBackends } from './support/databases.js';
import { phoneAppOnFreshDatabase } from './support/phone-app.js';

const postgres = databaseBackends().find((backend) => backend.name === 'postgres');

describe.skipIf(postgres === undefined)('DATABASE_POOL_SIZE on PostgreSQL', () => {
  const startPhoneApp = phoneAppOnFreshDatabase(postgres!);

  it('holds the pool to its size: six queries of 200 ms at once run two at a time on two connections', async () => {
    const phone = await startPhoneApp({ DATABASE_POOL_SIZE: '2' });
    const db = phone.running.database.db;
    const startedAt = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => db.execute(sql`select pg_backend_pid() as pid, pg_sleep(0.2)`)),
    );
    const elapsedMs = performance.now() - startedAt;
    const pids = new Set(answers.map((answer) => (answer as unknown as { rows: Array<{ pid: number }> }).rows[0]!.pid));
    expect(pids.size).toBe(2);
    // Three rounds of two (the default pool of 10 runs all six at once, in about 200 ms).
    expect(elapsedMs).toBeGreaterThanOrEqual(580);
  }, 60_000);
});
