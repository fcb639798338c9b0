/**
 * Customers and vehicles: look-up (through the cache), caller verification (which customers the
 * caller may act for), creation and adding vehicles. The service owns their invariants, so no
 * caller has to: one account per phone number and one vehicle per VIN (the database's unique
 * constraints decide races between simultaneous requests), a retried request acts once, and every
 * change drops the customer's cached look-up.
 *
 * Expected outcomes (not found, already on file, a VIN that does not add up) are returned as
 * discriminated unions for the caller to word; only failures (the database away) throw.
 */
import { and, asc, eq } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Cache } from '../cache/cache.js';
import { isUuid } from '../core/ids.js';
import { SQLSTATE, sqlState, transaction } from '../db/client.js';
import type { Db } from '../db/client.js';
import { storedResult, storeResult } from '../db/idempotency.js';
import { customers, vehicles } from '../db/schema.js';
import type { Vehicle } from '../db/schema.js';
import { callerPhone, sameName } from './caller.js';
import type { CallerIdentity } from './caller.js';
import { CUSTOMER_CACHE_TTL_MS, customerPhoneKey, invalidateCustomer } from './customer-cache.js';
import { normalizePhone } from '../core/phone.js';
import { customerProfile, upcomingAppointment, vehicleProfile } from './records.js';
import type { CustomerProfile, CustomerRecord, OwnedVehicle, UpcomingAppointment, VehicleProfile } from './records.js';
import { validateVin } from './vin.js';

export interface CustomerServiceDeps {
  db: Db;
  cache?: Cache | undefined;
  /** The shop's zone: the newest model year accepted is next year on the shop's calendar. */
  timeZone: string;
  now?: () => Date;
  /** A customer's upcoming appointments, soonest first (the booking service's answer). */
  upcomingAppointments(customerId: string): Promise<readonly UpcomingAppointment[]>;
}

export interface LookupRequest {
  /** A number the caller said; absent or empty means the caller's own. */
  phone?: string | undefined;
  /** The last name on the account: the proof required for a number other than the caller's. */
  lastName?: string | undefined;
}

export type LookupResult =
  | { kind: 'found'; record: CustomerRecord }
  /** `own`: the caller's own number has no account (rather than another number, or the wrong name). */
  | { kind: 'not_found'; own: boolean }
  | { kind: 'last_name_required' }
  | { kind: 'invalid_phone' }
  /** The caller's number is withheld and none was given. */
  | { kind: 'phone_required' };

export interface NewCustomer {
  firstName: string;
  lastName: string;
  email?: string | undefined;
  /**
   * A number the caller gave for the account. Used only when the network gave none (a browser
   * call, a withheld number): the network-verified number always wins when there is one.
   */
  phone?: string | undefined;
}

export type CreateCustomerResult =
  | { kind: 'created'; customer: CustomerProfile }
  /** The caller's number already has an account (also the answer to a retried or racing create). */
  | { kind: 'exists'; record: CustomerRecord }
  /** No verified number and none given: the caller must be asked for one. */
  | { kind: 'caller_number_unknown' }
  | { kind: 'invalid_phone' }
  /**
   * The number the caller gave already belongs to an account. A said number is no proof of owning
   * it, so that account is neither returned nor verified (the caller may look it up with its last
   * name instead).
   */
  | { kind: 'number_taken' };

export interface NewVehicle {
  customerId: string;
  year: number;
  make: string;
  model: string;
  /** As heard; checked (length, letters, check digit) before anything is stored. */
  vin?: string | undefined;
  mileage?: number | undefined;
}

export type AddVehicleResult =
  | { kind: 'added'; vehicle: VehicleProfile }
  /** The VIN is already on this customer's account: nothing was added. */
  | { kind: 'already_on_file'; vehicle: VehicleProfile }
  | { kind: 'vin_registered_elsewhere' }
  | { kind: 'customer_not_found' }
  | { kind: 'invalid_year'; latestYear: number }
  /** `reason` is meant to be read back to the caller, so they can repeat the VIN. */
  | { kind: 'invalid_vin'; reason: string };

export interface RequestOptions {
  /** A repeated request with the same key returns the first result instead of acting again. */
  idempotencyKey?: string | undefined;
}

export type CustomerService = ReturnType<typeof createCustomerService>;

const ADD_VEHICLE = 'add_vehicle';

