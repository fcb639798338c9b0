/**
 * Service bays end to end: the booking service on a real database (PGlite, and PostgreSQL when
 * configured) with the real googleapis client against the Calendar emulator, one calendar per bay
 * plus the shop-wide calendar. "Now" is fixed at Tuesday 2026-12-01 10:00 in New York; each test
 * works on its own day of January 2027 so tests do not see each other's bookings.
 */
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryCache } from '../src/cache/memory-cache.js';
import type { CalendarProvider } from '../src/calendar/calendar.js';
import { eventIdForAppointment } from '../src/calendar/event-id.js';
import { createLocalCalendar } from '../src/calendar/local.js';
import type { AppError } from '../src/core/errors.js';
import type { Database } from '../src/db/client.js';
import { appointments, customers, vehicles } from '../src/db/schema.js';
import { createBookingService } from '../src/scheduling/booking-service.js';
import { defaultBusinessRules } from '../src/scheduling/business-rules.js';
import { projectAppointment } from '../src/scheduling/calendar-projection.js';
import { createCalendarReconciler } from '../src/scheduling/calendar-reconciler.js';
import { startGoogleCalendarEmulator } from './emulators/google-calendar.js';
import type { GoogleCalendarEmulator } from './emulators/google-calendar.js';
import { databaseBackends } from './support/databases.js';
import { googleCalendarFor } from './support/google-client.js';
import { rejectionOf } from './support/rejection.js';

const ZONE = 'America/New_York';
const NOW = new Date('2026-12-01T15:00:00Z'); // Tuesday 10:00 in New York
const rules = defaultBusinessRules(ZONE);

