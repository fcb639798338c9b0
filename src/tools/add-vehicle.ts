import { z } from 'zod';
import { vehicleData, vehicleLabel } from './customer-view.js';
import { defineTool, fail, idempotencyKey, ok } from './tool.js';
import { refuseUnlessCallerOwns } from './caller-access.js';

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
    const result = await context.services.customers.addVehicle(
      { customerId: args.customer_id, year: args.year, make: args.make, model: args.model, vin: args.vin, mileage: args.mileage },
      { idempotencyKey: idempotencyKey(context) },
    );
    switch (result.kind) {
      case 'added':
        return ok({ vehicle: vehicleData(result.vehicle) }, `I've added the ${vehicleLabel(result.vehicle)} to your account.`);
      case 'already_on_file':
        return ok(
          { vehicle: vehicleData(result.vehicle), already_on_file: true },
          `The ${vehicleLabel(result.vehicle)} with that VIN is already on your account.`,
        );
      case 'vin_registered_elsewhere':
        return fail(
          'vin_already_registered',
          "That VIN is already registered to another account, so I can't add it here. Someone from the shop can sort that out.",
        );
      case 'customer_not_found':
        return fail('customer_not_found', "I couldn't find that account anymore. Let me look it up again.");
      case 'invalid_year':
        return fail('invalid_year', `The newest model year I can take is ${result.latestYear}. What year is the vehicle?`);
      case 'invalid_vin':
        return fail('invalid_vin', result.reason);
    }
  },
});
