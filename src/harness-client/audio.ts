/**
 * Audio for the CLI harness: any WAV we can read, as the 16 kHz mono PCM16 the harness socket
 * takes; and a playback clock that says when audio sent to a (real or pretend) speaker has played,
 * which is when a mark after it may be echoed.
 */
import { createFractionalResampler } from '../audio/fractional-resample.js';
import { mulawToPcm16 } from '../audio/mulaw.js';
import { pcm16FromBytes, pcm16ToBytes } from '../audio/pcm.js';
import { decodeWav } from '../audio/wav.js';
import { HARNESS_SAMPLE_RATE } from './protocol.js';

/** A WAV file (PCM16 or mu-law, any rate, any channels) as 16 kHz mono PCM16 little-endian bytes. */
export function wavToHarnessAudio(file: Uint8Array): Uint8Array {
  const wav = decodeWav(file);
  const samples = wav.format.encoding === 'mulaw' ? mulawToPcm16(wav.data) : pcm16FromBytes(wav.data);
  if (wav.sampleRate === HARNESS_SAMPLE_RATE) return pcm16ToBytes(samples);
  const resampler = createFractionalResampler(wav.sampleRate, HARNESS_SAMPLE_RATE);
  // A little silence pushes the last input samples through the resampler's filter.
  const tail = new Int16Array(Math.ceil(wav.sampleRate / 100));
  const body = resampler.process(samples);
  const flushed = resampler.process(tail);
  const out = new Int16Array(body.length + flushed.length);
  out.set(body);
  out.set(flushed, body.length);
  return pcm16ToBytes(out);
}

/** `bytes` cut into frames of `frameBytes` (the last one padded with silence). */
export function toFrames(bytes: Uint8Array, frameBytes: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += frameBytes) {
    const frame = new Uint8Array(frameBytes);
    frame.set(bytes.subarray(offset, Math.min(bytes.length, offset + frameBytes)));
    frames.push(frame);
  }
  return frames;
}

export interface PlaybackClock {
  /** Audio of this many bytes (16 kHz PCM16) was handed to the speaker. */
  played(bytes: number): void;
  /** Calls `echo` once everything handed over so far has played (at once when not real-time). */
  mark(name: string, echo: (name: string) => void): void;
  /** The caller barged in: queued audio is dropped, and marks after it are never echoed. */
  clear(): void;
  /** True when nothing handed over is still playing. */
  idle(): boolean;
  dispose(): void;
}

export function createPlaybackClock(options: { realTime: boolean; now?: () => number }): PlaybackClock {
  const now = options.now ?? (() => performance.now());
  const bytesPerMs = (HARNESS_SAMPLE_RATE * 2) / 1000;
  let playhead = now();
  const timers = new Set<NodeJS.Timeout>();
  return {
    played(bytes) {
      playhead = Math.max(playhead, now()) + bytes / bytesPerMs;
    },
    mark(name, echo) {
      if (!options.realTime) {
        echo(name);
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        echo(name);
      }, Math.max(0, playhead - now()));
      timers.add(timer);
    },
    clear() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      playhead = now();
    },
    idle() {
      return !options.realTime || playhead <= now();
    },
    dispose() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