export function createCustomerService(deps: CustomerServiceDeps) {
  const { db, cache, timeZone } = deps;
  const now = deps.now ?? (() => new Date());

  /** The customer with this E.164 number, their vehicles and upcoming appointments, from the database. */
  async function loadRecord(phone: string): Promise<CustomerRecord | undefined> {
    const row = await db.query.customers.findFirst({ where: eq(customers.phone, phone) });
    if (row === undefined) return undefined;
    const [vehicleRows, upcoming] = await Promise.all([
      db.query.vehicles.findMany({ where: eq(vehicles.customerId, row.id), orderBy: [asc(vehicles.createdAt), asc(vehicles.id)] }),
      deps.upcomingAppointments(row.id),
    ]);
    return {
      customer: customerProfile(row),
      vehicles: vehicleRows.map(vehicleProfile),
      upcomingAppointments: upcoming.map(upcomingAppointment),
    };
  }

  /**
   * The same, read through the cache. Only found customers are cached: "no account" must not
   * outlive an account created moments later by another path (seeding, staff).
   */
  async function cachedRecord(phone: string): Promise<CustomerRecord | undefined> {
    const key = customerPhoneKey(phone);
    const cached = await cache?.get<CustomerRecord>(key);
    if (cached !== undefined) return cached;
    const record = await loadRecord(phone);
    // Filling the cache is not worth the caller's wait: a slow or partitioned Redis would add its
    // command timeout a second time. withFallback never rejects for an outage.
    if (record !== undefined) void cache?.set(key, record, CUSTOMER_CACHE_TTL_MS).catch(() => undefined);
    return record;
  }

  async function findVehicle(id: string): Promise<Vehicle | undefined> {
    return db.query.vehicles.findFirst({ where: eq(vehicles.id, id) });
  }

  async function replayAddVehicle(key: string | undefined): Promise<AddVehicleResult | undefined> {
    if (key === undefined) return undefined;
    const prior = await storedResult<{ vehicleId: string }>(db, ADD_VEHICLE, key);
    const row = prior === undefined ? undefined : await findVehicle(prior.vehicleId);
    return row === undefined ? undefined : { kind: 'added', vehicle: vehicleProfile(row) };
  }

  /** The answer when the VIN is already on file: the customer's own car again, or somebody else's. */
  async function vinOnFile(vin: string, customerId: string): Promise<AddVehicleResult | undefined> {
    const row = await db.query.vehicles.findFirst({ where: eq(vehicles.vin, vin) });
    if (row === undefined) return undefined;
    return row.customerId === customerId ? { kind: 'already_on_file', vehicle: vehicleProfile(row) } : { kind: 'vin_registered_elsewhere' };
  }

  /** The customers the caller may act for; the record with their own number counts as verified. */
  async function customerIdsOf(caller: CallerIdentity): Promise<Set<string>> {
    const phone = callerPhone(caller);
    if (phone !== undefined) {
      const own = await db.query.customers.findFirst({ where: eq(customers.phone, phone), columns: { id: true } });
      if (own !== undefined) caller.verifiedCustomerIds.add(own.id);
    }
    return new Set(caller.verifiedCustomerIds);
  }

  return {
    customerIdsOf,

    /** Whether the caller may act for `customerId`; never trusts an id just because it was supplied. */
    async canActFor(caller: CallerIdentity, customerId: string): Promise<boolean> {
      return (await customerIdsOf(caller)).has(customerId);
    },

    /**
     * The caller's own account, or the one under another number they name together with its last
     * name; a found account becomes verified for the caller. A wrong last name answers exactly like
     * a number with no account, so the look-up cannot be used to learn who is a customer.
     */
    async lookup(caller: CallerIdentity, request: LookupRequest): Promise<LookupResult> {
      const own = callerPhone(caller);
      let phone = own;
      if (request.phone !== undefined && request.phone !== '') {
        phone = normalizePhone(request.phone);
        if (phone === undefined) return { kind: 'invalid_phone' };
      }
      if (phone === undefined) return { kind: 'phone_required' };
      const isOwn = phone === own;
      if (!isOwn && (request.lastName === undefined || request.lastName === '')) return { kind: 'last_name_required' };
      const record = await cachedRecord(phone);
      if (record === undefined || (!isOwn && !sameName(record.customer.lastName, request.lastName ?? ''))) {
        return { kind: 'not_found', own: isOwn };
      }
      caller.verifiedCustomerIds.add(record.customer.id);
      return { kind: 'found', record };
    },

    /**
     * An account for the caller's own number, verified for the caller. One account per number: when
     * it exists already (or a simultaneous request, e.g. a retried call, creates it first), the
     * answer is that account.
     */
    async createForCaller(caller: CallerIdentity, input: NewCustomer): Promise<CreateCustomerResult> {
      const verified = callerPhone(caller);
      let phone = verified;
      if (phone === undefined) {
        if (input.phone === undefined || input.phone.trim() === '') return { kind: 'caller_number_unknown' };
        phone = normalizePhone(input.phone);
        if (phone === undefined) return { kind: 'invalid_phone' };
      }
      const existing = await db.query.customers.findFirst({ where: eq(customers.phone, phone), columns: { id: true } });
      // Someone else's number stays theirs, unless this caller already proved it (a retried request).
      if (verified === undefined && existing !== undefined && !caller.verifiedCustomerIds.has(existing.id)) {
        return { kind: 'number_taken' };
      }
      if (existing === undefined) {
        try {
          const [row] = await db
            .insert(customers)
            .values({ phone, firstName: tidy(input.firstName), lastName: tidy(input.lastName), email: input.email ?? null })
            .returning();
          if (row === undefined) throw new Error('insert into customers returned no row');
          caller.verifiedCustomerIds.add(row.id);
          await invalidateCustomer(cache, row);
          return { kind: 'created', customer: customerProfile(row) };
        } catch (error) {
          // Another instance created it between our read and our insert (a retried call): use theirs.
          if (sqlState(error) !== SQLSTATE.uniqueViolation) throw error;
        }
      }
      const record = await loadRecord(phone);
      if (record === undefined) throw new Error('the customer with the caller number vanished after a unique conflict');
      if (verified === undefined && !caller.verifiedCustomerIds.has(record.customer.id)) return { kind: 'number_taken' };
      caller.verifiedCustomerIds.add(record.customer.id);
      return { kind: 'exists', record };
    },

    /**
     * Adds a vehicle to a customer's account (whether the caller may is the caller's check, with
     * `canActFor`). A VIN is checked first and is unique: the same car again is "already on file",
     * another customer's is refused.
     */
    async addVehicle(input: NewVehicle, options: RequestOptions = {}): Promise<AddVehicleResult> {
      const latestYear = DateTime.fromJSDate(now(), { zone: timeZone }).year + 1;
      if (input.year > latestYear) return { kind: 'invalid_year', latestYear };
      let vin: string | null = null;
      if (input.vin !== undefined && input.vin.trim() !== '') {
        const check = validateVin(input.vin);
        if (!check.ok) return { kind: 'invalid_vin', reason: check.reason };
        vin = check.vin;
      }
      const key = options.idempotencyKey;
      const prior = await replayAddVehicle(key);
      if (prior !== undefined) return prior;

      const customer = isUuid(input.customerId)
        ? await db.query.customers.findFirst({ where: eq(customers.id, input.customerId), columns: { id: true, phone: true } })
        : undefined;
      if (customer === undefined) return { kind: 'customer_not_found' };
      if (vin !== null) {
        const known = await vinOnFile(vin, customer.id);
        if (known !== undefined) return known;
      }

      let row: Vehicle;
      try {
        row = await transaction(db, async (tx) => {
          const [inserted] = await tx
            .insert(vehicles)
            .values({
              customerId: customer.id,
              year: input.year,
              make: tidy(input.make),
              model: tidy(input.model),
              vin,
              mileage: input.mileage ?? null,
            })
            .returning();
          if (inserted === undefined) throw new Error('insert into vehicles returned no row');
          if (key !== undefined) await storeResult(tx, ADD_VEHICLE, key, { vehicleId: inserted.id });
          return inserted;
        });
      } catch (error) {
        if (sqlState(error) !== SQLSTATE.uniqueViolation) throw error;
        // Lost a race: the same VIN was added meanwhile, or this very request ran twice at once.
        const twin = await replayAddVehicle(key);
        if (twin !== undefined) return twin;
        const known = vin === null ? undefined : await vinOnFile(vin, customer.id);
        if (known !== undefined) return known;
        throw error;
      }
      await invalidateCustomer(cache, customer);
      return { kind: 'added', vehicle: vehicleProfile(row) };
    },

    /** The vehicle, when it belongs to that customer, with the owner's email; otherwise undefined. */
    async vehicleOwnedBy(vehicleId: string, customerId: string): Promise<OwnedVehicle | undefined> {
      if (!isUuid(vehicleId) || !isUuid(customerId)) return undefined;
      const [row] = await db
        .select({ vehicle: vehicles, ownerEmail: customers.email })
        .from(vehicles)
        .innerJoin(customers, eq(customers.id, vehicles.customerId))
        .where(and(eq(vehicles.id, vehicleId), eq(customers.id, customerId)));
      return row === undefined ? undefined : { ...vehicleProfile(row.vehicle), ownerEmail: row.ownerEmail };
    },
  };
}

/** Names, makes and models as heard: runs of spaces collapsed ("Model  3" is "Model 3"). */
function tidy(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
