/**
 * PostgreSQL briefly unreachable while book_appointment runs. The booking service's pool talks to
 * the test database through a TCP relay the test can cut (connections reset, new ones refused) at
 * an exact moment: before anything, in the middle of the booking transaction (on the INSERT of the
 * appointment, after the idempotency key was written in the same transaction), or right after the
 * commit. What the caller is told comes from the tool result; what is left behind is read over a
 * direct connection, and calendar events from the Google Calendar emulator.
 *
 * PostgreSQL only (TEST_DATABASE_URL): embedded PGlite runs in-process, so there is no connection
 * that could go away; "the database is unreachable" cannot happen to it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { and, eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryCache } from '../src/cache/memory-cache.js';
import type { Cache } from '../src/cache/cache.js';
import { eventIdForAppointment } from '../src/calendar/event-id.js';
import { openDatabase } from '../src/db/client.js';
import type { Database } from '../src/db/client.js';
import { appointments, customers, idempotencyKeys, vehicles } from '../src/db/schema.js';
import { createCustomerService } from '../src/crm/customer-service.js';
import { createBookingService } from '../src/scheduling/booking-service.js';
import { defaultBusinessRules } from '../src/scheduling/business-rules.js';
import { createCalendarReconciler } from '../src/scheduling/calendar-reconciler.js';
import { createToolDispatcher, INTERNAL_ERROR_MESSAGE } from '../src/tools/dispatcher.js';
import { ALL_TOOLS } from '../src/tools/index.js';
import type { CallActions, ToolResult, ToolServices } from '../src/tools/tool.js';
import { startGoogleCalendarEmulator } from './emulators/google-calendar.js';
import type { GoogleCalendarEmulator } from './emulators/google-calendar.js';
import { startTcpProxy, viaProxy } from './support/tcp-proxy.js';
import type { TcpProxy } from './support/tcp-proxy.js';
import { googleCalendarFor } from './support/google-client.js';
import { present } from './support/prerequisites.js';

const adminUrl = process.env.TEST_DATABASE_URL;
const ZONE = 'America/New_York';
const NOW = new Date('2026-12-01T15:00:00Z'); // Tuesday 10:00 in New York
const rules = defaultBusinessRules(ZONE);
const CALL_ID = 'CA-database-faults';

describe.skipIf(!present(Boolean(adminUrl), 'TEST_DATABASE_URL'))('PostgreSQL unavailable during a booking (needs TEST_DATABASE_URL; PGlite has no connection to lose)', () => {
  let dbName: string;
  let direct: Database; // the test's own view, never through the relay
  let proxied: Database; // what the booking service uses
  let proxy: TcpProxy;
  let google: GoogleCalendarEmulator;
  let cache: Cache;
  let services: ToolServices;
  let phone = 0;
  const dispatcher = createToolDispatcher({ tools: ALL_TOOLS });
  const actions: CallActions = {
    transferToHuman: async () => ({ transferred: false, message: 'Someone will call you back.' }),
    endCall: async () => undefined,
  };

  beforeAll(async () => {
    dbName = `test_${randomBytes(6).toString('hex')}`;
    await admin((client) => client.query(`CREATE DATABASE ${dbName}`));
    const url = new URL(adminUrl!);
    url.pathname = `/${dbName}`;
    direct = await openDatabase({ url: url.toString() });
    await direct.migrate();
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    proxied = await openDatabase({ url: viaProxy(url.toString(), proxy) });
    // Works around the crash shown by the first test below (a dropped connection of a checked-out
    // client is an unhandled 'error' event), so the rest of this file can test what a caller sees.
    (proxied.db as unknown as { $client: pg.Pool }).$client.on('connect', (client) => client.on('error', () => undefined));
    google = await startGoogleCalendarEmulator();
    cache = createMemoryCache();
    const calendar = googleCalendarFor(google, ZONE);
    const booking = createBookingService({ db: proxied.db, calendar, rules, shopName: 'Test Garage', cache, now: () => NOW });
    const customerService = createCustomerService({ db: proxied.db, cache, timeZone: rules.timeZone, now: () => NOW, upcomingAppointments: booking.upcoming });
    services = { booking, customers: customerService, rules, shopName: 'Test Garage', now: () => NOW };
  }, 60_000);
  afterEach(async () => {
    await proxy.restore();
  });
  afterAll(async () => {
    await Promise.all([proxied?.close().catch(() => undefined), direct?.close(), google?.close(), cache?.close(), proxy?.close()]);
    if (dbName) await admin((client) => client.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));
  });

  async function admin(run: (client: pg.Client) => Promise<unknown>): Promise<void> {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await run(client);
    } finally {
      await client.end();
    }
  }

  async function newCaller() {
    const number = `+1555${String(4_000_000 + phone++).padStart(7, '0')}`;
    const [customer] = await direct.db.insert(customers).values({ phone: number, firstName: 'Ari', lastName: 'Lund' }).returning();
    const [vehicle] = await direct.db
      .insert(vehicles)
      .values({ customerId: customer!.id, year: 2016, make: 'Ford', model: 'Focus' })
      .returning();
    return { phone: number, customerId: customer!.id, vehicleId: vehicle!.id };
  }

  async function book(who: Awaited<ReturnType<typeof newCaller>>, scheduledAt: string, toolCallId: string) {
    const started = performance.now();
    const args = { customer_id: who.customerId, vehicle_id: who.vehicleId, scheduled_at: scheduledAt, service_type: 'oil change' };
    const [dispatched] = await dispatcher.dispatch([{ id: toolCallId, name: 'book_appointment', arguments: JSON.stringify(args) }], {
      signal: new AbortController().signal,
      base: { callId: CALL_ID, caller: { phoneNumber: who.phone, verifiedCustomerIds: new Set() }, services, actions },
    });
    return { result: dispatched!.result, ms: performance.now() - started };
  }

  /** The caller is told plainly, with nothing a caller should not hear (no stack, SQL, host or driver text). */
  function expectSafeFailure(result: ToolResult): void {
    expect(result.success).toBe(false);
    expect(result).toEqual({ success: false, error: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) });
    expect(result.message).toBe(INTERNAL_ERROR_MESSAGE);
    expect(JSON.stringify(result)).not.toMatch(/\bat \S+:\d+|Error:|insert into|ECONN|terminated|127\.0\.0\.1|postgres/i);
  }

  /** Database and calendar agree: every key has its appointment, every booking its key, every event its row. */
  async function expectConsistent(customerId: string): Promise<{ appointmentIds: string[] }> {
    const rows = await direct.db.select().from(appointments).where(eq(appointments.customerId, customerId));
    const keys = await direct.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.operation, 'book'));
    const allIds = new Set((await direct.db.select({ id: appointments.id }).from(appointments)).map((r) => r.id));
    for (const key of keys) expect(allIds.has((key.result as { appointmentId: string }).appointmentId)).toBe(true);
    for (const row of rows) {
      expect(keys.some((k) => (k.result as { appointmentId: string }).appointmentId === row.id)).toBe(true);
    }
    for (const [, event] of google.events) {
      const id = /Appointment id: (\S+)/.exec(String(event.description))?.[1];
      expect(id !== undefined && allIds.has(id)).toBe(true);
    }
    return { appointmentIds: rows.map((r) => r.id) };
  }

  async function bookingKeysFor(toolCallId: string) {
    return direct.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.operation, 'book'), eq(idempotencyKeys.key, `book:${CALL_ID}:${toolCallId}`)));
  }

  // pg-pool listens for 'error' only on idle clients. When the connection of a client checked out
  // for a transaction drops, pg emits 'error' on it; without the listener src/db/client.ts adds,
  // that is an uncaught exception taking the whole server down, with every live call.
  it('the server process survives the connection dropping in the middle of a transaction', async () => {
    const url = new URL(adminUrl!);
    url.pathname = `/${dbName}`;
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/pg-drop-child.ts', viaProxy(url.toString(), proxy)], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await expect.poll(() => output, { timeout: 15_000 }).toContain('in-transaction');
    await proxy.cut();
    const code = await exited;
    expect(output).toContain('transaction failed');
    expect(output).toContain('survived');
    expect(code).toBe(0);
  }, 30_000);

  it('refusing connections from the start: told at once, nothing written; after recovery the booking succeeds once', async () => {
    const who = await newCaller();
    await proxy.cut();
    const failed = await book(who, '2026-12-02T09:00', 'call_db_a1');
    expectSafeFailure(failed.result);
    expect(failed.ms).toBeLessThan(1_500);
    expect((await expectConsistent(who.customerId)).appointmentIds).toEqual([]);

    await proxy.restore();
    const retried = await book(who, '2026-12-02T09:00', 'call_db_a2');
    expect(retried.result).toMatchObject({ success: true });
    const { appointmentIds } = await expectConsistent(who.customerId);
    expect(appointmentIds).toHaveLength(1);
    expect(google.getEvent('primary', eventIdForAppointment(appointmentIds[0]!))).toMatchObject({ status: 'confirmed' });
  });

  it('cut mid-transaction, on the INSERT of the appointment: rolled back whole, no orphan idempotency key, no event', async () => {
    const who = await newCaller();
    const insertsBefore = google.apiRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/events')).length;
    const fired = proxy.cutOnClientData('insert into "appointments"');
    const failed = await book(who, '2026-12-02T11:00', 'call_db_b1');
    await fired;
    expectSafeFailure(failed.result);
    // The transaction had already written the idempotency key: it must have died with it.
    await expect.poll(async () => (await bookingKeysFor('call_db_b1')).length, { timeout: 2_000 }).toBe(0);
    expect((await expectConsistent(who.customerId)).appointmentIds).toEqual([]);
    expect(google.apiRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/events')).length).toBe(insertsBefore);

    await proxy.restore();
    // The model tries again (a new tool call): booked once.
    const retried = await book(who, '2026-12-02T11:00', 'call_db_b2');
    expect(retried.result).toMatchObject({ success: true });
    // A repeat of that same tool call replays it rather than booking twice.
    const repeated = await book(who, '2026-12-02T11:00', 'call_db_b2');
    expect(repeated.result).toMatchObject({ success: true });
    const { appointmentIds } = await expectConsistent(who.customerId);
    expect(appointmentIds).toHaveLength(1);
    expect(await bookingKeysFor('call_db_b2')).toHaveLength(1);
    expect(google.getEvent('primary', eventIdForAppointment(appointmentIds[0]!))).toMatchObject({ status: 'confirmed' });
  });

  // Once the booking has committed, a database failure in the bookkeeping after it (calendar
  // projection lookup, sync marks, cache invalidation, the tool's confirmation query) must not turn
  // it into "Sorry, something went wrong": the caller would believe nothing was booked, and when the
  // model tried again (a new tool call id) the caller's own booking would make the slot "just taken".
  it('cut right after the commit: the caller is not told it failed while the booking stands', async () => {
    const who = await newCaller();
    // The first join of vehicles and customers after the commit is the calendar projection's.
    const fired = proxy.cutOnClientData('inner join "customers"');
    const first = await book(who, '2026-12-03T14:00', 'call_db_c1');
    await fired;
    await proxy.restore();
    const committed = (await expectConsistent(who.customerId)).appointmentIds;
    expect(committed).toHaveLength(1); // the commit did land
    // The caller must not be told "something went wrong" about a booking that exists...
    if (!first.result.success) {
      // ...and if they were, trying again must give them their booking, not "that time was just taken".
      const retried = await book(who, '2026-12-03T14:00', 'call_db_c2');
      expect(retried.result).toMatchObject({ success: true });
    }
    expect(first.result).toMatchObject({ success: true });
  });

  it('after a cut right after the commit, the booking is not lost: the reconciler writes its one event', async () => {
    const who = await newCaller();
    const fired = proxy.cutOnClientData('inner join "customers"');
    await book(who, '2026-12-03T16:00', 'call_db_d1');
    await fired;
    await proxy.restore();
    const [id] = (await expectConsistent(who.customerId)).appointmentIds;
    expect(id).toBeDefined();
    const row = await direct.db.query.appointments.findFirst({ where: eq(appointments.id, id!) });
    expect(row).toMatchObject({ status: 'scheduled', calendarSyncState: 'pending' });
    const reconciler = createCalendarReconciler({
      db: direct.db,
      calendar: googleCalendarFor(google, ZONE),
      timeZone: ZONE,
      shopName: 'Test Garage',
      intervalMs: 60_000,
      now: () => new Date(NOW.getTime() + 10 * 60_000),
    });
    await reconciler.runOnce();
    expect(google.getEvent('primary', eventIdForAppointment(id!))).toMatchObject({ status: 'confirmed' });
    const synced = await direct.db.query.appointments.findFirst({ where: eq(appointments.id, id!) });
    expect(synced!.calendarSyncState).toBe('synced');
  });
});
