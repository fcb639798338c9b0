/**
 * Which of the migrations in drizzle/ a database has, judged the way drizzle's migrator judges it
 * (so the answer is what `migrate()` would do): a migration is pending when its journal time is
 * later than the latest one recorded in drizzle.__drizzle_migrations. Rows whose time the journal
 * does not know mean the database was migrated by newer code than this.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { MIGRATIONS_FOLDER, sqlState } from './client.js';
import type { Db } from './client.js';

export interface MigrationStatus {
  /** Migrations of this code the database has. */
  applied: number;
  /** Tags (e.g. 0002_used_stream_tokens) of this code's migrations the database lacks, in order. */
  pending: string[];
  /** Migrations recorded in the database that this code does not ship. */
  unknown: number;
}

interface JournalEntry {
  tag: string;
  when: number;
}

/** The migrations this code ships, in order (drizzle/meta/_journal.json). */
export function shippedMigrations(folder = MIGRATIONS_FOLDER): JournalEntry[] {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as { entries?: JournalEntry[] };
  return [...(journal.entries ?? [])].sort((a, b) => a.when - b.when);
}

/** Undefined SQLSTATEs for a database no migration has touched: no schema, or no table. */
const NEVER_MIGRATED = new Set(['42P01', '3F000']);

export async function migrationStatus(db: Db, folder = MIGRATIONS_FOLDER): Promise<MigrationStatus> {
  const shipped = shippedMigrations(folder);
  let recorded: number[];
  try {
    const result = (await db.execute(sql`select created_at from drizzle.__drizzle_migrations`)) as unknown as {
      rows: Array<{ created_at: unknown }>;
    };
    recorded = result.rows.map((row) => Number(row.created_at));
  } catch (error) {
    if (!NEVER_MIGRATED.has(sqlState(error) ?? '')) throw error;
    recorded = [];
  }
  const latest = recorded.length === 0 ? Number.NEGATIVE_INFINITY : Math.max(...recorded);
  const known = new Set(shipped.map((m) => m.when));
  return {
    applied: shipped.filter((m) => m.when <= latest).length,
    pending: shipped.filter((m) => m.when > latest).map((m) => m.tag),
    unknown: recorded.filter((when) => !known.has(when)).length,
  };
}
