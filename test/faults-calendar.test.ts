/**
 * Google Calendar misbehaving while a caller books, seen through the tools the model calls (what
 * the caller is told) and through the Calendar emulator (what the shop manager sees): the real
 * booking service and googleapis client, a real database (PGlite, and PostgreSQL when
 * TEST_DATABASE_URL is set). "Now" is Tuesday 2026-12-01 10:00 in New York; each test books its
 * own day.
 *
 *   - slow within the caller's 2 s budget: availability and booking succeed;
 *   - slow beyond it: availability says the calendar is unavailable and offers no times;
 *   - 429/503 bursts within the budget: retried, booked, one event;
 *   - a lasting failure of the event write: the booking stands, stays pending, and the reconciler
 *     writes exactly one event once Google is back.
 */
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryCache } from '../src/cache/memory-cache.js';
import type { Cache } from '../src/cache/cache.js';
import { eventIdForAppointment } from '../src/calendar/event-id.js';
import type { Database } from '../src/db/client.js';
import { appointments, customers, vehicles } from '../src/db/schema.js';
import { createCustomerService } from '../src/crm/customer-service.js';
import { createBookingService } from '../src/scheduling/booking-service.js';
import { defaultBusinessRules } from '../src/scheduling/business-rules.js';
import { createCalendarReconciler } from '../src/scheduling/calendar-reconciler.js';
import { createToolDispatcher } from '../src/tools/dispatcher.js';
import { ALL_TOOLS } from '../src/tools/index.js';
import type { CallActions, ToolResult, ToolServices } from '../src/tools/tool.js';
import { startGoogleCalendarEmulator } from './emulators/google-calendar.js';
import type { GoogleCalendarEmulator } from './emulators/google-calendar.js';
import { databaseBackends } from './support/databases.js';
import { googleCalendarFor } from './support/google-client.js';

const ZONE = 'America/New_York';
const NOW = new Date('2026-12-01T15:00:00Z'); // Tuesday 10:00 in New York
const rules = defaultBusinessRules(ZONE);
const isEventInsert = (r: { method: string; path: string }) => r.method === 'POST' && /\/calendars\/[^/]+\/events$/.test(r.path);

