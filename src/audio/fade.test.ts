import { describe, expect, it } from 'vitest';
import { BROWSER_AUDIO, PHONE_AUDIO } from '../core/frames.js';
import { fadedIn } from './fade.js';
import { mulawToPcm16, pcm16ToMulaw } from './mulaw.js';
import { pcm16FromBytes, pcm16ToBytes } from './pcm.js';

/** A steady -12 dBFS square-ish signal, alternating sign, so every sample is loud. */
const loud = (n: number): Int16Array => Int16Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 8000 : -8000));

describe('fadedIn', () => {
  it.each([
    ['mu-law at 8 kHz', PHONE_AUDIO, (s: Int16Array) => pcm16ToMulaw(s), (b: Uint8Array) => mulawToPcm16(b)],
    ['PCM16 at 16 kHz', BROWSER_AUDIO, (s: Int16Array) => pcm16ToBytes(s), (b: Uint8Array) => pcm16FromBytes(b)],
  ] as const)('%s: rises from silence over the ramp, leaves the rest and the source untouched', (_name, format, encode, decode) => {
    const ramp = (format.sampleRate * 10) / 1000;
    const source = encode(loud(ramp * 3));
    const before = Uint8Array.from(source);
    const out = decode(fadedIn(source, format, 10));
    const original = decode(source);
    expect(Math.abs(out[0]!)).toBeLessThan(50);
    expect(Math.abs(out[ramp / 2]!)).toBeGreaterThan(Math.abs(original[ramp / 2]!) * 0.4);
    expect(Math.abs(out[ramp / 2]!)).toBeLessThan(Math.abs(original[ramp / 2]!) * 0.6);
    for (let i = 1; i < ramp; i++) expect(Math.abs(out[i]!)).toBeGreaterThanOrEqual(Math.abs(out[i - 1]!) - 1);
    expect(Array.from(out.subarray(ramp))).toEqual(Array.from(original.subarray(ramp)));
    expect(source).toEqual(before);
  });

  it('fades what there is when the audio is shorter than the ramp', () => {
    const out = mulawToPcm16(fadedIn(pcm16ToMulaw(loud(20)), PHONE_AUDIO, 10));
    expect(out).toHaveLength(20);
    expect(Math.abs(out[0]!)).toBeLessThan(50);
    expect(Math.abs(out[19]!)).toBeLessThan(8000 * 0.7);
  });
});
