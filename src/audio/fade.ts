/**
 * A fade-in on audio as it travels (mu-law bytes or PCM16 little-endian bytes). Speech that starts
 * again mid-word (a paused reply resuming) jumps from silence to the middle of a waveform, which
 * the caller hears as a click; a few milliseconds of ramp hide the edge without hiding the word.
 */
import type { AudioFormat } from '../core/frames.js';
import { decodeMulawSample, encodeMulawSample } from './mulaw.js';

/** A copy of `audio` whose first `ms` rise from silence to full level (raised cosine); the rest as it was. */
export function fadedIn(audio: Uint8Array, format: AudioFormat, ms: number): Uint8Array {
  const out = Uint8Array.from(audio);
  const mulaw = format.encoding === 'mulaw';
  const bytesPerSample = mulaw ? 1 : 2;
  const rampSamples = Math.round((format.sampleRate * ms) / 1000);
  const samples = Math.min(rampSamples, Math.floor(audio.length / bytesPerSample));
  for (let i = 0; i < samples; i++) {
    const gain = 0.5 - 0.5 * Math.cos((Math.PI * i) / rampSamples);
    if (mulaw) {
      out[i] = encodeMulawSample(Math.round(decodeMulawSample(audio[i]!) * gain));
    } else {
      const b = i * 2;
      const sample = Math.round(((((audio[b]! | (audio[b + 1]! << 8)) << 16) >> 16) * gain)) & 0xffff;
      out[b] = sample & 0xff;
      out[b + 1] = sample >> 8;
    }
  }
  return out;
}
