/**
 * Staff edit the calendar; the database follows. The calendar sync end to end: a real database
 * (PGlite, and PostgreSQL when configured), the real googleapis client against the Calendar
 * emulator, staff acting in the emulated Google UI, push notifications delivered by the emulator
 * to the real route on a loopback server. Bookings are made by the real booking service with
 * "now" fixed at Tuesday 2026-12-01 10:00 in New York; each test books on its own day.
 */
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryCache } from '../src/cache/memory-cache.js';
import type { Cache } from '../src/cache/cache.js';
import type { GoogleCalendar } from '../src/calendar/google.js';
import { eventIdForAppointment } from '../src/calendar/event-id.js';
import { customerPhoneKey } from '../src/crm/customer-cache.js';
import { calendarConflicts, findFeed } from '../src/db/calendar-sync-queries.js';
import type { Database, Db } from '../src/db/client.js';
import { appointments, calendarFeeds, customers, vehicles } from '../src/db/schema.js';
import { createLogger } from '../src/observability/logger.js';
import { createBookingService } from '../src/scheduling/booking-service.js';
import { defaultBusinessRules } from '../src/scheduling/business-rules.js';
import { channelTokenDigest } from '../src/scheduling/calendar-channels.js';
import { createCalendarReconciler } from '../src/scheduling/calendar-reconciler.js';
import { createCalendarSync } from '../src/scheduling/calendar-sync.js';
import type { CalendarSync, CalendarSyncDeps, CalendarSyncEvent } from '../src/scheduling/calendar-sync.js';
import { buildServer } from '../src/server/app.js';
import { GOOGLE_CALENDAR_NOTIFICATIONS_PATH, googleRoutes } from '../src/server/google-routes.js';
import { startGoogleCalendarEmulator } from './emulators/google-calendar.js';
import type { GoogleCalendarEmulator } from './emulators/google-calendar.js';
import { databaseBackends } from './support/databases.js';
import { googleApiFor, googleCalendarFor } from './support/google-client.js';

const ZONE = 'America/New_York';
const NOW = new Date('2026-12-01T15:00:00Z'); // Tuesday 10:00 in New York
const rules = defaultBusinessRules(ZONE);
/** Local wall time on a December 2026 day in New York (UTC-5) as an instant. */
const local = (day: string, hhmm: string) => new Date(`${day}T${hhmm}:00-05:00`);

