/**
 * The primary of a multi-worker instance (WORKERS > 1): it serves no calls. It forks the workers
 * (they share the listening port through node:cluster), owns the instance's call slots so
 * MAX_CONCURRENT_CALLS holds across workers, gathers /metrics from every worker, gives one worker
 * the background loops (calendar reconciler, staff-edit sync), restarts a worker that dies, and on
 * SIGTERM/SIGINT drains them all and exits when the last has finished.
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { isAgentMessage } from './messages.js';
import type { PrimaryMessage, WorkerMessage, WorkerMetrics } from './messages.js';

/** A crashing worker is replaced after this pause, so a fault that kills every start does not spin a core. */
const RESTART_DELAY_MS = 1_000;
/** After the drain time, how long workers get to flush calendar writes and close before they are killed. */
const SHUTDOWN_GRACE_MS = 15_000;
/** A scrape fails rather than wait longer than this for a worker (Prometheus' default scrape timeout is 10 s). */
const GATHER_TIMEOUT_MS = 5_000;

export function runPrimary(config: Config, logger: Logger): void {
  const log = logger.child({ role: 'primary' });
  const exit = (code: number): never => process.exit(code);
  let nextGather = 1;
  /** Gatherings under way: each takes a worker's answer (or its exit, as no metrics). */
  const gatherings = new Map<number, (workerId: number, metrics: WorkerMetrics) => void>();
  const max = config.calls.maxConcurrent;
  /** Slots held per worker id, freed when the worker exits; their sum is the instance's calls. */
  const held = new Map<number, number>();
  const inUse = (): number => [...held.values()].reduce((n, k) => n + k, 0);
  let lastFree = true;
  const everReady = new Set<number>();
  let backgroundWorker: number | undefined;
  let stopping = false;
  let failed = false;

  const send = (worker: Worker, message: PrimaryMessage): void => {
    if (worker.isConnected()) worker.send(message);
  };
  const workers = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);

  const capacityChanged = (): void => {
    const free = inUse() < max;
    if (free === lastFree) return;
    lastFree = free;
    for (const worker of workers()) send(worker, { type: 'agent:capacity', free });
  };

  const assignBackground = (): void => {
    if (stopping || (backgroundWorker !== undefined && cluster.workers?.[backgroundWorker] !== undefined)) return;
    const candidate = workers().find((w) => everReady.has(w.id) && w.isConnected());
    if (candidate === undefined) return;
    backgroundWorker = candidate.id;
    log.info({ worker: String(candidate.id) }, 'calendar reconciler and staff-edit sync run in this worker');
    send(candidate, { type: 'agent:background' });
  };

  /**
   * Every listening worker's metrics, aggregated by prom-client (sums, unless a metric says
   * otherwise). Workers still starting are not asked: they have served nothing, and a slow start
   * must not fail the scrape.
   */
  const gather = (): Promise<string> => {
    const asked = workers().filter((w) => everReady.has(w.id) && w.isConnected());
    const id = nextGather++;
    return new Promise<string>((resolve, reject) => {
      const parts: WorkerMetrics[] = [];
      const waiting = new Set(asked.map((w) => w.id));
      const timer = setTimeout(() => {
        gatherings.delete(id);
        reject(new Error(`workers ${[...waiting].join(', ')} did not answer within ${GATHER_TIMEOUT_MS} ms`));
      }, GATHER_TIMEOUT_MS);
      const finish = (): void => {
        clearTimeout(timer);
        gatherings.delete(id);
        AggregatorRegistry.aggregate(parts).metrics().then(resolve, reject);
      };
      gatherings.set(id, (workerId, metrics) => {
        if (!waiting.delete(workerId)) return;
        parts.push(metrics);
        if (waiting.size === 0) finish();
      });
      if (asked.length === 0) finish();
      for (const worker of asked) send(worker, { type: 'agent:collect', id });
    });
  };

  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isAgentMessage(message)) return;
    const m = message as WorkerMessage;
    switch (m.type) {
      case 'agent:ready':
        everReady.add(worker.id);
        log.info({ worker: String(worker.id), pid: worker.process.pid }, 'worker listening');
        send(worker, { type: 'agent:capacity', free: inUse() < max });
        assignBackground();
        return;
      case 'agent:slot-acquire': {
        const granted = inUse() < max;
        if (granted) {
          held.set(worker.id, (held.get(worker.id) ?? 0) + 1);
          capacityChanged();
        }
        send(worker, { type: 'agent:slot', id: m.id, granted });
        return;
      }
      case 'agent:slot-release': {
        const mine = held.get(worker.id) ?? 0;
        if (mine > 0) {
          held.set(worker.id, mine - 1);
          capacityChanged();
        }
        return;
      }
      case 'agent:collected':
        gatherings.get(m.id)?.(worker.id, m.metrics);
        return;
      case 'agent:metrics':
        gather().then(
          (text) => send(worker, { type: 'agent:metrics', id: m.id, text }),
          (error: unknown) => send(worker, { type: 'agent:metrics', id: m.id, error: error instanceof Error ? error.message : String(error) }),
        );
        return;
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    // A gathering waiting for this worker goes on without it (its counts are gone with it).
    for (const answer of [...gatherings.values()]) answer(worker.id, []);
    held.delete(worker.id);
    capacityChanged();
    if (backgroundWorker === worker.id) backgroundWorker = undefined;
    if (stopping) {
      // A worker that did not finish cleanly makes the instance's exit a failure; deaths before were replaced.
      if (code !== 0) failed = true;
      log.info({ worker: String(worker.id), code, signal }, 'worker finished');
      if (workers().length === 0) {
        log.info('shutdown complete');
        exit(failed ? 1 : 0);
      }
      return;
    }
    if (everReady.size === 0) {
      // Not one worker came up: the same fault (database unreachable, port taken) would stop every retry.
      log.fatal({ worker: String(worker.id), code, signal }, 'a worker failed to start; stopping the others');
      shutdown('start-up failure', 1);
      return;
    }
    log.error({ worker: String(worker.id), code, signal }, 'worker exited unexpectedly; starting a new one');
    setTimeout(() => {
      if (!stopping) cluster.fork();
    }, RESTART_DELAY_MS).unref();
    assignBackground();
  });

  const shutdown = (reason: string, code = 0): void => {
    if (stopping) return;
    stopping = true;
    if (code !== 0) failed = true;
    log.info({ reason, workers: workers().length, activeCalls: inUse() }, 'shutting down: every worker stops taking calls and finishes its live ones');
    for (const worker of workers()) send(worker, { type: 'agent:shutdown' });
    if (workers().length === 0) {
      exit(failed ? 1 : 0);
      return;
    }
    setTimeout(() => {
      log.error({ workers: workers().map((w) => String(w.id)) }, 'shutdown took too long: killing the remaining workers');
      for (const worker of workers()) worker.process.kill('SIGKILL');
      exit(1);
    }, config.shutdownDrainMs + SHUTDOWN_GRACE_MS).unref();
  };

  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  log.info({ workers: config.workers, maxConcurrentCalls: max }, 'starting worker processes');
  for (let i = 0; i < config.workers; i += 1) cluster.fork();
}
