/** How the CLI harness prints a call: one compact line per thing that happened. */
import type { SessionEvent } from '../core/frames.js';

const MAX_RESULT_CHARS = 160;

/** A line for a session event, or undefined for events not worth a line (interim transcripts). */
export function formatEvent(event: SessionEvent): string | undefined {
  switch (event.type) {
    case 'user_transcript':
      return event.final ? `caller: ${event.text}` : undefined;
    case 'agent_text':
      return `agent:  ${event.text}`;
    case 'background_words':
      return `        (not the caller's, no voice on the line: "${event.text}")`;
    case 'agent_interrupted':
      return `        (interrupted; the caller heard: "${event.heard}")`;
    case 'tool_call':
      return `  -> ${event.name}(${compactArguments(event.arguments)})`;
    case 'tool_result':
      return `  <- ${event.name} ${describeResult(event.result)} (${event.durationMs} ms)`;
    case 'latency':
      return formatLatency(event.turn, event.timeline);
    case 'call_ended':
      return `-- call ended: ${event.reason}`;
  }
}

function compactArguments(json: string): string {
  try {
    const value = JSON.parse(json) as unknown;
    if (typeof value !== 'object' || value === null) return json;
    return Object.entries(value)
      .map(([key, v]) => `${key}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
      .join(', ');
  } catch {
    return json;
  }
}

function describeResult(result: unknown): string {
  const r = result as { success?: unknown; error?: unknown; message?: unknown } | undefined;
  const message = typeof r?.message === 'string' ? clip(r.message) : '';
  if (r?.success === true) return `ok: ${message}`;
  if (r?.success === false) return `failed [${String(r.error)}]: ${message}`;
  return clip(JSON.stringify(result));
}

/**
 * "   turn 2: stt 180 | llm 12 | lookup_customer 35 | first audio 420 | done 1310 ms" (ms after the
 * caller stopped speaking, or after a typed turn arrived). Marks the turn did not reach are left out.
 */
export function formatLatency(turn: number, timeline: Record<string, number>): string {
  const parts: string[] = [];
  const add = (label: string, mark: string): void => {
    const value = timeline[mark];
    if (value !== undefined) parts.push(`${label} ${value}`);
  };
  add('stt', 'stt_final');
  add('llm', 'llm_first_token');
  for (const [mark, end] of Object.entries(timeline)) {
    if (!mark.startsWith('tool_end:')) continue;
    const name = mark.slice('tool_end:'.length);
    const start = timeline[`tool_start:${name}`];
    parts.push(`${name} ${start === undefined ? end : end - start}`);
  }
  add('first audio', 'first_audio_out');
  add('done', 'turn_done');
  return `   turn ${turn}: ${parts.length === 0 ? '(no marks)' : `${parts.join(' | ')} ms`}`;
}

function clip(text: string): string {
  return text.length > MAX_RESULT_CHARS ? `${text.slice(0, MAX_RESULT_CHARS - 3)}...` : text;
}
