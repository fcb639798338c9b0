import type { Logger } from './logger.js';

/**
 * What the process does with an error nobody caught, logged through `logger` (its serializer and
 * secret scrubbing) instead of Node's bare stack on stderr.
 * - An uncaught exception leaves the process in a state nothing vouches for (a handler run halfway,
 *   a lock or a socket left mid-way): logged at fatal, then exit 1, so the supervisor starts a clean
 *   one (the primary forks a new worker; a container runtime restarts the instance).
 * - A rejection nobody handled is work that has already ended, only its failure went unheard: logged
 *   at error, and the process keeps serving. Node's default (throw it, and exit) would drop every live
 *   call of the process over one forgotten `.catch`.
 */
export function installProcessGuards(logger: Logger): void {
  process.on('uncaughtException', (error: unknown) => {
    logger.fatal({ err: error }, 'uncaught exception, exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason: unknown) => {
    logger.error({ err: reason }, 'unhandled promise rejection, carrying on');
  });
}
