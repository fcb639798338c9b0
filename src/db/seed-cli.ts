import { withConfiguredDatabase } from './cli.js';
import { seedDemoData } from './seed.js';

await withConfiguredDatabase(async (database) => {
  await database.migrate();
  const { customersAdded, vehiclesAdded } = await seedDemoData(database.db);
  return `seeded ${customersAdded} customers and ${vehiclesAdded} vehicles (${database.kind})`;
});
