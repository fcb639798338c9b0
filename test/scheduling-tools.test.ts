/**
 * The scheduling and call-action tools through the dispatcher, as the call session runs them:
 * real database (PGlite), local calendar, fixed clock (Tuesday 2026-12-01 10:00 New York).
 */
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appointments, idempotencyKeys } from '../src/db/schema.js';
import { createToolDispatcher } from '../src/tools/dispatcher.js';
import type { ToolErrorInfo } from '../src/tools/dispatcher.js';
import { ALL_TOOLS } from '../src/tools/index.js';
import type { ToolResult } from '../src/tools/tool.js';
import { openToolFixture } from './support/tool-fixture.js';
import type { ToolFixture } from './support/tool-fixture.js';

let fixture: ToolFixture;
let phone = 0;
let toolCallNumber = 0;
/** Handler failures that were not AppErrors (the ones that become internal_error). */
const handlerErrors: ToolErrorInfo[] = [];

beforeAll(async () => {
  fixture = await openToolFixture();
});
afterAll(async () => {
  await fixture?.close();
});

async function newCaller(email: string | null = null) {
  const number = `+1555${String(3_000_000 + phone++).padStart(7, '0')}`;
  const { customerId, vehicleIds } = await fixture.addCustomer({
    phone: number,
    email,
    vehicles: [{ year: 2019, make: 'Toyota', model: 'Camry' }],
  });
  return { number, customerId, vehicleId: vehicleIds[0]! };
}

/** Runs one tool call as the session would and returns its result. */
async function call(name: string, args: Record<string, unknown>, options: { phoneNumber?: string; toolCallId?: string } = {}) {
  const context = fixture.context({ phoneNumber: options.phoneNumber });
  const dispatcher = createToolDispatcher({ tools: ALL_TOOLS, onError: (info) => handlerErrors.push(info) });
  const { signal, toolCallId: _id, ...base } = context;
  const [outcome] = await dispatcher.dispatch(
    [{ id: options.toolCallId ?? `call_${++toolCallNumber}`, name, arguments: JSON.stringify(args) }],
    { signal, base },
  );
  return { result: outcome!.result as ToolResult & { data?: any }, actionsTaken: context.actionsTaken };
}

describe('get_available_slots', () => {
  it('says the open times on the day, in shop time with weekday and date', async () => {
    const { result } = await call('get_available_slots', { date: '2026-12-02', service_type: 'oil change' });
    expect(result.success).toBe(true);
    expect(result.message).toBe('On Wednesday, December 2 I can start you any time from 9:00 AM to 11:30 AM and any time from 1:00 PM to 4:30 PM.');
    expect(result.data.slots[0]).toEqual({ start: '2026-12-02T09:00:00-05:00', end: '2026-12-02T09:30:00-05:00', label: '9:00 AM' });
  });

  it('lists a few remaining times one by one', async () => {
    const { result } = await call('get_available_slots', { date: '2026-12-05', duration_minutes: 180 });
    // Saturday 09:00-15:00 with lunch 12-13: a 3-hour job fits only at 9:00.
    expect(result.message).toBe('On Saturday, December 5 I have 9:00 AM.');
  });

  it('says when the shop is closed', async () => {
    const { result } = await call('get_available_slots', { date: '2026-12-06' });
    expect(result).toMatchObject({ success: true, message: "We're closed on Sunday, December 6." });
    expect(result.data.slots).toEqual([]);
  });

  it.each([
    [{ date: '12/03/2026' }, /date/],
    [{ date: '2026-02-30' }, /date/i],
    [{}, /date/],
  ])('refuses a bad date %o with a clear error naming it', async (args, pattern) => {
    const { result } = await call('get_available_slots', args);
    expect(result.success).toBe(false);
    expect(result).toMatchObject({ error: expect.stringMatching(/invalid_arguments|invalid_date/) });
    expect(result.message).toMatch(pattern);
  });
});

