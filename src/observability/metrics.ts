/**
 * Prometheus metrics (prom-client) for what an operator watches on a phone agent: how many calls
 * are live and how they end, how long callers wait for an answer (voice to voice, and each stage),
 * how tools perform, how often callers talk over the agent, how vendors fail and retry,
 * whether calendar writes are piling up, and whether staff edits in the calendar need a look. Durations are in seconds, per Prometheus convention.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallRecord, TurnLatency } from '../core/call-record.js';

/** Buckets for conversational latencies: 50 ms to 5 s. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5];

export interface Metrics {
  readonly registry: Registry;
  callStarted(transport: string): void;
  callEnded(record: CallRecord, transport: string, outcome: string): void;
  /** A turn's timeline (marks in ms after the caller's speech ended, see core/call-record.ts). */
  turnCompleted(latency: Pick<TurnLatency, 'marks'>): void;
  toolCompleted(tool: string, outcome: string, durationMs: number): void;
  bargeIn(): void;
  providerError(vendor: string): void;
  providerRetry(vendor: string): void;
  /** Read on each scrape: a slow or failing read reports the last value rather than failing the scrape. */
  setCalendarBacklogSource(read: () => Promise<number>): void;
  /** Same, for appointments whose calendar move was refused and flagged (agent_calendar_conflicts). */
  setCalendarConflictSource(read: () => Promise<number>): void;
  /** Text for GET /metrics. */
  render(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  defaultMetrics?: boolean;
  /**
   * This process's name among the workers of one instance. Process metrics (CPU, memory, event-loop
   * delay) carry it as a `worker` label, so the instance's aggregate keeps them apart: a sum of
   * event-loop delays or heap sizes means nothing.
   */
  worker?: string;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: 'agent_', ...(options.worker === undefined ? {} : { labels: { worker: options.worker } }) });
  }

  const activeCalls = new Gauge({ name: 'agent_active_calls', help: 'Calls in progress', labelNames: ['transport'], registers: [registry] });
  const calls = new Counter({
    name: 'agent_calls_total',
    help: 'Finished calls by outcome',
    labelNames: ['transport', 'outcome'],
    registers: [registry],
  });
  const histogram = (name: string, help: string, labelNames: string[] = []) =>
    new Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers: [registry] });
  const voiceToVoice = histogram('agent_voice_to_voice_seconds', "End of the caller's speech to the agent's first audio");
  const sttFinal = histogram('agent_stt_final_seconds', "End of the caller's speech to the final transcript");
  const llmFirstToken = histogram('agent_llm_first_token_seconds', 'LLM request to first token');
  const ttsFirstByte = histogram('agent_tts_first_byte_seconds', 'First speakable chunk to its first audio out');
  const toolDuration = new Histogram({
    name: 'agent_tool_duration_seconds',
    help: 'Tool call duration by tool and outcome',
    labelNames: ['tool', 'outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
    registers: [registry],
  });
  const bargeIns = new Counter({ name: 'agent_barge_ins_total', help: 'Times a caller talked over the agent', registers: [registry] });
  const providerErrors = new Counter({
    name: 'agent_provider_errors_total',
    help: 'Vendor failures that reached the call (after retries)',
    labelNames: ['vendor'],
    registers: [registry],
  });
  const providerRetries = new Counter({
    name: 'agent_provider_retries_total',
    help: 'Vendor requests retried or reconnected',
    labelNames: ['vendor'],
    registers: [registry],
  });
  /** A gauge read from a source on each scrape (the database, shared by every instance). */
  const sourcedGauge = (name: string, help: string) => {
    let read: (() => Promise<number>) | undefined;
    let last = 0;
    new Gauge({
      name,
      help,
      registers: [registry],
      // Every worker reads the same database: their answers are one value, not parts of a sum.
      aggregator: 'max',
      async collect() {
        if (read !== undefined) {
          try {
            last = await withTimeout(read(), 1_000);
          } catch {
            // keep the last known value: a scrape must not fail because the database is slow
          }
        }
        this.set(last);
      },
    });
    return (source: () => Promise<number>) => {
      read = source;
    };
  };
  const setBacklogSource = sourcedGauge('agent_calendar_sync_backlog', 'Appointments whose calendar event is not written yet');
  const setConflictSource = sourcedGauge(
    'agent_calendar_conflicts',
    'Appointments staff moved in the calendar onto another booking (not applied; waiting for staff)',
  );

  const seconds = (ms: number | undefined): number | undefined => (ms === undefined || ms < 0 ? undefined : ms / 1000);
  const observe = (h: Histogram, value: number | undefined): void => {
    if (value !== undefined) h.observe(value);
  };

  return {
    registry,
    contentType: registry.contentType,
    callStarted(transport) {
      activeCalls.inc({ transport });
    },
    callEnded(_record, transport, outcome) {
      activeCalls.dec({ transport });
      calls.inc({ transport, outcome });
    },
    turnCompleted(latency) {
      const m = latency.marks;
      // Spoken turns only: a typed turn has no speech to measure from.
      if (m.user_speech_end !== undefined) {
        observe(voiceToVoice, seconds(m.first_audio_out));
        observe(sttFinal, seconds(m.stt_final));
      }
      if (m.llm_request !== undefined && m.llm_first_token !== undefined) {
        observe(llmFirstToken, seconds(m.llm_first_token - m.llm_request));
      }
      if (m.tts_request !== undefined && m.first_reply_audio_out !== undefined) {
        observe(ttsFirstByte, seconds(m.first_reply_audio_out - m.tts_request));
      }
    },
    toolCompleted(tool, outcome, durationMs) {
      toolDuration.observe({ tool, outcome }, durationMs / 1000);
    },
    bargeIn() {
      bargeIns.inc();
    },
    providerError(vendor) {
      providerErrors.inc({ vendor });
    },
    providerRetry(vendor) {
      providerRetries.inc({ vendor });
    },
    setCalendarBacklogSource: setBacklogSource,
    setCalendarConflictSource: setConflictSource,
    render() {
      return registry.metrics();
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), ms);
    }),
  ]);
}