describe.each(databaseBackends())('Google Calendar faults during a booking, on $name', (backend) => {
  let database: Database;
  let google: GoogleCalendarEmulator;
  let cache: Cache;
  let services: ToolServices;
  let phone = 0;
  let toolCall = 0;
  const dispatcher = createToolDispatcher({ tools: ALL_TOOLS });
  const actions: CallActions = {
    transferToHuman: async () => ({ transferred: false, message: 'Someone will call you back.' }),
    endCall: async () => undefined,
  };

  beforeAll(async () => {
    [database, google] = await Promise.all([backend.open(), startGoogleCalendarEmulator()]);
    cache = createMemoryCache();
    // As main.ts builds them: the calendar's and the booking service's default budgets.
    const calendar = googleCalendarFor(google, ZONE);
    const booking = createBookingService({ db: database.db, calendar, rules, shopName: 'Test Garage', cache, now: () => NOW });
    const customerService = createCustomerService({ db: database.db, cache, timeZone: rules.timeZone, now: () => NOW, upcomingAppointments: booking.upcoming });
    services = { booking, customers: customerService, rules, shopName: 'Test Garage', now: () => NOW };
  }, 60_000);
  afterEach(() => {
    google.clearFaults();
    google.setLatency(0);
  });
  afterAll(async () => {
    await Promise.all([database?.close(), google?.close(), cache?.close()]);
  });

  async function newCaller() {
    const number = `+1555${String(3_000_000 + phone++).padStart(7, '0')}`;
    const [customer] = await database.db
      .insert(customers)
      .values({ phone: number, firstName: 'Dana', lastName: 'Reyes', email: 'dana@example.com' })
      .returning();
    const [vehicle] = await database.db
      .insert(vehicles)
      .values({ customerId: customer!.id, year: 2018, make: 'Mazda', model: 'CX-5' })
      .returning();
    return { phone: number, customerId: customer!.id, vehicleId: vehicle!.id };
  }

  /** Runs one tool call the way a call session does, for a caller on `callerNumber`. */
  async function tool(name: string, args: Record<string, unknown>, callerNumber: string): Promise<{ result: ToolResult; ms: number }> {
    toolCall += 1;
    const started = performance.now();
    const [dispatched] = await dispatcher.dispatch([{ id: `call_cal_${toolCall}`, name, arguments: JSON.stringify(args) }], {
      signal: new AbortController().signal,
      base: {
        callId: `CA-calendar-${backend.name}`,
        caller: { phoneNumber: callerNumber, verifiedCustomerIds: new Set() },
        services,
        actions,
      },
    });
    return { result: dispatched!.result, ms: performance.now() - started };
  }

  async function book(who: Awaited<ReturnType<typeof newCaller>>, scheduledAt: string) {
    return tool(
      'book_appointment',
      { customer_id: who.customerId, vehicle_id: who.vehicleId, scheduled_at: scheduledAt, service_type: 'oil change' },
      who.phone,
    );
  }

  async function rowsOf(customerId: string) {
    return database.db.select().from(appointments).where(eq(appointments.customerId, customerId));
  }

  const eventOf = (appointmentId: string) => google.getEvent('primary', eventIdForAppointment(appointmentId));
  const appointmentIdOf = (result: ToolResult) => ((result as { data: { appointment: { id: string } } }).data.appointment.id);

  it('slow within the budget (400 ms a request): the caller is offered times and booked, with one event', async () => {
    const who = await newCaller();
    google.setLatency(400);
    const slots = await tool('get_available_slots', { date: '2026-12-02', service_type: 'oil change' }, who.phone);
    expect(slots.result).toMatchObject({ success: true });
    expect((slots.result as { data: { slots: unknown[] } }).data.slots.length).toBeGreaterThan(0);
    const booked = await book(who, '2026-12-02T10:00');
    expect(booked.result).toMatchObject({ success: true });
    expect(booked.result.message).toMatch(/You're all set/);
    const id = appointmentIdOf(booked.result);
    expect(eventOf(id)).toMatchObject({ status: 'confirmed' });
    const [row] = await rowsOf(who.customerId);
    expect(row!.calendarSyncState).toBe('synced');
  });

  it('slow beyond the budget (2.5 s a request): availability says the calendar is unavailable, and invents no times', async () => {
    const who = await newCaller();
    google.setLatency(2_500);
    const { result, ms } = await tool('get_available_slots', { date: '2026-12-03', service_type: 'oil change' }, who.phone);
    expect(result).toEqual({
      success: false,
      error: 'calendar_unavailable',
      message: expect.stringMatching(/trouble reaching our calendar/),
    });
    expect(JSON.stringify(result)).not.toMatch(/slots|AM|PM/);
    // Given up on at the caller's budget, well before the tool's own 6 s limit.
    expect(ms).toBeLessThan(3_500);
  });

  it('a 429 burst on free/busy and a 503 burst on the event write, within the budget: booked once, synced', async () => {
    const who = await newCaller();
    google.injectFaults([
      { status: 429, times: 2, match: (r) => r.path.endsWith('/freeBusy') },
      { status: 503, times: 2, match: isEventInsert },
    ]);
    const booked = await book(who, '2026-12-04T09:00');
    expect(booked.result).toMatchObject({ success: true });
    const id = appointmentIdOf(booked.result);
    expect(eventOf(id)).toMatchObject({ status: 'confirmed' });
    const rows = await rowsOf(who.customerId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.calendarSyncState).toBe('synced');
    const inserts = google.apiRequests().filter((r) => isEventInsert(r) && (r.body as { id?: string }).id === eventIdForAppointment(id));
    expect(inserts).toHaveLength(3); // two 503s, then the one that landed
  });

  it('a 429 with Retry-After shorter than the budget: honoured, booked', async () => {
    const who = await newCaller();
    google.injectFaults([{ status: 429, times: 1, retryAfterSeconds: 1, match: isEventInsert }]);
    const booked = await book(who, '2026-12-04T11:00');
    expect(booked.result).toMatchObject({ success: true });
    expect(eventOf(appointmentIdOf(booked.result))).toMatchObject({ status: 'confirmed' });
    expect((await rowsOf(who.customerId))[0]!.calendarSyncState).toBe('synced');
  });

  it.each([
    { what: '503 on every attempt', fault: { status: 503, times: Number.POSITIVE_INFINITY } },
    { what: '429 asking for a 30 s wait', fault: { status: 429, times: Number.POSITIVE_INFINITY, retryAfterSeconds: 30 } },
  ])('the event write failing beyond the budget ($what): booking kept pending, the reconciler writes exactly one event later', async ({ fault }) => {
    const who = await newCaller();
    const date = fault.status === 503 ? '2026-12-07' : '2026-12-08';
    google.injectFaults([{ ...fault, match: isEventInsert }]);
    const booked = await book(who, `${date}T13:00`);
    // The caller is booked: the database is the system of record.
    expect(booked.result).toMatchObject({ success: true });
    expect(booked.ms).toBeLessThan(3_500);
    const id = appointmentIdOf(booked.result);
    expect(eventOf(id)).toBeUndefined();
    let [row] = await rowsOf(who.customerId);
    expect(row).toMatchObject({ status: 'scheduled', calendarSyncState: 'pending' });
    // The time is taken even though the calendar does not show it yet: no double booking.
    const other = await newCaller();
    const clash = await book(other, `${date}T13:00`);
    expect(clash.result).toMatchObject({ success: false, error: 'slot_taken' });

    google.clearFaults();
    const later = () => new Date(NOW.getTime() + 10 * 60_000);
    const reconcilers = [0, 1].map(() =>
      createCalendarReconciler({ db: database.db, calendar: googleClient(), timeZone: ZONE, shopName: 'Test Garage', intervalMs: 60_000, now: later }),
    );
    const insertsBefore = google.apiRequests().filter(isEventInsert).length;
    await Promise.all(reconcilers.map((r) => r.runOnce()));
    await Promise.all(reconcilers.map((r) => r.runOnce()));
    expect(eventOf(id)).toMatchObject({ status: 'confirmed' });
    const landed = google
      .apiRequests()
      .filter(isEventInsert)
      .slice(insertsBefore)
      .filter((r) => (r.body as { id?: string }).id === eventIdForAppointment(id));
    expect(landed).toHaveLength(1);
    [row] = await rowsOf(who.customerId);
    expect(row!.calendarSyncState).toBe('synced');
    expect(await rowsOf(other.customerId)).toEqual([]);
  });

  function googleClient() {
    return googleCalendarFor(google, ZONE);
  }
});
