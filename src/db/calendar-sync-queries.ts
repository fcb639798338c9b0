/**
 * Queries for following staff edits in the calendar: the per-calendar feed rows (sync token,
 * lease, push channel) and the guarded appointment updates a staff edit turns into. Every
 * appointment update here applies only to the row version the decision was made on, and only
 * while that version is already in the calendar, so an agent change made meanwhile always wins.
 */
import { and, count, eq, isNotNull, isNull, lte, or, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { appointments, calendarFeeds } from './schema.js';
import type { Appointment, CalendarFeed } from './schema.js';

// --- feeds ---------------------------------------------------------------------------------

export async function ensureFeeds(db: Db, calendarIds: readonly string[]): Promise<void> {
  if (calendarIds.length === 0) return;
  await db
    .insert(calendarFeeds)
    .values(calendarIds.map((calendarId) => ({ calendarId })))
    .onConflictDoNothing();
}

/**
 * Claims the calendar for one sync by this instance, in one statement with FOR UPDATE SKIP LOCKED:
 * of two instances claiming at once, one gets the row and the other nothing (it does not wait).
 * A claimer that dies leaves the row to whoever comes after the lease.
 */
export async function claimFeed(db: Db, calendarId: string, owner: string, now: Date, leaseMs: number): Promise<CalendarFeed | undefined> {
  const free = db
    .select({ calendarId: calendarFeeds.calendarId })
    .from(calendarFeeds)
    .where(and(eq(calendarFeeds.calendarId, calendarId), or(isNull(calendarFeeds.leaseUntil), lte(calendarFeeds.leaseUntil, now))))
    .for('update', { skipLocked: true });
  const [row] = await db
    .update(calendarFeeds)
    .set({ leaseOwner: owner, leaseUntil: new Date(now.getTime() + leaseMs) })
    .where(sql`${calendarFeeds.calendarId} in ${free}`)
    .returning();
  return row;
}

/** Pushes this instance's lease further out; false when it was lost (expired and claimed by another). */
export async function extendLease(db: Db, calendarId: string, owner: string, until: Date): Promise<boolean> {
  const rows = await db
    .update(calendarFeeds)
    .set({ leaseUntil: until })
    .where(and(eq(calendarFeeds.calendarId, calendarId), eq(calendarFeeds.leaseOwner, owner)))
    .returning({ calendarId: calendarFeeds.calendarId });
  return rows.length === 1;
}

/**
 * Ends this instance's claim. With `completed`, the listing finished: its sync token and the
 * request count it covered are saved. Returns the row as it is now (undefined if the lease was lost),
 * so the caller sees requests that arrived during the sync.
 */
export async function releaseFeed(
  db: Db,
  calendarId: string,
  owner: string,
  completed?: { syncToken: string; syncedAt: Date; syncedRequests: number },
): Promise<CalendarFeed | undefined> {
  const [row] = await db
    .update(calendarFeeds)
    .set({
      leaseOwner: null,
      leaseUntil: null,
      ...(completed === undefined
        ? {}
        : { syncToken: completed.syncToken, lastSyncedAt: completed.syncedAt, syncedRequests: completed.syncedRequests }),
    })
    .where(and(eq(calendarFeeds.calendarId, calendarId), eq(calendarFeeds.leaseOwner, owner)))
    .returning();
  return row;
}

/** A change notification arrived: whoever syncs this calendar next (or is syncing it now) runs again. */
export async function requestFeedSync(db: Db, calendarId: string): Promise<void> {
  await db
    .update(calendarFeeds)
    .set({ syncRequests: sql`${calendarFeeds.syncRequests} + 1` })
    .where(eq(calendarFeeds.calendarId, calendarId));
}

export async function feedByChannel(db: Db, channelId: string): Promise<CalendarFeed | undefined> {
  return db.query.calendarFeeds.findFirst({ where: eq(calendarFeeds.channelId, channelId) });
}

export async function findFeed(db: Db, calendarId: string): Promise<CalendarFeed | undefined> {
  return db.query.calendarFeeds.findFirst({ where: eq(calendarFeeds.calendarId, calendarId) });
}

export interface ChannelRecord {
  channelId: string;
  channelResourceId: string | null;
  channelTokenDigest: string;
  channelExpiresAt: Date | null;
  channelOwner: string;
}

/** Records the calendar's channel (replacing any earlier one) while this instance holds the lease. */
export async function recordChannel(db: Db, calendarId: string, leaseOwner: string, channel: ChannelRecord): Promise<boolean> {
  const rows = await db
    .update(calendarFeeds)
    .set(channel)
    .where(and(eq(calendarFeeds.calendarId, calendarId), eq(calendarFeeds.leaseOwner, leaseOwner)))
    .returning({ calendarId: calendarFeeds.calendarId });
  return rows.length === 1;
}

/** Forgets the channel if it is still the calendar's current one (a newer channel is left alone). */
export async function clearChannel(db: Db, calendarId: string, channelId: string): Promise<void> {
  await db
    .update(calendarFeeds)
    .set({ channelId: null, channelResourceId: null, channelTokenDigest: null, channelExpiresAt: null, channelOwner: null })
    .where(and(eq(calendarFeeds.calendarId, calendarId), eq(calendarFeeds.channelId, channelId)));
}

export async function feedsWithChannelsOwnedBy(db: Db, owner: string): Promise<CalendarFeed[]> {
  return db.select().from(calendarFeeds).where(eq(calendarFeeds.channelOwner, owner));
}

// --- appointments changed by staff ---------------------------------------------------------

/** The row at this version, still scheduled, and its latest change already in the calendar. */
function untouchedSince(row: Appointment) {
  return and(
    eq(appointments.id, row.id),
    eq(appointments.syncVersion, row.syncVersion),
    eq(appointments.status, 'scheduled'),
    eq(appointments.calendarSyncState, 'synced'),
  );
}

/**
 * The calendar already shows the change, so the row stays synced; the version still goes up, so
 * an agent change prepared on the old version fails its own guard and looks again.
 */
const adoptedFromCalendar = {
  syncVersion: sql`${appointments.syncVersion} + 1`,
  calendarConflictAt: null,
  calendarConflictDetail: null,
};

export async function cancelFromCalendar(db: Db, row: Appointment, reason: string): Promise<Appointment | undefined> {
  const [updated] = await db
    .update(appointments)
    .set({ status: 'cancelled', cancellationReason: reason, ...adoptedFromCalendar })
    .where(untouchedSince(row))
    .returning();
  return updated;
}

/** Throws the driver's error on a refused time (23P01: overlaps another active appointment in the bay). */
export async function moveFromCalendar(db: Db, row: Appointment, range: { start: Date; end: Date }): Promise<Appointment | undefined> {
  const [updated] = await db
    .update(appointments)
    .set({ startsAt: range.start, endsAt: range.end, ...adoptedFromCalendar })
    .where(untouchedSince(row))
    .returning();
  return updated;
}

/** Flags the row; true when the flag is new or says something new (worth a log line). */
export async function flagCalendarConflict(db: Db, row: Appointment, at: Date, detail: string): Promise<boolean> {
  const rows = await db
    .update(appointments)
    .set({ calendarConflictAt: sql`coalesce(${appointments.calendarConflictAt}, ${at.toISOString()}::timestamptz)`, calendarConflictDetail: detail })
    .where(
      and(
        eq(appointments.id, row.id),
        eq(appointments.syncVersion, row.syncVersion),
        or(isNull(appointments.calendarConflictAt), sql`${appointments.calendarConflictDetail} is distinct from ${detail}`),
      ),
    )
    .returning({ id: appointments.id });
  return rows.length === 1;
}

/** Clears the flag; true when there was one. */
export async function clearCalendarConflict(db: Db, row: Appointment): Promise<boolean> {
  const rows = await db
    .update(appointments)
    .set({ calendarConflictAt: null, calendarConflictDetail: null })
    .where(and(eq(appointments.id, row.id), eq(appointments.syncVersion, row.syncVersion), isNotNull(appointments.calendarConflictAt)))
    .returning({ id: appointments.id });
  return rows.length === 1;
}

/**
 * Scheduled appointments whose calendar event staff moved where the database would not follow:
 * how many, and the ids of the oldest `limit` of them.
 */
export async function calendarConflicts(db: Db, limit: number): Promise<{ count: number; ids: string[] }> {
  const flagged = and(isNotNull(appointments.calendarConflictAt), eq(appointments.status, 'scheduled'));
  const [total] = await db.select({ count: count() }).from(appointments).where(flagged);
  const rows = limit <= 0
    ? []
    : await db.select({ id: appointments.id }).from(appointments).where(flagged).orderBy(appointments.calendarConflictAt).limit(limit);
  return { count: Number(total?.count ?? 0), ids: rows.map((r) => r.id) };
}
