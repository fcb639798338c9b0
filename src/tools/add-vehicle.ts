import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { SQLSTATE, sqlState } from '../db/client.js';
import type { Db } from '../db/client.js';
import { storedResult, storeResult } from '../db/idempotency.js';
import { customers, vehicles } from '../db/schema.js';
import type { Vehicle } from '../db/schema.js';
import { invalidateCustomer } from '../crm/customer-cache.js';
import { toShopTime } from '../scheduling/time.js';
import { vehicleData, vehicleLabel } from './customer-view.js';
import { defineTool, fail, ok } from './tool.js';
import type { ToolResult } from './tool.js';
import { validateVin } from '../crm/vin.js';
import { refuseUnlessCallerOwns } from './caller-access.js';

const OPERATION = 'add_vehicle';

export const addVehicle = defineTool({
  name: 'add_vehicle',
  description:
    "Adds a vehicle to the caller's own account (the customer_id from lookup_customer or create_customer). " +
    'Ask for the year, make and model; the VIN and mileage only if the caller has them handy.',
  parameters: z.object({
    customer_id: z.string().min(1).describe('The customer id from lookup_customer or create_customer.'),
    // The database allows up to 2100; next year's models are the real limit, checked against the shop's clock.
    year: z.number().int().min(1900).max(2100).describe('Model year, e.g. 2019.'),
    make: z.string().trim().min(1).max(40).describe('Manufacturer, e.g. "Toyota".'),
    model: z.string().trim().min(1).max(60).describe('Model, e.g. "Camry" or "CR-V".'),
    vin: z
      .string()
      .max(40)
      .optional()
      .describe('The 17-character vehicle identification number, letters and digits only, if the caller read it out.'),
    mileage: z.number().int().min(0).max(2_000_000).optional().describe('Current odometer reading in miles, if known.'),
  }),
  filler: 'Let me add that vehicle.',
  timeoutMs: 5_000,
  mutates: true,
  async execute(args, context) {
    const refusal = await refuseUnlessCallerOwns(args.customer_id, context);
    if (refusal) return refusal;
    const latestYear = toShopTime(context.services.now(), context.services.rules.timeZone).year + 1;
    if (args.year > latestYear) {
      return fail('invalid_year', `The newest model year I can take is ${latestYear}. What year is the vehicle?`);
    }
    let vin: string | null = null;
    if (args.vin !== undefined && args.vin.trim() !== '') {
      const check = validateVin(args.vin);
      if (!check.ok) return fail('invalid_vin', check.reason);
      vin = check.vin;
    }

    const { db } = context.services;
    const idempotencyKey = `${context.callId}:${context.toolCallId}`;
    const prior = await storedResult<{ vehicleId: string }>(db, OPERATION, idempotencyKey);
    if (prior !== undefined) {
      const row = await db.query.vehicles.findFirst({ where: eq(vehicles.id, prior.vehicleId) });
      if (row !== undefined) return added(row);
    }

    const customer = await db.query.customers.findFirst({
      where: eq(customers.id, args.customer_id),
      columns: { id: true, phone: true },
    });
    if (customer === undefined) {
      return fail('customer_not_found', "I couldn't find that account anymore. Let me look it up again.");
    }
    if (vin !== null) {
      const known = await vinOwner(db, vin, customer.id);
      if (known !== undefined) return known;
    }

    let row: Vehicle | undefined;
    try {
      row = await db.transaction(async (tx) => {
        const [inserted] = await tx
          .insert(vehicles)
          .values({
            customerId: customer.id,
            year: args.year,
            make: tidy(args.make),
            model: tidy(args.model),
            vin,
            mileage: args.mileage ?? null,
          })
          .returning();
        if (inserted === undefined) throw new Error('insert into vehicles returned no row');
        await storeResult(tx, OPERATION, idempotencyKey, { vehicleId: inserted.id });
        return inserted;
      });
    } catch (error) {
      if (sqlState(error) !== SQLSTATE.uniqueViolation) throw error;
      // Lost a race: the same VIN was added meanwhile, or this very tool call ran twice at once.
      const replayed = await storedResult<{ vehicleId: string }>(db, OPERATION, idempotencyKey);
      const twin = replayed && (await db.query.vehicles.findFirst({ where: eq(vehicles.id, replayed.vehicleId) }));
      if (twin) return added(twin);
      const known = vin === null ? undefined : await vinOwner(db, vin, customer.id);
      if (known !== undefined) return known;
      throw error;
    }
    await invalidateCustomer(context.services.cache, customer);
    return added(row);
  },
});

/** The answer when the VIN is already on file: the caller's own car again, or somebody else's. */
async function vinOwner(db: Db, vin: string, customerId: string): Promise<ToolResult | undefined> {
  const row = await db.query.vehicles.findFirst({ where: eq(vehicles.vin, vin) });
  if (row === undefined) return undefined;
  if (row.customerId === customerId) {
    return ok(
      { vehicle: vehicleData(row), already_on_file: true },
      `The ${vehicleLabel(row)} with that VIN is already on your account.`,
    );
  }
  return fail(
    'vin_already_registered',
    "That VIN is already registered to another account, so I can't add it here. Someone from the shop can sort that out.",
  );
}

function added(row: Vehicle): ToolResult {
  return ok({ vehicle: vehicleData(row) }, `I've added the ${vehicleLabel(row)} to your account.`);
}

function tidy(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
