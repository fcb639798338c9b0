/**
 * The CRM service on a real database (PGlite, and PostgreSQL when TEST_DATABASE_URL is set): the
 * races it owns (one account per number, one vehicle per VIN, a request acting once however often
 * it arrives), caller verification, and its answers for ids it cannot know. How the tools word
 * these answers is tested beside the tools (src/tools/customer-tools.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseBackends } from '../../test/support/databases.js';
import { createMemoryCache } from '../cache/memory-cache.js';
import type { Cache } from '../cache/cache.js';
import type { Database, Db } from '../db/client.js';
import { customers, vehicles } from '../db/schema.js';
import type { CallerIdentity } from './caller.js';
import { createCustomerService } from './customer-service.js';
import type { CustomerService } from './customer-service.js';
import { checkDigit } from './vin.js';

const NOW = new Date('2026-12-01T15:00:00Z');
/** Simultaneous requests: enough that several pass every check before the first one commits. */
const RACERS = 5;

function caller(phoneNumber: string | undefined, verified: string[] = []): CallerIdentity {
  return { phoneNumber, verifiedCustomerIds: new Set(verified) };
}

/** A valid VIN from 16 free characters (the check digit is filled in). */
function vinFrom(stem: string): string {
  const draft = `${stem.slice(0, 8)}0${stem.slice(8)}`;
  return `${draft.slice(0, 8)}${checkDigit(draft)}${draft.slice(9)}`;
}

/**
 * The database as `parties` simultaneous requests see it when each one's first read of a customer
 * waits for all the others to have read too, before going on (to insert).
 */
function afterCustomerReadsOf(db: Db, parties: number): Db {
  let arrived = 0;
  let release!: () => void;
  const everyoneRead = new Promise<void>((resolve) => (release = resolve));
  const allHaveRead = () => {
    arrived += 1;
    if (arrived === parties) release();
    return everyoneRead;
  };
  const customersQuery = new Proxy(db.query.customers, {
    get(target, property, receiver) {
      if (property !== 'findFirst') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<typeof target.findFirst>) => {
        const row = await target.findFirst(...args);
        await allHaveRead();
        return row;
      };
    },
  });
  const query = new Proxy(db.query, { get: (target, property) => (property === 'customers' ? customersQuery : Reflect.get(target, property)) });
  return new Proxy(db, { get: (target, property, receiver) => (property === 'query' ? query : Reflect.get(target, property, receiver)) });
}

