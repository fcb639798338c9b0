import { describe, expect, it } from 'vitest';
import { BROWSER_AUDIO, PHONE_AUDIO } from '../core/frames.js';
import {
  bytesForMs,
  bytesPerMs,
  createSampleAligner,
  bytesPerSample,
  durationMs,
  pcm16FromBytes,
  pcm16FromBytesInto,
  pcm16ToBytes,
  pcm16ToBytesInto,
  rms,
  rmsDbfs,
} from './pcm.js';

describe('PCM16 bytes <-> samples', () => {
  it('reads little-endian pairs', () => {
    const samples = pcm16FromBytes(Uint8Array.of(0x01, 0x00, 0xff, 0xff, 0x00, 0x80, 0xff, 0x7f));
    expect(Array.from(samples)).toEqual([1, -1, -32768, 32767]);
  });

  it('writes little-endian pairs', () => {
    expect(Array.from(pcm16ToBytes(Int16Array.of(1, -1, -32768, 32767)))).toEqual([1, 0, 0xff, 0xff, 0, 0x80, 0xff, 0x7f]);
  });

  it('reads from an odd byte offset (a Buffer pool slice)', () => {
    const backing = new ArrayBuffer(11);
    const bytes = new Uint8Array(backing, 3, 6);
    bytes.set([0x34, 0x12, 0xcc, 0xed, 0x00, 0x00]);
    expect(Array.from(pcm16FromBytes(bytes))).toEqual([0x1234, -0x1234, 0]);
    expect(Array.from(pcm16FromBytes(Buffer.from(bytes)))).toEqual([0x1234, -0x1234, 0]);
  });

  it('writes samples that are a subarray, into an odd offset', () => {
    const samples = Int16Array.of(7, 0x1234, -2, 9).subarray(1, 3);
    const out = new Uint8Array(7);
    expect(pcm16ToBytesInto(samples, out, 3)).toBe(4);
    expect(Array.from(out)).toEqual([0, 0, 0, 0x34, 0x12, 0xfe, 0xff]);
  });

  it('round-trips, and the result does not alias the input', () => {
    const samples = Int16Array.from({ length: 500 }, (_, i) => (i * 263) % 65536 - 32768);
    const bytes = pcm16ToBytes(samples);
    const back = pcm16FromBytes(bytes);
    expect(back).toEqual(samples);
    bytes[0] = 0x55;
    expect(back[0]).toBe(samples[0]);
  });

  it('fills a caller buffer at an offset', () => {
    const out = new Int16Array(4);
    expect(pcm16FromBytesInto(Uint8Array.of(2, 0, 3, 0), out, 2)).toBe(2);
    expect(Array.from(out)).toEqual([0, 0, 2, 3]);
  });

  it('rejects an odd byte count and a short output', () => {
    expect(() => pcm16FromBytes(new Uint8Array(3))).toThrow(/even byte count/);
    expect(() => pcm16FromBytesInto(new Uint8Array(4), new Int16Array(2), 1)).toThrow(RangeError);
    expect(() => pcm16ToBytesInto(new Int16Array(2), new Uint8Array(3))).toThrow(RangeError);
  });
});

describe('rms', () => {
  it('is 0 for silence and for no samples', () => {
    expect(rms(new Int16Array(0))).toBe(0);
    expect(rms(new Int16Array(160))).toBe(0);
    expect(rmsDbfs(new Int16Array(160))).toBe(-Infinity);
  });

  it('is the amplitude for a square wave and amplitude/sqrt(2) for a sine', () => {
    expect(rms(Int16Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 1000 : -1000)))).toBe(1000);
    const sine = Int16Array.from({ length: 16000 }, (_, i) => Math.round(10000 * Math.sin((2 * Math.PI * 440 * i) / 16000)));
    expect(rms(sine)).toBeCloseTo(10000 / Math.SQRT2, -1);
    expect(rmsDbfs(sine)).toBeCloseTo(20 * Math.log10(10000 / Math.SQRT2 / 32768), 1);
  });
});

describe('sizes and durations', () => {
  it.each([
    ['phone', PHONE_AUDIO, 1, 8, 160],
    ['browser', BROWSER_AUDIO, 2, 32, 640],
  ] as const)('%s audio', (_name, format, perSample, perMs, per20ms) => {
    expect(bytesPerSample(format)).toBe(perSample);
    expect(bytesPerMs(format)).toBe(perMs);
    expect(bytesForMs(20, format)).toBe(per20ms);
    expect(durationMs(per20ms, format)).toBe(20);
    expect(durationMs(new Uint8Array(per20ms * 50), format)).toBe(1000);
  });

  it('rounds down to whole samples', () => {
    expect(bytesForMs(1, { encoding: 'linear16', sampleRate: 11025 })).toBe(22);
    expect(bytesForMs(10, { encoding: 'linear16', sampleRate: 44100 })).toBe(882);
    expect(durationMs(1, { encoding: 'mulaw', sampleRate: 8000 })).toBe(0.125);
  });
});

describe('createSampleAligner', () => {
  it('hands on whole 16-bit samples only, holding an odd byte for the next chunk until reset', () => {
    const aligner = createSampleAligner();
    expect([...aligner.align(Uint8Array.of(1, 2, 3))]).toEqual([1, 2]);
    expect([...aligner.align(Uint8Array.of(4, 5, 6))]).toEqual([3, 4, 5, 6]);
    expect([...aligner.align(Uint8Array.of(7))]).toEqual([]);
    aligner.reset();
    expect([...aligner.align(Uint8Array.of(8, 9))]).toEqual([8, 9]);
  });
});
