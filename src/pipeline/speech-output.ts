/**
 * What the agent says, in order. Each utterance (a sentence of a reply, a filler, the greeting)
 * is synthesised as soon as it is queued, so the next sentence is ready while the current one
 * plays, and its audio goes out strictly in queue order. A mark follows every audio chunk, so
 * when the caller barges in we know how much of each utterance they actually heard.
 */
import { createAsyncQueue } from '../core/async-queue.js';
import type { AudioFormat, OutboundFrame } from '../core/frames.js';
import type { TtsProvider } from '../providers/tts.js';
import { bytesPerMs, concatBytes } from '../audio/pcm.js';

export type UtteranceKind = 'greeting' | 'reply' | 'filler' | 'prompt' | 'apology';

export interface Utterance {
  readonly id: number;
  readonly text: string;
  readonly kind: UtteranceKind;
  /** The agent turn it belongs to (0 for things said outside a turn). */
  readonly turn: number;
  /** When its first audio chunk went to the transport (process ms), once it has. */
  firstAudioAtMs: number | undefined;
  /** Resolves when all its audio has been handed to the transport (or it was dropped). */
  readonly sent: Promise<void>;
  /** Resolves true when the caller has heard all of it, false if it was cut off or failed. */
  readonly played: Promise<boolean>;
}

export interface SpeechOutputDeps {
  tts: TtsProvider | undefined;
  format: AudioFormat;
  send(frame: OutboundFrame): void;
  now(): number;
  /** Told when synthesis of an utterance fails; the utterance is then skipped. */
  onSynthesisError?(utterance: Utterance, error: unknown): void;
  /** Audio handed over in pieces of at most this many bytes, each followed by a mark. */
  maxChunkBytes?: number;
  /**
   * Utterances synthesised ahead of the one playing. One or two hide synthesis latency between
   * sentences; more would only open more vendor connections for speech a barge-in may discard.
   */
  lookahead?: number;
}

interface Entry {
  utterance: Utterance;
  controller: AbortController;
  source: (signal: AbortSignal) => AsyncIterable<Uint8Array>;
  /** Audio as it arrives from TTS (or all at once for pre-synthesised audio); set once started. */
  chunks: AsyncIterable<Uint8Array> | undefined;
  totalBytes: number;
  ackedBytes: number;
  pendingMarks: Map<string, number>;
  finishedSending: boolean;
  /** Interrupted: whatever was not heard is dropped. */
  cut: boolean;
  /** Synthesis failed part-way: what was sent still plays, but the utterance is incomplete. */
  failed: boolean;
  resolveSent(): void;
  resolvePlayed(heard: boolean): void;
}

export interface SpeechOutput {
  /** Queues text to be spoken; with no TTS configured it counts as heard once queued. */
  say(text: string, kind: UtteranceKind, turn: number): Utterance;
  /** Queues audio that was synthesised earlier (greeting, apology). */
  play(audio: Uint8Array, text: string, kind: UtteranceKind, turn: number): Utterance;
  /** The transport reports a mark as played. */
  onMark(name: string): void;
  /**
   * Barge-in: stops everything queued or playing, tells the transport to clear its buffer, and
   * returns, per cut utterance, the part the caller heard.
   */
  interrupt(): Array<{ utterance: Utterance; heard: string }>;
  /** True while anything is queued, being sent, or sent but not yet heard. */
  busy(): boolean;
  /** Resolves once nothing is queued or unplayed. */
  whenIdle(): Promise<void>;
  close(): void;
}

