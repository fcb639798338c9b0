/**
 * What one call leaves behind: its transcript, tool calls, each turn's latency timeline and how
 * it ended. The call session fills it; whoever stores or counts calls reads it (the database, the
 * metrics), so it is plain data here rather than a pipeline type.
 */
import type { ToolResult } from './tool-port.js';

export interface TranscriptEntry {
  role: 'caller' | 'agent';
  text: string;
  atMs: number;
  /** Agent lines only: false when the caller cut it off (`text` is then what they heard). */
  complete?: boolean;
}

export interface ToolCallRecord {
  id: string;
  name: string;
  arguments: string;
  result: ToolResult;
  durationMs: number;
  outcome: string;
}

/** The moments of one agent turn that the latency timeline records. */
export type TimelineMark =
  | 'user_speech_end'
  | 'stt_final'
  | 'llm_request'
  | 'llm_first_token'
  | 'tts_request'
  | 'first_audio_out'
  | 'first_reply_audio_out'
  | 'turn_done'
  | `tool_start:${string}`
  | `tool_end:${string}`;

export interface TurnLatency {
  turn: number;
  /** Process ms of the reference moment (user speech end, else the turn start). */
  originMs: number;
  /** Each mark as ms after the origin. */
  marks: Partial<Record<TimelineMark, number>>;
  voiceToVoiceMs: number | undefined;
}

export interface CallRecord {
  callId: string;
  callerNumber: string | undefined;
  startedAtMs: number;
  endedAtMs: number | undefined;
  endReason: string | undefined;
  transcript: TranscriptEntry[];
  toolCalls: ToolCallRecord[];
  turns: TurnLatency[];
  bargeIns: number;
  /**
   * What the call achieved, as the tool port reported it for the last tool call that changed
   * something ('booked', then 'cancelled'); undefined when none did. Opaque to the pipeline.
   */
  outcome: string | undefined;
}
