/**
 * The database and the cache, opened exactly as the server opens them (same factories, same
 * settings): reachable, the database's migrations against the ones this code ships, and on
 * PostgreSQL whether this instance's pools fit the connections the server allows.
 */
import { existsSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { createCache } from '../../cache/create-cache.js';
import type { Config } from '../../config.js';
import { openDatabase } from '../../db/client.js';
import type { Database } from '../../db/client.js';
import { DataDirInUseError } from '../../db/data-dir-lock.js';
import { migrationStatus } from '../../db/migration-status.js';
import type { MigrationStatus } from '../../db/migration-status.js';
import { fail, ok, warn } from './report.js';
import type { CheckLine } from './report.js';
import type { DoctorCheck } from './run-checks.js';

/** An embedded PGlite takes a few seconds to start on a busy machine. */
const PGLITE_TIMEOUT_MS = 15_000;

export function databaseCheck(database: Config['database'], workers: number): DoctorCheck {
  const name = 'database';
  if (database.url !== undefined) {
    return {
      name,
      async run() {
        const opened = await openDatabase({ url: database.url, maxConnections: 1 });
        return inspect(opened, 'PostgreSQL', database.migrateOnStart, { unreachable: 'check DATABASE_URL and that PostgreSQL is up and accepts this host' }, async () => [
          connectionBudgetLine({ workers, poolSize: database.poolSize }, await connectionLimits(opened)),
        ]);
      },
    };
  }
  return {
    name,
    timeoutMs: PGLITE_TIMEOUT_MS,
    async run() {
      if (database.dataDir.startsWith('memory://')) {
        return [warn(name, 'embedded PGlite in memory: every booking is lost when the server stops', 'set DATA_DIR to a directory, or DATABASE_URL')];
      }
      if (!existsSync(database.dataDir)) {
        return [
          database.migrateOnStart
            ? ok(name, `embedded PGlite: ${database.dataDir} does not exist yet; the server creates and migrates it at start`)
            : fail(name, `embedded PGlite: ${database.dataDir} does not exist and MIGRATE_ON_START=false`, 'run npm run db:migrate'),
        ];
      }
      let opened: Database;
      try {
        opened = await openDatabase({ dataDir: database.dataDir });
      } catch (error) {
        if (error instanceof DataDirInUseError) {
          return [
            warn(name, `embedded PGlite: ${database.dataDir} is in use by pid ${error.holderPid} (the server?), so it cannot be checked from here`, 'stop that process to check it, or use DATABASE_URL (PostgreSQL) to share the database'),
          ];
        }
        throw error;
      }
      return inspect(opened, `embedded PGlite in ${database.dataDir}`, database.migrateOnStart, {
        unreachable: 'the directory may be damaged or from another PGlite version',
      });
    },
  };
}

async function inspect(
  database: Database,
  kind: string,
  migrateOnStart: boolean,
  fixes: { unreachable: string },
  more: () => Promise<CheckLine[]> = async () => [],
): Promise<CheckLine[]> {
  try {
    try {
      await database.ping();
    } catch (error) {
      return [fail('database', `${kind} unreachable (${driverMessage(error)})`, fixes.unreachable)];
    }
    return [migrationLine(kind, await migrationStatus(database.db), migrateOnStart), ...(await more())];
  } finally {
    await database.close().catch(() => undefined);
  }
}

export function migrationLine(kind: string, status: MigrationStatus, migrateOnStart: boolean): CheckLine {
  const unknown = status.unknown === 0 ? '' : `; ${status.unknown} applied migration(s) this code does not ship (migrated by newer code?)`;
  if (status.pending.length === 0) {
    const line = `${kind} reachable; migrations current (${status.applied} applied)${unknown}`;
    return status.unknown === 0 ? ok('database', line) : warn('database', line, 'deploy the newer code, or make sure this older code can use that schema');
  }
  const pending = `${status.pending.length} migration(s) pending (${status.pending.join(', ')})${unknown}`;
  return migrateOnStart
    ? warn('database', `${kind} reachable; ${pending}`, 'the server applies them at start (MIGRATE_ON_START=true), or run npm run db:migrate now')
    : fail('database', `${kind} reachable; ${pending}, and MIGRATE_ON_START=false`, 'run npm run db:migrate');
}

/** What PostgreSQL lets clients open: `max_connections` less the ones kept for superusers. */
async function connectionLimits(database: Database): Promise<{ maxConnections: number; reserved: number }> {
  const result = (await database.db.execute(
    sql`select current_setting('max_connections')::int as max, current_setting('superuser_reserved_connections')::int as reserved`,
  )) as unknown as { rows: Array<{ max: number; reserved: number }> };
  const row = result.rows[0]!;
  return { maxConnections: Number(row.max), reserved: Number(row.reserved) };
}

/**
 * Whether this instance's pools fit the server: each process (`WORKERS` of them) may open up to
 * `DATABASE_POOL_SIZE` connections, and past what the server allows, a busy moment's queries fail.
 */
export function connectionBudgetLine(
  instance: { workers: number; poolSize: number },
  server: { maxConnections: number; reserved: number },
): CheckLine {
  const perInstance = instance.workers * instance.poolSize;
  const available = server.maxConnections - server.reserved;
  const sizing = `${instance.workers} process(es) x DATABASE_POOL_SIZE ${instance.poolSize} = up to ${perInstance} connections per instance; PostgreSQL allows ${available} (max_connections ${server.maxConnections} less ${server.reserved} reserved)`;
  if (perInstance > available) {
    return fail('database connections', `${sizing}: one instance can exhaust it`, 'lower DATABASE_POOL_SIZE or WORKERS, or raise max_connections');
  }
  const instances = Math.floor(available / perInstance);
  const line = `${sizing}: room for ${instances} instance(s) like this one`;
  return instances < 2
    ? warn('database connections', line, 'a second instance (or a rolling deploy, old and new at once) needs a lower DATABASE_POOL_SIZE or more max_connections')
    : ok('database connections', line);
}

export function cacheCheck(redisUrl: string | undefined): DoctorCheck {
  return {
    name: 'cache',
    async run() {
      if (redisUrl === undefined) return [ok('cache', 'in-memory (per process: fine for one instance; use REDIS_URL for several)')];
      let problem: string | undefined;
      const cache = createCache({ redisUrl, commandTimeoutMs: 2_000, onError: (error) => (problem ??= driverMessage(error)) });
      try {
        await cache.ping();
        return [ok('cache', 'Redis reachable')];
      } catch (error) {
        return [fail('cache', `Redis unreachable (${problem ?? driverMessage(error)})`, 'check REDIS_URL and that Redis is up, or unset it for an in-memory cache (one instance only)')];
      } finally {
        await cache.close().catch(() => undefined);
      }
    },
  };
}

/** A driver error's first line, through drizzle's wrapper (whose message quotes the query). */
function driverMessage(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const source = cause instanceof Error ? cause : error;
  const message = source instanceof Error ? source.message : String(source);
  // A refused connection to a host with several addresses is an AggregateError with no message.
  const code = (source as { code?: unknown }).code;
  return message.split('\n')[0]?.slice(0, 160) || (typeof code === 'string' ? code : source instanceof Error ? source.name : 'unknown error');
}
