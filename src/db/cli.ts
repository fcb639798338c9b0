/** Shared start-up for the db:* scripts: config from the environment, errors as one clear line. */
import { ConfigError, loadConfigFromProcess } from '../config.js';
import { openDatabase } from './client.js';
import type { Database } from './client.js';

export async function withConfiguredDatabase(run: (database: Database) => Promise<string>): Promise<void> {
  let database: Database | undefined;
  try {
    const config = loadConfigFromProcess();
    database = await openDatabase({ url: config.database.url, dataDir: config.database.dataDir });
    process.stdout.write(`${await run(database)}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : `error: ${(error as Error).message}`}\n`);
    process.exitCode = 1;
  } finally {
    await database?.close();
  }
}
