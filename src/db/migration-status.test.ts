import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseBackends } from '../../test/support/databases.js';
import type { Database } from './client.js';
import { migrationStatus, shippedMigrations } from './migration-status.js';

const shipped = shippedMigrations();

describe.each(databaseBackends())('migration status on $name', (backend) => {
  let database: Database;
  beforeAll(async () => {
    database = await backend.open();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('reads the journal this code ships', () => {
    expect(shipped.length).toBeGreaterThanOrEqual(3);
    expect(shipped[0]?.tag).toBe('0000_initial');
  });

  it('is current on a migrated database', async () => {
    expect(await migrationStatus(database.db)).toEqual({ applied: shipped.length, pending: [], unknown: 0 });
  });

  it('names what migrate() would apply when the latest migration is missing, and what it does not know', async () => {
    const last = shipped.at(-1)!;
    // As if the database had been migrated by the code before the latest migration (the row goes back after).
    const { rows } = (await database.db.execute(
      sql`delete from drizzle.__drizzle_migrations where created_at = ${last.when} returning hash`,
    )) as unknown as { rows: Array<{ hash: string }> };
    expect(await migrationStatus(database.db)).toEqual({ applied: shipped.length - 1, pending: [last.tag], unknown: 0 });
    await database.db.execute(sql`insert into drizzle.__drizzle_migrations (hash, created_at) values (${rows[0]?.hash}, ${last.when})`);
    expect(await migrationStatus(database.db)).toEqual({ applied: shipped.length, pending: [], unknown: 0 });

    await database.db.execute(sql`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-newer-code', ${last.when + 1000})`);
    expect(await migrationStatus(database.db)).toEqual({ applied: shipped.length, pending: [], unknown: 1 });
  });

  it('counts everything pending on a database no migration has touched', async () => {
    await database.db.execute(sql`drop schema drizzle cascade`);
    expect(await migrationStatus(database.db)).toEqual({ applied: 0, pending: shipped.map((m) => m.tag), unknown: 0 });
  });
});
