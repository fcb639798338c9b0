/**
 * The booking service end to end: a real database (PGlite, and PostgreSQL when configured) and
 * the real googleapis client against the Calendar emulator. "Now" is fixed at Tuesday
 * 2026-12-01 10:00 in New York; each test works on its own day so tests do not see each other.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryCache } from '../src/cache/memory-cache.js';
import type { Cache } from '../src/cache/cache.js';
import { eventIdForAppointment } from '../src/calendar/event-id.js';
import { createLocalCalendar } from '../src/calendar/local.js';
import type { AppError } from '../src/core/errors.js';
import type { Database } from '../src/db/client.js';
import { appointments, customers, vehicles } from '../src/db/schema.js';
import { defaultBusinessRules } from '../src/scheduling/business-rules.js';
import { createBookingService } from '../src/scheduling/booking-service.js';
import type { BookingServiceDeps } from '../src/scheduling/booking-service.js';
import { createCalendarReconciler } from '../src/scheduling/calendar-reconciler.js';
import { customerPhoneKey } from '../src/crm/customer-cache.js';
import { startGoogleCalendarEmulator } from './emulators/google-calendar.js';
import type { GoogleCalendarEmulator } from './emulators/google-calendar.js';
import { databaseBackends } from './support/databases.js';
import { googleCalendarFor } from './support/google-client.js';
import { rejectionOf } from './support/rejection.js';

const ZONE = 'America/New_York';
const NOW = new Date('2026-12-01T15:00:00Z'); // Tuesday 10:00 in New York
const rules = defaultBusinessRules(ZONE);

describe.each(databaseBackends())('booking service on $name', (backend) => {
  let database: Database;
  let emulator: GoogleCalendarEmulator;
  let cache: Cache;
  let phone = 0;

  beforeAll(async () => {
    [database, emulator] = await Promise.all([backend.open(), startGoogleCalendarEmulator()]);
    cache = createMemoryCache();
  });
  afterAll(async () => {
    await Promise.all([database?.close(), emulator?.close(), cache?.close()]);
  });

  function google(budgetMs = 2_000) {
    return googleCalendarFor(emulator, ZONE, budgetMs);
  }

  function service(overrides: Partial<BookingServiceDeps> = {}) {
    return createBookingService({
      db: database.db,
      calendar: google(),
      rules,
      shopName: 'Test Garage',
      cache,
      now: () => NOW,
      ...overrides,
    });
  }

  async function caller(email: string | null = null) {
    const [customer] = await database.db
      .insert(customers)
      .values({ phone: `+1555${String(2_000_000 + phone++).padStart(7, '0')}`, firstName: 'Dana', lastName: 'Reyes', email })
      .returning();
    const [vehicle] = await database.db
      .insert(vehicles)
      .values({ customerId: customer!.id, year: 2017, make: 'Subaru', model: 'Outback', mileage: 88_000 })
      .returning();
    return { customer: customer!, vehicle: vehicle! };
  }

  const eventOf = (appointmentId: string) => emulator.getEvent('primary', eventIdForAppointment(appointmentId));
  const insertsOf = (appointmentId: string) =>
    emulator
      .apiRequests()
      .filter((r) => r.method === 'POST' && (r.body as { id?: string } | undefined)?.id === eventIdForAppointment(appointmentId));

  describe('availability', () => {
    it('offers open times minus lunch, bookings and calendar blocks', async () => {
      const { customer, vehicle } = await caller();
      const booking = service();
      await booking.book({
        customerId: customer.id,
        vehicleId: vehicle.id,
        scheduledAt: '2026-12-02T10:00',
        serviceType: 'brake service',
      });
      emulator.addBusy('primary', '2026-12-02T19:00:00Z', '2026-12-02T20:00:00Z'); // 14:00-15:00 local

      const day = await booking.getAvailability({ date: '2026-12-02', serviceType: 'oil change' });
      const starts = day.slots.map((s) => s.label);
      expect(day.dateLabel).toBe('Wednesday, December 2');
      expect(starts).toEqual(['9:00 AM', '9:30 AM', '11:30 AM', '1:00 PM', '1:30 PM', '3:00 PM', '3:30 PM', '4:00 PM', '4:30 PM']);
      expect(day.slots[0]!.start).toBe('2026-12-02T09:00:00-05:00');
    });

    it('says the calendar is unavailable instead of inventing slots', async () => {
      const booking = service({ calendar: google(300) });
      await emulator.setDown(true);
      try {
        const error = await rejectionOf(booking.getAvailability({ date: '2026-12-03' }));
        expect(error.code).toBe('calendar_unavailable');
        expect(error.safeMessage).toMatch(/trouble reaching our calendar/);
      } finally {
        await emulator.setDown(false);
      }
    });

    it.each([
      ['9999-12-31', 'date_too_far', 'Friday, December 31st, 9999 is too far ahead. I can book from today up to Monday, March 1st, 2027.'],
      ['2027-03-02', 'date_too_far', 'Tuesday, March 2nd, 2027 is too far ahead. I can book from today up to Monday, March 1st, 2027.'],
      ['2026-11-30', 'date_in_past', 'Monday, November 30th, 2026 has already passed. I can book from today up to Monday, March 1st, 2027.'],
      ['0000-01-01', 'date_in_past', expect.stringMatching(/has already passed\. I can book from today up to Monday, March 1st, 2027\.$/)],
    ])('refuses %s (%s) with the allowed range, asking neither database nor calendar', async (date, code, message) => {
      const before = emulator.apiRequests().length;
      const error = await rejectionOf(service().getAvailability({ date }));
      expect({ code: error.code, safeMessage: error.safeMessage }).toEqual({ code, safeMessage: message });
      expect(emulator.apiRequests().length).toBe(before);
    });

    it('offers the last day of the horizon', async () => {
      const day = await service().getAvailability({ date: '2027-03-01', serviceType: 'oil change' });
      expect(day).toMatchObject({ dateLabel: 'Monday, March 1', closed: false });
      expect(day.slots[0]!.start).toBe('2027-03-01T09:00:00-05:00');
    });

    it('answers closed days without asking the calendar', async () => {
      const before = emulator.apiRequests().length;
      const sunday = await service().getAvailability({ date: '2026-12-06' });
      expect(sunday).toMatchObject({ closed: true, closedReason: 'closed_day', slots: [] });
      expect(emulator.apiRequests().length).toBe(before);
    });
  });

  describe('book', () => {
    it('commits the appointment and writes one calendar event with the details', async () => {
      const { customer, vehicle } = await caller('dana@example.com');
      await cache.set(customerPhoneKey(customer.phone), { stale: true }, 60_000);

      const { appointment, replayed } = await service().book({
        customerId: customer.id,
        vehicleId: vehicle.id,
        scheduledAt: '2026-12-03T14:00',
        serviceType: 'Oil change',
        notes: 'synthetic oil please',
      });

      expect(replayed).toBe(false);
      expect(appointment).toMatchObject({
        serviceType: 'Oil change',
        status: 'scheduled',
        startsAt: '2026-12-03T14:00:00-05:00',
        endsAt: '2026-12-03T14:30:00-05:00',
        durationMinutes: 30,
        when: 'Thursday, December 3 at 2:00 PM',
        calendarSynced: true,
      });
      const row = await database.db.query.appointments.findFirst({ where: eq(appointments.id, appointment.id) });
      expect(row!.startsAt.toISOString()).toBe('2026-12-03T19:00:00.000Z');
      expect(row!.calendarSyncState).toBe('synced');

      const event = eventOf(appointment.id)!;
      expect(event.summary).toBe('Oil change: Dana Reyes (2017 Subaru Outback)');
      expect(event.description).toContain('synthetic oil please');
      expect(event.description).toContain(appointment.id);
      expect(event.start).toMatchObject({ timeZone: ZONE });
      expect(new Date(event.start!.dateTime!).toISOString()).toBe('2026-12-03T19:00:00.000Z');
      expect(event.attendees).toEqual([expect.objectContaining({ email: 'dana@example.com' })]);
      expect(insertsOf(appointment.id)).toHaveLength(1);
      expect(insertsOf(appointment.id)[0]!.query.sendUpdates).toBe('all');

      expect(await cache.get(customerPhoneKey(customer.phone))).toBeUndefined();
    });

    it('honours an explicit offset instead of reading it as shop time', async () => {
      const { customer, vehicle } = await caller();
      const { appointment } = await service().book({
        customerId: customer.id,
        vehicleId: vehicle.id,
        scheduledAt: '2026-12-04T15:00:00Z',
        serviceType: 'inspection',
      });
      expect(appointment.startsAt).toBe('2026-12-04T10:00:00-05:00');
      expect(appointment.durationMinutes).toBe(45);
    });

    it.each([
      ['outside business hours', '2026-12-04T18:00', 'outside_hours'],
      ['over lunch', '2026-12-04T11:45', 'during_break'],
      ['on a Sunday', '2026-12-06T10:00', 'closed_day'],
      ['on a past day', '2026-11-30T10:00', 'date_in_past'],
      ['earlier today', '2026-12-01T09:00', 'in_past'],
      ['past the 90-day horizon', '2027-03-02T09:00', 'date_too_far'],
      ['in year 9999', '9999-12-31T10:00', 'date_too_far'],
      ['in year 0000', '0000-01-03T10:00', 'date_in_past'],
      ['in year 9999, given with an offset', '9999-12-31T23:59:59-12:00', 'date_too_far'],
      ['sooner than the lead time', '2026-12-01T10:30', 'too_soon'],
      ['at an impossible date', '2026-02-30T10:00', 'invalid_datetime'],
    ])('refuses a time %s and writes nothing', async (_name, scheduledAt, code) => {
      const { customer, vehicle } = await caller();
      const before = emulator.apiRequests().length;
      const error = await rejectionOf(
        service().book({ customerId: customer.id, vehicleId: vehicle.id, scheduledAt, serviceType: 'oil change' }),
      );
      expect(error.code).toBe(code);
      expect(error.safeMessage.length).toBeGreaterThan(10);
      expect(await database.db.query.appointments.findMany({ where: eq(appointments.customerId, customer.id) })).toEqual([]);
      expect(emulator.apiRequests().slice(before).filter((r) => r.path.includes('/events'))).toEqual([]);
    });

    it('refuses a slot taken in the database or blocked in the calendar, with a spoken reason', async () => {
      const first = await caller();
      const second = await caller();
      const booking = service();
      await booking.book({ customerId: first.customer.id, vehicleId: first.vehicle.id, scheduledAt: '2026-12-07T09:00', serviceType: 'oil change' });

      const taken = await rejectionOf(
        booking.book({ customerId: second.customer.id, vehicleId: second.vehicle.id, scheduledAt: '2026-12-07T09:00', serviceType: 'oil change' }),
      );
      expect(taken.code).toBe('slot_taken');
      expect(taken.safeMessage).toContain('Monday, December 7');

      emulator.addBusy('primary', '2026-12-07T15:00:00Z', '2026-12-07T16:00:00Z'); // 10:00-11:00 local, set by staff
      const blocked = await rejectionOf(
        booking.book({ customerId: second.customer.id, vehicleId: second.vehicle.id, scheduledAt: '2026-12-07T10:30', serviceType: 'oil change' }),
      );
      expect(blocked.code).toBe('slot_taken');
    });

    it("refuses a vehicle that is not the customer's", async () => {
      const a = await caller();
      const b = await caller();
      const error = await rejectionOf(
        service().book({ customerId: a.customer.id, vehicleId: b.vehicle.id, scheduledAt: '2026-12-08T09:00', serviceType: 'oil change' }),
      );
      expect(error.code).toBe('vehicle_not_found');
      const garbled = await rejectionOf(
        service().book({ customerId: 'cust-1', vehicleId: 'veh-1', scheduledAt: '2026-12-08T09:00', serviceType: 'oil change' }),
      );
      expect(garbled.code).toBe('vehicle_not_found');
    });

    it('returns the first result for a repeated idempotency key and books once', async () => {
      const { customer, vehicle } = await caller();
      const booking = service();
      const request = { customerId: customer.id, vehicleId: vehicle.id, scheduledAt: '2026-12-08T13:00', serviceType: 'tire rotation' };
      const [a, b] = await Promise.all([
        booking.book(request, { idempotencyKey: 'call_tool_1' }),
        booking.book(request, { idempotencyKey: 'call_tool_1' }),
      ]);
      const again = await booking.book(request, { idempotencyKey: 'call_tool_1' });
      expect(new Set([a.appointment.id, b.appointment.id, again.appointment.id]).size).toBe(1);
      expect(again.replayed).toBe(true);
      expect(await database.db.query.appointments.findMany({ where: eq(appointments.customerId, customer.id) })).toHaveLength(1);
      expect(insertsOf(a.appointment.id)).toHaveLength(1);
    });

    it('lets exactly one of 50 simultaneous callers have one slot, with exactly one event', async () => {
      const callers = await Promise.all(Array.from({ length: 50 }, () => caller()));
      const booking = service();
      const results = await Promise.allSettled(
        callers.map(({ customer, vehicle }) =>
          booking.book({ customerId: customer.id, vehicleId: vehicle.id, scheduledAt: '2026-12-09T10:00', serviceType: 'oil change' }),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(49);
      for (const r of lost) expect((r.reason as AppError).code).toBe('slot_taken');

      const dayStart = new Date('2026-12-09T05:00:00Z').getTime();
      const eventsThatDay = [...emulator.events.values()].filter((e) => {
        const offset = new Date(e.start!.dateTime!).getTime() - dayStart;
        return e.status !== 'cancelled' && offset >= 0 && offset < 86_400_000;
      });
      expect(eventsThatDay).toHaveLength(1);
      const rows = await database.db.select().from(appointments).where(eq(appointments.startsAt, new Date('2026-12-09T15:00:00Z')));
      expect(rows).toHaveLength(1);
    }, 60_000);
  });

  describe('a caller calling back after a dropped call', () => {
    const rowsOf = (customerId: string) => database.db.query.appointments.findMany({ where: eq(appointments.customerId, customerId) });

    it('is given the appointment they already have, not "taken": one row, one event', async () => {
      const { customer, vehicle } = await caller('dana@example.com');
      const request = { customerId: customer.id, vehicleId: vehicle.id, scheduledAt: '2026-12-22T09:00', serviceType: 'oil change' };
      const first = await service().book(request, { idempotencyKey: 'CA-first:call_1' });
      // The line drops; the caller rings again and asks for the same thing on a new call.
      const second = await service().book(request, { idempotencyKey: 'CA-second:call_1' });
      expect(first).toMatchObject({ replayed: false });
      expect(first.alreadyBooked).toBeUndefined();
      expect(second).toMatchObject({ replayed: false, unchanged: true, alreadyBooked: { requestedServiceType: 'Oil change' } });
      expect(second.appointment).toMatchObject({ id: first.appointment.id, status: 'scheduled', calendarSynced: true });
      expect(await rowsOf(customer.id)).toHaveLength(1);
      expect(insertsOf(first.appointment.id)).toHaveLength(1);
      // Both calls' keys now answer with that appointment.
      const retried = await service().book(request, { idempotencyKey: 'CA-second:call_1' });
      expect(retried.appointment.id).toBe(first.appointment.id);
    });

    it('gets the existing booking when asking for another service at the same start, which stays as booked', async () => {
      const { customer, vehicle } = await caller();
      const first = await service().book({ customerId: customer.id, vehicleId: vehicle.id, scheduledAt: '2026-12-22T13:00', serviceType: 'oil change' });
      const second = await service().book(
        { customerId: customer.id, vehicleId: vehicle.id, scheduledAt: '2026-12-22T13:00', serviceType: 'brake job' },
        { idempotencyKey: 'CA-other:call_1' },
      );
      expect(second.appointment).toMatchObject({ id: first.appointment.id, serviceType: 'Oil change', durationMinutes: 30 });
      expect(second.alreadyBooked).toEqual({ requestedServiceType: 'Brake service' });
      expect(await rowsOf(customer.id)).toHaveLength(1);
      expect(insertsOf(first.appointment.id)).toHaveLength(1);
    });

    it('wins a race with its own twin call: both answers are the one appointment, with one event', async () => {
      const { customer, vehicle } = await caller();
      const request = { customerId: customer.id, vehicleId: vehicle.id, scheduledAt: '2026-12-23T10:00', serviceType: 'tire rotation' };
      const booking = service();
      const results = await Promise.all(
        ['CA-one', 'CA-two', 'CA-three', 'CA-four', 'CA-five'].map((callId) => booking.book(request, { idempotencyKey: `${callId}:call_1` })),
      );
      expect(new Set(results.map((r) => r.appointment.id)).size).toBe(1);
      expect(results.filter((r) => r.alreadyBooked === undefined)).toHaveLength(1);
      expect(await rowsOf(customer.id)).toHaveLength(1);
      expect(insertsOf(results[0]!.appointment.id)).toHaveLength(1);
    });

    it('still tells a different customer the time is taken, and another of the same customer\'s cars too', async () => {
      const owner = await caller();
      const other = await caller();
      const [secondCar] = await database.db
        .insert(vehicles)
        .values({ customerId: owner.customer.id, year: 2021, make: 'Honda', model: 'Civic' })
        .returning();
      await service().book({ customerId: owner.customer.id, vehicleId: owner.vehicle.id, scheduledAt: '2026-12-23T14:00', serviceType: 'oil change' });
      const stranger = await rejectionOf(
        service().book({ customerId: other.customer.id, vehicleId: other.vehicle.id, scheduledAt: '2026-12-23T14:00', serviceType: 'oil change' }),
      );
      expect(stranger.code).toBe('slot_taken');
      const otherCar = await rejectionOf(
        service().book({ customerId: owner.customer.id, vehicleId: secondCar!.id, scheduledAt: '2026-12-23T14:00', serviceType: 'oil change' }),
      );
      expect(otherCar.code).toBe('slot_taken');
      expect(await rowsOf(other.customer.id)).toEqual([]);
      expect(await rowsOf(owner.customer.id)).toHaveLength(1);
    });

    it('books anew when the earlier appointment at that time was cancelled', async () => {
      const { customer, vehicle } = await caller();
      const request = { customerId: customer.id, vehicleId: vehicle.id, scheduledAt: '2026-12-24T09:00', serviceType: 'oil change' };
      const first = await service().book(request);
      await service().cancel({ appointmentId: first.appointment.id, customerId: customer.id });
      const again = await service().book(request);
      expect(again.appointment.id).not.toBe(first.appointment.id);
      expect(again).toMatchObject({ appointment: { status: 'scheduled' } });
      expect(again.alreadyBooked).toBeUndefined();
    });
  });

  describe('when the calendar fails', () => {
    it('keeps a booking made while the calendar is down, and the reconciler creates exactly one event later', async () => {
      const { customer, vehicle } = await caller();
      const booking = service({ calendar: google(300) });
      // The caller was offered times a moment ago; then the calendar goes down.
      await booking.getAvailability({ date: '2026-12-10' });
      await emulator.setDown(true);
      let appointmentId: string;
      try {
        const { appointment } = await booking.book({
          customerId: customer.id,
          vehicleId: vehicle.id,
          scheduledAt: '2026-12-10T11:00',
          serviceType: 'oil change',
        });
        appointmentId = appointment.id;
        expect(appointment.calendarSynced).toBe(false);
        const reconciler = createCalendarReconciler({
          db: database.db,
          calendar: google(300),
          timeZone: ZONE,
          shopName: 'Test Garage',
          intervalMs: 60_000,
          now: () => new Date(NOW.getTime() + 120_000),
          budgetMs: 300,
          baseRetryDelayMs: 1,
          maxRetryDelayMs: 1,
        });
        expect(await reconciler.runOnce()).toMatchObject({ synced: 0, failed: 1 });
      } finally {
        await emulator.setDown(false);
      }
      expect(eventOf(appointmentId)).toBeUndefined();
      const row = await database.db.query.appointments.findFirst({ where: eq(appointments.id, appointmentId) });
      expect(row).toMatchObject({ status: 'scheduled', calendarSyncState: 'pending' });
      expect(row!.calendarSyncAttempts).toBeGreaterThanOrEqual(1);

      // Recovery: two instances reconcile at once; the event is created exactly once.
      const requestsBefore = emulator.requests.length;
      const later = () => new Date(NOW.getTime() + 10 * 60_000);
      const reconcilers = [0, 1].map(() =>
        createCalendarReconciler({ db: database.db, calendar: google(), timeZone: ZONE, shopName: 'Test Garage', intervalMs: 60_000, now: later }),
      );
      const reports = await Promise.all(reconcilers.map((r) => r.runOnce()));
      expect(reports.reduce((n, r) => n + r.synced, 0)).toBeGreaterThanOrEqual(1);
      expect(eventOf(appointmentId)).toMatchObject({ status: 'confirmed' });
      const insertsAfterRecovery = emulator.requests
        .slice(requestsBefore)
        .filter((r) => r.method === 'POST' && (r.body as { id?: string } | undefined)?.id === eventIdForAppointment(appointmentId));
      expect(insertsAfterRecovery).toHaveLength(1);
      const synced = await database.db.query.appointments.findFirst({ where: eq(appointments.id, appointmentId) });
      expect(synced!.calendarSyncState).toBe('synced');
      expect(await reconcilers[0]!.runOnce()).toEqual({ attempted: 0, synced: 0, failed: 0 });
    });

    it('refuses a booking when the calendar is down and there is no recent free/busy answer', async () => {
      const { customer, vehicle } = await caller();
      const booking = service({ calendar: google(300), cache: createMemoryCache() });
      await emulator.setDown(true);
      try {
        const error = await rejectionOf(
          booking.book({ customerId: customer.id, vehicleId: vehicle.id, scheduledAt: '2026-12-11T09:00', serviceType: 'oil change' }),
        );
        expect(error.code).toBe('calendar_unavailable');
      } finally {
        await emulator.setDown(false);
      }
      expect(await database.db.query.appointments.findMany({ where: eq(appointments.customerId, customer.id) })).toEqual([]);
    });
  });

  describe('cancel and reschedule', () => {
    async function booked(scheduledAt: string) {
      const who = await caller('owner@example.com');
      const { appointment } = await service().book({
        customerId: who.customer.id,
        vehicleId: who.vehicle.id,
        scheduledAt,
        serviceType: 'brake service',
      });
      return { ...who, appointment };
    }

    it('cancels with a reason, deletes the event with notifications, and frees the time', async () => {
      const { customer, appointment, vehicle } = await booked('2026-12-14T09:00');
      const { appointment: cancelled } = await service().cancel(
        { appointmentId: appointment.id, customerId: customer.id, reason: 'car sold' },
        { idempotencyKey: 'cancel_1' },
      );
      expect(cancelled).toMatchObject({ status: 'cancelled', cancellationReason: 'car sold', calendarSynced: true });
      expect(eventOf(appointment.id)?.status ?? 'cancelled').toBe('cancelled');
      const deletes = emulator.apiRequests().filter((r) => r.method === 'DELETE' && r.path.endsWith(eventIdForAppointment(appointment.id)));
      expect(deletes).toHaveLength(1);
      expect(deletes[0]!.query.sendUpdates).toBe('all');

      const again = await service().cancel({ appointmentId: appointment.id, customerId: customer.id }, { idempotencyKey: 'cancel_2' });
      expect(again.appointment.status).toBe('cancelled');
      const rebooked = await service().book({ customerId: customer.id, vehicleId: vehicle.id, scheduledAt: '2026-12-14T09:00', serviceType: 'brake service' });
      expect(rebooked.appointment.status).toBe('scheduled');
    });

    it("refuses to touch another customer's appointment, or a garbled id", async () => {
      const { appointment } = await booked('2026-12-14T13:00');
      const stranger = await caller();
      for (const call of [
        () => service().cancel({ appointmentId: appointment.id, customerId: stranger.customer.id }),
        () => service().reschedule({ appointmentId: appointment.id, customerId: stranger.customer.id, newScheduledAt: '2026-12-15T09:00' }),
        () => service().cancel({ appointmentId: 'appt-42', customerId: stranger.customer.id }),
      ]) {
        expect((await rejectionOf(call())).code).toBe('appointment_not_found');
      }
      const row = await database.db.query.appointments.findFirst({ where: eq(appointments.id, appointment.id) });
      expect(row!.status).toBe('scheduled');
    });

    it('moves the appointment and PATCHes its event, allowing overlap with its own old time', async () => {
      const { customer, appointment } = await booked('2026-12-15T09:00');
      const { appointment: moved } = await service().reschedule({
        appointmentId: appointment.id,
        customerId: customer.id,
        newScheduledAt: '2026-12-15T09:30',
      });
      expect(moved).toMatchObject({ startsAt: '2026-12-15T09:30:00-05:00', endsAt: '2026-12-15T11:00:00-05:00', calendarSynced: true });
      const patches = emulator.apiRequests().filter((r) => r.method === 'PATCH' && r.path.endsWith(eventIdForAppointment(appointment.id)));
      expect(patches).toHaveLength(1);
      expect(new Date(eventOf(appointment.id)!.start!.dateTime!).toISOString()).toBe('2026-12-15T14:30:00.000Z');
      expect(emulator.apiRequests().some((r) => r.method === 'PUT')).toBe(false);
    });

    it.each([
      ['2027-03-02T09:00', 'date_too_far', '2026-12-28T09:00', '2026-12-28T14:00:00.000Z'],
      ['9999-12-31T10:00', 'date_too_far', '2026-12-29T09:00', '2026-12-29T14:00:00.000Z'],
      ['2026-11-30T10:00', 'date_in_past', '2026-12-30T09:00', '2026-12-30T14:00:00.000Z'],
    ])('refuses a move to %s (%s) and keeps the original and its event', async (newScheduledAt, code, bookedAt, storedAt) => {
      const { customer, appointment } = await booked(bookedAt);
      const before = emulator.apiRequests().length;
      const error = await rejectionOf(service().reschedule({ appointmentId: appointment.id, customerId: customer.id, newScheduledAt }));
      expect(error.code).toBe(code);
      expect(error.safeMessage).toContain('I can book from today up to Monday, March 1st, 2027.');
      const row = await database.db.query.appointments.findFirst({ where: eq(appointments.id, appointment.id) });
      expect(row).toMatchObject({ startsAt: new Date(storedAt), syncVersion: 1 });
      expect(emulator.apiRequests().slice(before).filter((r) => r.path.includes('/events'))).toEqual([]);
    });

    it('refuses a move onto a taken time and keeps the original', async () => {
      const a = await booked('2026-12-16T09:00');
      const b = await booked('2026-12-16T13:00');
      const error = await rejectionOf(
        service().reschedule({ appointmentId: b.appointment.id, customerId: b.customer.id, newScheduledAt: '2026-12-16T10:00' }),
      );
      expect(error.code).toBe('slot_taken');
      const row = await database.db.query.appointments.findFirst({ where: eq(appointments.id, b.appointment.id) });
      expect(row!.startsAt.toISOString()).toBe('2026-12-16T18:00:00.000Z');
      // The appointment in the way is untouched too.
      const blocker = await database.db.query.appointments.findFirst({ where: eq(appointments.id, a.appointment.id) });
      expect(blocker).toMatchObject({ status: 'scheduled', startsAt: new Date('2026-12-16T14:00:00.000Z') });
    });

    it('keeps a move when the calendar write fails, and the reconciler patches the event later', async () => {
      const { customer, appointment } = await booked('2026-12-17T09:00');
      const booking = service({ calendar: google(300) });
      await booking.getAvailability({ date: '2026-12-17' });
      emulator.injectFaults([{ match: (r) => r.method === 'PATCH', status: 503, times: Infinity }]);
      try {
        const { appointment: moved } = await booking.reschedule({
          appointmentId: appointment.id,
          customerId: customer.id,
          newScheduledAt: '2026-12-17T14:00',
        });
        expect(moved).toMatchObject({ startsAt: '2026-12-17T14:00:00-05:00', calendarSynced: false });
      } finally {
        emulator.clearFaults();
      }
      const reconciler = createCalendarReconciler({
        db: database.db,
        calendar: google(),
        timeZone: ZONE,
        shopName: 'Test Garage',
        intervalMs: 60_000,
        now: () => new Date(NOW.getTime() + 10 * 60_000),
      });
      await reconciler.runOnce();
      expect(new Date(eventOf(appointment.id)!.start!.dateTime!).toISOString()).toBe('2026-12-17T19:00:00.000Z');
      const row = await database.db.query.appointments.findFirst({ where: eq(appointments.id, appointment.id) });
      expect(row!.calendarSyncState).toBe('synced');
    });

    it('lists a customer their upcoming appointments only', async () => {
      const { customer, appointment } = await booked('2026-12-18T09:00');
      const list = await service().upcoming(customer.id);
      expect(list.map((a) => a.id)).toEqual([appointment.id]);
      expect(list[0]!.when).toBe('Friday, December 18 at 9:00 AM');
    });
  });

  describe('with the local calendar', () => {
    it('books, reads busy time from the database and cancels without any calendar service', async () => {
      const local = createLocalCalendar();
      const booking = service({ calendar: local });
      const { customer, vehicle } = await caller();
      const { appointment } = await booking.book({
        customerId: customer.id,
        vehicleId: vehicle.id,
        scheduledAt: '2026-12-21T09:00',
        serviceType: 'wheel alignment',
      });
      expect(appointment.calendarSynced).toBe(true);
      const day = await booking.getAvailability({ date: '2026-12-21', durationMinutes: 30 });
      expect(day.slots.map((s) => s.label)).not.toContain('9:00 AM');
      expect(day.slots.map((s) => s.label)).not.toContain('9:30 AM');
      expect(day.slots[0]!.label).toBe('10:00 AM');
      await booking.cancel({ appointmentId: appointment.id, customerId: customer.id });
      const after = await booking.getAvailability({ date: '2026-12-21', durationMinutes: 30 });
      expect(after.slots[0]!.label).toBe('9:00 AM');
    });
  });
});