describe.each(databaseBackends())('customer service on $name', (backend) => {
  let database: Database;
  let cache: Cache;
  let service: CustomerService;
  let phone = 0;

  beforeAll(async () => {
    database = await backend.open();
    cache = createMemoryCache();
    service = createCustomerService({ db: database.db, cache, timeZone: 'America/New_York', now: () => NOW, upcomingAppointments: async () => [] });
  });
  afterAll(async () => {
    await Promise.all([database?.close(), cache?.close()]);
  });

  const nextNumber = () => `+1555${String(4_000_000 + phone++).padStart(7, '0')}`;

  async function customer(lastName = 'Reyes') {
    const [row] = await database.db.insert(customers).values({ phone: nextNumber(), firstName: 'Dana', lastName }).returning();
    return row!;
  }

  const vehiclesOf = (customerId: string) => database.db.select().from(vehicles).where(eq(vehicles.customerId, customerId));

  describe('createForCaller', () => {
    it('makes one account when the same number is created by simultaneous requests; the others get it as existing', async () => {
      // Every request has seen "no account yet" before any of them inserts: the race, every time.
      const racing = createCustomerService({
        db: afterCustomerReadsOf(database.db, RACERS),
        cache,
        timeZone: 'America/New_York',
        upcomingAppointments: async () => [],
      });
      const number = nextNumber();
      const callers = Array.from({ length: RACERS }, () => caller(number));
      const results = await Promise.all(callers.map((c) => racing.createForCaller(c, { firstName: 'Ana', lastName: 'Ruiz' })));

      const rows = await database.db.select().from(customers).where(eq(customers.phone, number));
      expect(rows).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'created')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'exists')).toHaveLength(RACERS - 1);
      const ids = results.map((r) => (r.kind === 'created' ? r.customer.id : r.kind === 'exists' ? r.record.customer.id : undefined));
      expect(new Set(ids)).toEqual(new Set([rows[0]!.id]));
      // Every racer is on the line with that number, so every one of them may now act for it.
      for (const c of callers) expect([...c.verifiedCustomerIds]).toEqual([rows[0]!.id]);
    });

    it('creates the account under a number the caller gives when the network gave none', async () => {
      const who = caller(undefined);
      const created = await service.createForCaller(who, { firstName: 'Ana', lastName: 'Ruiz', phone: '(555) 014-2201' });
      expect(created).toMatchObject({ kind: 'created', customer: { phone: '+15550142201' } });
      const rows = await database.db.select().from(customers).where(eq(customers.phone, '+15550142201'));
      expect(rows).toHaveLength(1);
      expect([...who.verifiedCustomerIds]).toEqual([rows[0]!.id]);
      // The same caller asking again (a retried request) gets that account back.
      expect(await service.createForCaller(who, { firstName: 'Ana', lastName: 'Ruiz', phone: '555-014-2201' })).toMatchObject({
        kind: 'exists',
      });
    });

    it("never hands over, or verifies, an account whose number a caller without one merely says", async () => {
      const owner = await service.createForCaller(caller('+15550142202'), { firstName: 'Bo', lastName: 'Kim' });
      expect(owner.kind).toBe('created');
      const stranger = caller(undefined);
      expect(await service.createForCaller(stranger, { firstName: 'Eve', lastName: 'Kim', phone: '+15550142202' })).toEqual({
        kind: 'number_taken',
      });
      expect(stranger.verifiedCustomerIds.size).toBe(0);
      const rows = await database.db.select().from(customers).where(eq(customers.phone, '+15550142202'));
      expect(rows.map((r) => r.firstName)).toEqual(['Bo']);
    });

    it('gives a said number to one of several number-less callers creating it at once', async () => {
      const number = '+15550142203';
      const racing = createCustomerService({ db: afterCustomerReadsOf(database.db, RACERS), timeZone: 'America/New_York', now: () => NOW, upcomingAppointments: async () => [] });
      const callers = Array.from({ length: RACERS }, () => caller(undefined));
      const results = await Promise.all(callers.map((c) => racing.createForCaller(c, { firstName: 'Al', lastName: 'Ng', phone: number })));
      expect(results.filter((r) => r.kind === 'created')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'number_taken')).toHaveLength(RACERS - 1);
      expect(callers.filter((c) => c.verifiedCustomerIds.size > 0)).toHaveLength(1);
    });

    it('uses the network-verified number even when the caller says another', async () => {
      const who = caller('+15550142204');
      const created = await service.createForCaller(who, { firstName: 'Cy', lastName: 'Oh', phone: '+15550142299' });
      expect(created).toMatchObject({ kind: 'created', customer: { phone: '+15550142204' } });
      expect(await database.db.select().from(customers).where(eq(customers.phone, '+15550142299'))).toHaveLength(0);
    });

    it('refuses a said number it cannot read, storing nothing', async () => {
      expect(await service.createForCaller(caller(undefined), { firstName: 'Di', lastName: 'Lu', phone: '12' })).toEqual({ kind: 'invalid_phone' });
    });

    it('creates nothing for a caller whose number is withheld or unreadable', async () => {
      for (const phoneNumber of [undefined, 'anonymous']) {
        const who = caller(phoneNumber);
        expect(await service.createForCaller(who, { firstName: 'Sam', lastName: 'Hill' })).toEqual({ kind: 'caller_number_unknown' });
        expect(who.verifiedCustomerIds.size).toBe(0);
      }
    });
  });

  describe('addVehicle', () => {
    it('gives a VIN to one account only when two customers add it at the same time', async () => {
      const [a, b] = [await customer(), await customer()];
      const vin = vinFrom('1FTFW1E5XJFC1001');
      const results = await Promise.all(
        [a, b].map((owner) => service.addVehicle({ customerId: owner.id, year: 2018, make: 'Ford', model: 'F-150', vin })),
      );

      expect(results.map((r) => r.kind).sort()).toEqual(['added', 'vin_registered_elsewhere']);
      const rows = await database.db.select().from(vehicles).where(eq(vehicles.vin, vin));
      expect(rows).toHaveLength(1);
      const winner = results[0]!.kind === 'added' ? a : b;
      expect(rows[0]!.customerId).toBe(winner.id);
    });

    it("answers a VIN added to the customer's own account at the same time as already on file", async () => {
      const owner = await customer();
      const vin = vinFrom('2T1BURHE0JC01002');
      const results = await Promise.all(
        Array.from({ length: RACERS }, () => service.addVehicle({ customerId: owner.id, year: 2018, make: 'Toyota', model: 'Corolla', vin })),
      );

      const rows = await vehiclesOf(owner.id);
      expect(rows).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'added')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'already_on_file')).toHaveLength(RACERS - 1);
      for (const r of results) expect(r).toMatchObject({ vehicle: { id: rows[0]!.id, vin } });
    });

    it('adds once for one request that arrives several times at once, and once more later', async () => {
      const owner = await customer();
      const add = () =>
        service.addVehicle({ customerId: owner.id, year: 2012, make: 'Subaru', model: 'Outback' }, { idempotencyKey: `CA-race:${owner.id}` });
      const results = await Promise.all(Array.from({ length: RACERS }, add));
      const later = await add();

      const rows = await vehiclesOf(owner.id);
      expect(rows).toHaveLength(1);
      for (const r of [...results, later]) expect(r).toEqual({ kind: 'added', vehicle: expect.objectContaining({ id: rows[0]!.id }) });
    });

    it('refuses, storing nothing, a VIN that does not add up, a model year after next, and a customer it cannot know', async () => {
      const owner = await customer();
      const base = { customerId: owner.id, make: 'Honda', model: 'Accord' };
      expect(await service.addVehicle({ ...base, year: 2003, vin: '1HGCM82643A004352' })).toMatchObject({
        kind: 'invalid_vin',
        reason: expect.stringMatching(/misheard/),
      });
      // Next year on the shop's calendar (2026 in New York) is the newest model year.
      expect(await service.addVehicle({ ...base, year: 2028 })).toEqual({ kind: 'invalid_year', latestYear: 2027 });
      expect(await service.addVehicle({ ...base, year: 2020, customerId: 'not-a-customer-id' })).toEqual({ kind: 'customer_not_found' });
      expect(await service.addVehicle({ ...base, year: 2020, customerId: randomUUID() })).toEqual({ kind: 'customer_not_found' });
      expect(await vehiclesOf(owner.id)).toEqual([]);
    });
  });

  describe('caller verification', () => {
    it("counts the record with the caller's own number, in whatever shape the network gave it, before any look-up", async () => {
      const own = await customer();
      const national = `(${own.phone.slice(2, 5)}) ${own.phone.slice(5, 8)}-${own.phone.slice(8)}`;
      const who = caller(national);
      expect(await service.canActFor(who, own.id)).toBe(true);
      expect(who.verifiedCustomerIds.has(own.id)).toBe(true);
    });

    it('verifies another number only with the last name on it, and never from an id alone', async () => {
      const other = await customer('Peña');
      const who = caller(nextNumber());
      expect(await service.canActFor(who, other.id)).toBe(false);
      expect(await service.lookup(who, { phone: other.phone })).toEqual({ kind: 'last_name_required' });
      expect(await service.lookup(who, { phone: other.phone, lastName: 'Smith' })).toEqual({ kind: 'not_found', own: false });
      expect(await service.canActFor(who, other.id)).toBe(false);

      expect(await service.lookup(who, { phone: other.phone, lastName: ' pena ' })).toMatchObject({
        kind: 'found',
        record: { customer: { id: other.id, lastName: 'Peña' }, vehicles: [], upcomingAppointments: [] },
      });
      expect(await service.canActFor(who, other.id)).toBe(true);
    });
  });

  describe('vehicleOwnedBy', () => {
    it("gives the vehicle with its owner's email only for its own customer", async () => {
      const [owner] = await database.db
        .insert(customers)
        .values({ phone: nextNumber(), firstName: 'Lee', lastName: 'Park', email: 'lee@example.com' })
        .returning();
      const stranger = await customer();
      const added = await service.addVehicle({ customerId: owner!.id, year: 2020, make: 'Kia', model: 'Soul' });
      if (added.kind !== 'added') throw new Error(`expected the vehicle to be added, got ${added.kind}`);

      expect(await service.vehicleOwnedBy(added.vehicle.id, owner!.id)).toEqual({ ...added.vehicle, ownerEmail: 'lee@example.com' });
      expect(await service.vehicleOwnedBy(added.vehicle.id, stranger.id)).toBeUndefined();
      expect(await service.vehicleOwnedBy('garbled', owner!.id)).toBeUndefined();
    });
  });
});
