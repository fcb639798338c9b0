/**
 * Composition root: the only module that knows the concrete database, cache, calendar and server.
 * `startApp` is exported so tests can boot the real thing on an ephemeral port; running this file
 * directly starts it from the environment and wires graceful shutdown to SIGTERM/SIGINT.
 */
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { createCache } from './cache/create-cache.js';
import type { Cache } from './cache/cache.js';
import type { CalendarProvider } from './calendar/calendar.js';
import { createGoogleCalendar } from './calendar/google.js';
import { createLocalCalendar } from './calendar/local.js';
import { ConfigError, loadConfigFromProcess } from './config.js';
import type { Config } from './config.js';
import { openDatabase } from './db/client.js';
import type { Database } from './db/client.js';
import { createLogger } from './observability/logger.js';
import type { Logger } from './observability/logger.js';
import { createCalendarReconciler } from './scheduling/calendar-reconciler.js';
import { buildServer } from './server/app.js';

export interface RunningApp {
  app: FastifyInstance;
  database: Database;
  cache: Cache;
  calendar: CalendarProvider;
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Stops taking requests, lets in-flight ones finish (up to the drain time), then closes everything. */
  stop(): Promise<void>;
}

export async function startApp(config: Config, logger: Logger): Promise<RunningApp> {
  const database = await openDatabase({ url: config.database.url, dataDir: config.database.dataDir });
  const cleanups: Array<() => Promise<void>> = [() => database.close()];
  try {
    if (config.database.migrateOnStart) {
      await database.migrate();
      logger.info({ database: database.kind }, 'database migrations applied');
    }
    const cache = createCache({
      redisUrl: config.redisUrl,
      onError: (error) => logger.warn({ err: error }, 'cache unavailable, bypassing it'),
    });
    cleanups.unshift(() => cache.close());

    const calendar = createCalendar(config, database);
    const reconciler = createCalendarReconciler({
      db: database.db,
      calendar,
      timeZone: config.business.timeZone,
      shopName: config.shopName,
      intervalMs: config.calendarSyncIntervalMs,
      onError: (appointmentId, error) =>
        logger.warn({ appointmentId, err: error }, 'calendar sync failed; will retry'),
      onPassError: (error) => logger.error({ err: error }, 'calendar reconciler pass failed'),
    });
    // Runs at once: bookings left pending by a previous run (or another instance) are finished.
    reconciler.start();
    cleanups.unshift(() => reconciler.stop());

    let draining = false;
    const app = await buildServer({
      logger,
      isDraining: () => draining,
      readinessChecks: [
        { name: 'database', kind: database.kind, probe: () => database.ping() },
        { name: 'cache', kind: cache.kind, probe: () => cache.ping() },
      ],
    });
    cleanups.unshift(() => app.close());

    const url = await app.listen({ host: config.host, port: config.port });
    logger.info(
      { url, database: database.kind, cache: cache.kind, calendar: calendar.kind },
      `${config.shopName} voice agent listening`,
    );

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        draining = true;
        for (const cleanup of cleanups) {
          try {
            await cleanup();
          } catch (error) {
            logger.error({ err: error }, 'error during shutdown');
          }
        }
      })();
      return stopping;
    };
    return { app, database, cache, calendar, url, stop };
  } catch (error) {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
    throw error;
  }
}

function createCalendar(config: Config, database: Database): CalendarProvider {
  if (config.google === undefined) return createLocalCalendar(database.db);
  return createGoogleCalendar({
    clientId: config.google.clientId,
    clientSecret: config.google.clientSecret,
    refreshToken: config.google.refreshToken,
    calendarId: config.google.calendarId,
    ...(config.google.apiBaseUrl === undefined ? {} : { apiBaseUrl: config.google.apiBaseUrl }),
    ...(config.google.tokenUri === undefined ? {} : { tokenUri: config.google.tokenUri }),
    timeZone: config.business.timeZone,
  });
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfigFromProcess();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, secrets: config.secrets });
  let running: RunningApp;
  try {
    running = await startApp(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  }

  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'shutting down: no new calls, finishing live ones');
    const force = setTimeout(() => {
      logger.error('shutdown took too long, exiting');
      process.exit(1);
    }, config.shutdownDrainMs + 10_000);
    force.unref();
    running.stop().then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
