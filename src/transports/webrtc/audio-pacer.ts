/**
 * Agent audio onto a WebRTC track in real time: one 20 ms Opus packet every 20 ms, never ahead.
 * Twilio and the harness page buffer at the far end and are told to `clear` on a barge-in; a peer
 * connection has no such command, and audio already handed over would play on. So the queue stays
 * here, and a barge-in (clear) drops it at once: the caller hears at most what was in flight.
 *
 * Marks stand in for the far end's "played up to here": a mark is reported once every frame before
 * it has been sent and a playout allowance (the network and the browser's jitter buffer) has passed.
 * A clear cancels marks still inside that allowance, so what counts as heard after a barge-in is
 * what had been sent less the allowance, as with Twilio's marks.
 */
import { createFrameSplitter, OPUS_FRAME_BYTES, OPUS_FRAME_MS, OPUS_FRAME_TICKS } from '../../audio/opus.js';

export interface PacerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface AudioPacerDeps {
  /** Encodes one 20 ms PCM16 frame. */
  encode(frame: Uint8Array): Uint8Array;
  /** Puts one packet on the wire; `marker` opens a talkspurt (RFC 3551), timestamps on the Opus clock. */
  sendPacket(payload: Uint8Array, timestamp: number, marker: boolean): void;
  /** Everything before the mark has been played at the far end (as far as we can tell). */
  onMarkPlayed(name: string): void;
  /** Network plus jitter buffer: how long after sending a frame it counts as heard (default 100 ms). */
  playoutAllowanceMs?: number;
  clock?: PacerClock;
}

export interface AudioPacer {
  /** Queues PCM16 16 kHz audio of any length. */
  push(pcm: Uint8Array): void;
  /** Reports `name` once everything queued before it has been heard. */
  mark(name: string): void;
  /** Drops all queued audio and unreported marks (barge-in). */
  clear(): void;
  /** PCM bytes waiting to be sent. */
  queuedBytes(): number;
  close(): void;
}

const DEFAULT_PLAYOUT_ALLOWANCE_MS = 100;
/** After a stall (a blocked event loop) at most this much is sent at once to catch up; the rest of the deficit is forgiven. */
const MAX_CATCH_UP_MS = 60;

const REAL_CLOCK: PacerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

type Item = { frame: Uint8Array } | { mark: string };

export function createAudioPacer(deps: AudioPacerDeps): AudioPacer {
  const clock = deps.clock ?? REAL_CLOCK;
  const allowanceMs = deps.playoutAllowanceMs ?? DEFAULT_PLAYOUT_ALLOWANCE_MS;
  const splitter = createFrameSplitter();
  const queue: Item[] = [];
  let queuedFrames = 0;
  let timer: unknown;
  const markTimers = new Set<unknown>();
  let closed = false;
  /** When the next frame is due (process ms); earlier than now means idle. */
  let nextDueAt = -Infinity;
  /** When the last frame sent has finished playing (before the allowance). */
  let playedUntil = -Infinity;
  let timestamp = Math.floor(Math.random() * 0x7fffffff);
  let talkspurt = true;

  function schedule(): void {
    if (timer !== undefined || closed || queue.length === 0) return;
    const now = clock.now();
    if (nextDueAt < now) {
      // Idle until now (a timer is always set while frames wait, so a past due time means the queue ran dry).
      const gapFrames = nextDueAt === -Infinity ? 0 : Math.floor((now - nextDueAt) / OPUS_FRAME_MS);
      if (gapFrames > 0) {
        // The timestamp moves on by the silence, so the receiver plays it as a gap, not a rush.
        timestamp = (timestamp + gapFrames * OPUS_FRAME_TICKS) >>> 0;
        talkspurt = true;
      }
      nextDueAt = now;
    }
    // The first frame of a talkspurt goes at once: a timer would add its own delay to every reply.
    if (nextDueAt <= now) tick();
    else timer = clock.setTimeout(tick, nextDueAt - now);
  }

  function reportAt(name: string, atMs: number): void {
    const handle = clock.setTimeout(() => {
      markTimers.delete(handle);
      if (!closed) deps.onMarkPlayed(name);
    }, Math.max(0, atMs - clock.now()));
    markTimers.add(handle);
  }

  function tick(): void {
    timer = undefined;
    if (closed) return;
    const now = clock.now();
    if (nextDueAt < now - MAX_CATCH_UP_MS) nextDueAt = now - MAX_CATCH_UP_MS;
    while (queue.length > 0) {
      const head = queue[0]!;
      if ('mark' in head) {
        queue.shift();
        reportAt(head.mark, Math.max(playedUntil, now) + allowanceMs);
        continue;
      }
      if (nextDueAt > now + 1) break;
      queue.shift();
      queuedFrames -= 1;
      deps.sendPacket(deps.encode(head.frame), timestamp, talkspurt);
      talkspurt = false;
      timestamp = (timestamp + OPUS_FRAME_TICKS) >>> 0;
      playedUntil = Math.max(nextDueAt, now - OPUS_FRAME_MS) + OPUS_FRAME_MS;
      nextDueAt += OPUS_FRAME_MS;
    }
    schedule();
  }

  return {
    push(pcm) {
      if (closed || pcm.length === 0) return;
      for (const frame of splitter.push(pcm)) {
        queue.push({ frame });
        queuedFrames += 1;
      }
      schedule();
    },
    mark(name) {
      if (closed) return;
      // The audio before a mark goes out whole: a partial frame is completed with silence.
      const tail = splitter.flush();
      if (tail !== undefined) {
        queue.push({ frame: tail });
        queuedFrames += 1;
      }
      queue.push({ mark: name });
      if (timer === undefined) tick();
    },
    clear() {
      queue.length = 0;
      queuedFrames = 0;
      splitter.reset();
      for (const handle of markTimers) clock.clearTimeout(handle);
      markTimers.clear();
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    },
    queuedBytes() {
      return queuedFrames * OPUS_FRAME_BYTES + splitter.pending;
    },
    close() {
      this.clear();
      closed = true;
    },
  };
}
