/**
 * The database and the cache, opened exactly as the server opens them (same factories, same
 * settings): reachable, and the database's migrations against the ones this code ships.
 */
import { existsSync } from 'node:fs';
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

export function databaseCheck(database: Config['database']): DoctorCheck {
  const name = 'database';
  if (database.url !== undefined) {
    return {
      name,
      async run() {
        return inspect(await openDatabase({ url: database.url, maxConnections: 1 }), 'PostgreSQL', database.migrateOnStart, {
          unreachable: 'check DATABASE_URL and that PostgreSQL is up and accepts this host',
        });
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

async function inspect(database: Database, kind: string, migrateOnStart: boolean, fixes: { unreachable: string }): Promise<CheckLine[]> {
  try {
    try {
      await database.ping();
    } catch (error) {
      return [fail('database', `${kind} unreachable (${driverMessage(error)})`, fixes.unreachable)];
    }
    return [migrationLine(kind, await migrationStatus(database.db), migrateOnStart)];
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
