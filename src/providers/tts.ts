/**
 * Streaming text-to-speech. One stream per piece of speech (a reply, a filler): speakable chunks go in as the LLM
 * produces them (each flushed, so a short reply does not wait for a buffer to fill), audio comes
 * out in the requested format as soon as the vendor has it.
 */
import type { AudioFormat } from '../core/frames.js';

export interface TtsOptions {
  format: AudioFormat;
  signal: AbortSignal;
}

export interface TtsStream {
  /** Queues a speakable chunk (a sentence or clause) and asks for it to be synthesised now. */
  sendText(text: string): void;
  /** No more text: the audio iterator ends once the last chunk's audio is out. */
  end(): void;
  /** Audio chunks in the requested format, in order. Ends after `end()`, throws a ProviderError on failure. */
  readonly audio: AsyncIterable<Uint8Array>;
  /** Stops at once (barge-in): pending text is dropped and the iterator ends. */
  close(): void;
  /**
   * From the vendor's timing (alignment), when it has any: the text whose audio lies wholly within
   * the first `audioMs` of this stream's audio, cut after the last whole word. Without it the caller
   * has only byte counts to estimate from.
   */
  spokenWithin?(audioMs: number): string;
}

/**
 * One call's connection to a vendor that keeps several synthesis contexts on one socket: each
 * stream opened from it is a context, so a whole reply is one piece of speech (intonation carries
 * across its sentences) and no reply pays for a handshake.
 */
export interface TtsSession {
  /** A new context; text appended to it continues the same speech. */
  open(signal: AbortSignal): Promise<TtsStream>;
  /** Closes every context and the connection. */
  close(): void;
}

export interface TtsProvider {
  readonly name: string;
  open(options: TtsOptions): Promise<TtsStream>;
  /**
   * Providers that can keep contexts on one connection offer a session per call; the others
   * synthesise each stream on its own (`open`), which is the fallback.
   */
  openSession?(options: TtsOptions): Promise<TtsSession>;
}
