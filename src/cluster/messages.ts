/**
 * What the primary and its workers say to each other over the cluster's IPC channel. Every type
 * starts with `agent:`, apart from whatever else may use the channel.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** One worker's registry, as prom-client serialises it for aggregation. */
export type WorkerMetrics = Array<MetricObjectWithValues<MetricValue<string>>>;

/** Worker to primary. */
export type WorkerMessage =
  /** Listening: the worker takes calls, and may be given the background duty. */
  | { type: 'agent:ready' }
  | { type: 'agent:slot-acquire'; id: number }
  | { type: 'agent:slot-release' }
  /** A scrape of GET /metrics reached this worker: the primary gathers every worker's. */
  | { type: 'agent:metrics'; id: number }
  /** This worker's part of a gathering. */
  | { type: 'agent:collected'; id: number; metrics: WorkerMetrics };

/** Primary to worker. */
export type PrimaryMessage =
  | { type: 'agent:slot'; id: number; granted: boolean }
  /** Sent when it changes: whether the instance has a free call slot (for the webhook's answer). */
  | { type: 'agent:capacity'; free: boolean }
  | { type: 'agent:metrics'; id: number; text: string }
  | { type: 'agent:metrics'; id: number; error: string }
  /** Send your metrics for gathering `id`. */
  | { type: 'agent:collect'; id: number }
  /** Run the calendar reconciler and staff-edit sync loops: one worker per machine does. */
  | { type: 'agent:background' }
  /** Drain: stop taking calls, finish live ones, exit. */
  | { type: 'agent:shutdown' };

export function isAgentMessage(message: unknown): message is { type: `agent:${string}` } {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { type?: unknown }).type === 'string' &&
    (message as { type: string }).type.startsWith('agent:')
  );
}
