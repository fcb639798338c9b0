/**
 * Loudness of audio as it travels (mu-law bytes or PCM16 little-endian bytes), without decoding it
 * into a new buffer: a 20 ms phone frame costs one table lookup per sample.
 */
import type { AudioFormat } from '../core/frames.js';
import { decodeMulawSample } from './mulaw.js';

/** Squared amplitude of each mu-law byte. */
const MULAW_ENERGY = Float64Array.from({ length: 256 }, (_, code) => decodeMulawSample(code) ** 2);

/** RMS of the audio in sample units (0..32768); 0 for no samples. */
export function encodedRms(audio: Uint8Array, encoding: AudioFormat['encoding']): number {
  let sum = 0;
  let n: number;
  if (encoding === 'mulaw') {
    n = audio.length;
    for (let i = 0; i < n; i++) sum += MULAW_ENERGY[audio[i]!]!;
  } else {
    n = audio.length >> 1;
    for (let i = 0, b = 0; i < n; i++, b += 2) {
      const s = ((audio[b]! | (audio[b + 1]! << 8)) << 16) >> 16;
      sum += s * s;
    }
  }
  return n === 0 ? 0 : Math.sqrt(sum / n);
}
