import { describe, expect, it } from 'vitest';
import { createFractionalResampler, designLowPass, resampleAny } from './fractional-resample.js';

function sine(frequency: number, sampleRate: number, length: number, amplitude = 10000): Int16Array {
  return Int16Array.from({ length }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate)));
}

/** Amplitude of the component at `frequency` (a single-bin DFT), after the filter's warm-up. */
function amplitudeAt(samples: Int16Array, frequency: number, sampleRate: number, skip = 200): number {
  let re = 0;
  let im = 0;
  for (let i = skip; i < samples.length; i++) {
    const phase = (2 * Math.PI * frequency * i) / sampleRate;
    re += samples[i]! * Math.cos(phase);
    im += samples[i]! * Math.sin(phase);
  }
  return (2 * Math.hypot(re, im)) / (samples.length - skip);
}

describe('fractional resampler', () => {
  it.each([
    { from: 22050, to: 8000 },
    { from: 22050, to: 16000 },
    { from: 8000, to: 22050 },
    { from: 44100, to: 16000 },
    { from: 16000, to: 16000 },
  ])('keeps the duration: $from -> $to', ({ from, to }) => {
    const out = resampleAny(new Int16Array(from), from, to);
    // Causal: the outputs after the last input sample come with the next chunk.
    expect(Math.abs(out.length - to)).toBeLessThanOrEqual(3);
  });

  it.each([
    { from: 22050, to: 8000, tone: 1000 },
    { from: 22050, to: 16000, tone: 3000 },
    { from: 8000, to: 22050, tone: 1000 },
  ])('passes a $tone Hz tone at full level: $from -> $to', ({ from, to, tone }) => {
    const out = resampleAny(sine(tone, from, from), from, to);
    expect(amplitudeAt(out, tone, to)).toBeGreaterThan(9000);
    expect(amplitudeAt(out, tone, to)).toBeLessThan(10500);
  });

  it('filters out what would alias: a 6 kHz tone is gone at 8 kHz, not folded onto 2 kHz', () => {
    const out = resampleAny(sine(6000, 22050, 22050), 22050, 8000);
    expect(amplitudeAt(out, 2000, 8000)).toBeLessThan(100);
  });

  it('gives the same samples whether the stream comes whole or in odd-sized chunks', () => {
    const input = sine(700, 22050, 5000);
    const whole = resampleAny(input, 22050, 8000);
    const streaming = createFractionalResampler(22050, 8000);
    const parts: Int16Array[] = [];
    const sizes = [1, 7, 160, 441, 3, 1000];
    for (let offset = 0, k = 0; offset < input.length; k++) {
      const size = sizes[k % sizes.length]!;
      parts.push(streaming.process(input.subarray(offset, offset + size)));
      offset += size;
    }
    const joined = Int16Array.from(parts.flatMap((p) => [...p]));
    expect(joined).toEqual(whole);
  });

  it('starts over after reset', () => {
    const resampler = createFractionalResampler(22050, 16000);
    const input = sine(440, 22050, 2205);
    const first = resampler.process(input);
    resampler.reset();
    expect(resampler.process(input)).toEqual(first);
  });

  it('rejects bad rates and cut-offs', () => {
    expect(() => createFractionalResampler(0, 8000)).toThrow(RangeError);
    expect(() => designLowPass(0.6)).toThrow(RangeError);
    const taps = designLowPass(0.2);
    expect(taps.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
  });
});
