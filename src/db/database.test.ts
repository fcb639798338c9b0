import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseBackends } from '../../test/support/databases.js';
import { SQLSTATE, constraintName, sqlState, transaction } from './client.js';
import type { Database } from './client.js';
import { appointments, callRecords, customers, idempotencyKeys, vehicles } from './schema.js';
import { seedDemoData } from './seed.js';

const HOUR = 3_600_000;

describe.each(databaseBackends())('database on $name', (backend) => {
  let database: Database;
  let phoneCounter = 0;
  const nextPhone = () => `+1555${String(7_000_000 + phoneCounter++).padStart(7, '0')}`;

  beforeAll(async () => {
    database = await backend.open();
  });
  afterAll(async () => {
    await database?.close();
  });

  async function customerWithVehicle() {
    const [customer] = await database.db
      .insert(customers)
      .values({ phone: nextPhone(), firstName: 'Ana', lastName: 'Lopez' })
      .returning();
    const [vehicle] = await database.db
      .insert(vehicles)
      .values({ customerId: customer!.id, year: 2018, make: 'Mazda', model: '3' })
      .returning();
    return { customer: customer!, vehicle: vehicle! };
  }

  async function book(start: Date, minutes: number, extra: Partial<typeof appointments.$inferInsert> = {}) {
    const { customer, vehicle } = await customerWithVehicle();
    const [row] = await database.db
      .insert(appointments)
      .values({
        customerId: customer.id,
        vehicleId: vehicle.id,
        serviceType: 'oil_change',
        startsAt: start,
        endsAt: new Date(start.getTime() + minutes * 60_000),
        ...extra,
      })
      .returning();
    return row!;
  }

  async function constraintOf(promise: Promise<unknown>): Promise<string | undefined> {
    try {
      await promise;
    } catch (error) {
      return `${sqlState(error)} ${constraintName(error)}`;
    }
    return undefined;
  }

  async function rejection(promise: Promise<unknown>): Promise<string | undefined> {
    try {
      await promise;
    } catch (error) {
      return sqlState(error);
    }
    return undefined;
  }

  it('applies migrations idempotently', async () => {
    await database.migrate();
    await expect(database.ping()).resolves.toBeUndefined();
  });

  it('creates, reads, updates and deletes customers', async () => {
    const phone = nextPhone();
    const [created] = await database.db
      .insert(customers)
      .values({ phone, firstName: 'Sam', lastName: 'Lee', email: 'sam@example.com' })
      .returning();
    expect(created!.id).toMatch(/^[0-9a-f-]{36}$/);

    const found = await database.db.query.customers.findFirst({ where: eq(customers.phone, phone) });
    expect(found?.lastName).toBe('Lee');

    await database.db.update(customers).set({ email: 'sam.lee@example.com' }).where(eq(customers.id, created!.id));
    const updated = await database.db.query.customers.findFirst({ where: eq(customers.id, created!.id) });
    expect(updated?.email).toBe('sam.lee@example.com');
    expect(updated!.updatedAt.getTime()).toBeGreaterThanOrEqual(created!.updatedAt.getTime());

    await database.db.delete(customers).where(eq(customers.id, created!.id));
    expect(await database.db.query.customers.findFirst({ where: eq(customers.id, created!.id) })).toBeUndefined();
  });

  it('rejects a duplicate phone and a phone that is not E.164', async () => {
    const phone = nextPhone();
    await database.db.insert(customers).values({ phone, firstName: 'A', lastName: 'B' });
    expect(await rejection(database.db.insert(customers).values({ phone, firstName: 'C', lastName: 'D' }))).toBe(
      SQLSTATE.uniqueViolation,
    );
    expect(
      await rejection(database.db.insert(customers).values({ phone: '555-1234', firstName: 'C', lastName: 'D' })),
    ).toBe(SQLSTATE.checkViolation);
  });

  it('stores vehicles owned by a customer and validates year and mileage', async () => {
    const { customer, vehicle } = await customerWithVehicle();
    await database.db.update(vehicles).set({ mileage: 61_000, vin: '1HGCM82633A004352' }).where(eq(vehicles.id, vehicle.id));
    const owned = await database.db.query.vehicles.findMany({ where: eq(vehicles.customerId, customer.id) });
    expect(owned).toHaveLength(1);
    expect(owned[0]).toMatchObject({ make: 'Mazda', model: '3', year: 2018, mileage: 61_000, vin: '1HGCM82633A004352' });

    expect(
      await rejection(database.db.insert(vehicles).values({ customerId: customer.id, year: 1800, make: 'X', model: 'Y' })),
    ).toBe(SQLSTATE.checkViolation);
    expect(
      await rejection(
        database.db.insert(vehicles).values({ customerId: customer.id, year: 2020, make: 'X', model: 'Y', mileage: -5 }),
      ),
    ).toBe(SQLSTATE.checkViolation);

    await database.db.delete(vehicles).where(eq(vehicles.id, vehicle.id));
    expect(await database.db.query.vehicles.findMany({ where: eq(vehicles.customerId, customer.id) })).toHaveLength(0);
  });

  it('stores appointments as UTC instants with status, notes and calendar sync state', async () => {
    const start = new Date('2030-01-07T14:00:00Z');
    const row = await book(start, 90, { notes: 'squeaky brakes' });
    expect(row.status).toBe('scheduled');
    expect(row.calendarSyncState).toBe('pending');
    const read = await database.db.query.appointments.findFirst({ where: eq(appointments.id, row.id) });
    expect(read!.startsAt.toISOString()).toBe('2030-01-07T14:00:00.000Z');
    expect(read!.endsAt.toISOString()).toBe('2030-01-07T15:30:00.000Z');
    expect(read!.notes).toBe('squeaky brakes');

    await database.db
      .update(appointments)
      .set({ calendarEventId: 'appt0123', calendarSyncState: 'synced' })
      .where(eq(appointments.id, row.id));
    const synced = await database.db.query.appointments.findFirst({ where: eq(appointments.id, row.id) });
    expect(synced).toMatchObject({ calendarEventId: 'appt0123', calendarSyncState: 'synced' });

    await database.db.delete(appointments).where(eq(appointments.id, row.id));
  });

  it('stores free text cleaned of characters PostgreSQL refuses, on insert, update and lookup', async () => {
    const phone = nextPhone();
    const [customer] = await database.db
      .insert(customers)
      .values({ phone, firstName: 'Ana\u0000', lastName: 'Zy\u0007gmunt', email: 'ana@example.com\u0000' })
      .returning();
    expect(customer).toMatchObject({ firstName: 'Ana', lastName: 'Zygmunt', email: 'ana@example.com' });
    // A lookup by the same dirty text finds the clean row.
    expect(await database.db.query.customers.findFirst({ where: eq(customers.lastName, 'Zy\u0007gmunt') })).toMatchObject({ id: customer!.id });

    const row = await book(new Date('2030-01-08T14:00:00Z'), 60, { notes: 'rattle\u0000 at\tspeed\nand \ud83d squeak' });
    expect(row.notes).toBe('rattle at\tspeed\nand  squeak');
    await database.db
      .update(appointments)
      .set({ status: 'cancelled', cancellationReason: 'moved\u0000 away\u001f' })
      .where(eq(appointments.id, row.id));
    const read = await database.db.query.appointments.findFirst({ where: eq(appointments.id, row.id) });
    expect(read!.cancellationReason).toBe('moved away');

    await database.db.insert(idempotencyKeys).values({ key: 'dirty\u0000', operation: 'book', result: { 'no\u0000te': 'a\u0000b' } });
    const stored = await database.db.query.idempotencyKeys.findFirst({ where: eq(idempotencyKeys.key, 'dirty') });
    expect(stored?.result).toEqual({ note: 'ab' });
  });

  it('rejects an appointment whose end is not after its start', async () => {
    const start = new Date('2030-01-08T14:00:00Z');
    expect(await rejection(book(start, 0))).toBe(SQLSTATE.checkViolation);
  });

  it('rejects an appointment for a vehicle the customer does not own', async () => {
    const a = await customerWithVehicle();
    const b = await customerWithVehicle();
    const start = new Date('2030-01-09T14:00:00Z');
    expect(
      await rejection(
        database.db.insert(appointments).values({
          customerId: a.customer.id,
          vehicleId: b.vehicle.id,
          serviceType: 'inspection',
          startsAt: start,
          endsAt: new Date(start.getTime() + HOUR),
        }),
      ),
    ).toBe(SQLSTATE.foreignKeyViolation);
  });

  it('rejects two overlapping active appointments in the database itself', async () => {
    const start = new Date('2030-02-04T14:00:00Z');
    await book(start, 60);
    // Overlaps the second half, nested inside, and covering entirely: all refused.
    expect(await rejection(book(new Date(start.getTime() + HOUR / 2), 60))).toBe(SQLSTATE.exclusionViolation);
    expect(await rejection(book(new Date(start.getTime() + HOUR / 4), 15))).toBe(SQLSTATE.exclusionViolation);
    expect(await rejection(book(new Date(start.getTime() - HOUR), 180))).toBe(SQLSTATE.exclusionViolation);
    // Back to back is fine: ranges are half-open.
    await expect(book(new Date(start.getTime() + HOUR), 30)).resolves.toBeDefined();
    await expect(book(new Date(start.getTime() - HOUR / 2), 30)).resolves.toBeDefined();
  });

  it('frees the time of a cancelled appointment', async () => {
    const start = new Date('2030-02-05T14:00:00Z');
    const first = await book(start, 60);
    expect(await rejection(book(start, 60))).toBe(SQLSTATE.exclusionViolation);
    await database.db
      .update(appointments)
      .set({ status: 'cancelled', cancellationReason: 'car sold' })
      .where(eq(appointments.id, first.id));
    const second = await book(start, 60);
    expect(second.status).toBe('scheduled');
    // Reactivating the cancelled one would double-book, so the database refuses that too.
    expect(
      await rejection(database.db.update(appointments).set({ status: 'scheduled' }).where(eq(appointments.id, first.id))),
    ).toBe(SQLSTATE.exclusionViolation);
  });

  it('lets different bays hold the same time', async () => {
    const start = new Date('2030-02-06T14:00:00Z');
    await book(start, 60, { bay: 1 });
    await expect(book(start, 60, { bay: 2 })).resolves.toBeDefined();
  });

  it('names the bay constraint when a bay is double-booked', async () => {
    const start = new Date('2030-02-07T14:00:00Z');
    await book(start, 60, { bay: 3 });
    expect(await constraintOf(book(start, 30, { bay: 3 }))).toBe(`${SQLSTATE.exclusionViolation} appointments_no_overlap`);
  });

  it('refuses one vehicle in two bays at overlapping times, and frees it on cancel', async () => {
    const start = new Date('2030-02-08T14:00:00Z');
    const first = await book(start, 60, { bay: 1 });
    const sameCar = { customerId: first.customerId, vehicleId: first.vehicleId };
    expect(await constraintOf(book(new Date(start.getTime() + HOUR / 2), 60, { ...sameCar, bay: 2 }))).toBe(
      `${SQLSTATE.exclusionViolation} appointments_vehicle_no_overlap`,
    );
    // Right after is fine, in any bay.
    await expect(book(new Date(start.getTime() + HOUR), 30, { ...sameCar, bay: 2 })).resolves.toBeDefined();
    await database.db.update(appointments).set({ status: 'cancelled' }).where(eq(appointments.id, first.id));
    await expect(book(start, 60, { ...sameCar, bay: 2 })).resolves.toBeDefined();
  });

  // PGlite has one connection: its transactions never run at the same time, so they cannot deadlock.
  it.runIf(backend.name === 'postgres')('runs a transaction again when PostgreSQL aborts it for a deadlock, and nothing else', async () => {
    // Two transactions that take two locks in opposite orders, each waiting until the other holds its first.
    const held: Array<() => void> = [];
    const bothHold = Promise.all([0, 1].map((i) => new Promise<void>((resolve) => (held[i] = resolve))));
    const attempts = [0, 0];
    const lockBoth = (i: number, first: number, second: number) =>
      transaction(database.db, async (tx) => {
        attempts[i]! += 1;
        await tx.execute(sql`select pg_advisory_xact_lock(${first})`);
        held[i]!();
        await bothHold;
        await tx.execute(sql`select pg_advisory_xact_lock(${second})`);
        return i;
      });
    expect(await Promise.all([lockBoth(0, 9_101, 9_102), lockBoth(1, 9_102, 9_101)])).toEqual([0, 1]);
    expect(attempts.sort()).toEqual([1, 2]);

    let tries = 0;
    const { customer } = await customerWithVehicle();
    const duplicate = transaction(database.db, async (tx) => {
      tries += 1;
      await tx.insert(customers).values({ phone: customer.phone, firstName: 'Twin', lastName: 'Lopez' });
    });
    expect(sqlState(await duplicate.catch((error: unknown) => error))).toBe(SQLSTATE.uniqueViolation);
    expect(tries).toBe(1);
  });

  it('stores idempotency results and refuses a second result for the same key', async () => {
    await database.db.insert(idempotencyKeys).values({ key: 'call_abc', operation: 'book', result: { ok: 1 } });
    expect(
      await rejection(
        database.db.insert(idempotencyKeys).values({ key: 'call_abc', operation: 'book', result: { ok: 2 } }),
      ),
    ).toBe(SQLSTATE.uniqueViolation);
    const row = await database.db.query.idempotencyKeys.findFirst({ where: eq(idempotencyKeys.key, 'call_abc') });
    expect(row?.result).toEqual({ ok: 1 });
  });

  it('creates, updates and reads call records with JSON transcript, tool calls and latencies', async () => {
    const [created] = await database.db
      .insert(callRecords)
      .values({ callId: 'CA123', callerNumber: '+15550001111', transport: 'twilio', startedAt: new Date() })
      .returning();
    expect(created!.transcript).toEqual([]);
    await database.db
      .update(callRecords)
      .set({
        endedAt: new Date(),
        outcome: 'booked',
        transcript: [{ role: 'user', text: 'I need an oil change' }],
        toolCalls: [{ name: 'get_available_slots', durationMs: 120 }],
        latencies: [{ turn: 1, voiceToVoiceMs: 820 }],
      })
      .where(eq(callRecords.callId, 'CA123'));
    const read = await database.db.query.callRecords.findFirst({
      where: and(eq(callRecords.callId, 'CA123'), eq(callRecords.outcome, 'booked')),
    });
    expect(read?.transcript).toEqual([{ role: 'user', text: 'I need an oil change' }]);
    expect(read?.toolCalls).toEqual([{ name: 'get_available_slots', durationMs: 120 }]);
    expect(read?.latencies).toEqual([{ turn: 1, voiceToVoiceMs: 820 }]);
    expect(await rejection(database.db.insert(callRecords).values({ callId: 'CA123', transport: 'twilio', startedAt: new Date() }))).toBe(
      SQLSTATE.uniqueViolation,
    );
  });

  it('seeds demo customers once', async () => {
    const first = await seedDemoData(database.db);
    const second = await seedDemoData(database.db);
    expect(first.customersAdded).toBeGreaterThanOrEqual(3);
    expect(second).toEqual({ customersAdded: 0, vehiclesAdded: 0 });
  });
});
