/**
 * A transport for session tests: records every outbound frame and plays audio back the way a
 * phone would, acknowledging each mark once the audio before it has "played" (at `speed` times
 * real time, so tests stay fast while ordering stays realistic). A clear drops unplayed marks
 * (Twilio instead echoes them at once; the session ignores marks of cut speech either way).
 */
import type { AudioFormat, OutboundFrame, SessionEvent } from '../../src/core/frames.js';
import type { SessionTransport } from '../../src/pipeline/call-session.js';

export interface TestTransport extends SessionTransport {
  readonly frames: OutboundFrame[];
  readonly events: SessionEvent[];
  hungUp: boolean;
  transfers: Array<string | undefined>;
  /** Playback speed from now on (1 = real time). */
  setSpeed(speed: number): void;
  /** Connects the transport to the session's mark handler. */
  attach(onMark: (name: string) => void): void;
  audioBytes(): number;
  /** Resolves when `predicate` holds over the recorded events (polling, bounded). */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
}

export function createTestTransport(format: AudioFormat, options: { speed?: number; transferNumber?: string } = {}): TestTransport {
  let speed = options.speed ?? 20;
  const bytesPerMs = (format.sampleRate * (format.encoding === 'mulaw' ? 1 : 2)) / 1000;
  const frames: OutboundFrame[] = [];
  const events: SessionEvent[] = [];
  let onMark: ((name: string) => void) | undefined;
  let playheadMs = performance.now();
  let generation = 0;

  const transport: TestTransport = {
    format,
    frames,
    events,
    hungUp: false,
    transfers: [],
    setSpeed(value) {
      speed = value;
    },
    attach(handler) {
      onMark = handler;
    },
    send(frame) {
      frames.push(frame);
      if (frame.kind === 'event') events.push(frame.event);
      if (frame.kind === 'audio') {
        playheadMs = Math.max(playheadMs, performance.now()) + frame.audio.length / bytesPerMs / speed;
      } else if (frame.kind === 'mark') {
        const at = generation;
        const delay = Math.max(0, playheadMs - performance.now());
        setTimeout(() => {
          if (at === generation) onMark?.(frame.name);
        }, delay);
      } else if (frame.kind === 'clear') {
        generation += 1;
        playheadMs = performance.now();
      }
    },
    async hangup() {
      transport.hungUp = true;
    },
    async transfer(reason) {
      transport.transfers.push(reason);
      return options.transferNumber
        ? { transferred: true, message: 'Transferring you now.' }
        : { transferred: false, message: 'Someone from the shop will call you back shortly.' };
    },
    audioBytes() {
      return frames.reduce((n, f) => n + (f.kind === 'audio' ? f.audio.length : 0), 0);
    },
    async waitFor(predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
  return transport;
}
