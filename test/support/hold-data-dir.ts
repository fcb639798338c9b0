/**
 * Child process for data-dir-lock tests: opens a PGlite data directory as every opener does
 * (src/db/client.ts), writes a customer, says `holding <pid>` on stdout and keeps the directory
 * open until it is killed. On failure it prints the error on stderr and exits 1.
 * Usage: node --import tsx test/support/hold-data-dir.ts <data-dir> <phone>
 */
import { openDatabase } from '../../src/db/client.js';
import { customers } from '../../src/db/schema.js';

const [dataDir, phone] = process.argv.slice(2);
if (dataDir === undefined || phone === undefined) throw new Error('usage: hold-data-dir.ts <data-dir> <phone>');
try {
  const database = await openDatabase({ dataDir });
  await database.migrate();
  await database.db.insert(customers).values({ phone, firstName: 'Held', lastName: 'Open' });
  process.stdout.write(`holding ${process.pid}\n`);
  setInterval(() => undefined, 60_000);
} catch (error) {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exit(1);
}
