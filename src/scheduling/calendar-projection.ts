/**
 * Makes the calendar reflect one appointment row: the database is the system of record and the
 * calendar its projection. Idempotent by construction (deterministic event id, 409 = exists,
 * 404/410 on delete = gone), so running it twice, from two places, never makes two events.
 * The event goes to its bay's calendar; the row records which calendar holds it (`calendar_id`),
 * so when the booking changes bays (or the bays' calendars are reconfigured) the event is moved
 * from where it is rather than written twice.
 */
import { eq } from 'drizzle-orm';
import type { CalendarCallOptions, CalendarEvent, CalendarProvider } from '../calendar/calendar.js';
import { eventIdForAppointment } from '../calendar/event-id.js';
import type { Db } from '../db/client.js';
import { eventCalendarOf, markSynced, markSyncFailed, recordEventCalendar, requeueSync } from '../db/appointment-queries.js';
import { customers, vehicles } from '../db/schema.js';
import type { Appointment } from '../db/schema.js';
import { ProviderError } from '../core/errors.js';
import { withoutQueryParams } from '../observability/error-serializer.js';

export interface ProjectionContext {
  db: Db;
  calendar: CalendarProvider;
  timeZone: string;
  shopName: string;
}

/** `update` when the event most likely exists (a reschedule): PATCH first, create if missing. */
export type ProjectionHint = 'create' | 'update';

export async function projectAppointment(
  context: ProjectionContext,
  row: Appointment,
  hint: ProjectionHint,
  options: CalendarCallOptions,
): Promise<void> {
  const { calendar } = context;
  const target = calendar.calendarIdFor(row.bay);
  // The local calendar: the row is its own event.
  if (target === null) return;
  const eventId = row.calendarEventId ?? eventIdForAppointment(row.id);
  // Rows from before bays recorded no calendar: their events are in the shop calendar.
  const current = row.calendarId ?? calendar.shopCalendarId ?? target;
  if (row.status === 'cancelled' || row.status === 'no_show') {
    await calendar.deleteEvent(current, eventId, options);
    return;
  }
  const event = await eventFor(context, row, eventId);
  let mode = hint;
  let recorded = row.calendarId;
  if (current !== target) {
    const moved = await moveToTarget(context, row.id, eventId, current, target, options);
    if (moved) recorded = target;
    mode = moved ? 'update' : 'create';
  }
  // The event is in `target` from here on (a row from before bays learns where its event is).
  const record = async (): Promise<void> => {
    if (recorded !== target) await recordEventCalendar(context.db, row.id, target);
  };
  if (mode === 'update') {
    try {
      await calendar.updateEvent(target, eventId, withoutId(event), options);
      await record();
      return;
    } catch (error) {
      if (!(error instanceof ProviderError && (error.status === 404 || error.status === 410))) throw error;
    }
  }
  const { created } = await calendar.createEvent(target, event, options);
  // Already there (an earlier attempt's insert landed, or the row moved since): bring it up to date.
  if (!created) await calendar.updateEvent(target, eventId, withoutId(event), options);
  await record();
}

/**
 * Moves the event from `from` to the bay's calendar and records that at once (a later failure must
 * not lose track of it). If it is not in `from`, another projection of this row may have moved it
 * meanwhile: the row says where to, and it is moved from there. False when there was nothing to move.
 */
async function moveToTarget(
  context: ProjectionContext,
  appointmentId: string,
  eventId: string,
  from: string,
  target: string,
  options: CalendarCallOptions,
): Promise<boolean> {
  let { moved } = await context.calendar.moveEvent(eventId, from, target, options);
  if (!moved) {
    const recorded = await eventCalendarOf(context.db, appointmentId);
    if (recorded === target) return true;
    if (recorded != null && recorded !== from) ({ moved } = await context.calendar.moveEvent(eventId, recorded, target, options));
  }
  if (moved) await recordEventCalendar(context.db, appointmentId, target);
  return moved;
}

/**
 * Projects and records the outcome: synced if the row is still at the projected version, else
 * left pending with the next attempt time. Returns whether the calendar now reflects the row.
 */
export async function syncAppointment(
  context: ProjectionContext,
  row: Appointment,
  hint: ProjectionHint,
  options: CalendarCallOptions & { retryDelayMs: number; now: Date },
): Promise<{ synced: boolean; error?: unknown }> {
  try {
    await projectAppointment(context, row, hint, options);
  } catch (error) {
    await markSyncFailed(
      context.db,
      row.id,
      row.syncVersion,
      // A failed database step (reading the customer, recording the calendar) throws drizzle's
      // "Failed query ... params: ...", and the params are customer data: keep them out of the row.
      withoutQueryParams(error instanceof Error ? error.message : String(error)),
      new Date(options.now.getTime() + options.retryDelayMs),
    );
    return { synced: false, error };
  }
  if (await markSynced(context.db, row.id, row.syncVersion)) return { synced: true };
  // The row changed while this projection was in flight, and the other writer may already have
  // marked its newer version synced; what the calendar shows now may be this stale projection.
  // Queue the row again so the current version is projected last.
  await requeueSync(context.db, row.id, options.now);
  return { synced: false };
}

async function eventFor(context: ProjectionContext, row: Appointment, eventId: string): Promise<CalendarEvent> {
  const [owner] = await context.db
    .select({ customer: customers, vehicle: vehicles })
    .from(vehicles)
    .innerJoin(customers, eq(customers.id, vehicles.customerId))
    .where(eq(vehicles.id, row.vehicleId));
  if (owner === undefined) throw new Error(`appointment ${row.id} has no vehicle/customer`);
  const { customer, vehicle } = owner;
  const name = `${customer.firstName} ${customer.lastName}`;
  const car = `${vehicle.year} ${vehicle.make} ${vehicle.model}`;
  // With one bay there is nothing to tell apart; with several, staff see the bay at a glance.
  const bay = context.calendar.bays > 1 ? `Bay ${row.bay}` : undefined;
  const description = [
    bay,
    `Customer: ${name}`,
    `Phone: ${customer.phone}`,
    `Vehicle: ${car}${vehicle.vin ? ` (VIN ${vehicle.vin})` : ''}${vehicle.mileage != null ? `, ${vehicle.mileage} miles` : ''}`,
    row.notes ? `Notes: ${row.notes}` : undefined,
    `Appointment id: ${row.id}`,
    `Booked by the ${context.shopName} phone agent.`,
  ]
    .filter((line) => line !== undefined)
    .join('\n');
  return {
    eventId,
    summary: `${bay === undefined ? '' : `${bay} - `}${row.serviceType}: ${name} (${car})`,
    description,
    start: row.startsAt,
    end: row.endsAt,
    timeZone: context.timeZone,
    attendeeEmail: customer.email ?? undefined,
  };
}

function withoutId(event: CalendarEvent): Omit<CalendarEvent, 'eventId'> {
  const { eventId: _eventId, ...rest } = event;
  return rest;
}