describe('book_appointment', () => {
  it('books for the caller and says what, for which car and when, promising no invitation from the local calendar', async () => {
    const me = await newCaller('dana@example.com');
    const { result } = await call(
      'book_appointment',
      { customer_id: me.customerId, vehicle_id: me.vehicleId, scheduled_at: '2026-12-03T14:00', service_type: 'oil change' },
      { phoneNumber: me.number },
    );
    // The local calendar sends no email, whatever the customer's address.
    expect(result).toMatchObject({
      success: true,
      message: "You're all set: an oil change for the 2019 Toyota Camry on Thursday, December 3 at 2:00 PM.",
      data: { invitation: 'none' },
    });
    expect(result.data.appointment).toMatchObject({ starts_at: '2026-12-03T14:00:00-05:00', status: 'scheduled' });
    const rows = await fixture.database.db.select().from(appointments).where(eq(appointments.customerId, me.customerId));
    expect(rows).toHaveLength(1);
  });

  it('books once when the same tool call is repeated', async () => {
    const me = await newCaller();
    const args = { customer_id: me.customerId, vehicle_id: me.vehicleId, scheduled_at: '2026-12-03T09:00', service_type: 'tire rotation' };
    const first = await call('book_appointment', args, { phoneNumber: me.number, toolCallId: 'call_repeat' });
    const second = await call('book_appointment', args, { phoneNumber: me.number, toolCallId: 'call_repeat' });
    expect(first.result.success && second.result.success).toBe(true);
    expect(second.result.data.appointment.id).toBe(first.result.data.appointment.id);
    expect(first.result.message).not.toContain('invitation');
  });

  it("refuses to book for someone else's account", async () => {
    const owner = await newCaller();
    const stranger = await newCaller();
    const { result } = await call(
      'book_appointment',
      { customer_id: owner.customerId, vehicle_id: owner.vehicleId, scheduled_at: '2026-12-03T10:00', service_type: 'oil change' },
      { phoneNumber: stranger.number },
    );
    expect(result).toMatchObject({ success: false, error: 'not_your_account' });
  });

  it.each([
    ['2026-12-03T18:00', 'outside_hours', /Thursday, December 3/],
    ['2026-12-03T12:15', 'during_break', /Thursday, December 3/],
    ['2026-12-06T10:00', 'closed_day', /Sunday, December 6/],
    ['2026-03-08T02:30', 'nonexistent_local_time', /.+/],
  ])('refuses %s (%s) with a spoken reason', async (scheduledAt, error, pattern) => {
    const me = await newCaller();
    const { result } = await call(
      'book_appointment',
      { customer_id: me.customerId, vehicle_id: me.vehicleId, scheduled_at: scheduledAt, service_type: 'oil change' },
      { phoneNumber: me.number },
    );
    expect(result).toMatchObject({ success: false, error });
    expect(result.message).toMatch(pattern);
  });

  it('refuses a taken slot, naming the time', async () => {
    const first = await newCaller();
    const second = await newCaller();
    const args = (who: typeof first) => ({ customer_id: who.customerId, vehicle_id: who.vehicleId, scheduled_at: '2026-12-04T09:00', service_type: 'oil change' });
    expect((await call('book_appointment', args(first), { phoneNumber: first.number })).result.success).toBe(true);
    const { result } = await call('book_appointment', args(second), { phoneNumber: second.number });
    expect(result).toMatchObject({ success: false, error: 'slot_taken' });
    expect(result.message).toContain('Friday, December 4 at 9:00 AM');
  });

  it('names the missing field when the LLM leaves one out', async () => {
    const me = await newCaller();
    const { result } = await call('book_appointment', { customer_id: me.customerId, scheduled_at: '2026-12-04T10:00', service_type: 'oil change' }, { phoneNumber: me.number });
    expect(result).toMatchObject({ success: false, error: 'invalid_arguments' });
    expect(result.message).toContain('vehicle_id');
  });
});

describe('a caller calling back after a dropped call', () => {
  it('is told they already have that appointment, and nothing is booked twice', async () => {
    const me = await newCaller('dana@example.com');
    const args = { customer_id: me.customerId, vehicle_id: me.vehicleId, scheduled_at: '2026-12-14T10:00', service_type: 'oil change' };
    const first = await call('book_appointment', args, { phoneNumber: me.number, toolCallId: 'call_before_the_drop' });
    const again = await call('book_appointment', args, { phoneNumber: me.number, toolCallId: 'call_after_the_drop' });
    expect(again.result).toMatchObject({
      success: true,
      data: { already_booked: true, appointment: { id: first.result.data.appointment.id, status: 'scheduled' } },
      message: "You already have an oil change booked for the 2019 Toyota Camry on Monday, December 14 at 10:00 AM, so you're all set.",
    });

    const otherService = await call('book_appointment', { ...args, service_type: 'brake service' }, { phoneNumber: me.number });
    expect(otherService.result).toMatchObject({ success: true, data: { appointment: { id: first.result.data.appointment.id } } });
    expect(otherService.result.message).toBe(
      'You already have an oil change booked for the 2019 Toyota Camry on Monday, December 14 at 10:00 AM, so I kept that booking ' +
        "rather than add a brake service at the same time. If you'd rather have a brake service instead, I can cancel it and book that.",
    );
    const rows = await fixture.database.db.select().from(appointments).where(eq(appointments.customerId, me.customerId));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.serviceType).toBe('Oil change');
  });

  it('still tells someone else that the time is taken', async () => {
    const first = await newCaller();
    const second = await newCaller();
    const args = (who: typeof first) => ({ customer_id: who.customerId, vehicle_id: who.vehicleId, scheduled_at: '2026-12-14T13:00', service_type: 'oil change' });
    expect((await call('book_appointment', args(first), { phoneNumber: first.number })).result.success).toBe(true);
    const { result } = await call('book_appointment', args(second), { phoneNumber: second.number });
    expect(result).toMatchObject({ success: false, error: 'slot_taken' });
  });
});

