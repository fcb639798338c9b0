import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { openToolFixture } from '../../test/support/tool-fixture.js';
import type { ToolFixture } from '../../test/support/tool-fixture.js';
import { customers, vehicles } from '../db/schema.js';
import { customerPhoneKey } from '../crm/customer-cache.js';
import { addVehicle } from './add-vehicle.js';
import { createCustomer } from './create-customer.js';
import { lookupCustomer } from './lookup-customer.js';
import type { ToolContext, ToolDefinition, ToolResult } from './tool.js';
import { checkDigit } from '../crm/vin.js';

let fixture: ToolFixture;

beforeAll(async () => {
  fixture = await openToolFixture();
});

afterAll(async () => {
  await fixture?.close();
});

function run<S extends z.ZodObject>(tool: ToolDefinition<S>, args: z.input<S>, context: ToolContext): Promise<ToolResult> {
  return tool.execute(tool.parameters.parse(args), context);
}

// Tool results are JSON for the LLM; the tests read them the same loose way.
function dataOf(result: ToolResult): any {
  expect(result.success, result.message).toBe(true);
  return result.success ? result.data : undefined;
}

/** A syntactically valid VIN from 16 free characters (the check digit is filled in). */
function vinFrom(stem: string): string {
  const draft = `${stem.slice(0, 8)}0${stem.slice(8)}`;
  return `${draft.slice(0, 8)}${checkDigit(draft)}${draft.slice(9)}`;
}