export function createSpeechOutput(deps: SpeechOutputDeps): SpeechOutput {
  const maxChunkBytes = deps.maxChunkBytes ?? Math.round(bytesPerMs(deps.format) * 200);
  const lookahead = deps.lookahead ?? 2;
  const queue: Entry[] = [];
  const byMark = new Map<string, Entry>();
  let nextId = 1;
  let nextMark = 1;
  let pumping = false;
  let idleWaiters: Array<() => void> = [];
  let closed = false;

  function enqueue(
    text: string,
    kind: UtteranceKind,
    turn: number,
    source: (signal: AbortSignal) => AsyncIterable<Uint8Array>,
  ): Utterance {
    const controller = new AbortController();
    let resolveSent!: () => void;
    let resolvePlayed!: (heard: boolean) => void;
    const utterance: Utterance = {
      id: nextId++,
      text,
      kind,
      turn,
      firstAudioAtMs: undefined,
      sent: new Promise<void>((r) => (resolveSent = r)),
      played: new Promise<boolean>((r) => (resolvePlayed = r)),
    };
    const entry: Entry = {
      utterance,
      controller,
      source,
      chunks: undefined,
      totalBytes: 0,
      ackedBytes: 0,
      pendingMarks: new Map(),
      finishedSending: false,
      cut: false,
      failed: false,
      resolveSent,
      resolvePlayed,
    };
    if (closed) {
      finish(entry, false);
      return utterance;
    }
    queue.push(entry);
    startWithinWindow();
    void pump();
    return utterance;
  }

  /** Starts synthesis for the utterance being sent and the `lookahead` after it. */
  function startWithinWindow(): void {
    let inWindow = 0;
    for (const entry of queue) {
      if (entry.finishedSending || entry.cut) continue;
      if (inWindow > lookahead) break;
      inWindow += 1;
      entry.chunks ??= prefetch(entry.source(entry.controller.signal), entry.controller.signal);
    }
  }

  /** Sends queued utterances' audio in order, one at a time. */
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      for (let entry = firstUnsent(); entry !== undefined; entry = firstUnsent()) {
        await sendEntry(entry);
      }
    } finally {
      pumping = false;
      settleIdle();
    }
  }

  function firstUnsent(): Entry | undefined {
    return queue.find((e) => !e.finishedSending && !e.cut);
  }

  async function sendEntry(entry: Entry): Promise<void> {
    startWithinWindow();
    let sends = 0;
    try {
      for await (const chunk of entry.chunks ?? []) {
        if (entry.cut) break;
        for (let offset = 0; offset < chunk.length && !entry.cut; offset += maxChunkBytes) {
          // Let other calls' frames through between bursts: one long sentence must not hold the
          // event loop while hundreds of concurrent calls wait for theirs.
          if (sends > 0 && sends % 8 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
          sends += 1;
          const piece = chunk.subarray(offset, Math.min(chunk.length, offset + maxChunkBytes));
          entry.utterance.firstAudioAtMs ??= deps.now();
          deps.send({ kind: 'audio', audio: piece });
          entry.totalBytes += piece.length;
          const mark = `u${entry.utterance.id}.${nextMark++}`;
          entry.pendingMarks.set(mark, entry.totalBytes);
          byMark.set(mark, entry);
          deps.send({ kind: 'mark', name: mark });
        }
      }
    } catch (error) {
      if (!entry.cut) {
        entry.failed = true;
        deps.onSynthesisError?.(entry.utterance, error);
      }
    }
    entry.finishedSending = true;
    entry.resolveSent();
    startWithinWindow();
    if (entry.cut) finish(entry, false);
    // Nothing left to hear about: text-only speech, or a failure before any audio.
    else if (entry.pendingMarks.size === 0) finish(entry, !entry.failed);
  }

  function finish(entry: Entry, heard: boolean): void {
    const index = queue.indexOf(entry);
    if (index >= 0) queue.splice(index, 1);
    for (const mark of entry.pendingMarks.keys()) byMark.delete(mark);
    entry.pendingMarks.clear();
    entry.finishedSending = true;
    entry.resolveSent();
    entry.resolvePlayed(heard);
    settleIdle();
  }

  function settleIdle(): void {
    if (queue.length > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const wake of waiters) wake();
  }

  return {
    say(text, kind, turn) {
      const tts = deps.tts;
      if (tts === undefined) {
        // Text-only calls (typed harness turns): nothing to synthesise, the text is the speech.
        return enqueue(text, kind, turn, () => emptyAudio());
      }
      return enqueue(text, kind, turn, (signal) => synthesize(tts, text, deps.format, signal));
    },

    play(audio, text, kind, turn) {
      return enqueue(text, kind, turn, () => once(audio));
    },

    onMark(name) {
      const entry = byMark.get(name);
      if (entry === undefined) return; // a mark of a cut utterance, echoed back after a clear
      byMark.delete(name);
      const bytes = entry.pendingMarks.get(name) ?? 0;
      entry.pendingMarks.delete(name);
      entry.ackedBytes = Math.max(entry.ackedBytes, bytes);
      if (entry.finishedSending && entry.pendingMarks.size === 0) finish(entry, !entry.failed);
    },

    interrupt() {
      const cut: Array<{ utterance: Utterance; heard: string }> = [];
      const hadAudioOut = queue.some((e) => e.totalBytes > e.ackedBytes);
      for (const entry of [...queue]) {
        entry.cut = true;
        entry.controller.abort(new Error('interrupted'));
        const heard = entry.totalBytes === 0 ? '' : heardPrefix(entry.utterance.text, entry.ackedBytes / entry.totalBytes);
        cut.push({ utterance: entry.utterance, heard });
        finish(entry, false);
      }
      if (hadAudioOut) deps.send({ kind: 'clear' });
      return cut;
    },

    busy() {
      return queue.length > 0;
    },

    whenIdle() {
      if (queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },

    close() {
      closed = true;
      for (const entry of [...queue]) {
        entry.cut = true;
        entry.controller.abort(new Error('closed'));
        finish(entry, false);
      }
    },
  };
}

/**
 * The words of `text` the caller heard, given the fraction of its audio that played. Speech
 * runs at a roughly even pace, so the fraction of characters is a fair estimate; cut at a word.
 */
export function heardPrefix(text: string, fraction: number): string {
  if (fraction >= 0.999) return text;
  if (fraction <= 0) return '';
  const target = Math.floor(text.length * fraction);
  const cut = text.lastIndexOf(' ', target);
  return cut <= 0 ? '' : text.slice(0, cut).trimEnd();
}


async function* synthesize(
  tts: TtsProvider,
  text: string,
  format: AudioFormat,
  signal: AbortSignal,
): AsyncIterable<Uint8Array> {
  const stream = await tts.open({ format, signal });
  const onAbort = (): void => stream.close();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    stream.sendText(text);
    stream.end();
    for await (const chunk of stream.audio) {
      if (signal.aborted) return;
      yield chunk;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Starts consuming `source` at once and buffers it, so an utterance is synthesised while the one
 * before it is still playing; the returned iterable replays the buffer and then follows live.
 */
function prefetch(source: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncIterable<Uint8Array> {
  // Aborting (barge-in, close) drops what was buffered: the utterance is cut, nobody will send it.
  const buffered = createAsyncQueue<Uint8Array>({ signal });
  void (async () => {
    try {
      for await (const chunk of source) buffered.push(chunk);
      buffered.end();
    } catch (error) {
      buffered.fail(error);
    }
  })();
  return {
    async *[Symbol.asyncIterator]() {
      for await (const chunk of buffered) {
        // Everything buffered goes out as one piece (sendEntry re-splits it into marked chunks
        // of maxChunkBytes): a prefetched sentence is a few large writes, not hundreds of 20 ms ones.
        if (buffered.size === 0) {
          yield chunk;
          continue;
        }
        const all = buffered.takeAll();
        all.unshift(chunk);
        yield concatBytes(all);
      }
    },
  };
}

async function* once(audio: Uint8Array): AsyncIterable<Uint8Array> {
  yield audio;
}

async function* emptyAudio(): AsyncIterable<Uint8Array> {}