describe('odd dates and times the tool schemas accept', () => {
  // Fixed now: Tuesday 2026-12-01 10:00 New York, 90-day horizon, so the last bookable day is 2027-03-01.
  const RANGE = 'I can book from today up to Monday, March 1st, 2027.';

  async function tableCounts() {
    const [booked] = await fixture.database.db.select({ n: count() }).from(appointments);
    const [keys] = await fixture.database.db.select({ n: count() }).from(idempotencyKeys);
    return { appointments: booked!.n, idempotencyKeys: keys!.n };
  }

  /** Runs a call that must fail with `code`, cleanly: a spoken message, no handler crash, nothing written. */
  async function expectCleanRefusal(name: string, args: Record<string, unknown>, code: string, phoneNumber?: string) {
    const before = await tableCounts();
    const errorsBefore = handlerErrors.length;
    const { result } = await call(name, args, { phoneNumber });
    expect(result).toMatchObject({ success: false, error: code });
    expect(result.message).not.toMatch(/something went wrong/i);
    if (code === 'date_in_past' || code === 'date_too_far') expect(result.message).toContain(RANGE);
    expect(handlerErrors.slice(errorsBefore)).toEqual([]);
    expect(await tableCounts()).toEqual(before);
  }

  const dates: Array<[date: string, code: string]> = [
    ['0000-01-01', 'date_in_past'],
    ['0001-01-01', 'date_in_past'],
    ['1970-01-01', 'date_in_past'],
    ['2026-11-30', 'date_in_past'],
    ['2027-03-02', 'date_too_far'],
    ['2028-02-29', 'date_too_far'],
    ['9999-12-31', 'date_too_far'],
    ['2026-02-29', 'invalid_date'],
    ['2026-02-30', 'invalid_date'],
    ['2026-13-01', 'invalid_date'],
    ['2026-00-10', 'invalid_date'],
    ['2026-12-00', 'invalid_date'],
    ['2026-12-32', 'invalid_date'],
    ['9999-99-99', 'invalid_date'],
  ];
  it.each(dates)('get_available_slots refuses %s as %s', async (date, code) => {
    await expectCleanRefusal('get_available_slots', { date }, code);
  });

  it.each([
    ['2026-12-01', '11:00'],
    ['2027-03-01', '09:00'],
  ])('get_available_slots answers for %s, the first and last days of the horizon', async (date, first) => {
    const { result } = await call('get_available_slots', { date, service_type: 'oil change' });
    expect(result).toMatchObject({ success: true, data: { closed: false } });
    expect(result.data.slots[0].start.slice(0, 16)).toBe(`${date}T${first}`);
  });

  const LONGEST = '2026-12-03T14:00:00.123456789     +05:00';
  const refusedTimes: Array<[scheduledAt: string, code: string]> = [
    ['0000-01-01T10:00', 'date_in_past'],
    ['0000-01-01T00:00+14:00', 'date_in_past'],
    ['1969-12-31T23:59:59Z', 'date_in_past'],
    ['2026-11-30T16:00', 'date_in_past'],
    // Fall back in New York: the repeated hour, a month ago.
    ['2026-11-01T01:30', 'date_in_past'],
    ['2026-12-01T09:00', 'in_past'],
    ['2026-12-01T10:30', 'too_soon'],
    ['2027-03-02T09:00', 'date_too_far'],
    ['9999-12-31T10:00', 'date_too_far'],
    // Year 10000 once turned into UTC.
    ['9999-12-31T23:59:59.999-12:00', 'date_too_far'],
    ['9999-12-31T23:59:59.999999999-18:00', 'date_too_far'],
    ['2026-02-30T10:00', 'invalid_datetime'],
    ['2026-13-01T10:00', 'invalid_datetime'],
    ['2026-12-03T24:00', 'invalid_datetime'],
    ['2026-12-03T23:60', 'invalid_datetime'],
    ['2026-12-31T23:59:60Z', 'invalid_datetime'],
    ['2026-12-03T14:00+19:00', 'invalid_datetime'],
    ['2026-12-03T14:00+14:60', 'invalid_datetime'],
    ['2026-12-03T14:00:00.1234567890Z', 'invalid_datetime'],
    ['2026-12-03T14:00 tomorrow', 'invalid_datetime'],
    ['２０２６-12-03T14:00', 'invalid_datetime'],
    ['2026-12-03T14:00\u0000', 'invalid_datetime'],
    // Spring forward in New York: 02:30 does not exist that night.
    ['2027-03-14T02:30', 'nonexistent_local_time'],
    // Real instants, but not when the shop is open: 19:00 on Dec 2 and 21:00 on Dec 3 in New York.
    ['2026-12-03T14:00+14:00', 'outside_hours'],
    ['2026-12-03T14:00-12:00', 'outside_hours'],
    [LONGEST, 'outside_hours'],
    [`${LONGEST} `, 'invalid_arguments'],
    ['2026-12-03T14:00'.padEnd(10_000, '0'), 'invalid_arguments'],
  ];

  it('has a 40-character case, the longest the schema accepts', () => {
    expect(LONGEST).toHaveLength(40);
  });

  it.each(refusedTimes)('book_appointment refuses %j as %s, writing nothing', async (scheduledAt, code) => {
    const me = await newCaller();
    await expectCleanRefusal(
      'book_appointment',
      { customer_id: me.customerId, vehicle_id: me.vehicleId, scheduled_at: scheduledAt, service_type: 'oil change' },
      code,
      me.number,
    );
  });

  it.each([
    // Offsets at the ends of the real range, landing on 9:00 and 10:00 on Friday, December 11 in New York.
    ['2026-12-12T04:00+14:00', '2026-12-11T09:00:00-05:00'],
    ['2026-12-11T03:00-12:00', '2026-12-11T10:00:00-05:00'],
    ['2027-03-01T09:00', '2027-03-01T09:00:00-05:00'],
  ])('book_appointment books %s at %s', async (scheduledAt, startsAt) => {
    const me = await newCaller();
    const { result } = await call(
      'book_appointment',
      { customer_id: me.customerId, vehicle_id: me.vehicleId, scheduled_at: scheduledAt, service_type: 'oil change' },
      { phoneNumber: me.number },
    );
    expect(result).toMatchObject({ success: true, data: { appointment: { starts_at: startsAt } } });
    const [row] = await fixture.database.db.select().from(appointments).where(eq(appointments.customerId, me.customerId));
    expect(row!.startsAt.toISOString()).toBe(new Date(startsAt).toISOString());
  });

  it('reschedule_appointment refuses every one of them too, leaving the appointment as it was', async () => {
    const me = await newCaller();
    const booked = await call(
      'book_appointment',
      { customer_id: me.customerId, vehicle_id: me.vehicleId, scheduled_at: '2026-12-15T09:00', service_type: 'oil change' },
      { phoneNumber: me.number },
    );
    const appointmentId = booked.result.data.appointment.id as string;
    for (const [newDatetime, code] of refusedTimes) {
      await expectCleanRefusal('reschedule_appointment', { appointment_id: appointmentId, new_datetime: newDatetime }, code, me.number);
    }
    const row = await fixture.database.db.query.appointments.findFirst({ where: eq(appointments.id, appointmentId) });
    expect(row).toMatchObject({ status: 'scheduled', syncVersion: 1, startsAt: new Date('2026-12-15T14:00:00.000Z') });
  });
});

