/**
 * What the agent promises about calendar invitations, through the tools as the call session runs
 * them: only what is true. An invitation is "on its way" only when the event is on Google Calendar
 * (written now, not pending) and the customer has an email; the local calendar sends nothing.
 * Fixed clock: Tuesday 2026-12-01 10:00 in New York.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventIdForAppointment } from '../src/calendar/event-id.js';
import { createToolDispatcher } from '../src/tools/dispatcher.js';
import { ALL_TOOLS } from '../src/tools/index.js';
import type { ToolResult } from '../src/tools/tool.js';
import { startGoogleCalendarEmulator } from './emulators/google-calendar.js';
import type { GoogleCalendarEmulator } from './emulators/google-calendar.js';
import { googleCalendarFor } from './support/google-client.js';
import { FIXTURE_ZONE, openToolFixture } from './support/tool-fixture.js';
import type { ToolFixture } from './support/tool-fixture.js';

const ON_ITS_WAY = /on its way/;

let emulator: GoogleCalendarEmulator;
let google: ToolFixture;
let local: ToolFixture;
let phone = 0;
let toolCall = 0;

beforeAll(async () => {
  emulator = await startGoogleCalendarEmulator();
  [google, local] = await Promise.all([
    openToolFixture({ calendar: () => googleCalendarFor(emulator, FIXTURE_ZONE) }),
    openToolFixture(),
  ]);
});
afterAll(async () => {
  await Promise.all([google?.close(), local?.close(), emulator?.close()]);
});

async function newCaller(fixture: ToolFixture, email: string | null) {
  const number = `+1555${String(4_000_000 + phone++).padStart(7, '0')}`;
  const { customerId, vehicleIds } = await fixture.addCustomer({
    phone: number,
    email,
    vehicles: [{ year: 2019, make: 'Toyota', model: 'Camry' }],
  });
  return { number, customerId, vehicleId: vehicleIds[0]! };
}

async function call(fixture: ToolFixture, name: string, args: Record<string, unknown>, phoneNumber: string) {
  const context = fixture.context({ phoneNumber });
  const dispatcher = createToolDispatcher({ tools: ALL_TOOLS });
  const { signal, toolCallId: _id, ...base } = context;
  const [outcome] = await dispatcher.dispatch([{ id: `call_inv_${++toolCall}`, name, arguments: JSON.stringify(args) }], { signal, base });
  const result = outcome!.result as ToolResult & { data?: any };
  expect(result.success, result.message).toBe(true);
  return result;
}

function book(fixture: ToolFixture, me: Awaited<ReturnType<typeof newCaller>>, scheduledAt: string) {
  return call(
    fixture,
    'book_appointment',
    { customer_id: me.customerId, vehicle_id: me.vehicleId, scheduled_at: scheduledAt, service_type: 'oil change' },
    me.number,
  );
}

/** Every calendar write fails for as long as `run` takes: the change stands, its event is pending. */
async function whileCalendarWritesFail<T>(run: () => Promise<T>): Promise<T> {
  emulator.injectFaults([{ match: (r) => r.path.includes('/events'), status: 400, times: Number.POSITIVE_INFINITY }]);
  try {
    return await run();
  } finally {
    emulator.clearFaults();
  }
}

