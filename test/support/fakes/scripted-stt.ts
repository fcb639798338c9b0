/**
 * A fake SttProvider for pipeline tests: no audio is analysed, the test decides what was "heard"
 * and when, so turn-taking and barge-in can be tested in milliseconds and without timing luck.
 */
import type { AudioFormat } from '../../../src/core/frames.js';
import type { SttEvent, SttOptions, SttProvider, SttStream } from '../../../src/providers/stt.js';

/** What the fake knows about one connect() call. */
export interface ScriptedSttStreamRecord {
  readonly format: AudioFormat;
  readonly keyterms: readonly string[];
  /** Every chunk passed to sendAudio, in order (copies). */
  readonly audio: Uint8Array[];
  audioBytes: number;
  finalizeCalls: number;
  closed: boolean;
  /** The caller's signal aborted. */
  aborted: boolean;
}

export type ScriptedEvent =
  | { type: 'speech_started' }
  | { type: 'transcript'; text: string; isFinal: boolean; speechFinal: boolean }
  | { type: 'utterance_end' }
  | { type: 'reconnected'; attempt: number }
  | { type: 'error'; error: Error };

export interface ScriptedStt extends SttProvider {
  readonly streams: readonly ScriptedSttStreamRecord[];
  /** The most recent stream; throws if none was opened (a test bug worth failing loudly on). */
  readonly current: ScriptedSttStreamRecord;
  /** Delivers an event to the most recent open stream; `atMs` defaults to performance.now(). */
  emit(event: ScriptedEvent & { atMs?: number }): void;
  /**
   * One whole utterance as Deepgram reports it: speech_started, an interim of the first half of
   * the words, the final with speechFinal, then utterance_end.
   */
  say(text: string): void;
  /** Makes the next connect() reject with `error` (once). */
  failNextConnect(error: Error): void;
}

interface LiveStream {
  record: ScriptedSttStreamRecord;
  onEvent: (event: SttEvent) => void;
}

export function createScriptedStt(): ScriptedStt {
  const streams: ScriptedSttStreamRecord[] = [];
  let live: LiveStream | undefined;
  let nextConnectError: Error | undefined;

  function emit(event: ScriptedEvent & { atMs?: number }): void {
    if (!live || live.record.closed) throw new Error('scripted STT: no open stream to emit to');
    const atMs = event.atMs ?? performance.now();
    live.onEvent({ ...event, atMs } as SttEvent);
  }

  return {
    name: 'scripted',
    streams,
    get current() {
      const last = streams.at(-1);
      if (!last) throw new Error('scripted STT: connect() was never called');
      return last;
    },
    emit,
    say(text) {
      const words = text.split(/\s+/).filter(Boolean);
      emit({ type: 'speech_started' });
      if (words.length > 1) {
        emit({ type: 'transcript', text: words.slice(0, Math.ceil(words.length / 2)).join(' '), isFinal: false, speechFinal: false });
      }
      emit({ type: 'transcript', text, isFinal: true, speechFinal: true });
      emit({ type: 'utterance_end' });
    },
    failNextConnect(error) {
      nextConnectError = error;
    },
    async connect(options: SttOptions, onEvent: (event: SttEvent) => void): Promise<SttStream> {
      if (options.signal.aborted) throw options.signal.reason;
      if (nextConnectError) {
        const error = nextConnectError;
        nextConnectError = undefined;
        throw error;
      }
      const record: ScriptedSttStreamRecord = {
        format: options.format,
        keyterms: [...(options.keyterms ?? [])],
        audio: [],
        audioBytes: 0,
        finalizeCalls: 0,
        closed: false,
        aborted: false,
      };
      streams.push(record);
      const stream: LiveStream = { record, onEvent };
      live = stream;
      const end = (): void => {
        record.closed = true;
        if (live === stream) live = undefined;
      };
      options.signal.addEventListener(
        'abort',
        () => {
          record.aborted = true;
          end();
        },
        { once: true },
      );
      return {
        sendAudio(audio) {
          if (record.closed) return;
          record.audio.push(audio.slice());
          record.audioBytes += audio.length;
        },
        finalize() {
          record.finalizeCalls++;
        },
        async close() {
          end();
        },
      };
    },
  };
}
