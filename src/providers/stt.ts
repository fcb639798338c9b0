/**
 * Streaming speech-to-text. A stream is opened per call; audio goes in as the transport delivers
 * it, events come out through the callback. Adapters map one vendor's messages onto these events
 * and nothing else; reconnecting is the adapter's job (audio sent during a gap is buffered).
 */
import type { AudioFormat } from '../core/frames.js';

export type SttEvent =
  /** The vendor's VAD heard speech start: the earliest barge-in signal. */
  | { type: 'speech_started'; atMs: number }
  /**
   * A transcript. `isFinal`: this span of audio will not be revised. `speechFinal`: the speaker
   * paused (endpointing), so the user's turn may be over.
   */
  | { type: 'transcript'; text: string; isFinal: boolean; speechFinal: boolean; atMs: number }
  /** No words for a while after the last final: the turn is over even without speechFinal. */
  | { type: 'utterance_end'; atMs: number }
  /** The connection dropped and came back; nothing was lost. */
  | { type: 'reconnected'; attempt: number; atMs: number }
  /** A failure the stream could not recover from by itself. */
  | { type: 'error'; error: Error; atMs: number };

export interface SttOptions {
  format: AudioFormat;
  /** Words to favour: service names, makes and models. */
  keyterms?: readonly string[];
  /**
   * Whether the caller's words are wanted at once (the agent is talking, and what the caller says
   * may stop it): audio then goes out as it comes, where it could otherwise wait to be sent in
   * fewer, larger messages.
   */
  wordsWantedAtOnce?: () => boolean;
  signal: AbortSignal;
}

export interface SttStream {
  /**
   * Never throws and never blocks: audio sent while reconnecting is buffered and replayed.
   * `rms`: the chunk's loudness (encodedRms), when the caller has measured it already.
   */
  sendAudio(audio: Uint8Array, rms?: number): void;
  /** Asks the vendor to finish the current utterance now (e.g. the caller pressed a key). */
  finalize(): void;
  close(): Promise<void>;
}

export interface SttProvider {
  readonly name: string;
  connect(options: SttOptions, onEvent: (event: SttEvent) => void): Promise<SttStream>;
}
