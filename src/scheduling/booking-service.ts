/**
 * Books, cancels and reschedules appointments, keeping the database (the system of record) and
 * the calendar (its projection) in step:
 *   1. check the request against business rules and current busy time, bay by bay (database +
 *      calendar free/busy, read now, never trusted from earlier in the call), and pick the bay;
 *   2. commit the change in the database, where the exclusion constraints decide races (one
 *      booking per bay at a time, one per vehicle); a caller who loses a bay to a simultaneous
 *      booking tries the next free bay;
 *   3. write the calendar; if that fails after its retries, the change stands, the row stays
 *      pending, and the reconciler finishes it later.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Cache } from '../cache/cache.js';
import type { CalendarProvider, FreeBusy, TimeRange } from '../calendar/calendar.js';
import { eventIdForAppointment } from '../calendar/event-id.js';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import {
  activeAppointmentsIn,
  findAppointment,
  OVERLAP_CONSTRAINTS,
  scheduledAppointmentAt,
  upcomingAppointments,
} from '../db/appointment-queries.js';
import { constraintName, SQLSTATE, sqlState, transaction } from '../db/client.js';
import type { Db } from '../db/client.js';
import { storedResult, storeResult } from '../db/idempotency.js';
import { appointments, customers, vehicles } from '../db/schema.js';
import type { Appointment } from '../db/schema.js';
import { checkSlot, computeAvailability, shopDay } from './availability.js';
import type { Availability } from './availability.js';
import { bayBusyFrom, type BayBusy } from './bays.js';
import { subtractIntervals } from './intervals.js';
import { createCalendarBusyReader } from './calendar-busy.js';
import { checkBookingWindow } from './business-rules.js';
import type { BusinessRules } from './business-rules.js';
import { syncAppointment } from './calendar-projection.js';
import type { ProjectionContext, ProjectionHint } from './calendar-projection.js';
import { invalidateCustomer } from '../crm/customer-cache.js';
import { resolveService, serviceDuration } from './services.js';
import { isoInZone, parseShopDate, parseShopDateTime, speakableDateTime } from './time.js';
import { isUuid } from '../core/ids.js';

const MINUTE_MS = 60_000;

export interface BookingServiceDeps {
  db: Db;
  calendar: CalendarProvider;
  rules: BusinessRules;
  shopName: string;
  cache?: Cache | undefined;
  now?: () => Date;
  /** Calendar retry budget while a caller waits on the line. */
  callerBudgetMs?: number;
  /** How old a free/busy answer may be and still back a booking while the calendar is unreachable. */
  freeBusySnapshotMaxAgeMs?: number;
  /** Told about calendar writes that failed and were left for the reconciler. */
  onSyncDeferred?: (appointmentId: string, error: unknown) => void;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** A repeated request with the same key returns the first result (e.g. the LLM's tool call id). */
  idempotencyKey?: string | undefined;
}

export interface AppointmentView {
  id: string;
  customerId: string;
  vehicleId: string;
  serviceType: string;
  status: Appointment['status'];
  /** ISO 8601 with the shop's offset. */
  startsAt: string;
  endsAt: string;
  durationMinutes: number;
  /** "Thursday, December 3 at 2:00 PM", in the shop's zone. */
  when: string;
  notes: string | null;
  cancellationReason: string | null;
  /** The service bay, from 1. */
  bay: number;
  /** False while the calendar write is still pending (the reconciler will finish it). */
  calendarSynced: boolean;
  /**
   * Whether an external calendar (Google) reflects the latest change: `written` now, `pending` for
   * the reconciler, `none` when there is no external calendar (the local one). What the agent may
   * promise about invitations follows from it.
   */
  calendarEvent: 'written' | 'pending' | 'none';
}

export interface BookRequest {
  customerId: string;
  vehicleId: string;
  /** ISO 8601; without an offset it means shop-local time. */
  scheduledAt: string;
  serviceType: string;
  durationMinutes?: number | undefined;
  notes?: string | undefined;
}

