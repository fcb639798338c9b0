/**
 * A cluster worker's side of the instance: call slots and /metrics are asked of the primary, and
 * the primary says when to run the background loops and when to drain. The worker serves calls
 * exactly as a single process does (main.ts startApp); only these seams differ.
 */
import cluster from 'node:cluster';
import type { Registry } from 'prom-client';
import type { CallSlots } from '../pipeline/call-manager.js';
import { isAgentMessage } from './messages.js';
import type { PrimaryMessage, WorkerMessage } from './messages.js';

/** Longer than the primary's own gathering timeout, so its error (naming who did not answer) is the one reported. */
const METRICS_TIMEOUT_MS = 7_000;

export interface WorkerLink {
  /** This worker's name in logs and in the `worker` label of process metrics. */
  readonly name: string;
  readonly slots: CallSlots;
  /** The whole instance's metrics, gathered by the primary from every worker. */
  renderMetrics(): Promise<string>;
  /** The registry the primary gathers from this worker. */
  shareMetrics(registry: Registry): void;
  /** `run` is called if (and when) the primary gives this worker the background duty. */
  onBackgroundDuty(run: () => void): void;
  onShutdownRequested(run: () => void): void;
  /** Tells the primary this worker is listening. */
  ready(): void;
}

export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

export function connectToPrimary(): WorkerLink {
  const worker = cluster.worker;
  if (worker === undefined) throw new Error('connectToPrimary: this process is not a cluster worker');
  const send = (message: WorkerMessage): void => {
    if (process.connected) process.send?.(message);
  };
  let nextId = 1;
  const pendingSlots = new Map<number, (granted: boolean) => void>();
  const pendingMetrics = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  let free = true;
  let backgroundDuty: (() => void) | undefined;
  let dutyGiven = false;
  let shutdownRequested: (() => void) | undefined;
  let registry: Registry | undefined;
  /** Asked to stop while still starting: it stops as soon as it can. */
  let stopAsked = false;
  const requestShutdown = (): void => {
    stopAsked = true;
    shutdownRequested?.();
  };

  process.on('message', (message: unknown) => {
    if (!isAgentMessage(message)) return;
    const m = message as PrimaryMessage;
    switch (m.type) {
      case 'agent:slot':
        pendingSlots.get(m.id)?.(m.granted);
        pendingSlots.delete(m.id);
        return;
      case 'agent:capacity':
        free = m.free;
        return;
      case 'agent:metrics': {
        const pending = pendingMetrics.get(m.id);
        pendingMetrics.delete(m.id);
        if ('text' in m) pending?.resolve(m.text);
        else pending?.reject(new Error(`metrics of the other workers unavailable: ${m.error}`));
        return;
      }
      case 'agent:collect':
        void (registry?.getMetricsAsJSON() ?? Promise.resolve([])).then(
          (metrics) => send({ type: 'agent:collected', id: m.id, metrics }),
          () => send({ type: 'agent:collected', id: m.id, metrics: [] }),
        );
        return;
      case 'agent:background':
        dutyGiven = true;
        backgroundDuty?.();
        return;
      case 'agent:shutdown':
        requestShutdown();
        return;
    }
  });
  // If the primary is gone, nobody will restart or drain this worker: finish like a SIGTERM would.
  process.on('disconnect', () => {
    for (const resolve of pendingSlots.values()) resolve(false);
    pendingSlots.clear();
    requestShutdown();
  });

  return {
    name: String(worker.id),
    slots: {
      acquire() {
        const id = nextId++;
        return new Promise<boolean>((resolve) => {
          // No primary, no slot: refusing is what an over-limit call hears, and it is the safe side.
          if (!process.connected) return resolve(false);
          pendingSlots.set(id, resolve);
          send({ type: 'agent:slot-acquire', id });
        });
      },
      release() {
        send({ type: 'agent:slot-release' });
      },
      available: () => free,
    },
    renderMetrics() {
      const id = nextId++;
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          pendingMetrics.delete(id);
          reject(new Error('metrics of the other workers unavailable: the primary did not answer'));
        }, METRICS_TIMEOUT_MS);
        pendingMetrics.set(id, {
          resolve: (text) => (clearTimeout(timer), resolve(text)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        });
        send({ type: 'agent:metrics', id });
      });
    },
    shareMetrics(shared) {
      registry = shared;
    },
    onBackgroundDuty(run) {
      backgroundDuty = run;
      if (dutyGiven) run();
    },
    onShutdownRequested(run) {
      shutdownRequested = run;
      if (stopAsked) run();
    },
    ready() {
      send({ type: 'agent:ready' });
    },
  };
}
