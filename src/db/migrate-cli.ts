import { withConfiguredDatabase } from './cli.js';

await withConfiguredDatabase(async (database) => {
  await database.migrate();
  return `migrations applied (${database.kind})`;
});