describe('lookup_customer', () => {
  const MARIA = '+15550001001';
  let mariaId: string;
  let camryId: string;

  beforeAll(async () => {
    const added = await fixture.addCustomer({
      phone: MARIA,
      firstName: 'Maria',
      lastName: 'Lopez',
      email: 'maria@example.com',
      vehicles: [
        { year: 2019, make: 'Toyota', model: 'Camry', vin: '1HGCM82633A004352' },
        { year: 2022, make: 'Honda', model: 'CR-V' },
      ],
    });
    mariaId = added.customerId;
    camryId = added.vehicleIds[0]!;
    await fixture.services.booking.book({
      customerId: mariaId,
      vehicleId: camryId,
      scheduledAt: '2026-12-03T14:00',
      serviceType: 'oil change',
    });
  });

  it("finds the caller's own account with vehicles and upcoming appointments, and verifies it", async () => {
    const context = fixture.context({ phoneNumber: MARIA });
    const result = await run(lookupCustomer, {}, context);
    // Two cars: the message itself asks which one, so no booking is made for a guessed car.
    expect(result.message).toBe(
      'I found your account, Maria. You have a 2019 Toyota Camry and a 2022 Honda CR-V on file, ' +
        'and an oil change booked for Thursday, December 3 at 2:00 PM. Which vehicle is this about?',
    );
    const data = dataOf(result);
    expect(data.found).toBe(true);
    expect(data.ask_which_vehicle).toBe(true);
    expect(data.customer).toEqual({
      id: mariaId,
      first_name: 'Maria',
      last_name: 'Lopez',
      email: 'maria@example.com',
      phone: MARIA,
    });
    expect(data.vehicles).toEqual([
      { id: camryId, year: 2019, make: 'Toyota', model: 'Camry', vin: '1HGCM82633A004352', mileage: null },
      expect.objectContaining({ year: 2022, make: 'Honda', model: 'CR-V', vin: null }),
    ]);
    expect(data.upcoming_appointments).toEqual([
      {
        id: expect.any(String),
        service_type: 'Oil change',
        when: 'Thursday, December 3 at 2:00 PM',
        starts_at: '2026-12-03T14:00:00-05:00',
        vehicle_id: camryId,
      },
    ]);
    expect(context.caller.verifiedCustomerIds.has(mariaId)).toBe(true);
  });

  it('asks which vehicle only when there is more than one', async () => {
    const phone = '+15550001077';
    await fixture.addCustomer({ phone, firstName: 'Lee', vehicles: [{ year: 2015, make: 'Ford', model: 'Focus' }] });
    const result = await run(lookupCustomer, {}, fixture.context({ phoneNumber: phone }));
    expect(result.message).toBe('I found your account, Lee. You have a 2015 Ford Focus on file and no upcoming appointments.');
    expect(dataOf(result)).not.toHaveProperty('ask_which_vehicle');
  });

  it('treats the caller number given explicitly, in any format, as their own', async () => {
    const context = fixture.context({ phoneNumber: MARIA });
    const result = await run(lookupCustomer, { phone_number: '(555) 000-1001' }, context);
    expect(dataOf(result).found).toBe(true);
    expect(context.caller.verifiedCustomerIds.has(mariaId)).toBe(true);
  });

  it('says there is no account yet for an unknown caller number', async () => {
    const context = fixture.context({ phoneNumber: '+15550001002' });
    const result = await run(lookupCustomer, {}, context);
    expect(dataOf(result)).toEqual({ found: false });
    expect(result.message).toMatch(/don't see an account for this phone number/);
    expect(context.caller.verifiedCustomerIds.size).toBe(0);
  });

  it('finds another number only with the matching last name, and then verifies it', async () => {
    const context = fixture.context({ phoneNumber: '+15550001003' });
    const result = await run(lookupCustomer, { phone_number: '555-000-1001', last_name: '  lOPEZ ' }, context);
    const data = dataOf(result);
    expect(data.found).toBe(true);
    expect(data.customer.id).toBe(mariaId);
    expect(context.caller.verifiedCustomerIds.has(mariaId)).toBe(true);
  });

  it('answers a wrong last name exactly like a number with no account, and verifies nothing', async () => {
    const context = fixture.context({ phoneNumber: '+15550001003' });
    const wrongName = await run(lookupCustomer, { phone_number: '5550001001', last_name: 'Smith' }, context);
    const noAccount = await run(lookupCustomer, { phone_number: '5550001099', last_name: 'Lopez' }, context);
    expect(wrongName).toEqual(noAccount);
    expect(wrongName).toEqual({
      success: true,
      data: { found: false },
      message: "I couldn't find an account for that number under that last name.",
    });
    expect(context.caller.verifiedCustomerIds.size).toBe(0);
  });

  it('asks for the last name before looking up another number, whether or not it has an account', async () => {
    const context = fixture.context({ phoneNumber: '+15550001003' });
    const known = await run(lookupCustomer, { phone_number: '5550001001' }, context);
    const unknown = await run(lookupCustomer, { phone_number: '5550001099', last_name: '  ' }, context);
    expect(known).toEqual(unknown);
    expect(dataOf(known)).toEqual({ found: false, last_name_required: true });
    expect(context.caller.verifiedCustomerIds.size).toBe(0);
  });

  it('needs a number when the caller id is withheld', async () => {
    const result = await run(lookupCustomer, {}, fixture.context({ phoneNumber: undefined }));
    expect(result).toMatchObject({ success: false, error: 'phone_number_required' });
  });

  it('refuses a number it cannot read', async () => {
    const result = await run(lookupCustomer, { phone_number: '555-1234', last_name: 'Lopez' }, fixture.context());
    expect(result).toMatchObject({ success: false, error: 'invalid_phone_number' });
  });

  it('serves a repeat look-up from the cache, still applying the ownership rules', async () => {
    await run(lookupCustomer, {}, fixture.context({ phoneNumber: MARIA }));
    expect(await fixture.cache.get(customerPhoneKey(MARIA))).toMatchObject({ customer: { id: mariaId } });
    // Changed behind the cache's back: a cached answer still shows the old name.
    await fixture.database.db.update(customers).set({ firstName: 'Mariana' }).where(eq(customers.id, mariaId));
    const cached = await run(lookupCustomer, {}, fixture.context({ phoneNumber: MARIA }));
    expect(dataOf(cached).customer.first_name).toBe('Maria');

    const stranger = fixture.context({ phoneNumber: '+15550001004' });
    const refused = await run(lookupCustomer, { phone_number: MARIA, last_name: 'Smith' }, stranger);
    expect(dataOf(refused)).toEqual({ found: false });
    expect(stranger.caller.verifiedCustomerIds.size).toBe(0);
    const allowed = await run(lookupCustomer, { phone_number: MARIA, last_name: 'Lopez' }, stranger);
    expect(dataOf(allowed).customer.first_name).toBe('Maria');
    expect(stranger.caller.verifiedCustomerIds.has(mariaId)).toBe(true);

    // Adding a vehicle drops the cached view, so the next look-up sees both changes.
    const added = await run(
      addVehicle,
      { customer_id: mariaId, year: 2015, make: 'Ford', model: 'F-150' },
      fixture.context({ phoneNumber: MARIA, verified: [mariaId] }),
    );
    expect(added.success).toBe(true);
    expect(await fixture.cache.get(customerPhoneKey(MARIA))).toBeUndefined();
    const fresh = dataOf(await run(lookupCustomer, {}, fixture.context({ phoneNumber: MARIA })));
    expect(fresh.customer.first_name).toBe('Mariana');
    expect(fresh.vehicles.map((v: { model: string }) => v.model)).toEqual(['Camry', 'CR-V', 'F-150']);
  });
});

describe('create_customer', () => {
  it('creates an account for the caller number, verifies it and drops any cached view', async () => {
    const phone = '+15550002001';
    await fixture.cache.set(customerPhoneKey(phone), { stale: true }, 60_000);
    const context = fixture.context({ phoneNumber: phone });
    const result = await run(
      createCustomer,
      { first_name: '  Ana  Maria ', last_name: "O'Neil-Smith", email: 'ana@example.com' },
      context,
    );
    expect(result.message).toBe("You're all set up, Ana Maria. Your account is under the number you're calling from.");
    const data = dataOf(result);
    expect(data).toMatchObject({
      created: true,
      customer: { first_name: 'Ana Maria', last_name: "O'Neil-Smith", email: 'ana@example.com', phone },
      vehicles: [],
      upcoming_appointments: [],
    });
    expect(context.caller.verifiedCustomerIds.has(data.customer.id)).toBe(true);
    expect(await fixture.cache.get(customerPhoneKey(phone))).toBeUndefined();

    const lookedUp = dataOf(await run(lookupCustomer, {}, fixture.context({ phoneNumber: phone })));
    expect(lookedUp.customer.id).toBe(data.customer.id);
  });

  it('returns the existing account instead of making a second one', async () => {
    const phone = '+15550002002';
    const { customerId } = await fixture.addCustomer({
      phone,
      firstName: 'Lee',
      lastName: 'Park',
      vehicles: [{ year: 2020, make: 'Kia', model: 'Soul' }],
    });
    const context = fixture.context({ phoneNumber: phone });
    const result = await run(createCustomer, { first_name: 'Lee', last_name: 'Park' }, context);
    expect(result.message).toBe(
      'You already have an account with us under this number, Lee. You have a 2020 Kia Soul on file and no upcoming appointments.',
    );
    expect(dataOf(result)).toMatchObject({ created: false, customer: { id: customerId }, vehicles: [{ model: 'Soul' }] });
    expect(context.caller.verifiedCustomerIds.has(customerId)).toBe(true);
    const rows = await fixture.database.db.select().from(customers).where(eq(customers.phone, phone));
    expect(rows).toHaveLength(1);
  });

  it('without a caller number, asks for one, then creates the account under the number given', async () => {
    const context = fixture.context({ phoneNumber: undefined });
    const asked = await run(createCustomer, { first_name: 'Sam', last_name: 'Hill' }, context);
    expect(asked).toMatchObject({ success: false, error: 'caller_number_unknown', message: expect.stringMatching(/What phone number/) });
    expect(context.caller.verifiedCustomerIds.size).toBe(0);

    const phone = '+15550002101';
    const created = await run(createCustomer, { first_name: 'Sam', last_name: 'Hill', phone_number: phone }, context);
    expect(created).toMatchObject({ success: true, message: "You're all set up, Sam. Your account is under the number you gave me." });
    const rows = await fixture.database.db.select().from(customers).where(eq(customers.phone, phone));
    expect(rows).toHaveLength(1);
    expect(context.caller.verifiedCustomerIds.has(rows[0]!.id)).toBe(true);
  });

  it("without a caller number, will not take over a customer's number, and does not say whose it is", async () => {
    const phone = '+15550002102';
    await fixture.addCustomer({ phone, firstName: 'Lee', lastName: 'Park', vehicles: [] });
    const context = fixture.context({ phoneNumber: undefined });
    const result = await run(createCustomer, { first_name: 'Eve', last_name: 'Park', phone_number: phone }, context);
    expect(result).toMatchObject({ success: false, error: 'number_taken' });
    expect(result.message).not.toContain('Lee');
    expect(context.caller.verifiedCustomerIds.size).toBe(0);
  });

  it('rejects names and emails that cannot be right', () => {
    const parse = (args: Record<string, unknown>) => createCustomer.parameters.safeParse(args).success;
    expect(parse({ first_name: 'José', last_name: 'Peña Jr.' })).toBe(true);
    expect(parse({ first_name: 'R2D2', last_name: 'Droid' })).toBe(false);
    expect(parse({ first_name: '   ', last_name: 'Hill' })).toBe(false);
    expect(parse({ first_name: "'-.", last_name: 'Hill' })).toBe(false);
    expect(parse({ first_name: 'A'.repeat(61), last_name: 'Hill' })).toBe(false);
    expect(parse({ first_name: 'Sam', last_name: 'Hill', email: 'sam at example dot com' })).toBe(false);
  });
});

describe('add_vehicle', () => {
  const OWNER = '+15550003001';
  let ownerId: string;
  let otherId: string;
  const otherVin = 'JH4KA7561PC008269';

  beforeAll(async () => {
    ownerId = (await fixture.addCustomer({ phone: OWNER, firstName: 'Kim', lastName: 'Ortiz' })).customerId;
    otherId = (
      await fixture.addCustomer({
        phone: '+15550003002',
        lastName: 'Other',
        vehicles: [{ year: 1991, make: 'Acura', model: 'Legend', vin: otherVin }],
      })
    ).customerId;
  });

  const ownerContext = (toolCallId?: string) =>
    fixture.context({ phoneNumber: OWNER, verified: [ownerId], ...(toolCallId ? { toolCallId } : {}) });

  async function vehiclesOf(customerId: string) {
    return fixture.database.db.select().from(vehicles).where(eq(vehicles.customerId, customerId));
  }

  it("adds a vehicle to the caller's verified account", async () => {
    const vin = vinFrom('5YJ3E1EAKF317001');
    const result = await run(
      addVehicle,
      { customer_id: ownerId, year: 2021, make: ' Tesla ', model: 'Model  3', vin: vin.toLowerCase(), mileage: 12_000 },
      ownerContext(),
    );
    expect(result.message).toBe("I've added the 2021 Tesla Model 3 to your account.");
    expect(dataOf(result).vehicle).toEqual({
      id: expect.any(String),
      year: 2021,
      make: 'Tesla',
      model: 'Model 3',
      vin,
      mileage: 12_000,
    });

    // The same car again (a new tool call): nothing new, the one on file comes back.
    const again = await run(addVehicle, { customer_id: ownerId, year: 2021, make: 'Tesla', model: 'Model 3', vin }, ownerContext());
    expect(dataOf(again)).toMatchObject({ already_on_file: true, vehicle: { vin } });
    expect((await vehiclesOf(ownerId)).filter((v) => v.vin === vin)).toHaveLength(1);
  });

  it('does not add twice when the same tool call is retried', async () => {
    const args = { customer_id: ownerId, year: 2012, make: 'Subaru', model: 'Outback' };
    const first = await run(addVehicle, args, ownerContext('call_retry_1'));
    const second = await run(addVehicle, args, ownerContext('call_retry_1'));
    expect(dataOf(second).vehicle.id).toBe(dataOf(first).vehicle.id);
    expect((await vehiclesOf(ownerId)).filter((v) => v.model === 'Outback')).toHaveLength(1);
  });

  it('refuses a VIN whose check digit is wrong, saying why', async () => {
    const result = await run(
      addVehicle,
      { customer_id: ownerId, year: 2003, make: 'Honda', model: 'Accord', vin: '1HGCM82643A004352' },
      ownerContext(),
    );
    expect(result).toMatchObject({ success: false, error: 'invalid_vin', message: expect.stringMatching(/misheard/) });
  });

  it('refuses a VIN that is on another customer account', async () => {
    const result = await run(
      addVehicle,
      { customer_id: ownerId, year: 1991, make: 'Acura', model: 'Legend', vin: otherVin },
      ownerContext(),
    );
    expect(result).toMatchObject({ success: false, error: 'vin_already_registered' });
    expect((await vehiclesOf(otherId)).map((v) => v.customerId)).toEqual([otherId]);
  });

  it("refuses another customer's account; the caller's own number counts as verified even before a look-up", async () => {
    const stranger = await run(
      addVehicle,
      { customer_id: otherId, year: 2020, make: 'Kia', model: 'Rio' },
      fixture.context({ phoneNumber: OWNER, verified: [ownerId] }),
    );
    expect(stranger).toMatchObject({ success: false, error: 'not_your_account' });
    expect((await vehiclesOf(otherId)).some((v) => v.model === 'Rio')).toBe(false);

    const noNumber = await run(
      addVehicle,
      { customer_id: ownerId, year: 2020, make: 'Kia', model: 'Soul' },
      fixture.context({ phoneNumber: undefined }),
    );
    expect(noNumber).toMatchObject({ success: false, error: 'not_your_account' });

    const ownBeforeLookup = await run(
      addVehicle,
      { customer_id: ownerId, year: 2020, make: 'Kia', model: 'Rio' },
      fixture.context({ phoneNumber: OWNER }),
    );
    expect(ownBeforeLookup).toMatchObject({ success: true });
    expect((await vehiclesOf(ownerId)).some((v) => v.model === 'Rio')).toBe(true);
  });

  it('takes model years from 1900 to next year only', async () => {
    const parse = (year: number) =>
      addVehicle.parameters.safeParse({ customer_id: ownerId, year, make: 'Ford', model: 'T' }).success;
    expect(parse(1899)).toBe(false);
    expect(parse(2101)).toBe(false);
    expect(parse(2019.5)).toBe(false);
    expect(addVehicle.parameters.safeParse({ customer_id: ownerId, year: 2020, make: 'Ford', model: 'T', mileage: -1 }).success).toBe(false);

    // The schema cannot know today's date; next year's models are the limit, on the shop's clock (2026).
    const tooNew = await run(addVehicle, { customer_id: ownerId, year: 2028, make: 'Ford', model: 'Mustang' }, ownerContext());
    expect(tooNew).toMatchObject({ success: false, error: 'invalid_year' });
    const nextYear = await run(addVehicle, { customer_id: ownerId, year: 2027, make: 'Ford', model: 'Mustang' }, ownerContext());
    expect(dataOf(nextYear).vehicle.year).toBe(2027);
    const oldest = await run(addVehicle, { customer_id: ownerId, year: 1900, make: 'Ford', model: 'Quadricycle' }, ownerContext());
    expect(dataOf(oldest).vehicle.year).toBe(1900);
  });
});
