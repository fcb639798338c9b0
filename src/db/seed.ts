/**
 * Demo data for local development: a few customers with vehicles, so a newcomer's first call can
 * be recognised. Idempotent: running it twice adds nothing.
 */
import type { Db } from './client.js';
import { customers, vehicles } from './schema.js';

const DEMO = [
  {
    customer: { phone: '+15551230001', firstName: 'Maria', lastName: 'Garcia', email: 'maria.garcia@example.com' },
    vehicles: [
      { year: 2019, make: 'Toyota', model: 'Camry', vin: null, mileage: 48_200 },
      { year: 2022, make: 'Honda', model: 'CR-V', vin: null, mileage: 15_900 },
    ],
  },
  {
    customer: { phone: '+15551230002', firstName: 'James', lastName: 'Wilson', email: null },
    vehicles: [{ year: 2016, make: 'Ford', model: 'F-150', vin: null, mileage: 102_350 }],
  },
  {
    customer: { phone: '+15551230003', firstName: 'Priya', lastName: 'Patel', email: 'priya.patel@example.com' },
    vehicles: [{ year: 2021, make: 'Tesla', model: 'Model 3', vin: null, mileage: 31_000 }],
  },
];

export async function seedDemoData(db: Db): Promise<{ customersAdded: number; vehiclesAdded: number }> {
  let customersAdded = 0;
  let vehiclesAdded = 0;
  for (const entry of DEMO) {
    const inserted = await db.insert(customers).values(entry.customer).onConflictDoNothing().returning();
    if (inserted.length === 0) continue;
    customersAdded += 1;
    const customer = inserted[0]!;
    await db.insert(vehicles).values(entry.vehicles.map((v) => ({ ...v, customerId: customer.id })));
    vehiclesAdded += entry.vehicles.length;
  }
  return { customersAdded, vehiclesAdded };
}