describe('on Google Calendar', () => {
  it('says an invitation is on its way when the event is written and the customer has an email', async () => {
    const me = await newCaller(google, 'dana@example.com');
    const result = await book(google, me, '2026-12-03T10:00');
    expect(result.message).toBe(
      "You're all set: an oil change for the 2019 Toyota Camry on Thursday, December 3 at 10:00 AM. " +
        'A calendar invitation is on its way to your email.',
    );
    expect(result.data.invitation).toBe('sent');
    // True: Google has the event, with the customer invited.
    const event = emulator.getEvent('primary', eventIdForAppointment(result.data.appointment.id));
    expect(event?.attendees).toEqual([expect.objectContaining({ email: 'dana@example.com' })]);
  });

  it('promises nothing when the customer has no email', async () => {
    const me = await newCaller(google, null);
    const result = await book(google, me, '2026-12-03T11:00');
    expect(result.message).toBe("You're all set: an oil change for the 2019 Toyota Camry on Thursday, December 3 at 11:00 AM.");
    expect(result.data.invitation).toBe('none');
  });

  it('while the write is pending, says the booking stands and the invitation follows once the calendar is updated', async () => {
    const me = await newCaller(google, 'dana@example.com');
    const result = await whileCalendarWritesFail(() => book(google, me, '2026-12-03T13:00'));
    expect(result.message).toBe(
      "You're all set: an oil change for the 2019 Toyota Camry on Thursday, December 3 at 1:00 PM. " +
        "We'll email you the calendar invitation once our calendar is updated.",
    );
    expect(result.message).not.toMatch(ON_ITS_WAY);
    expect(result.data.invitation).toBe('pending');
    expect(emulator.getEvent('primary', eventIdForAppointment(result.data.appointment.id))).toBeUndefined();
  });

  it('says an updated invitation, or its cancellation, is on its way only when written', async () => {
    const me = await newCaller(google, 'dana@example.com');
    const booked = await book(google, me, '2026-12-04T09:00');
    const id = booked.data.appointment.id as string;

    const moved = await call(google, 'reschedule_appointment', { appointment_id: id, new_datetime: '2026-12-04T14:00' }, me.number);
    expect(moved.message).toBe('Done. Your oil change is now on Friday, December 4 at 2:00 PM. An updated invitation is on its way to your email.');
    expect(moved.data.invitation).toBe('sent');

    const movedPending = await whileCalendarWritesFail(() =>
      call(google, 'reschedule_appointment', { appointment_id: id, new_datetime: '2026-12-04T15:00' }, me.number),
    );
    expect(movedPending.message).toBe(
      "Done. Your oil change is now on Friday, December 4 at 3:00 PM. We'll email you the updated invitation once our calendar is updated.",
    );
    expect(movedPending.data.invitation).toBe('pending');

    const cancelled = await call(google, 'cancel_appointment', { appointment_id: id }, me.number);
    expect(cancelled.message).toBe("Your oil change on Friday, December 4 at 3:00 PM is cancelled. You'll get an email cancelling the calendar invitation.");
    expect(cancelled.data.invitation).toBe('sent');
  });

  it('says nothing about invitations when there was nothing to change', async () => {
    const me = await newCaller(google, 'dana@example.com');
    const booked = await book(google, me, '2026-12-07T09:00');
    const id = booked.data.appointment.id as string;
    const same = await call(google, 'reschedule_appointment', { appointment_id: id, new_datetime: '2026-12-07T09:00' }, me.number);
    expect(same).toMatchObject({ message: 'That appointment is already on Monday, December 7 at 9:00 AM.', data: { invitation: 'none' } });
    await call(google, 'cancel_appointment', { appointment_id: id }, me.number);
    const again = await call(google, 'cancel_appointment', { appointment_id: id }, me.number);
    expect(again).toMatchObject({ data: { invitation: 'none' } });
    expect(again.message).not.toMatch(/invitation/);
  });
});

describe('on the local calendar', () => {
  it('never mentions an invitation, even for a customer with an email', async () => {
    const me = await newCaller(local, 'dana@example.com');
    const booked = await book(local, me, '2026-12-03T10:00');
    const id = booked.data.appointment.id as string;
    const moved = await call(local, 'reschedule_appointment', { appointment_id: id, new_datetime: '2026-12-03T14:00' }, me.number);
    const cancelled = await call(local, 'cancel_appointment', { appointment_id: id }, me.number);
    for (const result of [booked, moved, cancelled]) {
      expect(result.message).not.toMatch(/invitation|email/i);
      expect(result.data.invitation).toBe('none');
    }
  });
});
