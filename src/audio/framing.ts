/**
 * Fixed-size framing: audio arrives in chunks of any size (a TTS stream, a browser's
 * ScriptProcessor, a WAV file) and leaves in frames of a fixed duration, which is what Twilio
 * paces playback by and what VAD and STT expect. The remainder of one chunk is carried into the next.
 */
import type { AudioFormat } from '../core/frames.js';
import { MULAW_SILENCE } from './mulaw.js';
import { bytesForMs } from './pcm.js';

export const DEFAULT_FRAME_MS = 20;

export interface Framer {
  /** Bytes in a whole frame: 160 for 20 ms of mu-law 8 kHz, 640 for 20 ms of linear16 16 kHz. */
  readonly frameBytes: number;
  /** Bytes carried over, waiting for the rest of their frame. */
  readonly pendingBytes: number;
  /** The whole frames now complete (each a new buffer the caller owns); the rest is carried. */
  push(chunk: Uint8Array): Uint8Array[];
  /**
   * The carried remainder, or null if there is none. `pad: true` fills it out to a whole frame
   * with the format's silence (0xFF for mu-law, 0 for PCM16), for sinks that only take whole frames.
   */
  flush(options?: { pad?: boolean }): Uint8Array | null;
  /** Drop the remainder (a barge-in: what was queued will not be played). */
  reset(): void;
}

/** Bytes in one frame of `frameMs` in this format; throws if that is not a whole, positive number of samples. */
export function frameBytesFor(format: AudioFormat, frameMs: number = DEFAULT_FRAME_MS): number {
  const bytes = bytesForMs(frameMs, format);
  if (bytes <= 0) throw new RangeError(`frame of ${frameMs} ms at ${format.sampleRate} Hz holds no samples`);
  return bytes;
}

/** A framer for `format` cutting frames of `frameMs` (default 20 ms). */
export function createFramer(format: AudioFormat, frameMs: number = DEFAULT_FRAME_MS): Framer {
  const frameBytes = frameBytesFor(format, frameMs);
  const silence = format.encoding === 'mulaw' ? MULAW_SILENCE : 0;
  // Only ever holds less than one frame; allocated once.
  const carry = new Uint8Array(frameBytes);
  let carried = 0;

  function push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let offset = 0;
    if (carried > 0) {
      const take = Math.min(frameBytes - carried, chunk.length);
      carry.set(chunk.subarray(0, take), carried);
      carried += take;
      offset = take;
      if (carried < frameBytes) return frames;
      frames.push(carry.slice());
      carried = 0;
    }
    // Frames are copies, not views of `chunk`: a view would pin the caller's (often much larger,
    // often pooled) buffer for as long as the frame sits in a playback queue.
    while (chunk.length - offset >= frameBytes) {
      frames.push(chunk.slice(offset, offset + frameBytes));
      offset += frameBytes;
    }
    if (offset < chunk.length) {
      carry.set(chunk.subarray(offset), 0);
      carried = chunk.length - offset;
    }
    return frames;
  }

  function flush(options: { pad?: boolean } = {}): Uint8Array | null {
    if (carried === 0) return null;
    let out: Uint8Array;
    if (options.pad === true) {
      out = new Uint8Array(frameBytes);
      out.set(carry.subarray(0, carried));
      out.fill(silence, carried);
    } else {
      out = carry.slice(0, carried);
    }
    carried = 0;
    return out;
  }

  return {
    frameBytes,
    get pendingBytes() {
      return carried;
    },
    push,
    flush,
    reset() {
      carried = 0;
    },
  };
}
