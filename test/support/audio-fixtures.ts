/**
 * Synthetic audio for STT tests: "speech" loud enough for an energy detector in every 20 ms
 * window, and digital silence, in either wire format. Deterministic (no Math.random), so a failing
 * test replays exactly. src/audio owns the real codecs; this keeps its own tiny mu-law encoder so
 * test fixtures do not depend on the code under test.
 */
import { concatBytes } from '../../src/audio/pcm.js';
import type { AudioFormat } from '../../src/core/frames.js';

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

/** G.711 mu-law encoding of one 16-bit sample. */
export function encodeMulawSample(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  if (s > MULAW_CLIP) s = MULAW_CLIP;
  s += MULAW_BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; exponent--, mask >>= 1);
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function bytesPerMs(format: AudioFormat): number {
  const bytesPerSample = format.encoding === 'mulaw' ? 1 : 2;
  return (format.sampleRate * bytesPerSample) / 1000;
}

function encode(samples: Float64Array, format: AudioFormat): Uint8Array {
  if (format.encoding === 'mulaw') return Uint8Array.from(samples, encodeMulawSample);
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  samples.forEach((s, i) => view.setInt16(i * 2, Math.max(-32768, Math.min(32767, Math.round(s))), true));
  return out;
}

/**
 * A voice-band mix (a few partials between 300 and 2600 Hz, a slow syllable-rate wobble and a
 * little noise), peaking near -8 dBFS. Its RMS stays far above any sensible speech threshold in
 * every 20 ms window, so detectors see one continuous utterance.
 */
export function speechLike(ms: number, format: AudioFormat): Uint8Array {
  const n = Math.round((format.sampleRate * ms) / 1000);
  const samples = new Float64Array(n);
  const partials = [310, 720, 1350, 2550];
  let seed = 0x2545f491;
  for (let i = 0; i < n; i++) {
    const t = i / format.sampleRate;
    // Never below 60 % loudness: a dip to zero would read as a pause and split the utterance.
    const envelope = 0.8 + 0.2 * Math.sin(2 * Math.PI * 4 * t);
    let value = 0;
    for (const f of partials) value += Math.sin(2 * Math.PI * f * t) / partials.length;
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const noise = seed / 0xffffffff - 0.5;
    samples[i] = 12000 * envelope * (value + 0.15 * noise);
  }
  return encode(samples, format);
}

export function silence(ms: number, format: AudioFormat): Uint8Array {
  const n = Math.round((format.sampleRate * ms) / 1000);
  return encode(new Float64Array(n), format);
}

export function concatAudio(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

/** Splits audio into frames of `frameMs` (20 ms, what Twilio sends), the last one possibly shorter. */
export function toFrames(audio: Uint8Array, format: AudioFormat, frameMs = 20): Uint8Array[] {
  const size = Math.round(bytesPerMs(format) * frameMs);
  const frames: Uint8Array[] = [];
  for (let offset = 0; offset < audio.length; offset += size) frames.push(audio.subarray(offset, offset + size));
  return frames;
}
