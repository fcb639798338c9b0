import { describe, expect, it } from 'vitest';
import { rms } from './pcm.js';
import {
  createDownsampler,
  createResampler,
  createUpsampler,
  designDecimationFilter,
  downsample16kTo8k,
  resample,
  upsample8kTo16k,
} from './resample.js';

function sine(frequency: number, sampleRate: number, length: number, amplitude = 10000): Int16Array {
  return Int16Array.from({ length }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate)));
}

/** Amplitude of the component at `frequency` (a single-bin DFT), skipping the filter's warm-up. */
function amplitudeAt(samples: Int16Array, frequency: number, sampleRate: number, skip = 64): number {
  let re = 0;
  let im = 0;
  const n = samples.length - skip;
  for (let i = skip; i < samples.length; i++) {
    const phase = (2 * Math.PI * frequency * i) / sampleRate;
    re += samples[i]! * Math.cos(phase);
    im += samples[i]! * Math.sin(phase);
  }
  return (2 * Math.hypot(re, im)) / n;
}

/** Zero crossings per second / 2: the frequency of a clean tone. */
function zeroCrossingFrequency(samples: Int16Array, sampleRate: number, skip = 64): number {
  let crossings = 0;
  for (let i = skip + 1; i < samples.length; i++) if ((samples[i - 1]! < 0) !== (samples[i]! < 0)) crossings++;
  return (crossings / 2) * (sampleRate / (samples.length - skip - 1));
}