/** Customer id(s) an appointment must belong to: a caller acts only on their own records. */
export type Owners = string | Iterable<string> | undefined;

export interface CancelRequest {
  appointmentId: string;
  /** When given, the appointment must belong to this customer (or one of these). */
  customerId?: Owners;
  reason?: string | undefined;
}

export interface RescheduleRequest {
  appointmentId: string;
  customerId?: Owners;
  newScheduledAt: string;
}

export interface BookingOutcome {
  appointment: AppointmentView;
  /** True when this answer is the stored result of an earlier request with the same key. */
  replayed: boolean;
  /** True when there was nothing to do: already cancelled, moved to the time it already had, or already booked. */
  unchanged?: boolean;
  /**
   * Set when book() found this customer's vehicle already booked at that very start (typically a
   * caller calling back after a dropped call): the existing appointment is the answer. The
   * requested service is given because it may differ from the booking's.
   */
  alreadyBooked?: { requestedServiceType: string };
}

export type BookingService = ReturnType<typeof createBookingService>;

export function createBookingService(deps: BookingServiceDeps) {
  const { db, calendar, rules } = deps;
  const zone = rules.timeZone;
  const now = deps.now ?? (() => new Date());
  const callerBudgetMs = deps.callerBudgetMs ?? 2_000;
  const projection: ProjectionContext = { db, calendar, timeZone: zone, shopName: deps.shopName };
  const calendarBusy = createCalendarBusyReader({
    calendar,
    rules,
    cache: deps.cache,
    now,
    callerBudgetMs,
    snapshotMaxAgeMs: deps.freeBusySnapshotMaxAgeMs ?? 15 * MINUTE_MS,
  });

  function view(row: Appointment): AppointmentView {
    return {
      id: row.id,
      customerId: row.customerId,
      vehicleId: row.vehicleId,
      serviceType: row.serviceType,
      status: row.status,
      startsAt: isoInZone(row.startsAt, zone),
      endsAt: isoInZone(row.endsAt, zone),
      durationMinutes: Math.round((row.endsAt.getTime() - row.startsAt.getTime()) / MINUTE_MS),
      when: speakableDateTime(row.startsAt, zone),
      notes: row.notes,
      cancellationReason: row.cancellationReason,
      bay: row.bay,
      calendarSynced: row.calendarSyncState === 'synced',
      calendarEvent: calendar.kind === 'local' ? 'none' : row.calendarSyncState === 'synced' ? 'written' : 'pending',
    };
  }

  /**
   * Each bay's busy time: its active appointments, its own calendar, and the shop calendar (which
   * blocks every bay). A booking being moved leaves out its own time, in the database and in the
   * calendar that holds its event (which still shows it at its old time, merged by free/busy with
   * any booking right before or after it, so its range is cut out rather than matched).
   */
  function bayBusy(rows: readonly Appointment[], calendarBusyNow: FreeBusy, moving?: Appointment): BayBusy {
    const own = moving === undefined ? [] : [{ start: moving.startsAt, end: moving.endsAt }];
    const notOwn = (list: readonly TimeRange[]): TimeRange[] => (own.length === 0 ? [...list] : subtractIntervals(list, own));
    const ownCalendar = moving === undefined ? undefined : (moving.calendarId ?? calendar.shopCalendarId);
    return bayBusyFrom({
      bayCount: calendar.bays,
      appointments: rows.filter((r) => r.id !== moving?.id).map((r) => ({ bay: r.bay, start: r.startsAt, end: r.endsAt })),
      shop: ownCalendar === calendar.shopCalendarId ? notOwn(calendarBusyNow.shop) : calendarBusyNow.shop,
      calendarBays: new Map(
        [...calendarBusyNow.bays].map(([bay, list]) => [bay, calendar.calendarIdFor(bay) === ownCalendar ? notOwn(list) : list]),
      ),
    });
  }

  async function sync(row: Appointment, hint: ProjectionHint, signal: AbortSignal | undefined): Promise<Appointment> {
    const result = await syncAppointment(projection, row, hint, {
      signal,
      budgetMs: callerBudgetMs,
      now: now(),
      retryDelayMs: 5_000,
    });
    if (!result.synced && result.error !== undefined) deps.onSyncDeferred?.(row.id, result.error);
    return (await findAppointment(db, row.id)) ?? row;
  }

  async function replay(operation: string, options: CallOptions): Promise<BookingOutcome | undefined> {
    if (options.idempotencyKey === undefined) return undefined;
    const prior = await storedResult<{ appointmentId: string }>(db, operation, options.idempotencyKey);
    if (prior === undefined) return undefined;
    const row = await findAppointment(db, prior.appointmentId);
    return row === undefined ? undefined : { appointment: view(row), replayed: true };
  }

  /**
   * Answers from the idempotency record when there is one, before and after the work: a
   * duplicate that lost the race to its twin sees the twin's booking as a conflict, but its
   * answer is the twin's result, not "that time is taken".
   */
  async function idempotent(
    operation: string,
    options: CallOptions,
    work: () => Promise<BookingOutcome>,
  ): Promise<BookingOutcome> {
    const before = await replay(operation, options);
    if (before !== undefined) return before;
    try {
      return await work();
    } catch (error) {
      if (error instanceof ConflictError) {
        const after = await replay(operation, options);
        if (after !== undefined) return after;
      }
      throw error;
    }
  }

  /**
   * Runs `change` in a transaction with the idempotency record, then writes the calendar. Races
   * end as ConflictErrors: an overlap (slot taken), or the same request racing itself (its twin
   * claimed the key first; `idempotent` then answers with the twin's result).
   */
  async function commit(
    operation: string,
    options: CallOptions,
    appointmentId: string,
    hint: ProjectionHint,
    change: (tx: Db) => Promise<Appointment>,
  ): Promise<BookingOutcome> {
    let committed: Appointment;
    try {
      committed = await transaction(db, async (tx) => {
        // The key is claimed first: a concurrent duplicate blocks on it and then replays, rather
        // than reaching the appointment and failing on the overlap its twin just created.
        if (options.idempotencyKey !== undefined) {
          await storeResult(tx, operation, options.idempotencyKey, { appointmentId });
        }
        return change(tx);
      });
    } catch (error) {
      const state = sqlState(error);
      if (state === SQLSTATE.exclusionViolation && constraintName(error) === OVERLAP_CONSTRAINTS.vehicle) {
        throw new ConflictError(
          'vehicle_already_booked',
          'the vehicle has another active appointment at an overlapping time',
          'That car already has an appointment at that time.',
        );
      }
      if (state === SQLSTATE.exclusionViolation) {
        throw new ConflictError(
          'slot_taken',
          'the time overlaps another active appointment in the same bay',
          'Sorry, that time was just taken by another booking. Let me find you another time.',
        );
      }
      if (state === SQLSTATE.uniqueViolation && options.idempotencyKey !== undefined) {
        throw new ConflictError('duplicate_request', 'the same request is already being handled', 'One moment, please.');
      }
      throw error;
    }
    return afterCommit(committed, hint, options);
  }

  /** A scheduled appointment's update, guarded by its sync version so concurrent edits cannot interleave. */
  async function updateScheduled(
    tx: Db,
    current: Appointment,
    changes: Partial<typeof appointments.$inferInsert>,
  ): Promise<Appointment> {
    const [row] = await tx
      .update(appointments)
      .set({
        ...changes,
        syncVersion: sql`${appointments.syncVersion} + 1`,
        calendarSyncState: 'pending',
        calendarSyncNextAt: new Date(now().getTime() + MINUTE_MS),
      })
      .where(and(eq(appointments.id, current.id), eq(appointments.syncVersion, current.syncVersion)))
      .returning();
    if (row === undefined) throw changedUnderneath();
    return row;
  }

  /**
   * Finds a bay for `range` and runs `place` with it. The time must pass the rules (checked first:
   * no I/O for a time that could never work), the vehicle must not be booked at an overlapping time,
   * and some bay must be free in the database and the calendars. If a simultaneous booking takes
   * the bay first (the exclusion constraint says so), the database is read again and the next free
   * bay is tried: each lost race means one more bay taken, so `calendar.bays` retries always end,
   * either booked or with every bay taken.
   */
  async function placeInBay(
    range: TimeRange,
    vehicleId: string,
    moving: Appointment | undefined,
    signal: AbortSignal | undefined,
    place: (bay: number) => Promise<BookingOutcome>,
  ): Promise<BookingOutcome> {
    const durationMinutes = Math.round((range.end.getTime() - range.start.getTime()) / MINUTE_MS);
    const ruleCheck = checkSlot({ start: range.start, durationMinutes, busy: [], now: now(), rules });
    if (!ruleCheck.ok) throw slotError(ruleCheck);
    const calendarBusyNow = await calendarBusy.forBooking(range, signal);
    for (let retries = 0; ; retries++) {
      const rows = await activeAppointmentsIn(db, range, moving?.id);
      const sameCar = rows.find((r) => r.vehicleId === vehicleId);
      if (sameCar !== undefined) throw vehicleBusy(sameCar);
      const busy = bayBusy(rows, calendarBusyNow, moving);
      const check = checkSlot({ start: range.start, durationMinutes, busy: busy.shop, bays: busy.bays, preferBay: moving?.bay, now: now(), rules });
      if (!check.ok) throw slotError(check);
      try {
        return await place(check.bay);
      } catch (error) {
        const lostBayRace = error instanceof ConflictError && error.code === 'slot_taken';
        if (!lostBayRace || retries >= calendar.bays) throw error;
      }
    }
  }

  async function ownedAppointment(appointmentId: string, owners: Owners): Promise<Appointment> {
    const row = isUuid(appointmentId) ? await findAppointment(db, appointmentId) : undefined;
    const allowed = owners === undefined || (typeof owners === 'string' ? [owners] : [...owners]).includes(row?.customerId ?? '');
    if (row === undefined || !allowed) {
      throw new NotFoundError('appointment_not_found', `no appointment ${appointmentId} for this customer`,
        "I couldn't find that appointment on your account.");
    }
    return row;
  }

  function assertChangeable(row: Appointment, verb: string): void {
    if (row.status !== 'scheduled') {
      throw new ValidationError('appointment_not_active', `appointment is ${row.status}`,
        `That appointment is ${row.status.replace('_', ' ')}, so I can't ${verb} it.`);
    }
    if (row.startsAt.getTime() <= now().getTime()) {
      throw new ValidationError('appointment_started', 'appointment already started',
        `That appointment has already started, so I can't ${verb} it. Let me get someone from the shop to help.`);
    }
  }

  /**
   * Today up to the booking horizon, in the shop's zone. Checked before any query, so a date the
   * tool schema lets through (year 0000, 9999) is refused in words and never reaches the database.
   */
  function assertWithinHorizon(day: Date): void {
    const check = checkBookingWindow({ day, now: now(), timeZone: zone, maxBookingDays: rules.maxBookingDays });
    if (!check.ok) throw new ValidationError(check.reason, check.message, check.message);
  }

  /**
   * The same customer's same vehicle already booked at the same start. Whatever service this
   * request names, that booking is the answer: the car can be in the bay only once at that time,
   * a caller calling back usually restates the first call in other words ("brakes" for "brake
   * service"), and swapping the service silently would change a booking nobody asked to change.
   * The outcome carries the requested service so the agent can say which one is booked. A start
   * already past is left to the rules (it is not "your upcoming appointment").
   */
  async function existingBooking(request: BookRequest, start: Date, requestedServiceType: string): Promise<BookingOutcome | undefined> {
    if (start.getTime() <= now().getTime()) return undefined;
    const row = await scheduledAppointmentAt(db, { customerId: request.customerId, vehicleId: request.vehicleId, startsAt: start });
    if (row === undefined) return undefined;
    return { appointment: view(row), replayed: false, unchanged: true, alreadyBooked: { requestedServiceType } };
  }

  /** The car is already booked at an overlapping time (another start: the same start is `existingBooking`). */
  function vehicleBusy(row: Appointment): ConflictError {
    const message = `That car already has an appointment on ${speakableDateTime(row.startsAt, zone)}, which overlaps that time.`;
    return new ConflictError('vehicle_already_booked', message, message);
  }

  function slotError(check: Exclude<ReturnType<typeof checkSlot>, { ok: true }>): AppError {
    return check.reason === 'busy'
      ? new ConflictError('slot_taken', check.message, check.message)
      : new ValidationError(check.reason, check.message, check.message);
  }

  async function touchCustomerCache(customerId: string): Promise<void> {
    const customer = await db.query.customers.findFirst({ where: eq(customers.id, customerId) });
    if (customer !== undefined) await invalidateCustomer(deps.cache, customer);
  }

  /**
   * The change has committed, so it stands whatever happens next: a failure now (the database or
   * the calendar going away) must not be reported as if nothing had happened. The row is still
   * pending, so the reconciler finishes its calendar write.
   */
  async function afterCommit(committed: Appointment, hint: ProjectionHint, options: CallOptions): Promise<BookingOutcome> {
    let row = committed;
    try {
      row = await sync(committed, hint, options.signal);
    } catch (error) {
      deps.onSyncDeferred?.(committed.id, error);
    }
    await touchCustomerCache(row.customerId).catch(() => undefined);
    return { appointment: view(row), replayed: false };
  }

  async function bookNow(request: BookRequest, options: CallOptions): Promise<BookingOutcome> {
    const service = resolveService(request.serviceType);
    const durationMinutes = serviceDuration(request.serviceType, request.durationMinutes);
    const start = parseShopDateTime(request.scheduledAt, zone).toJSDate();
    assertWithinHorizon(start);
    const range = { start, end: new Date(start.getTime() + durationMinutes * MINUTE_MS) };

    const vehicle = isUuid(request.vehicleId) && isUuid(request.customerId)
      ? await db.query.vehicles.findFirst({
          where: and(eq(vehicles.id, request.vehicleId), eq(vehicles.customerId, request.customerId)),
        })
      : undefined;
    if (vehicle === undefined) {
      throw new NotFoundError('vehicle_not_found', 'vehicle not found for this customer',
        "I couldn't find that vehicle on the customer's account.");
    }
    // A new call has a new idempotency key, so a caller asking again for what they already have
    // is recognised by the booking itself: before the checks, and after losing a race to it.
    const existing = await existingBooking(request, start, service.name);
    if (existing !== undefined) return existing;
    try {
      return await placeInBay(range, request.vehicleId, undefined, options.signal, (bay) =>
        insertAppointment(request, service.name, range, bay, options),
      );
    } catch (error) {
      if (error instanceof ConflictError && (error.code === 'slot_taken' || error.code === 'vehicle_already_booked')) {
        const twin = await existingBooking(request, start, service.name);
        if (twin !== undefined) return twin;
      }
      throw error;
    }
  }

  function insertAppointment(
    request: BookRequest,
    serviceType: string,
    range: TimeRange,
    bay: number,
    options: CallOptions,
  ): Promise<BookingOutcome> {
    const id = randomUUID();
    return commit('book', options, id, 'create', async (tx) => {
      const [row] = await tx
        .insert(appointments)
        .values({
          id,
          customerId: request.customerId,
          vehicleId: request.vehicleId,
          serviceType,
          startsAt: range.start,
          endsAt: range.end,
          bay,
          notes: request.notes?.trim() || null,
          calendarEventId: eventIdForAppointment(id),
          // Where the event goes; from then on, where it is (the projection moves it with the booking).
          calendarId: calendar.calendarIdFor(bay),
          // The inline write goes first; the reconciler only steps in if that fails.
          calendarSyncNextAt: new Date(now().getTime() + MINUTE_MS),
        })
        .returning();
      return row!;
    });
  }

  async function cancelNow(request: CancelRequest, options: CallOptions): Promise<BookingOutcome> {
    const current = await ownedAppointment(request.appointmentId, request.customerId);
    if (current.status === 'cancelled') return { appointment: view(current), replayed: false, unchanged: true };
    assertChangeable(current, 'cancel');

    return commit('cancel', options, current.id, 'update', (tx) =>
      updateScheduled(tx, current, { status: 'cancelled', cancellationReason: request.reason?.trim() || null }),
    );
  }

  async function rescheduleNow(request: RescheduleRequest, options: CallOptions): Promise<BookingOutcome> {
    const current = await ownedAppointment(request.appointmentId, request.customerId);
    assertChangeable(current, 'move');

    const durationMinutes = Math.round((current.endsAt.getTime() - current.startsAt.getTime()) / MINUTE_MS);
    const start = parseShopDateTime(request.newScheduledAt, zone).toJSDate();
    assertWithinHorizon(start);
    if (start.getTime() === current.startsAt.getTime()) return { appointment: view(current), replayed: false, unchanged: true };
    const range = { start, end: new Date(start.getTime() + durationMinutes * MINUTE_MS) };

    return placeInBay(range, current.vehicleId, current, options.signal, (bay) =>
      commit('reschedule', options, current.id, 'update', (tx) =>
        updateScheduled(tx, current, { startsAt: range.start, endsAt: range.end, bay }),
      ),
    );
  }

  return {
    /** Bookable times on a shop-local date. Fails (calendar_unavailable) rather than guess. */
    async getAvailability(
      request: { date: string; durationMinutes?: number | undefined; serviceType?: string | undefined },
      options: CallOptions = {},
    ): Promise<Availability> {
      const durationMinutes = serviceDuration(request.serviceType ?? 'general', request.durationMinutes);
      assertWithinHorizon(parseShopDate(request.date, zone).toJSDate());
      const at = now();
      const closedCheck = computeAvailability({ date: request.date, durationMinutes, busy: [], now: at, rules });
      if (closedCheck.closed) return closedCheck;
      const day = shopDay(request.date, rules);
      const range = { start: day.dayStart.toJSDate(), end: day.dayStart.plus({ days: 1 }).toJSDate() };
      const [rows, calendarBusyNow] = await Promise.all([activeAppointmentsIn(db, range), calendarBusy.read(range, options.signal)]);
      const busy = bayBusy(rows, calendarBusyNow);
      return computeAvailability({ date: request.date, durationMinutes, busy: busy.shop, bays: busy.bays, now: at, rules });
    },

    book(request: BookRequest, options: CallOptions = {}): Promise<BookingOutcome> {
      return idempotent('book', options, () => bookNow(request, options));
    },

    cancel(request: CancelRequest, options: CallOptions = {}): Promise<BookingOutcome> {
      return idempotent('cancel', options, () => cancelNow(request, options));
    },

    reschedule(request: RescheduleRequest, options: CallOptions = {}): Promise<BookingOutcome> {
      return idempotent('reschedule', options, () => rescheduleNow(request, options));
    },

    async upcoming(customerId: string): Promise<AppointmentView[]> {
      if (!isUuid(customerId)) return [];
      return (await upcomingAppointments(db, customerId, now())).map(view);
    },

    view,
  };
}

function changedUnderneath(): ConflictError {
  return new ConflictError(
    'appointment_changed',
    'appointment changed while being updated',
    'That appointment was just changed by someone else. Let me look at it again.',
  );
}

