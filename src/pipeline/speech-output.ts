/**
 * What the agent says, in order. Each utterance (a sentence of a reply, a filler, the greeting)
 * is synthesised as soon as it is queued, so the next sentence is ready while the current one
 * plays, and its audio goes out strictly in queue order. A mark follows every audio chunk, so
 * when the caller barges in we know how much of each utterance they actually heard. Playback can
 * also be paused (the caller may be starting to talk) and resumed from where the caller stopped
 * hearing it (the last mark they heard, plus real-time playback since), with nothing lost: an
 * utterance's audio is kept until all of it has been heard.
 *
 * When the TTS provider keeps contexts on one connection (`openSession`), a turn's reply is one
 * context: its sentences are appended to it as they come (one piece of speech, intonation carried
 * across full stops), its audio goes out as one utterance's, and what was heard at a barge-in comes
 * from the vendor's alignment. Other utterances (fillers, apologies) take their own context. A
 * paused reply context resumes like any utterance: its audio is kept, rewound to where it stopped.
 */
import type { AudioFormat, OutboundFrame } from '../core/frames.js';
import type { TtsProvider, TtsSession, TtsStream } from '../providers/tts.js';
import { ProviderError } from '../core/errors.js';
import { fadedIn } from '../audio/fade.js';
import { bytesPerMs, bytesPerSample } from '../audio/pcm.js';

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
   * Playback that starts from silence waits for this much audio (ms) in hand, so the caller's
   * buffer does not run dry when the vendor's second chunk is a little late: a vendor's first
   * chunk can be 100 ms, and the caller hears a stutter if the next one is 120 ms behind it.
   * At most `startHoldMs` after the first audio arrived, or less when the utterance is complete.
   * 0 sends audio as it comes.
   */
  startBufferMs?: number;
  startHoldMs?: number;
  /**
   * Utterances synthesised ahead of the one playing. One or two hide synthesis latency between
   * sentences; more would only synthesise (a context, or a connection for providers without
   * sessions) speech a barge-in may discard.
   */
  lookahead?: number;
}

interface Entry {
  utterance: Utterance;
  controller: AbortController;
  source: (signal: AbortSignal) => AsyncIterable<Uint8Array>;
  /** Synthesis has been started (it runs ahead of playback, within the lookahead). */
  started: boolean;
  /**
   * Every byte synthesised so far, kept until the utterance is heard: a pause rewinds to what the
   * caller heard and sends the rest again.
   */
  audio: Uint8Array;
  receivedBytes: number;
  sourceDone: boolean;
  sourceError: { error: unknown } | undefined;
  /** Handed to the transport (rewound to `ackedBytes` by a pause). */
  sentBytes: number;
  /** Played to the caller, as the marks say. */
  ackedBytes: number;
  pendingMarks: Map<string, number>;
  finishedSending: boolean;
  /** Interrupted: whatever was not heard is dropped. */
  cut: boolean;
  /** Synthesis failed part-way: what was sent still plays, but the utterance is incomplete. */
  failed: boolean;
  /**
   * When the caller's side last confirmed a mark of it (or its first audio went out), process ms;
   * undefined while nothing of it plays (not reached yet, or paused).
   */
  playingSinceMs: number | undefined;
  /** When the caller's side last confirmed a mark of it (process ms): where a pause finds it playing. */
  markHeardAtMs: number | undefined;
  /** A pause rewound it to mid-speech: the next piece sent starts with a fade-in (RESUME_FADE_MS). */
  fadeInNext: boolean;
  /** A reply spoken as one context: this entry carries the audio of all its sentences. */
  group: ReplyGroup | undefined;
  /** When its first audio arrived from the vendor (process ms). */
  firstChunkAtMs: number | undefined;
  resolveSent(): void;
  resolvePlayed(heard: boolean): void;
}