function inChunks(process: (chunk: Int16Array) => Int16Array, input: Int16Array, sizes: number[]): Int16Array {
  const parts: Int16Array[] = [];
  let offset = 0;
  for (let k = 0; offset < input.length; k++) {
    const size = sizes[k % sizes.length]!;
    parts.push(process(input.subarray(offset, offset + size)));
    offset += size;
  }
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('lengths', () => {
  it.each([
    [8000, 16000, 160, 320],
    [16000, 8000, 320, 160],
    [16000, 8000, 321, 161],
    [8000, 24000, 160, 480],
    [48000, 16000, 960, 320],
    [8000, 8000, 160, 160],
  ])('%i -> %i Hz: %i samples become %i', (from, to, n, expected) => {
    expect(resample(new Int16Array(n), from, to).length).toBe(expected);
  });

  it('rejects a ratio that is not an integer either way', () => {
    expect(() => createResampler(16000, 24000)).toThrow(/integer ratio/);
    expect(() => createResampler(44100, 16000)).toThrow(/integer ratio/);
    expect(() => createResampler(0, 16000)).toThrow(RangeError);
    expect(() => createUpsampler(1.5)).toThrow(RangeError);
  });
});

describe('upsampling 8 kHz -> 16 kHz', () => {
  it('interpolates halfway points and lands on each input sample', () => {
    const out = upsample8kTo16k(Int16Array.of(100, 300, -100));
    // Starts from silence: the first output is halfway from 0.
    expect(Array.from(out)).toEqual([50, 100, 200, 300, 100, -100]);
  });

  it('keeps a 1 kHz sine at 1 kHz and its amplitude', () => {
    const out = upsample8kTo16k(sine(1000, 8000, 8000));
    expect(zeroCrossingFrequency(out, 16000)).toBeCloseTo(1000, -1);
    expect(amplitudeAt(out, 1000, 16000) / 10000).toBeGreaterThan(0.93);
    expect(rms(out)).toBeGreaterThan(0.93 * (10000 / Math.SQRT2));
  });

  it('general factor 3 (8 kHz -> 24 kHz)', () => {
    expect(Array.from(resample(Int16Array.of(300, 0), 8000, 24000))).toEqual([100, 200, 300, 200, 100, 0]);
  });
});

describe('downsampling 16 kHz -> 8 kHz', () => {
  it('keeps a 1 kHz sine at 1 kHz and its amplitude', () => {
    const out = downsample16kTo8k(sine(1000, 16000, 16000));
    expect(out.length).toBe(8000);
    expect(zeroCrossingFrequency(out, 8000)).toBeCloseTo(1000, -1);
    expect(amplitudeAt(out, 1000, 8000) / 10000).toBeCloseTo(1, 1);
  });

  it('passes DC at unity gain', () => {
    const out = downsample16kTo8k(new Int16Array(800).fill(1234));
    expect(Array.from(out.subarray(100))).toEqual(new Array(300).fill(1234));
  });

  it('attenuates a 6 kHz tone instead of folding it onto 2 kHz', () => {
    const out = downsample16kTo8k(sine(6000, 16000, 16000));
    // Plain decimation would put a full-amplitude alias at 2 kHz.
    expect(amplitudeAt(out, 2000, 8000) / 10000).toBeLessThan(0.01);
  });

  it('stays in range on a full-scale square wave (the filter rings)', () => {
    const square = Int16Array.from({ length: 1600 }, (_, i) => (Math.floor(i / 40) % 2 === 0 ? 32767 : -32768));
    const out = downsample16kTo8k(square);
    expect(Math.max(...out)).toBeLessThanOrEqual(32767);
    expect(Math.min(...out)).toBeGreaterThanOrEqual(-32768);
  });

  it('has a symmetric filter with unity DC gain', () => {
    const taps = designDecimationFilter(2);
    expect(taps.length).toBe(33);
    expect(taps.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (let i = 0; i < taps.length; i++) expect(taps[i]).toBeCloseTo(taps[taps.length - 1 - i]!, 12);
  });
});

describe('streaming equals one-shot', () => {
  const speechLike = Int16Array.from(
    { length: 4801 },
    (_, i) => Math.round(6000 * Math.sin(i / 7) + 3000 * Math.sin(i / 2.3) + ((i * 7919) % 2001) - 1000),
  );

  it.each([
    ['up x2', 8000, 16000],
    ['up x3', 8000, 24000],
    ['down /2', 16000, 8000],
    ['down /3', 48000, 16000],
  ])('%s with uneven chunks', (_name, from, to) => {
    const oneShot = resample(speechLike, from, to);
    for (const sizes of [[160], [1], [7, 1, 33, 2, 500], [319, 321], [4801]]) {
      const streamer = createResampler(from, to);
      expect(inChunks((c) => streamer.process(c), speechLike, sizes)).toEqual(oneShot);
    }
  });

  it('processInto matches process and honours outputLength', () => {
    const streamer = createDownsampler(2);
    const reference = createDownsampler(2);
    const out = new Int16Array(400);
    let offset = 0;
    for (const size of [3, 5, 160, 1, 1, 30]) {
      const chunk = speechLike.subarray(offset, offset + size);
      offset += size;
      const expected = reference.process(chunk);
      expect(streamer.outputLength(chunk.length)).toBe(expected.length);
      const count = streamer.processInto(chunk, out, 10);
      expect(out.subarray(10, 10 + count)).toEqual(expected);
    }
  });

  it('reset starts a new stream', () => {
    const streamer = createUpsampler(2);
    const first = streamer.process(Int16Array.of(500, 700));
    streamer.process(Int16Array.of(-3000));
    streamer.reset();
    expect(streamer.process(Int16Array.of(500, 700))).toEqual(first);
    const down = createDownsampler(2);
    const a = down.process(speechLike.subarray(0, 99));
    down.process(speechLike.subarray(0, 50));
    down.reset();
    expect(down.process(speechLike.subarray(0, 99))).toEqual(a);
  });

  it('a chunk boundary does not click: the seam is as smooth as the rest', () => {
    const tone = sine(440, 8000, 1600);
    const streamer = createUpsampler(2);
    const joined = inChunks((c) => streamer.process(c), tone, [160]);
    let maxStep = 0;
    for (let i = 1; i < joined.length; i++) maxStep = Math.max(maxStep, Math.abs(joined[i]! - joined[i - 1]!));
    // A 440 Hz sine of amplitude 10000 at 16 kHz moves at most 2*pi*440/16000*10000 ~ 1728 a sample.
    expect(maxStep).toBeLessThan(1800);
  });
});
