/**
 * A fake TtsProvider for pipeline tests: no network, deterministic audio whose length follows the
 * text (a quiet tone, so energy-based checks and "what was heard" bookkeeping see real samples),
 * configurable first-byte delay and chunk pacing, failure injection, and a record of what it was
 * sent and whether each stream was closed (barge-in).
 */
import type { AudioFormat } from '../../../src/core/frames.js';
import { createAsyncQueue } from '../../../src/core/async-queue.js';
import { ProviderError } from '../../../src/core/errors.js';
import type { TtsOptions, TtsProvider, TtsStream } from '../../../src/providers/tts.js';
import { encodeMulawSample } from '../../../src/audio/mulaw.js';

export interface ScriptedTtsOptions {
  /** Audio per character of text (whitespace runs count as one). */
  msPerChar?: number;
  /** Audio duration carried by one chunk. */
  chunkMs?: number;
  /** Delay before a stream's first chunk. */
  firstByteDelayMs?: number;
  interChunkDelayMs?: number;
}

export interface ScriptedTtsStreamRecord {
  format: AudioFormat;
  texts: string[];
  ended: boolean;
  closed: boolean;
  audioBytes: number;
}

export interface ScriptedTtsFailure {
  /** 'open': open() rejects; 'audio': the iterator throws after `afterChunks` chunks (default 0). */
  at?: 'open' | 'audio';
  afterChunks?: number;
  error?: ProviderError;
}

export interface ScriptedTts extends TtsProvider {
  /** Every text sent, across streams, in order. */
  readonly texts: readonly string[];
  readonly streams: readonly ScriptedTtsStreamRecord[];
  /** Whether close() was called on any stream. */
  readonly closed: boolean;
  /** The next open() (or its audio) fails. */
  failNext(failure?: ScriptedTtsFailure): void;
  setLatency(latency: { firstByteDelayMs?: number; interChunkDelayMs?: number }): void;
}

const TONE_HZ = 440;
const TONE_AMPLITUDE = 3000;



function tone(format: AudioFormat, startSample: number, samples: number): Uint8Array {
  const width = format.encoding === 'mulaw' ? 1 : 2;
  const out = new Uint8Array(samples * width);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples; i++) {
    const value = Math.round(Math.sin((2 * Math.PI * TONE_HZ * (startSample + i)) / format.sampleRate) * TONE_AMPLITUDE);
    if (width === 1) out[i] = encodeMulawSample(value);
    else view.setInt16(i * 2, value, true);
  }
  return out;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export function createScriptedTts(options: ScriptedTtsOptions = {}): ScriptedTts {
  const msPerChar = options.msPerChar ?? 60;
  const chunkMs = options.chunkMs ?? 100;
  const latency = {
    firstByteDelayMs: options.firstByteDelayMs ?? 0,
    interChunkDelayMs: options.interChunkDelayMs ?? 0,
  };
  const texts: string[] = [];
  const streams: ScriptedTtsStreamRecord[] = [];
  const failures: ScriptedTtsFailure[] = [];

  function open({ format, signal }: TtsOptions): TtsStream {
    const failure = failures[0]?.at === 'open' ? undefined : failures.shift();
    const record: ScriptedTtsStreamRecord = { format, texts: [], ended: false, closed: false, audioBytes: 0 };
    streams.push(record);
    // Closing stops the producer and wakes a waiting consumer at once.
    const stop = new AbortController();
    const pending = createAsyncQueue<string>();
    let iterated = false;
    let sample = 0;

    const close = (): void => {
      if (record.closed) return;
      record.closed = true;
      pending.close();
      stop.abort();
    };
    signal.addEventListener('abort', close, { once: true });
    if (signal.aborted) close();

    async function* produce(): AsyncGenerator<Uint8Array> {
      let chunks = 0;
      let first = true;
      try {
        for await (const text of pending) {
          const totalSamples = Math.round((text.replace(/\s+/g, ' ').trim().length * msPerChar * format.sampleRate) / 1000);
          const chunkSamples = Math.max(1, Math.round((chunkMs * format.sampleRate) / 1000));
          for (let done = 0; done < totalSamples; done += chunkSamples) {
            await sleep(first ? latency.firstByteDelayMs : latency.interChunkDelayMs, stop.signal);
            if (stop.signal.aborted) return;
            if (failure && chunks >= (failure.afterChunks ?? 0)) {
              throw failure.error ?? new ProviderError('scripted-tts', 'injected failure', { retryable: true });
            }
            first = false;
            const audio = tone(format, sample, Math.min(chunkSamples, totalSamples - done));
            sample += chunkSamples;
            record.audioBytes += audio.length;
            chunks++;
            yield audio;
          }
        }
      } finally {
        signal.removeEventListener('abort', close);
      }
    }

    return {
      sendText(text) {
        if (record.ended) throw new Error('TtsStream.sendText() after end()');
        if (record.closed || text.trim().length === 0) return;
        texts.push(text);
        record.texts.push(text);
        pending.push(text);
      },
      end() {
        record.ended = true;
        pending.end();
      },
      audio: {
        [Symbol.asyncIterator]() {
          if (iterated) throw new Error('TtsStream.audio can be iterated once');
          iterated = true;
          const generator = produce();
          return {
            next: () => generator.next(),
            return: async () => {
              close();
              return generator.return(undefined);
            },
          };
        },
      },
      close,
    };
  }

  return {
    name: 'scripted-tts',
    texts,
    streams,
    get closed() {
      return streams.some((stream) => stream.closed);
    },
    async open(tts) {
      if (tts.signal.aborted) throw tts.signal.reason;
      if (failures[0]?.at === 'open') {
        const failure = failures.shift();
        throw failure?.error ?? new ProviderError('scripted-tts', 'injected failure', { retryable: true });
      }
      return open(tts);
    },
    failNext(failure = {}) {
      failures.push(failure);
    },
    setLatency(next) {
      if (next.firstByteDelayMs !== undefined) latency.firstByteDelayMs = next.firstByteDelayMs;
      if (next.interChunkDelayMs !== undefined) latency.interChunkDelayMs = next.interChunkDelayMs;
    },
  };
}