/** The sentences of one turn's reply, spoken as one synthesis context. */
interface ReplyGroup {
  turn: number;
  /** Every sentence's entry; the first carries the audio (the others are in no queue). */
  members: Entry[];
  pending: string[];
  stream: TtsStream | undefined;
  /** The context(s) the audio came from, with where each began on the reply's audio clock. */
  segments: Array<{ stream: TtsStream; startMs: number }>;
  ended: boolean;
}

export interface SpeechOutput {
  /** Queues text to be spoken; with no TTS configured it counts as heard once queued. */
  say(text: string, kind: UtteranceKind, turn: number): Utterance;
  /** Queues audio that was synthesised earlier (greeting, apology). */
  play(audio: Uint8Array, text: string, kind: UtteranceKind, turn: number): Utterance;
  /** The turn's reply is complete: its context is ended once its audio is out. */
  endReply(turn: number): void;
  /** The transport reports a mark as played. */
  onMark(name: string): void;
  /**
   * Barge-in: stops everything queued or playing, tells the transport to clear its buffer, and
   * returns, per cut utterance, the part the caller heard. Ends a pause.
   */
  interrupt(): Array<{ utterance: Utterance; heard: string }>;
  /**
   * Stops playback at once (the transport clears its buffer) but keeps every utterance: what the
   * caller had not heard yet, and what is still being synthesised, waits for `resume`.
   */
  pause(): void;
  /** Plays on from where the caller stopped hearing it (the last mark before the pause, plus playback since). */
  resume(): void;
  isPaused(): boolean;
  /** True while anything is queued, being sent, paused, or sent but not yet heard. */
  busy(): boolean;
  /** Resolves once nothing is queued or unplayed. */
  whenIdle(): Promise<void>;
  close(): void;
}

const NO_AUDIO = new Uint8Array(0);
/** Resumed speech rises from silence over this long: no click where the caller stopped hearing it. */
const RESUME_FADE_MS = 10;
/** Queued at the caller beyond this, audio goes out only in full pieces (see fillHold). */
const FULL_PIECES_ABOVE_LEAD_MS = 1_000;

