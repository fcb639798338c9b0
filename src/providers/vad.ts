/**
 * Local voice activity detection: how likely a short window of caller audio is speech. A stream is
 * opened per call (the model's memory of the audio so far is per call); the model behind it may be
 * shared by every call of the process. Deciding what a run of probabilities means (speech started,
 * long enough to interrupt) is the pipeline's job (voice-activity.ts), not the adapter's.
 */

export interface VadOptions {
  /** Samples per second of the audio the stream will be shown (the adapter says which it supports). */
  sampleRate: number;
  /** Aborting closes the stream. */
  signal: AbortSignal;
}

export interface VadStream {
  /** Samples per window at this rate: every `probability` call takes exactly this many. */
  readonly windowSamples: number;
  /**
   * Speech probability (0..1) of the next window: PCM scaled to -1..1, `windowSamples` long, in
   * order (the stream carries state from one window to the next). Rejects once the stream is closed.
   */
  probability(window: Float32Array): Promise<number>;
  /** Forgets the audio so far: the next window starts afresh (after a gap in what was shown). */
  reset(): void;
  close(): void;
}

export interface VadProvider {
  readonly name: string;
  /** Throws a RangeError for a sample rate the model does not take. */
  open(options: VadOptions): Promise<VadStream>;
}