describe('cancel, reschedule and upcoming', () => {
  async function bookedCaller(at: string) {
    const me = await newCaller();
    const { result } = await call(
      'book_appointment',
      { customer_id: me.customerId, vehicle_id: me.vehicleId, scheduled_at: at, service_type: 'brake service' },
      { phoneNumber: me.number },
    );
    return { ...me, appointmentId: result.data.appointment.id as string };
  }

  it('lists, moves and cancels the caller\'s own appointment', async () => {
    const me = await bookedCaller('2026-12-07T09:00');
    const upcoming = await call('get_upcoming_appointments', { customer_id: me.customerId }, { phoneNumber: me.number });
    expect(upcoming.result.message).toBe('You have one upcoming appointment: a brake service on Monday, December 7 at 9:00 AM.');

    const moved = await call('reschedule_appointment', { appointment_id: me.appointmentId, new_datetime: '2026-12-08T13:00' }, { phoneNumber: me.number });
    expect(moved.result).toMatchObject({ success: true, message: 'Done. Your brake service is now on Tuesday, December 8 at 1:00 PM.' });

    const cancelled = await call('cancel_appointment', { appointment_id: me.appointmentId, reason: 'sold the car' }, { phoneNumber: me.number });
    expect(cancelled.result).toMatchObject({ success: true, message: 'Your brake service on Tuesday, December 8 at 1:00 PM is cancelled.' });
    const again = await call('cancel_appointment', { appointment_id: me.appointmentId }, { phoneNumber: me.number });
    expect(again.result.message).toBe('That appointment on Tuesday, December 8 at 1:00 PM was already cancelled.');

    const none = await call('get_upcoming_appointments', { customer_id: me.customerId }, { phoneNumber: me.number });
    expect(none.result.message).toBe("You don't have any upcoming appointments.");
  });

  it("refuses to cancel, move or list another customer's appointments", async () => {
    const owner = await bookedCaller('2026-12-09T09:00');
    const stranger = await newCaller();
    const attempts = [
      await call('cancel_appointment', { appointment_id: owner.appointmentId }, { phoneNumber: stranger.number }),
      await call('reschedule_appointment', { appointment_id: owner.appointmentId, new_datetime: '2026-12-09T14:00' }, { phoneNumber: stranger.number }),
      await call('get_upcoming_appointments', { customer_id: owner.customerId }, { phoneNumber: stranger.number }),
    ];
    expect(attempts.map((a) => a.result.success)).toEqual([false, false, false]);
    expect(attempts[0]!.result).toMatchObject({ error: 'appointment_not_found' });
    expect(attempts[2]!.result).toMatchObject({ error: 'not_your_account' });
    const row = await fixture.database.db.query.appointments.findFirst({ where: eq(appointments.id, owner.appointmentId) });
    expect(row).toMatchObject({ status: 'scheduled' });
    expect(row!.startsAt.toISOString()).toBe('2026-12-09T14:00:00.000Z');
  });

  it('refuses to move onto a taken time or outside hours, keeping the original', async () => {
    const a = await bookedCaller('2026-12-10T09:00');
    const b = await bookedCaller('2026-12-10T13:00');
    const taken = await call('reschedule_appointment', { appointment_id: b.appointmentId, new_datetime: '2026-12-10T09:30' }, { phoneNumber: b.number });
    expect(taken.result).toMatchObject({ success: false, error: 'slot_taken' });
    const late = await call('reschedule_appointment', { appointment_id: b.appointmentId, new_datetime: '2026-12-10T16:30' }, { phoneNumber: b.number });
    expect(late.result).toMatchObject({ success: false, error: 'outside_hours' });
    expect(late.result.message).toContain('Thursday, December 10');
    const rows = await fixture.database.db.query.appointments.findMany({
      where: (t, { inArray }) => inArray(t.id, [a.appointmentId, b.appointmentId]),
    });
    expect(Object.fromEntries(rows.map((r) => [r.id, r.startsAt.toISOString()]))).toEqual({
      [a.appointmentId]: '2026-12-10T14:00:00.000Z',
      [b.appointmentId]: '2026-12-10T18:00:00.000Z',
    });
  });
});

describe('call actions', () => {
  it('transfer_to_human asks the call to transfer, with the reason', async () => {
    const { result, actionsTaken } = await call('transfer_to_human', { reason: 'billing question' });
    expect(actionsTaken).toEqual([{ action: 'transfer', reason: 'billing question' }]);
    expect(result).toMatchObject({ success: true, data: { transferred: false }, message: 'Someone from the shop will call you back shortly.' });
  });

  it('end_call asks the call to hang up', async () => {
    const { result, actionsTaken } = await call('end_call', {});
    expect(actionsTaken).toEqual([{ action: 'end' }]);
    expect(result).toMatchObject({ success: true, data: { ended: true } });
  });
});
