/**
 * Appointment queries the scheduling core needs, kept here so the booking service speaks in
 * domain terms and SQL details (status sets, sync claiming) live next to the schema.
 */
import { and, asc, eq, gt, inArray, isNull, lt, lte, ne, or, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { appointments } from './schema.js';
import type { Appointment } from './schema.js';

/** Statuses that occupy time; the exclusion constraints use the same set. */
export const ACTIVE_STATUSES = ['scheduled', 'completed'] as const;

/** The exclusion constraints on active appointments (drizzle/0001_*.sql, drizzle/0004_*.sql). */
export const OVERLAP_CONSTRAINTS = {
  /** Two in one bay at once. */
  bay: 'appointments_no_overlap',
  /** One vehicle twice at once, in any bays. */
  vehicle: 'appointments_vehicle_no_overlap',
} as const;

export interface Range {
  start: Date;
  end: Date;
}

/** Active appointments overlapping `range` (half-open), optionally leaving one out (a reschedule). */
export async function activeAppointmentsIn(db: Db, range: Range, excludeId?: string): Promise<Appointment[]> {
  return db
    .select()
    .from(appointments)
    .where(
      and(
        inArray(appointments.status, [...ACTIVE_STATUSES]),
        lt(appointments.startsAt, range.end),
        gt(appointments.endsAt, range.start),
        excludeId === undefined ? undefined : ne(appointments.id, excludeId),
      ),
    )
    .orderBy(asc(appointments.startsAt));
}

export async function findAppointment(db: Db, id: string): Promise<Appointment | undefined> {
  return db.query.appointments.findFirst({ where: eq(appointments.id, id) });
}

/** The customer's scheduled appointment for this vehicle starting exactly at `startsAt`, if any. */
export async function scheduledAppointmentAt(
  db: Db,
  key: { customerId: string; vehicleId: string; startsAt: Date },
): Promise<Appointment | undefined> {
  const [row] = await db
    .select()
    .from(appointments)
    .where(
      and(
        eq(appointments.customerId, key.customerId),
        eq(appointments.vehicleId, key.vehicleId),
        eq(appointments.startsAt, key.startsAt),
        eq(appointments.status, 'scheduled'),
      ),
    )
    .orderBy(asc(appointments.createdAt))
    .limit(1);
  return row;
}

export async function upcomingAppointments(db: Db, customerId: string, now: Date): Promise<Appointment[]> {
  return db
    .select()
    .from(appointments)
    .where(
      and(
        eq(appointments.customerId, customerId),
        eq(appointments.status, 'scheduled'),
        gt(appointments.endsAt, now),
      ),
    )
    .orderBy(asc(appointments.startsAt));
}

/**
 * Claims up to `limit` appointments whose calendar sync is due by pushing their next attempt a
 * lease into the future, in one statement with FOR UPDATE SKIP LOCKED: two instances running the
 * reconciler never claim the same row, and a crashed claimer's rows come back after the lease.
 */
export async function claimDueSyncs(db: Db, now: Date, leaseMs: number, limit: number): Promise<Appointment[]> {
  const due = db
    .select({ id: appointments.id })
    .from(appointments)
    .where(
      and(
        eq(appointments.calendarSyncState, 'pending'),
        or(isNull(appointments.calendarSyncNextAt), lte(appointments.calendarSyncNextAt, now)),
      ),
    )
    .orderBy(asc(appointments.calendarSyncNextAt))
    .limit(limit)
    .for('update', { skipLocked: true });
  return db
    .update(appointments)
    .set({ calendarSyncNextAt: new Date(now.getTime() + leaseMs) })
    .where(inArray(appointments.id, due))
    .returning();
}

/**
 * Marks the row synced only if nothing changed it since `version` was projected. The calendar now
 * shows the row as it is, which also settles a staff edit flagged as a conflict.
 */
export async function markSynced(db: Db, id: string, version: number): Promise<boolean> {
  const rows = await db
    .update(appointments)
    .set({
      calendarSyncState: 'synced',
      calendarSyncError: null,
      calendarSyncNextAt: null,
      calendarConflictAt: null,
      calendarConflictDetail: null,
    })
    .where(and(eq(appointments.id, id), eq(appointments.syncVersion, version)))
    .returning({ id: appointments.id });
  return rows.length === 1;
}

export async function requeueSync(db: Db, id: string, at: Date): Promise<void> {
  await db
    .update(appointments)
    .set({ calendarSyncState: 'pending', calendarSyncNextAt: at })
    .where(eq(appointments.id, id));
}

export async function markSyncFailed(
  db: Db,
  id: string,
  version: number,
  error: string,
  nextAt: Date,
): Promise<void> {
  await db
    .update(appointments)
    .set({
      calendarSyncAttempts: sql`${appointments.calendarSyncAttempts} + 1`,
      calendarSyncError: error.slice(0, 500),
      calendarSyncNextAt: nextAt,
    })
    .where(and(eq(appointments.id, id), eq(appointments.syncVersion, version)));
}

/**
 * Records which calendar the row's event is in now. Not guarded by the sync version: it is a fact
 * about the calendar, true whichever version of the row moved the event there.
 */
export async function recordEventCalendar(db: Db, id: string, calendarId: string): Promise<void> {
  await db.update(appointments).set({ calendarId }).where(eq(appointments.id, id));
}

/** The calendar the row's event is in, as last recorded. */
export async function eventCalendarOf(db: Db, id: string): Promise<string | null | undefined> {
  const [row] = await db.select({ calendarId: appointments.calendarId }).from(appointments).where(eq(appointments.id, id));
  return row?.calendarId;
}

export async function pendingSyncCount(db: Db): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(appointments)
    .where(eq(appointments.calendarSyncState, 'pending'));
  return Number(row?.count ?? 0);
}