describe.each(databaseBackends())('service bays on $name', (backend) => {
  let database: Database;
  let emulator: GoogleCalendarEmulator;
  let phone = 0;

  beforeAll(async () => {
    [database, emulator] = await Promise.all([backend.open(), startGoogleCalendarEmulator()]);
  });
  afterAll(async () => {
    await Promise.all([database?.close(), emulator?.close()]);
  });

  /** Fresh bay calendars (a bay's calendar is shared with the shop's account as a writer). */
  function bayCalendars(count: number): string[] {
    return Array.from({ length: count }, (_, i) => emulator.createCalendar({ summary: `Bay ${i + 1}`, timeZone: ZONE, accessRole: 'writer' }).id);
  }

  function service(calendar: CalendarProvider) {
    return createBookingService({ db: database.db, calendar, rules, shopName: 'Test Garage', now: () => NOW });
  }

  function withBayCalendars(count: number) {
    const bays = bayCalendars(count);
    return { bays, calendar: googleCalendarFor(emulator, ZONE, 2_000, { bayCalendarIds: bays }) };
  }

  async function caller(email: string | null = null) {
    const [customer] = await database.db
      .insert(customers)
      .values({ phone: `+1555${String(5_000_000 + phone++).padStart(7, '0')}`, firstName: 'Sam', lastName: 'Okafor', email })
      .returning();
    const [vehicle] = await database.db
      .insert(vehicles)
      .values({ customerId: customer!.id, year: 2020, make: 'Ford', model: 'Ranger' })
      .returning();
    return { customer: customer!, vehicle: vehicle! };
  }

  type Caller = Awaited<ReturnType<typeof caller>>;
  const request = (who: Caller, scheduledAt: string, serviceType = 'oil change') => ({
    customerId: who.customer.id,
    vehicleId: who.vehicle.id,
    scheduledAt,
    serviceType,
  });
  const rowOf = (id: string) => database.db.query.appointments.findFirst({ where: eq(appointments.id, id) });
  const liveEventsIn = (calendarId: string) =>
    [...emulator.events.entries()].filter(([key, event]) => key.startsWith(`${calendarId}/`) && event.status !== 'cancelled').map(([, e]) => e);
  const labels = async (booking: ReturnType<typeof service>, date: string) =>
    (await booking.getAvailability({ date, serviceType: 'oil change' })).slots.map((s) => s.label);

  describe('with a calendar per bay', () => {
    it('gives three bays to three of eight simultaneous callers for one start, and refuses the rest', async () => {
      const { bays, calendar } = withBayCalendars(3);
      const booking = service(calendar);
      const callers = await Promise.all(Array.from({ length: 8 }, () => caller()));
      // Calendar answers that arrive together send every caller to the database at once.
      emulator.setLatency(100);
      const results = await Promise.allSettled(callers.map((who) => booking.book(request(who, '2027-01-04T10:00')))).finally(() =>
        emulator.setLatency(0),
      );

      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.appointment] : []));
      const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as AppError] : []));
      expect(won.map((a) => a.bay).sort()).toEqual([1, 2, 3]);
      expect(lost.map((e) => e.code)).toEqual(Array(5).fill('slot_taken'));
      // Each booking's event is in its own bay's calendar, and only there.
      for (const appointment of won) {
        const bayCalendar = bays[appointment.bay - 1]!;
        expect(emulator.getEvent(bayCalendar, eventIdForAppointment(appointment.id))).toMatchObject({ status: 'confirmed' });
        expect((await rowOf(appointment.id))!.calendarId).toBe(bayCalendar);
      }
      expect(bays.map((id) => liveEventsIn(id).length)).toEqual([1, 1, 1]);
      expect(liveEventsIn(emulator.primaryCalendarId).filter((e) => e.start?.dateTime?.startsWith('2027-01-04'))).toEqual([]);
      // Full: a fourth caller, later, is refused too.
      const fourth = await rejectionOf(booking.book(request(await caller(), '2027-01-04T10:00')));
      expect(fourth.code).toBe('slot_taken');
    }, 60_000);

    it('lets exactly one of several simultaneous callers have the last free bay', async () => {
      const { calendar } = withBayCalendars(3);
      const booking = service(calendar);
      await booking.book(request(await caller(), '2027-01-05T09:00'));
      await booking.book(request(await caller(), '2027-01-05T09:00'));
      const callers = await Promise.all(Array.from({ length: 6 }, () => caller()));
      const results = await Promise.allSettled(callers.map((who) => booking.book(request(who, '2027-01-05T09:00'))));
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.appointment.bay] : []));
      expect(won).toEqual([3]);
      const rows = await database.db.select().from(appointments).where(eq(appointments.startsAt, new Date('2027-01-05T14:00:00Z')));
      expect(rows.map((r) => r.bay).sort()).toEqual([1, 2, 3]);
    }, 60_000);

    it('still offers a start while one bay is free, and not once every bay is busy', async () => {
      const { bays, calendar } = withBayCalendars(3);
      const booking = service(calendar);
      await booking.book(request(await caller(), '2027-01-06T10:00'));
      await booking.book(request(await caller(), '2027-01-06T10:00'));
      expect(await labels(booking, '2027-01-06')).toContain('10:00 AM');

      // Staff block bay 3 for a lift repair: now no bay is free at 10:00, and only then.
      emulator.staff.insertEvent(bays[2]!, { summary: 'Lift repair', start: '2027-01-06T15:00:00Z', end: '2027-01-06T15:30:00Z' });
      const offered = await labels(booking, '2027-01-06');
      expect(offered).not.toContain('10:00 AM');
      expect(offered).toContain('10:30 AM');
      const refused = await rejectionOf(booking.book(request(await caller(), '2027-01-06T10:00')));
      expect(refused.code).toBe('slot_taken');
    });

    it("blocks every bay during the shop calendar's busy time", async () => {
      const { calendar } = withBayCalendars(3);
      const booking = service(calendar);
      emulator.staff.insertEvent(emulator.primaryCalendarId, { summary: 'Staff meeting', start: '2027-01-07T16:00:00Z', end: '2027-01-07T17:00:00Z' });
      const offered = await labels(booking, '2027-01-07');
      expect(offered).not.toContain('11:00 AM');
      expect(offered).not.toContain('11:30 AM');
      expect(offered).toContain('10:30 AM');
      const refused = await rejectionOf(booking.book(request(await caller(), '2027-01-07T11:00')));
      expect(refused.code).toBe('slot_taken');
      expect(await database.db.select().from(appointments).where(eq(appointments.startsAt, new Date('2027-01-07T16:00:00Z')))).toEqual([]);
    });

    it('names the bay in the event, which invites the customer with sendUpdates=all', async () => {
      const { bays, calendar } = withBayCalendars(2);
      const booking = service(calendar);
      await booking.book(request(await caller(), '2027-01-08T09:00'));
      const { appointment } = await booking.book(request(await caller('sam@example.com'), '2027-01-08T09:00'));
      expect(appointment.bay).toBe(2);
      const event = emulator.getEvent(bays[1]!, eventIdForAppointment(appointment.id))!;
      expect(event.summary).toBe('Bay 2 - Oil change: Sam Okafor (2020 Ford Ranger)');
      expect(event.description).toMatch(/^Bay 2\n/);
      expect(event.attendees).toEqual([expect.objectContaining({ email: 'sam@example.com' })]);
      const insert = emulator.apiRequests().find((r) => r.method === 'POST' && (r.body as { id?: string } | undefined)?.id === event.id);
      expect(insert).toMatchObject({ path: `/calendar/v3/calendars/${bays[1]}/events`, query: { sendUpdates: 'all' } });
    });

    it('moves the event to the new bay calendar when a reschedule changes bays, and keeps the bay when it can', async () => {
      const { bays, calendar } = withBayCalendars(2);
      const booking = service(calendar);
      const mover = await caller('sam@example.com');
      const { appointment } = await booking.book(request(mover, '2027-01-11T09:00'));
      await booking.book(request(await caller(), '2027-01-11T10:00'));
      expect(appointment.bay).toBe(1);
      const eventId = eventIdForAppointment(appointment.id);

      // 10:00 is taken in bay 1, so the move goes to bay 2 and its event with it.
      const { appointment: moved } = await booking.reschedule({ appointmentId: appointment.id, customerId: mover.customer.id, newScheduledAt: '2027-01-11T10:00' });
      expect(moved).toMatchObject({ bay: 2, startsAt: '2027-01-11T10:00:00-05:00', calendarSynced: true });
      expect(emulator.getEvent(bays[1]!, eventId)).toMatchObject({
        status: 'confirmed',
        summary: 'Bay 2 - Oil change: Sam Okafor (2020 Ford Ranger)',
        start: { dateTime: '2027-01-11T15:00:00.000Z' },
        attendees: [expect.objectContaining({ email: 'sam@example.com' })],
      });
      expect(emulator.getEvent(bays[0]!, eventId)?.status).toBe('cancelled');
      const moves = emulator.apiRequests().filter((r) => r.path.endsWith(`/events/${eventId}/move`));
      expect(moves).toMatchObject([{ method: 'POST', path: `/calendar/v3/calendars/${bays[0]}/events/${eventId}/move`, query: { destination: bays[1] } }]);
      expect((await rowOf(appointment.id))!.calendarId).toBe(bays[1]);

      // 13:00: bay 1 is free too, but the booking stays in bay 2 and its event is only patched.
      const before = emulator.apiRequests().length;
      const { appointment: later } = await booking.reschedule({ appointmentId: appointment.id, customerId: mover.customer.id, newScheduledAt: '2027-01-11T13:00' });
      expect(later.bay).toBe(2);
      expect(emulator.apiRequests().slice(before).filter((r) => r.path.includes(eventId)).map((r) => r.method)).toEqual(['PATCH']);

      // Cancelling deletes it from the calendar it is in, and frees bay 2.
      await booking.cancel({ appointmentId: appointment.id, customerId: mover.customer.id });
      expect(emulator.getEvent(bays[1]!, eventId)?.status).toBe('cancelled');
      const after = await booking.book(request(await caller(), '2027-01-11T13:00'));
      expect(after.appointment.bay).toBe(1);
    });

    it("lets a move overlap its own old time, even where free/busy merged it with the booking before it", async () => {
      const { bays, calendar } = withBayCalendars(2);
      const booking = service(calendar);
      emulator.staff.insertEvent(bays[1]!, { summary: 'Bay 2 closed', start: '2027-01-19T14:00:00Z', end: '2027-01-19T17:00:00Z' });
      await booking.book(request(await caller(), '2027-01-19T09:00'));
      const mover = await caller();
      const { appointment } = await booking.book(request(mover, '2027-01-19T09:30'));
      // Bay 1's calendar now answers one busy period, 9:00-10:00, for the two bookings.
      const { appointment: moved } = await booking.reschedule({ appointmentId: appointment.id, customerId: mover.customer.id, newScheduledAt: '2027-01-19T09:45' });
      expect(moved).toMatchObject({ bay: 1, startsAt: '2027-01-19T09:45:00-05:00' });
    });

    it("remembers each bay's busy time, so a booking made while the calendar is briefly down still avoids a blocked bay", async () => {
      const { bays, calendar } = withBayCalendars(2);
      const booking = createBookingService({
        db: database.db,
        calendar,
        rules,
        shopName: 'Test Garage',
        now: () => NOW,
        cache: createMemoryCache(),
        callerBudgetMs: 300,
      });
      emulator.staff.insertEvent(bays[0]!, { summary: 'Lift inspection', start: '2027-01-21T15:00:00Z', end: '2027-01-21T16:00:00Z' });
      expect(await labels(booking, '2027-01-21')).toContain('10:00 AM');
      await emulator.setDown(true);
      try {
        const { appointment } = await booking.book(request(await caller(), '2027-01-21T10:00'));
        expect(appointment).toMatchObject({ bay: 2, calendarEvent: 'pending' });
      } finally {
        await emulator.setDown(false);
      }
    });

    it('writes a pending event to its bay calendar when the reconciler catches up', async () => {
      const { bays, calendar } = withBayCalendars(2);
      const booking = service(calendar);
      await booking.book(request(await caller(), '2027-01-12T09:00'));
      emulator.injectFaults([{ match: (r) => r.path.includes('/events'), status: 400, times: Number.POSITIVE_INFINITY }]);
      let id: string;
      try {
        const { appointment } = await booking.book(request(await caller(), '2027-01-12T09:00'));
        expect(appointment).toMatchObject({ bay: 2, calendarSynced: false, calendarEvent: 'pending' });
        id = appointment.id;
      } finally {
        emulator.clearFaults();
      }
      const reconciler = createCalendarReconciler({
        db: database.db,
        calendar,
        timeZone: ZONE,
        shopName: 'Test Garage',
        intervalMs: 60_000,
        now: () => new Date(NOW.getTime() + 10 * 60_000),
      });
      await reconciler.runOnce();
      expect(emulator.getEvent(bays[1]!, eventIdForAppointment(id))).toMatchObject({ status: 'confirmed', summary: expect.stringMatching(/^Bay 2 - /) });
      expect(emulator.getEvent(bays[0]!, eventIdForAppointment(id))).toBeUndefined();
      expect((await rowOf(id))!.calendarSyncState).toBe('synced');
    });

    it('follows an event another projection already moved, instead of writing a second one', async () => {
      const { bays, calendar } = withBayCalendars(3);
      const { appointment } = await service(calendar).book(request(await caller(), '2027-01-20T09:00'));
      const stale = (await rowOf(appointment.id))!;
      const eventId = eventIdForAppointment(appointment.id);
      // Meanwhile a newer version of the row had its event moved to bay 2, and recorded that.
      await calendar.moveEvent(eventId, bays[0]!, bays[1]!);
      await database.db.update(appointments).set({ calendarId: bays[1]! }).where(eq(appointments.id, appointment.id));

      // The stale projection (still saying bay 1) now puts the booking in bay 3.
      await projectAppointment({ db: database.db, calendar, timeZone: ZONE, shopName: 'Test Garage' }, { ...stale, bay: 3 }, 'update', {});
      expect(bays.map((id) => emulator.getEvent(id, eventId)?.status)).toEqual(['cancelled', 'cancelled', 'confirmed']);
      expect((await rowOf(appointment.id))!.calendarId).toBe(bays[2]);
    });

    it('moves an event from before bays out of the shop calendar into its bay calendar when next changed', async () => {
      // A booking made when the shop had one calendar: no calendar recorded, its event in the shop calendar.
      const who = await caller();
      const [row] = await database.db
        .insert(appointments)
        .values({
          customerId: who.customer.id,
          vehicleId: who.vehicle.id,
          serviceType: 'Oil change',
          startsAt: new Date('2027-01-13T14:00:00Z'),
          endsAt: new Date('2027-01-13T14:30:00Z'),
          calendarSyncState: 'synced',
        })
        .returning();
      const eventId = eventIdForAppointment(row!.id);
      await database.db.update(appointments).set({ calendarEventId: eventId }).where(eq(appointments.id, row!.id));
      await googleCalendarFor(emulator, ZONE).createEvent('primary', {
        eventId,
        summary: 'Oil change: Sam Okafor (2020 Ford Ranger)',
        description: '',
        start: row!.startsAt,
        end: row!.endsAt,
        timeZone: ZONE,
      });

      const { bays, calendar } = withBayCalendars(2);
      await service(calendar).reschedule({ appointmentId: row!.id, customerId: who.customer.id, newScheduledAt: '2027-01-13T11:00' });
      expect(emulator.getEvent('primary', eventId)?.status).toBe('cancelled');
      expect(emulator.getEvent(bays[0]!, eventId)).toMatchObject({ status: 'confirmed', start: { dateTime: '2027-01-13T16:00:00.000Z' } });
      expect((await rowOf(row!.id))!.calendarId).toBe(bays[0]);
    });
  });

  describe('one car', () => {
    it('cannot be in two bays at once: a second overlapping booking for it is refused, however it arrives', async () => {
      const { calendar } = withBayCalendars(3);
      const booking = service(calendar);
      const who = await caller();
      await booking.book(request(who, '2027-01-14T13:00', 'brake service'));
      const overlapping = await rejectionOf(booking.book(request(who, '2027-01-14T13:30')));
      expect(overlapping).toMatchObject({ code: 'vehicle_already_booked' });
      expect(overlapping.safeMessage).toBe('That car already has an appointment on Thursday, January 14 at 1:00 PM, which overlaps that time.');

      // Calls at once for the same car at times that all overlap one another (90-minute jobs; with
      // 30-minute ones 14:45 and 15:15 would merely touch, and both could rightly win): one gets through.
      const twin = await caller();
      const results = await Promise.allSettled([
        booking.book(request(twin, '2027-01-14T15:00', 'brake service')),
        booking.book(request(twin, '2027-01-14T15:15', 'brake service')),
        booking.book(request(twin, '2027-01-14T14:45', 'brake service')),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as AppError).code).toBe('vehicle_already_booked');
      const rows = await database.db.select().from(appointments).where(inArray(appointments.vehicleId, [who.vehicle.id, twin.vehicle.id]));
      expect(rows).toHaveLength(2);
    });
  });

  describe('with every bay in the shop calendar', () => {
    it("writes each bay's events there, naming the bay, and its own events block only their bay", async () => {
      const calendar = googleCalendarFor(emulator, ZONE, 2_000, { bays: 2 });
      const booking = service(calendar);
      const first = await booking.book(request(await caller(), '2027-01-15T09:00'));
      // The shop calendar now shows the first booking, yet the second bay is still offered.
      expect(await labels(booking, '2027-01-15')).toContain('9:00 AM');
      const second = await booking.book(request(await caller(), '2027-01-15T09:00'));
      expect([first.appointment.bay, second.appointment.bay]).toEqual([1, 2]);
      for (const { appointment } of [first, second]) {
        expect(emulator.getEvent('primary', eventIdForAppointment(appointment.id))).toMatchObject({
          summary: expect.stringMatching(new RegExp(`^Bay ${appointment.bay} - `)),
          transparency: 'transparent',
        });
      }
      expect(await labels(booking, '2027-01-15')).not.toContain('9:00 AM');

      // A staff block in the shop calendar still blocks both bays.
      emulator.staff.insertEvent(emulator.primaryCalendarId, { summary: 'Closed for inventory', start: '2027-01-15T19:00:00Z', end: '2027-01-15T20:00:00Z' });
      expect(await labels(booking, '2027-01-15')).not.toContain('2:00 PM');
    });
  });

  describe('with the local calendar', () => {
    it('takes as many simultaneous bookings for one start as SERVICE_BAYS, and no more', async () => {
      const booking = service(createLocalCalendar({ bays: 3 }));
      const callers = await Promise.all(Array.from({ length: 5 }, () => caller()));
      const results = await Promise.allSettled(callers.map((who) => booking.book(request(who, '2027-01-18T10:00'))));
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.appointment] : []));
      expect(won.map((a) => a.bay).sort()).toEqual([1, 2, 3]);
      expect(won.every((a) => a.calendarEvent === 'none')).toBe(true);
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(2);
      expect(await labels(booking, '2027-01-18')).not.toContain('10:00 AM');
    }, 60_000);
  });
});
