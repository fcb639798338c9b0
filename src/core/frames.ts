/**
 * Frames: the plain data that crosses the edges of a call. Transports decode their wire format
 * into frames and encode frames back; the call session consumes and produces them. Timestamps are
 * ms on the process clock (performance.now()).
 */

export type AudioEncoding = 'mulaw' | 'linear16';

export interface AudioFormat {
  encoding: AudioEncoding;
  sampleRate: number;
}

/** Phone audio: mu-law 8 kHz, what Twilio sends and takes, so nothing is transcoded on a phone call. */
export const PHONE_AUDIO: AudioFormat = { encoding: 'mulaw', sampleRate: 8000 };
/** Browser audio: 16-bit little-endian PCM at 16 kHz. */
export const BROWSER_AUDIO: AudioFormat = { encoding: 'linear16', sampleRate: 16000 };

/** Inbound: what a transport hands the session. */
export type InboundFrame =
  | { kind: 'start'; callId: string; streamId: string; callerNumber: string | undefined; parameters: Record<string, string> }
  | { kind: 'audio'; audio: Uint8Array; timestampMs: number }
  /** A mark the transport sent earlier has been played to the caller. */
  | { kind: 'mark'; name: string }
  | { kind: 'dtmf'; digit: string }
  /** A typed turn (browser/CLI harness) instead of speech. */
  | { kind: 'text'; text: string }
  | { kind: 'stop' };

/** Outbound: what the session asks a transport to do. */
export type OutboundFrame =
  | { kind: 'audio'; audio: Uint8Array }
  /** Ask to be told (an inbound mark) when everything sent before it has played. */
  | { kind: 'mark'; name: string }
  /** Drop audio queued at the caller's side: the caller barged in. */
  | { kind: 'clear' }
  /** Text events for harness UIs: transcripts, agent text, tool calls, latencies. Phone transports ignore them. */
  | { kind: 'event'; event: SessionEvent };

export type SessionEvent =
  | { type: 'user_transcript'; text: string; final: boolean }
  | { type: 'agent_text'; text: string; turn: number }
  | { type: 'agent_interrupted'; heard: string; turn: number }
  /** The caller may be starting to talk: the agent's audio stopped, its reply kept. */
  | { type: 'agent_paused'; turn: number }
  /** It was not a turn (noise the VAD took for a voice, or "uh-huh"): the reply plays on. */
  | { type: 'agent_resumed'; turn: number }
  /** Words the STT heard over the agent while the line carried no voice of the caller's (a radio, a colleague, an echo): ignored. */
  | { type: 'background_words'; text: string }
  | { type: 'tool_call'; id: string; name: string; arguments: string }
  | { type: 'tool_result'; id: string; name: string; result: unknown; durationMs: number }
  | { type: 'latency'; turn: number; timeline: Record<string, number> }
  /** The STT connection dropped and was re-established (nothing lost). */
  | { type: 'stt_reconnected'; attempt: number }
  | { type: 'call_ended'; reason: string };