async function waitUntil(predicate: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(databaseBackends())('calendar sync (staff edits) on $name', (backend) => {
  let database: Database;
  let emulator: GoogleCalendarEmulator;
  let cache: Cache;
  let phone = 0;
  const running: CalendarSync[] = [];

  beforeAll(async () => {
    [database, emulator] = await Promise.all([backend.open(), startGoogleCalendarEmulator()]);
    cache = createMemoryCache();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((sync) => sync.stop()));
    emulator.clearFaults();
    emulator.setLatency(0);
  });
  afterAll(async () => {
    await Promise.all([database?.close(), emulator?.close(), cache?.close()]);
  });

  const google = (): GoogleCalendar => googleCalendarFor(emulator, ZONE);

  function syncFor(db: Db, overrides: Partial<CalendarSyncDeps> = {}) {
    const events: CalendarSyncEvent[] = [];
    const errors: unknown[] = [];
    const sync = createCalendarSync({
      db,
      feed: google(),
      calendarIds: ['primary'],
      timeZone: ZONE,
      intervalMs: 60_000,
      cache,
      now: () => NOW,
      onEvent: (event) => events.push(event),
      onError: (_calendarId, error) => errors.push(error),
      ...overrides,
    });
    running.push(sync);
    return { sync, events, errors };
  }

  function booking(db: Db = database.db, callerBudgetMs = 2_000) {
    return createBookingService({ db, calendar: google(), rules, shopName: 'Test Garage', cache, now: () => NOW, callerBudgetMs });
  }

  async function caller(db: Db = database.db) {
    const [customer] = await db
      .insert(customers)
      .values({ phone: `+1555${String(3_000_000 + phone++).padStart(7, '0')}`, firstName: 'Dana', lastName: 'Reyes' })
      .returning();
    const [vehicle] = await db.insert(vehicles).values({ customerId: customer!.id, year: 2017, make: 'Subaru', model: 'Outback' }).returning();
    return { customer: customer!, vehicle: vehicle! };
  }

  async function book(day: string, hhmm: string, db: Db = database.db) {
    const { customer, vehicle } = await caller(db);
    const { appointment } = await booking(db).book({
      customerId: customer.id,
      vehicleId: vehicle.id,
      scheduledAt: `${day}T${hhmm}`,
      serviceType: 'oil change', // 30 minutes
    });
    expect(appointment.calendarSynced).toBe(true);
    return { ...appointment, eventId: eventIdForAppointment(appointment.id), phone: customer.phone };
  }

  async function rowOf(id: string, db: Db = database.db) {
    const [row] = await db.select().from(appointments).where(eq(appointments.id, id));
    return row!;
  }

  const eventListings = () => emulator.apiRequests().filter((r) => r.method === 'GET' && /\/calendars\/[^/]+\/events$/.test(r.path));

  it('brings a staff delete and a staff move into the database on the next interval', async () => {
    const gone = await book('2026-12-02', '09:00');
    const moving = await book('2026-12-02', '11:00');
    await cache.set(customerPhoneKey(gone.phone), { cached: true }, 60_000);
    await cache.set(customerPhoneKey(moving.phone), { cached: true }, 60_000);
    const { sync, events, errors } = syncFor(database.db, { intervalMs: 200 });
    sync.start();

    emulator.staff.deleteEvent('primary', gone.eventId);
    emulator.staff.moveEvent('primary', moving.eventId, local('2026-12-02', '15:00'), local('2026-12-02', '15:45'));
    await waitUntil(async () => (await rowOf(gone.id)).status === 'cancelled' && (await rowOf(moving.id)).startsAt.getTime() === local('2026-12-02', '15:00').getTime(), 'staff edits applied');

    expect(await rowOf(gone.id)).toMatchObject({ status: 'cancelled', cancellationReason: 'cancelled in the calendar', calendarSyncState: 'synced' });
    // A stretched event stretches the appointment: the calendar's end is taken too.
    expect(await rowOf(moving.id)).toMatchObject({ status: 'scheduled', endsAt: local('2026-12-02', '15:45'), calendarSyncState: 'synced', calendarConflictAt: null });
    // The calendar is left as staff made it (nothing projected back over it).
    expect(emulator.getEvent('primary', moving.eventId)?.start?.dateTime).toBe(local('2026-12-02', '15:00').toISOString());
    expect(await cache.get(customerPhoneKey(gone.phone))).toBeUndefined();
    expect(await cache.get(customerPhoneKey(moving.phone))).toBeUndefined();
    expect(events.filter((e) => e.kind === 'cancelled' || e.kind === 'moved')).toEqual([
      { kind: 'cancelled', calendarId: 'primary', appointmentId: gone.id },
      { kind: 'moved', calendarId: 'primary', appointmentId: moving.id, from: local('2026-12-02', '11:00'), to: local('2026-12-02', '15:00') },
    ]);
    expect(errors).toEqual([]);
  });

  it('does not cancel an appointment whose event staff moved to another calendar it follows: flags it instead', async () => {
    const bay = emulator.createCalendar({ summary: 'Bay 2' }).id;
    const moved = await book('2026-12-15', '09:00');
    const { sync, events, errors } = syncFor(database.db, { calendarIds: ['primary', bay] });
    await sync.runOnce();
    // Staff pick another calendar for the event in Google's UI: events.move, which leaves a deletion behind.
    await googleApiFor(emulator).events.move({ calendarId: 'primary', eventId: moved.eventId, destination: bay });
    await sync.runOnce();
    expect(await rowOf(moved.id)).toMatchObject({ status: 'scheduled', cancellationReason: null });
    expect((await rowOf(moved.id)).calendarConflictDetail).toContain(bay);
    expect(events.filter((e) => e.kind === 'cancelled')).toEqual([]);

    // Moved back, the calendar and the database agree again.
    await googleApiFor(emulator).events.move({ calendarId: bay, eventId: moved.eventId, destination: 'primary' });
    await sync.runOnce();
    expect(await rowOf(moved.id)).toMatchObject({ status: 'scheduled', calendarConflictAt: null });
    expect(errors).toEqual([]);
  });

  it('leaves events staff made alone, and ignores the agent\'s own writes coming back', async () => {
    const { sync } = syncFor(database.db);
    const kept = await book('2026-12-03', '09:00');
    const rescheduled = await book('2026-12-03', '11:00');
    const cancelled = await book('2026-12-03', '14:00');
    await sync.runOnce();
    const staffEvent = emulator.staff.insertEvent('primary', { summary: 'Team meeting', start: local('2026-12-03', '13:00'), end: local('2026-12-03', '13:30') });
    // An id of the appointment form, but no appointment of ours has it.
    emulator.staff.insertEvent('primary', { id: eventIdForAppointment(crypto.randomUUID()), summary: 'Lookalike', start: local('2026-12-03', '16:00'), end: local('2026-12-03', '16:30') });
    emulator.staff.deleteEvent('primary', staffEvent.id);
    await booking().reschedule({ appointmentId: rescheduled.id, newScheduledAt: '2026-12-03T15:00' });
    await booking().cancel({ appointmentId: cancelled.id });
    const before = await Promise.all([kept, rescheduled, cancelled].map((a) => rowOf(a.id)));

    const [report] = await sync.runOnce();
    expect(report).toMatchObject({ claimed: true, cancelled: 0, moved: 0, conflicts: 0, fullSync: false });
    expect(report!.listed).toBeGreaterThanOrEqual(4);
    expect(await Promise.all([kept, rescheduled, cancelled].map((a) => rowOf(a.id)))).toEqual(before);
  });

  it('does not let a stale event overwrite an agent change still waiting for the calendar', async () => {
    const { sync, events } = syncFor(database.db);
    const appointment = await book('2026-12-04', '09:00');
    await sync.runOnce();
    // The agent moves it to 14:00 but cannot reach the calendar: the row is pending at 14:00.
    emulator.injectFaults([{ status: 503, times: Infinity, match: (r) => r.method === 'PATCH' }]);
    await booking(database.db, 300).reschedule({ appointmentId: appointment.id, newScheduledAt: '2026-12-04T14:00' });
    expect(await rowOf(appointment.id)).toMatchObject({ calendarSyncState: 'pending', startsAt: local('2026-12-04', '14:00') });
    // Meanwhile staff drag the (stale) 09:00 event elsewhere.
    emulator.staff.moveEvent('primary', appointment.eventId, local('2026-12-04', '16:00'), local('2026-12-04', '16:30'));

    await sync.runOnce();
    expect(await rowOf(appointment.id)).toMatchObject({ calendarSyncState: 'pending', startsAt: local('2026-12-04', '14:00') });

    emulator.clearFaults();
    const reconciler = createCalendarReconciler({ db: database.db, calendar: google(), timeZone: ZONE, shopName: 'Test Garage', intervalMs: 60_000, now: () => NOW });
    expect(await reconciler.runOnce({ dueWithinMs: 3_600_000 })).toMatchObject({ synced: 1 });
    await sync.runOnce();
    expect(await rowOf(appointment.id)).toMatchObject({ calendarSyncState: 'synced', startsAt: local('2026-12-04', '14:00') });
    expect(emulator.getEvent('primary', appointment.eventId)?.start?.dateTime).toBe(local('2026-12-04', '14:00').toISOString());
    expect(events.filter((e) => e.kind === 'moved' || e.kind === 'conflict')).toEqual([]);
  });

  it('flags a move onto another booking instead of applying it, and clears the flag when staff fix it', async () => {
    const { sync, events } = syncFor(database.db);
    const moved = await book('2026-12-07', '09:00');
    const other = await book('2026-12-07', '13:00');
    await sync.runOnce();

    emulator.staff.moveEvent('primary', moved.eventId, local('2026-12-07', '13:15'), local('2026-12-07', '13:45'));
    const [report] = await sync.runOnce();
    expect(report).toMatchObject({ moved: 0, conflicts: 1 });
    const flagged = await rowOf(moved.id);
    expect(flagged).toMatchObject({ startsAt: local('2026-12-07', '09:00'), status: 'scheduled', calendarSyncState: 'synced' });
    expect(flagged.calendarConflictAt).toEqual(NOW);
    expect(flagged.calendarConflictDetail).toBe('moved in the calendar to 2026-12-07T13:15:00-05:00 - 2026-12-07T13:45:00-05:00, which overlaps another appointment in bay 1');
    expect(await calendarConflicts(database.db, 20)).toEqual({ count: 1, ids: [moved.id] });
    expect(events.filter((e) => e.kind === 'conflict')).toEqual([{ kind: 'conflict', calendarId: 'primary', appointmentId: moved.id, detail: flagged.calendarConflictDetail }]);
    // The event is left for staff: nothing projects the database's time back over it.
    const reconciler = createCalendarReconciler({ db: database.db, calendar: google(), timeZone: ZONE, shopName: 'Test Garage', intervalMs: 60_000, now: () => NOW });
    await reconciler.runOnce({ dueWithinMs: 3_600_000 });
    expect(emulator.getEvent('primary', moved.eventId)?.start?.dateTime).toBe(local('2026-12-07', '13:15').toISOString());
    expect((await rowOf(other.id)).startsAt).toEqual(local('2026-12-07', '13:00'));

    // Staff move it to a free time: applied, flag gone.
    emulator.staff.moveEvent('primary', moved.eventId, local('2026-12-07', '15:00'), local('2026-12-07', '15:30'));
    await sync.runOnce();
    expect(await rowOf(moved.id)).toMatchObject({ startsAt: local('2026-12-07', '15:00'), calendarConflictAt: null, calendarConflictDetail: null });
    expect(await calendarConflicts(database.db, 20)).toEqual({ count: 0, ids: [] });

    // Flagged again, then staff put it back where the database has it: in step, flag gone.
    emulator.staff.moveEvent('primary', moved.eventId, local('2026-12-07', '12:45'), local('2026-12-07', '13:15'));
    await sync.runOnce();
    expect((await rowOf(moved.id)).calendarConflictAt).not.toBeNull();
    emulator.staff.moveEvent('primary', moved.eventId, local('2026-12-07', '15:00'), local('2026-12-07', '15:30'));
    await sync.runOnce();
    expect(await rowOf(moved.id)).toMatchObject({ startsAt: local('2026-12-07', '15:00'), calendarConflictAt: null });
    expect(events.filter((e) => e.kind === 'conflict_cleared')).toHaveLength(1);
    expect(events.filter((e) => e.kind === 'conflict')).toHaveLength(2);

    // Flagged again, then the agent moves it (the customer called): the agent's projection
    // rewrites the event, which settles the conflict as well.
    emulator.staff.moveEvent('primary', moved.eventId, local('2026-12-07', '13:00'), local('2026-12-07', '13:30'));
    await sync.runOnce();
    expect(await calendarConflicts(database.db, 20)).toEqual({ count: 1, ids: [moved.id] });
    await booking().reschedule({ appointmentId: moved.id, newScheduledAt: '2026-12-07T16:00' });
    expect(await rowOf(moved.id)).toMatchObject({ startsAt: local('2026-12-07', '16:00'), calendarSyncState: 'synced', calendarConflictAt: null });
    expect(emulator.getEvent('primary', moved.eventId)?.start?.dateTime).toBe(local('2026-12-07', '16:00').toISOString());
    await sync.runOnce();
    expect(await calendarConflicts(database.db, 20)).toEqual({ count: 0, ids: [] });
  });

  it('lists everything again when Google says the sync token is gone (410)', async () => {
    const { sync, events } = syncFor(database.db);
    const appointment = await book('2026-12-08', '09:00');
    await sync.runOnce();
    emulator.invalidateSyncTokens();
    emulator.staff.moveEvent('primary', appointment.eventId, local('2026-12-08', '10:00'), local('2026-12-08', '10:30'));
    const listedBefore = eventListings().length;

    const [report] = await sync.runOnce();
    expect(report).toMatchObject({ fullSync: true, moved: 1 });
    expect((await rowOf(appointment.id)).startsAt).toEqual(local('2026-12-08', '10:00'));
    const listings = eventListings().slice(listedBefore);
    expect(listings.map((r) => Boolean(r.query.syncToken))).toEqual([true, false]);
    expect(listings.every((r) => r.query.showDeleted === 'true')).toBe(true);
    expect(events).toContainEqual({ kind: 'full_sync', calendarId: 'primary', reason: 'token_expired' });

    // The fresh token works: the next sync is incremental again.
    const [next] = await sync.runOnce();
    expect(next).toMatchObject({ fullSync: false, listed: 0 });
  });

  it('follows every page of a listing before storing the token', async () => {
    const { sync } = syncFor(database.db, { pageSize: 2 });
    const booked = [await book('2026-12-09', '09:00'), await book('2026-12-09', '10:00'), await book('2026-12-09', '11:00')];
    await sync.runOnce();
    for (const appointment of booked) emulator.staff.deleteEvent('primary', appointment.eventId);
    const listedBefore = eventListings().length;
    const [report] = await sync.runOnce();
    expect(report).toMatchObject({ cancelled: 3, listed: 3 });
    expect(eventListings().slice(listedBefore).map((r) => Boolean(r.query.pageToken))).toEqual([false, true]);
    expect((await findFeed(database.db, 'primary'))?.leaseOwner).toBeNull();
  });

  describe('push notifications', () => {
    let server: FastifyInstance;
    let address: string;
    const changedCalls: string[] = [];
    let target: CalendarSync | undefined;

    beforeAll(async () => {
      server = await buildServer({
        logger: createLogger({ level: 'silent' }),
        readinessChecks: [],
        routes: [
          googleRoutes({
            // Bound late: each test starts its own sync, which needs this server's address first.
            notifications: {
              verifyNotification: (notification) => target!.verifyNotification(notification),
              changed: (calendarId) => {
                changedCalls.push(calendarId);
                target?.changed(calendarId);
              },
            },
            logger: createLogger({ level: 'silent' }),
          }),
        ],
      });
      await server.listen({ host: '127.0.0.1', port: 0 });
      address = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}${GOOGLE_CALENDAR_NOTIFICATIONS_PATH}`;
    });
    afterAll(async () => {
      await server?.close();
    });

    async function pushedSync(overrides: Partial<CalendarSyncDeps> = {}) {
      const made = syncFor(database.db, { notificationAddress: address, intervalMs: 3_600_000, ...overrides });
      target = made.sync;
      return made;
    }

    it('syncs at once when Google says the calendar changed, long before the interval', async () => {
      const appointment = await book('2026-12-10', '09:00');
      const { sync } = await pushedSync();
      sync.start();
      await waitUntil(async () => (await findFeed(database.db, 'primary'))?.channelResourceId != null, 'channel opened');
      await emulator.pushesSettled();

      emulator.staff.deleteEvent('primary', appointment.eventId);
      await waitUntil(async () => (await rowOf(appointment.id)).status === 'cancelled', 'deletion applied after the push');
      expect((await rowOf(appointment.id)).cancellationReason).toBe('cancelled in the calendar');
      await emulator.pushesSettled();
      const ours = emulator.pushDeliveries.filter((d) => d.address === address);
      expect(ours.map((d) => [d.state, d.status])).toEqual([
        ['sync', 200],
        ['exists', 200],
      ]);
    });

    it('stores a digest of the channel token, never the token, and answers 404/403 to strangers without syncing', async () => {
      const { sync } = await pushedSync();
      await sync.runOnce();
      await emulator.pushesSettled();
      const feed = (await findFeed(database.db, 'primary'))!;
      const channel = emulator.channels().find((c) => c.id === feed.channelId)!;
      expect(channel).toMatchObject({ address, stopped: false, resourceId: feed.channelResourceId });
      expect(feed.channelTokenDigest).toBe(channelTokenDigest(channel.token!));
      expect(JSON.stringify(feed)).not.toContain(channel.token!);

      const post = (headers: Record<string, string>) => server.inject({ method: 'POST', url: GOOGLE_CALENDAR_NOTIFICATIONS_PATH, headers });
      const genuine = { 'x-goog-channel-id': channel.id, 'x-goog-channel-token': channel.token!, 'x-goog-resource-id': channel.resourceId, 'x-goog-resource-state': 'exists' };
      changedCalls.length = 0;

      expect((await post({ ...genuine, 'x-goog-channel-id': crypto.randomUUID() })).statusCode).toBe(404);
      expect((await post({ ...genuine, 'x-goog-resource-id': 'another-resource' })).statusCode).toBe(404);
      expect((await post({ ...genuine, 'x-goog-channel-token': `${channel.token!}x` })).statusCode).toBe(403);
      const { 'x-goog-channel-token': _token, ...tokenless } = genuine;
      expect((await post(tokenless)).statusCode).toBe(403);
      expect((await post({ 'x-goog-resource-state': 'exists' })).statusCode).toBe(400);
      expect(changedCalls).toEqual([]);

      expect((await post({ ...genuine, 'x-goog-resource-state': 'sync' })).statusCode).toBe(200);
      expect(changedCalls).toEqual([]);
      // Google sends no body; a Content-Type claiming JSON must not turn that into a 400.
      expect((await post({ ...genuine, 'content-type': 'application/json' })).statusCode).toBe(200);
      expect(changedCalls).toEqual(['primary']);
    });

    it('keeps one channel per calendar across instances, renews it before expiry, and stops only its own', async () => {
      const clock = { now: () => new Date() }; // channel expiry is Google's real time
      const first = await pushedSync({ ...clock, channelTtlMs: 60_000, channelRenewBeforeMs: 30_000 });
      await first.sync.runOnce();
      const second = syncFor(database.db, { ...clock, notificationAddress: address, channelTtlMs: 60_000, channelRenewBeforeMs: 30_000 });
      await second.sync.runOnce();
      const live = () => emulator.channels().filter((c) => c.address === address && !c.stopped);
      expect(live()).toHaveLength(1);
      const opened = live()[0]!;
      expect(first.events).toContainEqual({ kind: 'channel_opened', calendarId: 'primary', expiresAt: new Date(opened.expiration) });

      // An instance that finds the channel about to expire replaces it, and stops the old one.
      const third = syncFor(database.db, { ...clock, notificationAddress: address, channelTtlMs: 60_000, channelRenewBeforeMs: 120_000 });
      await third.sync.runOnce();
      expect(third.events.map((e) => e.kind)).toContain('channel_renewed');
      expect(live()).toHaveLength(1);
      expect(live()[0]!.id).not.toBe(opened.id);
      expect(emulator.channels().find((c) => c.id === opened.id)?.stopped).toBe(true);

      // Shutting down the instance that opened the first channel leaves the current one alone...
      await first.sync.stop();
      expect(live()).toHaveLength(1);
      // ...and the instance that opened it stops it on its way out, so a survivor opens its own.
      const renewedId = live()[0]!.id;
      await third.sync.stop();
      expect(emulator.channels().find((c) => c.id === renewedId)?.stopped).toBe(true);
      expect(await findFeed(database.db, 'primary')).toMatchObject({ channelId: null, channelTokenDigest: null });
      await second.sync.runOnce();
      expect(live()).toHaveLength(1);
      expect(second.events.map((e) => e.kind)).toContain('channel_opened');
    });
    it('stops the channels of a renewal after losing the calendar to another instance, so none notifies unrecorded', async () => {
      const feed = google();
      let steal = false;
      const made = await pushedSync({
        now: () => new Date(),
        channelRenewBeforeMs: 30 * 86_400_000, // every sync renews
        feed: {
          ...feed,
          async watch(calendarId, request, options) {
            const channel = await feed.watch(calendarId, request, options);
            // Meanwhile the lease ran out and another instance claimed the calendar (it opens its own channel).
            if (steal) await database.db.update(calendarFeeds).set({ leaseOwner: 'another-instance' }).where(eq(calendarFeeds.calendarId, 'primary'));
            return channel;
          },
        },
      });
      const live = () => emulator.channels().filter((c) => c.address === address && !c.stopped);
      try {
        await made.sync.runOnce();
        expect(live()).toHaveLength(1);
        steal = true;
        await made.sync.runOnce();
        expect(live()).toEqual([]);
        expect(made.events.map((e) => e.kind).filter((kind) => kind.startsWith('channel'))).toEqual(['channel_opened']);
        expect(made.errors).toHaveLength(1);
        expect(await findFeed(database.db, 'primary')).toMatchObject({ channelId: null, channelTokenDigest: null });
      } finally {
        await database.db.update(calendarFeeds).set({ leaseOwner: null, leaseUntil: null }).where(eq(calendarFeeds.calendarId, 'primary'));
      }
    });
  });

  describe('two instances on one database', () => {
    /** Counts listings of the calendar in flight at once, across every feed made by it. */
    function overlapProbe() {
      let inFlight = 0;
      let most = 0;
      let hold: Promise<void> | undefined;
      let release: () => void = () => {};
      let listedWhileHeld = 0;
      const wrap = (inner: GoogleCalendar): GoogleCalendar => ({
        ...inner,
        async listChanges(...args) {
          inFlight += 1;
          most = Math.max(most, inFlight);
          try {
            const page = await inner.listChanges(...args);
            // Held after Google answered: the instance has what it listed and still holds the lease.
            if (hold !== undefined) {
              listedWhileHeld += 1;
              await hold;
            }
            return page;
          } finally {
            inFlight -= 1;
          }
        },
      });
      return {
        wrap,
        most: () => most,
        listedWhileHeld: () => listedWhileHeld,
        holdListings() {
          hold = new Promise((resolve) => {
            release = resolve;
          });
        },
        releaseListings() {
          hold = undefined;
          release();
        },
      };
    }

    it('sync a change once: one instance at a time lists a calendar', async () => {
      const shared = await backend.openShared();
      try {
        const [first, second] = shared.handles;
        const probe = overlapProbe();
        const a = syncFor(first.db, { feed: probe.wrap(google()) });
        const b = syncFor(second.db, { feed: probe.wrap(google()) });
        const appointment = await book('2026-12-11', '09:00', first.db);
        await a.sync.runOnce();
        const version = (await rowOf(appointment.id, first.db)).syncVersion;

        emulator.staff.deleteEvent('primary', appointment.eventId);
        emulator.setLatency(150);
        const reports = (await Promise.all([a.sync.runOnce(), b.sync.runOnce()])).flat();
        expect(probe.most()).toBe(1);
        expect(reports.reduce((sum, r) => sum + r.cancelled, 0)).toBe(1);
        expect([...a.events, ...b.events].filter((e) => e.kind === 'cancelled')).toHaveLength(1);
        expect(await rowOf(appointment.id, second.db)).toMatchObject({ status: 'cancelled', syncVersion: version + 1 });
      } finally {
        await Promise.all(running.splice(0).map((sync) => sync.stop()));
        await shared.close();
      }
    });

    it('a notification reaching one instance while the other syncs makes the other sync again', async () => {
      const shared = await backend.openShared();
      try {
        const [first, second] = shared.handles;
        const probe = overlapProbe();
        const a = syncFor(first.db, { feed: probe.wrap(google()) });
        const b = syncFor(second.db);
        const appointment = await book('2026-12-14', '09:00', first.db);
        await a.sync.runOnce();

        probe.holdListings();
        const aRun = a.sync.runOnce();
        await waitUntil(() => probe.listedWhileHeld() === 1, 'first instance listed and holds the lease');
        emulator.staff.deleteEvent('primary', appointment.eventId);
        // The notification reaches the second instance: it cannot claim the calendar...
        b.sync.changed('primary');
        await waitUntil(async () => {
          const feed = await findFeed(second.db, 'primary');
          return feed !== undefined && feed.syncRequests > feed.syncedRequests;
        }, 'request recorded');
        expect(await b.sync.runOnce()).toEqual([expect.objectContaining({ claimed: false })]);
        // ...so the first one, once done with what it listed before the change, goes round again.
        probe.releaseListings();
        expect(await aRun).toEqual([expect.objectContaining({ claimed: true, cancelled: 1 })]);
        expect(await rowOf(appointment.id, second.db)).toMatchObject({ status: 'cancelled' });
        expect(a.events.filter((e) => e.kind === 'cancelled')).toHaveLength(1);
        expect(b.events.filter((e) => e.kind === 'cancelled')).toHaveLength(0);
      } finally {
        await Promise.all(running.splice(0).map((sync) => sync.stop()));
        await shared.close();
      }
    });
  });
});
