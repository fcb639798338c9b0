/**
 * Streaming text-to-speech. One stream per agent reply: speakable chunks go in as the LLM
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
}

export interface TtsProvider {
  readonly name: string;
  open(options: TtsOptions): Promise<TtsStream>;
}