export function createSpeechOutput(deps: SpeechOutputDeps): SpeechOutput {
  const maxChunkBytes = deps.maxChunkBytes ?? Math.round(bytesPerMs(deps.format) * 200);
  const lookahead = deps.lookahead ?? 2;
  const startBufferBytes = Math.round(bytesPerMs(deps.format) * (deps.startBufferMs ?? 0));
  const startHoldMs = deps.startHoldMs ?? 0;
  const queue: Entry[] = [];
  const byMark = new Map<string, Entry>();
  let nextId = 1;
  let nextMark = 1;
  let pumping = false;
  let idleWaiters: Array<() => void> = [];
  let closed = false;
  let paused = false;
  /** Wakes the pump when audio arrives or the state changes (pause, resume, cut, close). */
  let wakePump: (() => void) | undefined;
  const perMs = bytesPerMs(deps.format);
  const sampleBytes = bytesPerSample(deps.format);
  const sessionController = new AbortController();
  // Opened at once (before the greeting is due): the first reply then pays no handshake. One that
  // failed to open is opened again by the next utterance, whose failure is then reported.
  const offersSessions = deps.tts?.openSession !== undefined;
  let session: Promise<TtsSession> | undefined;
  const openSession = (): Promise<TtsSession> => {
    const opening = deps.tts!.openSession!({ format: deps.format, signal: sessionController.signal });
    opening.catch(() => {
      if (session === opening) session = undefined;
    });
    return opening;
  };
  if (offersSessions) session = openSession();
  let openGroup: ReplyGroup | undefined;

  function notify(): void {
    const wake = wakePump;
    wakePump = undefined;
    wake?.();
  }

  /** Resolves at the next notify(), or after `withinMs` when given. */
  function nextChange(withinMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = withinMs === undefined ? undefined : setTimeout(resolve, withinMs);
      wakePump = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  function enqueue(
    text: string,
    kind: UtteranceKind,
    turn: number,
    source: (signal: AbortSignal) => AsyncIterable<Uint8Array>,
    group?: ReplyGroup,
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
      started: false,
      audio: NO_AUDIO,
      receivedBytes: 0,
      sourceDone: false,
      sourceError: undefined,
      sentBytes: 0,
      ackedBytes: 0,
      pendingMarks: new Map(),
      finishedSending: false,
      cut: false,
      failed: false,
      playingSinceMs: undefined,
      markHeardAtMs: undefined,
      fadeInNext: false,
      group: undefined,
      firstChunkAtMs: undefined,
      resolveSent,
      resolvePlayed,
    };
    if (closed) {
      finish(entry, false);
      return utterance;
    }
    if (group !== undefined) {
      entry.group = group;
      group.members.push(entry);
      // A later sentence of a reply context: the first sentence's entry carries its audio.
      if (group.members.length > 1) return utterance;
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
      if (!entry.started) startSynthesis(entry);
    }
  }

  /** Reads the utterance's audio as it is synthesised, into its buffer. */
  function startSynthesis(entry: Entry): void {
    entry.started = true;
    const signal = entry.controller.signal;
    void (async () => {
      try {
        for await (const chunk of entry.source(signal)) {
          if (signal.aborted) return;
          append(entry, chunk);
          notify();
        }
      } catch (error) {
        if (!signal.aborted) entry.sourceError = { error };
      }
      entry.sourceDone = true;
      notify();
    })();
  }

  function append(entry: Entry, chunk: Uint8Array): void {
    entry.firstChunkAtMs ??= deps.now();
    const needed = entry.receivedBytes + chunk.length;
    if (needed > entry.audio.length) {
      // Doubling keeps appends linear; what was sent stays valid (views of the old buffer).
      const grown = new Uint8Array(Math.max(needed, entry.audio.length * 2, 4096));
      grown.set(entry.audio.subarray(0, entry.receivedBytes));
      entry.audio = grown;
    }
    entry.audio.set(chunk, entry.receivedBytes);
    entry.receivedBytes = needed;
  }

  /** Sends queued utterances' audio in order, one at a time. */
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      for (let entry = firstUnsent(); entry !== undefined && !paused && !closed; entry = firstUnsent()) {
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
    for (;;) {
      if (entry.cut || paused || closed) return;
      if (entry.sentBytes < entry.receivedBytes) {
        const holdMs = startHold(entry) || fillHold(entry);
        if (holdMs > 0) {
          await nextChange(holdMs);
          continue;
        }
        // Let other calls' frames through between bursts: one long sentence must not hold the
        // event loop while hundreds of concurrent calls wait for theirs.
        if (sends > 0 && sends % 8 === 0) {
          sends += 1;
          await new Promise<void>((resolve) => setImmediate(resolve));
          continue;
        }
        sends += 1;
        // What was buffered goes out in a few large pieces, not as the vendor's many small chunks.
        const end = Math.min(entry.receivedBytes, entry.sentBytes + maxChunkBytes);
        entry.utterance.firstAudioAtMs ??= deps.now();
        // Playback starts now only if nothing before it is still waiting to be heard.
        if (queue[0] === entry) entry.playingSinceMs ??= deps.now();
        const piece = entry.audio.subarray(entry.sentBytes, end);
        deps.send({ kind: 'audio', audio: entry.fadeInNext ? fadedIn(piece, deps.format, RESUME_FADE_MS) : piece });
        entry.fadeInNext = false;
        entry.sentBytes = end;
        const mark = `u${entry.utterance.id}.${nextMark++}`;
        entry.pendingMarks.set(mark, end);
        byMark.set(mark, entry);
        deps.send({ kind: 'mark', name: mark });
        continue;
      }
      if (entry.sourceDone) break;
      await nextChange();
    }
    entry.finishedSending = true;
    if (entry.sourceError !== undefined && !entry.failed) {
      entry.failed = true;
      deps.onSynthesisError?.(entry.utterance, entry.sourceError.error);
    }
    entry.resolveSent();
    for (const member of entry.group?.members ?? []) member.resolveSent();
    startWithinWindow();
    // Nothing left to hear about: text-only speech, or a failure before any audio.
    if (entry.pendingMarks.size === 0) finish(entry, !entry.failed);
  }

  /**
   * How much longer the first audio of an utterance waits before it goes out: only when its
   * playback would start from silence (nothing ahead of it still playing), while less than
   * startBufferBytes is in hand, the vendor is still sending, and startHoldMs has not passed.
   */
  function startHold(entry: Entry): number {
    if (entry.sentBytes > 0 || startBufferBytes === 0 || entry.sourceDone || entry.receivedBytes >= startBufferBytes) return 0;
    if (queue[0] !== entry || entry.firstChunkAtMs === undefined) return 0;
    return Math.max(0, entry.firstChunkAtMs + startHoldMs - deps.now());
  }

  /**
   * With over FULL_PIECES_ABOVE_LEAD_MS already queued at the caller, a partial piece waits to be
   * filled: a vendor streaming faster than real time sends small chunks, and each piece is a
   * message and a mark echoed back. Waits no longer than the lead allows (a stalled vendor's
   * audio still goes out with a second in hand).
   */
  function fillHold(entry: Entry): number {
    if (entry.sourceDone || entry.receivedBytes - entry.sentBytes >= maxChunkBytes) return 0;
    return Math.max(0, leadMs() - FULL_PIECES_ABOVE_LEAD_MS);
  }

  /** Audio handed to the transport that the caller has not played yet, as far as the marks say. */
  function leadMs(): number {
    let unplayedMs = 0;
    for (const queued of queue) unplayedMs += (queued.sentBytes - queued.ackedBytes) / perMs;
    const since = queue[0]?.playingSinceMs;
    return unplayedMs - (since === undefined ? 0 : deps.now() - since);
  }

  function finish(entry: Entry, heard: boolean): void {
    const index = queue.indexOf(entry);
    if (index >= 0) queue.splice(index, 1);
    // What was sent behind it starts playing as it ends (unless playback is paused).
    const next = queue[0];
    if (next !== undefined && next.sentBytes > 0 && !paused) next.playingSinceMs ??= deps.now();
    for (const mark of entry.pendingMarks.keys()) byMark.delete(mark);
    entry.pendingMarks.clear();
    entry.finishedSending = true;
    entry.audio = NO_AUDIO;
    entry.resolveSent();
    entry.resolvePlayed(heard);
    if (entry.group !== undefined && entry.group.members[0] === entry) {
      if (openGroup === entry.group) openGroup = undefined;
      entry.group.ended = true;
      for (const member of entry.group.members.slice(1)) {
        member.finishedSending = true;
        member.resolveSent();
        member.resolvePlayed(heard);
      }
    }
    settleIdle();
  }

  function settleIdle(): void {
    if (queue.length > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Cuts everything queued and returns, per utterance, what the caller heard: for a reply context
   * from the vendor's alignment (`heardInGroup`), for any other utterance its share of the bytes.
   */
  function cutAll(reason: string): Array<{ utterance: Utterance; heard: string }> {
    const cut: Array<{ utterance: Utterance; heard: string }> = [];
    openGroup = undefined;
    for (const entry of [...queue]) {
      entry.cut = true;
      entry.controller.abort(new Error(reason));
      if (entry.group !== undefined) {
        cut.push(...heardInGroup(entry, entry.group));
      } else {
        const heard = entry.receivedBytes === 0 ? '' : heardPrefix(entry.utterance.text, entry.ackedBytes / entry.receivedBytes);
        cut.push({ utterance: entry.utterance, heard });
      }
      finish(entry, false);
    }
    notify();
    return cut;
  }

  /** A context of the call's session when there is one, else a stream of its own. */
  async function openStream(tts: TtsProvider, signal: AbortSignal): Promise<TtsStream> {
    if (!offersSessions) return tts.open({ format: deps.format, signal });
    session ??= openSession();
    return (await session).open(signal);
  }

  /** Ends the reply being appended to, if any: its audio ends once what it was given is spoken. */
  function endOpenGroup(): void {
    const group = openGroup;
    openGroup = undefined;
    if (group === undefined || group.ended) return;
    group.ended = true;
    group.stream?.end();
  }

  /** Appends a sentence to the turn's reply context, starting one if there is none. */
  function sayInGroup(tts: TtsProvider, text: string, turn: number): Utterance {
    // Only a live reply is open: ending, finishing or cutting it clears `openGroup`.
    const current = openGroup;
    if (current !== undefined && current.turn === turn) {
      const member = enqueue(text, 'reply', turn, () => emptyAudio(), current);
      if (current.stream) current.stream.sendText(text);
      else current.pending.push(text);
      return member;
    }
    endOpenGroup();
    const group: ReplyGroup = { turn, members: [], pending: [text], stream: undefined, segments: [], ended: false };
    openGroup = group;
    return enqueue(text, 'reply', turn, (signal) => groupAudio(tts, group, signal), group);
  }

  /**
   * The reply's audio, from one context. If the connection drops part-way, the words not yet
   * spoken are sent again in a new context (once), so the caller hears the rest, not silence.
   * (A pause needs nothing from here: the carrier entry keeps every byte this yields.)
   */
  async function* groupAudio(tts: TtsProvider, group: ReplyGroup, signal: AbortSignal): AsyncIterable<Uint8Array> {
    let receivedMs = 0;
    let resent = false;
    let text = group.pending.join(' ');
    for (;;) {
      const stream = await openStream(tts, signal);
      const onAbort = (): void => stream.close();
      signal.addEventListener('abort', onAbort, { once: true });
      group.stream = stream;
      group.segments.push({ stream, startMs: receivedMs });
      for (const pending of group.pending.splice(0)) stream.sendText(pending);
      if (group.ended) stream.end();
      try {
        for await (const chunk of stream.audio) {
          if (signal.aborted) return;
          receivedMs += chunk.length / perMs;
          yield chunk;
        }
        return;
      } catch (error) {
        if (signal.aborted || resent || !(error instanceof ProviderError) || !error.retryable) throw error;
        resent = true;
        // Everything the reply was given, less what this context had already spoken.
        text = group.members.map((m) => m.utterance.text).join(' ');
        const spoken = spokenAt(group, receivedMs);
        const rest = text.split(/\s+/).slice(spoken.split(/\s+/).filter(Boolean).length).join(' ');
        group.stream = undefined;
        if (rest.trim() !== '') group.pending.push(rest);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }
  }

  /** What the reply's audio up to `audioMs` said, across the contexts it came from. */
  function spokenAt(group: ReplyGroup, audioMs: number): string {
    return group.segments
      .filter((segment) => audioMs > segment.startMs)
      .map((segment) => segment.stream.spokenWithin?.(audioMs - segment.startMs) ?? '')
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim();
  }

  /**
   * Per sentence of a reply context, the part the caller heard: the audio confirmed by the last
   * mark, plus what real-time playback since then can have covered, never audio only sent ahead.
   * After a pause nothing plays until it resumes (`playingSinceMs` is unset) and what was sent is
   * rewound to where playback stopped, so a cut while paused counts only what was heard before it.
   */
  function heardInGroup(carrier: Entry, group: ReplyGroup): Array<{ utterance: Utterance; heard: string }> {
    const ackedMs = carrier.ackedBytes / perMs;
    const sentMs = carrier.sentBytes / perMs;
    const sincePlaying = carrier.playingSinceMs === undefined ? 0 : Math.max(0, deps.now() - carrier.playingSinceMs);
    let heard = carrier.sentBytes === 0 ? '' : spokenAt(group, Math.min(sentMs, ackedMs + sincePlaying));
    return group.members.map((member) => {
      const text = member.utterance.text.replace(/\s+/g, ' ').trim();
      let part: string;
      if (heard.startsWith(text)) {
        part = text;
        heard = heard.slice(text.length).trim();
      } else {
        part = heard;
        heard = '';
      }
      return { utterance: member.utterance, heard: part };
    });
  }

  return {
    say(text, kind, turn) {
      const tts = deps.tts;
      if (tts === undefined) {
        // Text-only calls (typed harness turns): nothing to synthesise, the text is the speech.
        return enqueue(text, kind, turn, () => emptyAudio());
      }
      if (offersSessions && kind === 'reply') return sayInGroup(tts, text, turn);
      endOpenGroup();
      return enqueue(text, kind, turn, (signal) => synthesize(() => openStream(tts, signal), text, signal));
    },

    endReply(turn) {
      if (openGroup?.turn === turn) endOpenGroup();
    },

    play(audio, text, kind, turn) {
      endOpenGroup();
      return enqueue(text, kind, turn, () => once(audio));
    },

    onMark(name) {
      const entry = byMark.get(name);
      if (entry === undefined) return; // a mark of cut or paused audio, echoed back after a clear
      byMark.delete(name);
      const bytes = entry.pendingMarks.get(name) ?? 0;
      entry.pendingMarks.delete(name);
      entry.ackedBytes = Math.max(entry.ackedBytes, bytes);
      entry.playingSinceMs = deps.now();
      entry.markHeardAtMs = entry.playingSinceMs;
      if (entry.finishedSending && entry.pendingMarks.size === 0) finish(entry, !entry.failed);
    },

    interrupt() {
      const hadAudioOut = queue.some((e) => e.sentBytes > e.ackedBytes);
      const cut = cutAll('interrupted');
      paused = false;
      if (hadAudioOut) deps.send({ kind: 'clear' });
      return cut;
    },

    pause() {
      if (paused || closed) return;
      paused = true;
      let hadAudioOut = false;
      for (const entry of queue) {
        // Marks still out belong to audio the clear drops: their echoes must not count as heard.
        for (const mark of entry.pendingMarks.keys()) byMark.delete(mark);
        entry.pendingMarks.clear();
        // The caller heard up to where real-time playback since its last confirmed mark got (never
        // past what was sent): resuming from there goes on where they stopped hearing it, rather
        // than saying up to a chunk of it again. Before any mark, only what was confirmed.
        if (entry.markHeardAtMs !== undefined) {
          const played = Math.floor(((deps.now() - entry.markHeardAtMs) * perMs) / sampleBytes) * sampleBytes;
          entry.ackedBytes = Math.min(entry.sentBytes, entry.ackedBytes + Math.max(0, played));
        }
        // Nothing plays until resumed: heard at a cut in the meantime is what was heard before it.
        entry.playingSinceMs = undefined;
        entry.markHeardAtMs = undefined;
        if (entry.sentBytes > entry.ackedBytes) {
          hadAudioOut = true;
          entry.sentBytes = entry.ackedBytes;
          entry.finishedSending = false;
          // The start of an utterance rises from silence by itself; the middle of one does not.
          entry.fadeInNext = entry.sentBytes > 0;
        }
      }
      if (hadAudioOut) deps.send({ kind: 'clear' });
      notify();
    },

    resume() {
      if (!paused || closed) return;
      paused = false;
      startWithinWindow();
      notify();
      void pump();
    },

    isPaused() {
      return paused;
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
      paused = false;
      sessionController.abort(new Error('closed'));
      void session?.then(
        (opened) => opened.close(),
        () => undefined,
      );
      cutAll('closed');
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
  open: () => Promise<TtsStream>,
  text: string,
  signal: AbortSignal,
): AsyncIterable<Uint8Array> {
  const stream = await open();
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

async function* once(audio: Uint8Array): AsyncIterable<Uint8Array> {
  yield audio;
}

async function* emptyAudio(): AsyncIterable<Uint8Array> {}
