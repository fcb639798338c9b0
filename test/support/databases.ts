/**
 * Database backends for suites that must pass on both: embedded PGlite always, and real
 * PostgreSQL when TEST_DATABASE_URL is set (.ci/run sets it). Each opened database is fresh and
 * migrated; on PostgreSQL it is a throwaway database created for the suite and dropped after, so
 * test files running in parallel never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase } from '../../src/db/client.js';
import { present } from './prerequisites.js';
import type { Database } from '../../src/db/client.js';

export interface DatabaseBackend {
  name: 'pglite' | 'postgres';
  open(): Promise<Database>;
  /**
   * One fresh database seen through two handles, as two instances see a shared one: two pools on
   * PostgreSQL; on PGlite (in-process, one owner) the same handle twice. `close` closes both.
   */
  openShared(): Promise<{ handles: [Database, Database]; close(): Promise<void> }>;
  /** The settings `startApp` needs to use a fresh database of this kind. */
  appEnv(): Promise<{ env: Record<string, string>; remove(): Promise<void> }>;
}

export function databaseBackends(): DatabaseBackend[] {
  const backends: DatabaseBackend[] = [
    {
      name: 'pglite',
      open: openMigratedPglite,
      async openShared() {
        const database = await openMigratedPglite();
        return { handles: [database, database], close: () => database.close() };
      },
      appEnv: async () => ({ env: { DATA_DIR: 'memory://' }, remove: async () => undefined }),
    },
  ];
  const adminUrl = process.env.TEST_DATABASE_URL;
  // In CI a missing TEST_DATABASE_URL fails the file: the PostgreSQL half must not vanish silently.
  if (present(Boolean(adminUrl), 'TEST_DATABASE_URL (a PostgreSQL server)') && adminUrl) {
    backends.push({
      name: 'postgres',
      open: () => openThrowawayPostgres(adminUrl),
      async openShared() {
        const first = await openThrowawayPostgres(adminUrl);
        const second = await openDatabase({ url: first.url, maxConnections: 60 });
        return {
          handles: [first, second],
          async close() {
            await second.close();
            await first.close();
          },
        };
      },
      async appEnv() {
        const { url, drop } = await createThrowawayPostgres(adminUrl);
        return { env: { DATABASE_URL: url }, remove: drop };
      },
    });
  }
  return backends;
}

async function openMigratedPglite(): Promise<Database> {
  const database = await openDatabase({ dataDir: 'memory://' });
  await database.migrate();
  return database;
}

async function openThrowawayPostgres(adminUrl: string): Promise<Database & { url: string }> {
  const { url, drop } = await createThrowawayPostgres(adminUrl);
  const database = await openDatabase({ url, maxConnections: 60 });
  await database.migrate();
  return {
    ...database,
    url,
    async close() {
      await database.close();
      await drop();
    },
  };
}

/** An empty PostgreSQL database for one suite (e.g. a whole app's DATABASE_URL), dropped by `drop`. */
export async function createThrowawayPostgres(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

async function withAdmin(adminUrl: string, run: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await run(client);
  } finally {
    await client.end();
  }
}
