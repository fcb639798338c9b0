import { AggregatorRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../core/call-record.js';
import { createMetrics } from './metrics.js';

const record = { callId: 'CA1' } as CallRecord;

function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length).trim());
}

describe('metrics', () => {
  it('counts live calls and finished calls by outcome', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.callStarted('twilio');
    metrics.callStarted('twilio');
    metrics.callEnded(record, 'twilio', 'booked');
    const text = await metrics.render();
    expect(valueOf(text, 'agent_active_calls{transport="twilio"}')).toBe(1);
    expect(valueOf(text, 'agent_calls_total{transport="twilio",outcome="booked"}')).toBe(1);
  });

  it('turns a spoken turn timeline into stage latencies in seconds, and skips typed turns for voice-to-voice', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.turnCompleted({ marks: { user_speech_end: 0, stt_final: 150, llm_request: 160, llm_first_token: 510, tts_request: 520, first_reply_audio_out: 680, first_audio_out: 680 } });
    metrics.turnCompleted({ marks: { llm_request: 0, llm_first_token: 300, first_audio_out: 500 } });
    const text = await metrics.render();
    expect(valueOf(text, 'agent_voice_to_voice_seconds_count')).toBe(1);
    expect(valueOf(text, 'agent_voice_to_voice_seconds_sum')).toBeCloseTo(0.68);
    expect(valueOf(text, 'agent_stt_final_seconds_sum')).toBeCloseTo(0.15);
    expect(valueOf(text, 'agent_llm_first_token_seconds_count')).toBe(2);
    expect(valueOf(text, 'agent_tts_first_byte_seconds_sum')).toBeCloseTo(0.16);
  });

  it('records tools, barge-ins, vendor errors and retries', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.toolCompleted('book_appointment', 'ok', 120);
    metrics.bargeIn();
    metrics.providerError('openai');
    metrics.providerRetry('deepgram');
    metrics.providerRetry('deepgram');
    const text = await metrics.render();
    expect(valueOf(text, 'agent_tool_duration_seconds_count{tool="book_appointment",outcome="ok"}')).toBe(1);
    expect(valueOf(text, 'agent_barge_ins_total')).toBe(1);
    expect(valueOf(text, 'agent_provider_errors_total{vendor="openai"}')).toBe(1);
    expect(valueOf(text, 'agent_provider_retries_total{vendor="deepgram"}')).toBe(2);
  });

  it('reads the calendar backlog on scrape, keeping the last value when the read fails', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let backlog: number | Error = 7;
    metrics.setCalendarBacklogSource(async () => {
      if (backlog instanceof Error) throw backlog;
      return backlog;
    });
    expect(valueOf(await metrics.render(), 'agent_calendar_sync_backlog')).toBe(7);
    backlog = new Error('database down');
    expect(valueOf(await metrics.render(), 'agent_calendar_sync_backlog')).toBe(7);
  });

  it('reads calendar conflicts on scrape, apart from the backlog', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    expect(valueOf(await metrics.render(), 'agent_calendar_conflicts')).toBe(0);
    metrics.setCalendarBacklogSource(async () => 5);
    metrics.setCalendarConflictSource(async () => 2);
    const text = await metrics.render();
    expect(valueOf(text, 'agent_calendar_conflicts')).toBe(2);
    expect(valueOf(text, 'agent_calendar_sync_backlog')).toBe(5);
  });

  it('summed over workers (WORKERS > 1): calls add up, process metrics stay per worker, the database gauges are read once', async () => {
    const workers = ['1', '2'].map((worker) => createMetrics({ worker }));
    workers[0]!.callStarted('twilio');
    workers[1]!.callStarted('twilio');
    workers[1]!.callEnded(record, 'twilio', 'booked');
    for (const metrics of workers) metrics.setCalendarBacklogSource(async () => 4);
    const text = await AggregatorRegistry.aggregate(await Promise.all(workers.map((m) => m.registry.getMetricsAsJSON()))).metrics();
    expect(valueOf(text, 'agent_active_calls{transport="twilio"}')).toBe(1);
    expect(valueOf(text, 'agent_calls_total{transport="twilio",outcome="booked"}')).toBe(1);
    expect(valueOf(text, 'agent_calendar_sync_backlog')).toBe(4);
    expect(valueOf(text, 'agent_process_resident_memory_bytes{worker="1"}')).toBeGreaterThan(0);
    expect(valueOf(text, 'agent_process_resident_memory_bytes{worker="2"}')).toBeGreaterThan(0);
  });
});
