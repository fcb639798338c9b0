import alawmulaw from 'alawmulaw';
import { describe, expect, it } from 'vitest';
import {
  MULAW_SILENCE,
  decodeMulawSample,
  encodeMulawSample,
  encodeMulawSampleSlow,
  mulawToPcm16,
  mulawToPcm16Bytes,
  mulawToPcm16BytesInto,
  mulawToPcm16Into,
  pcm16BytesToMulaw,
  pcm16ToMulaw,
  pcm16ToMulawInto,
} from './mulaw.js';

const ALL_CODES = Uint8Array.from({ length: 256 }, (_, i) => i);

function sweep(step: number): Int16Array {
  const values: number[] = [];
  for (let s = -32768; s <= 32767; s += step) values.push(s);
  values.push(32767, -1, 0, 1);
  return Int16Array.from(values);
}

describe('mu-law code points', () => {
  it.each([
    [0xff, 0],
    [0x7f, 0],
    [0x00, -32124],
    [0x80, 32124],
    [0xfe, 8],
    [0x7e, -8],
  ])('decodes code %i to %i', (code, sample) => {
    expect(decodeMulawSample(code)).toBe(sample);
    expect(mulawToPcm16(Uint8Array.of(code))[0]).toBe(sample);
  });

  it.each([
    [0, 0xff],
    [-1, 0x7f],
    [32767, 0x80],
    [-32768, 0x00],
  ])('encodes %i to code %i', (sample, code) => {
    expect(encodeMulawSample(sample)).toBe(code);
  });

  it('calls 0xFF silence', () => {
    expect(decodeMulawSample(MULAW_SILENCE)).toBe(0);
  });
});

describe('agreement with alawmulaw (the reference implementation)', () => {
  it('decodes all 256 codes identically', () => {
    expect(Array.from(mulawToPcm16(ALL_CODES))).toEqual(Array.from(alawmulaw.mulaw.decode(ALL_CODES)));
  });

  it('encodes every 16-bit sample identically', () => {
    const every = sweep(1);
    expect(every.length).toBeGreaterThanOrEqual(65536);
    const ours = pcm16ToMulaw(every);
    const theirs = alawmulaw.mulaw.encode(every);
    let mismatches = 0;
    for (let i = 0; i < every.length; i++) if (ours[i] !== theirs[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('the table equals the segment-search encoder it was built from', () => {
    for (let s = -32768; s <= 32767; s += 7) expect(encodeMulawSample(s)).toBe(encodeMulawSampleSlow(s));
  });
});

describe('round trip', () => {
  it('decode then encode gives back every code except negative zero', () => {
    const again = pcm16ToMulaw(mulawToPcm16(ALL_CODES));
    for (let code = 0; code < 256; code++) {
      // 0x7F decodes to 0, which encodes as the canonical zero 0xFF.
      expect(again[code]).toBe(code === 0x7f ? 0xff : code);
    }
  });

  it('encode then decode stays within half a quantisation step of the input', () => {
    const samples = sweep(3);
    const back = mulawToPcm16(pcm16ToMulaw(samples));
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      const magnitude = Math.min(Math.abs(s), 32635);
      // Segment e spans steps of 2^(e+3); the error is at most half a step (plus clipping above 32635).
      const segment = Math.max(0, 31 - Math.clz32((magnitude + 0x84) >> 7));
      const bound = (1 << (segment + 3)) / 2 + (Math.abs(s) - magnitude) + 1;
      expect(Math.abs(back[i]! - s)).toBeLessThanOrEqual(bound);
    }
  });

  it('relative error stays under 6.5% above the lowest segments', () => {
    const samples = sweep(11).filter((s) => Math.abs(s) >= 256 && Math.abs(s) <= 32000);
    const back = mulawToPcm16(pcm16ToMulaw(samples));
    for (let i = 0; i < samples.length; i++) {
      expect(Math.abs(back[i]! - samples[i]!) / Math.abs(samples[i]!)).toBeLessThan(0.065);
    }
  });
});

describe('buffer variants', () => {
  it('write into a caller buffer at an offset and report the count', () => {
    const out = new Int16Array(10);
    expect(mulawToPcm16Into(Uint8Array.of(0x00, 0x80), out, 3)).toBe(2);
    expect(Array.from(out.subarray(3, 5))).toEqual([-32124, 32124]);
    const bytes = new Uint8Array(6).fill(0xaa);
    expect(pcm16ToMulawInto(Int16Array.of(0, -1), bytes, 4)).toBe(2);
    expect(Array.from(bytes)).toEqual([0xaa, 0xaa, 0xaa, 0xaa, 0xff, 0x7f]);
  });

  it('refuse a buffer that is too small', () => {
    expect(() => mulawToPcm16Into(new Uint8Array(4), new Int16Array(3))).toThrow(RangeError);
    expect(() => pcm16ToMulawInto(new Int16Array(4), new Uint8Array(8), 5)).toThrow(RangeError);
    expect(() => mulawToPcm16BytesInto(new Uint8Array(4), new Uint8Array(7))).toThrow(RangeError);
  });

  it('convert between mu-law and PCM16 little-endian bytes directly', () => {
    const pcmBytes = mulawToPcm16Bytes(Uint8Array.of(0x00, 0x80, 0xff));
    expect(Array.from(pcmBytes)).toEqual([0x84, 0x82, 0x7c, 0x7d, 0, 0]); // -32124, 32124, 0
    expect(Array.from(pcm16BytesToMulaw(pcmBytes))).toEqual([0x00, 0x80, 0xff]);
  });

  it('read PCM16 bytes at an odd offset', () => {
    const backing = new Uint8Array(9);
    backing.set([0x84, 0x82, 0x7c, 0x7d, 0, 0, 0xff, 0xff], 1); // -32124, 32124, 0, -1
    expect(Array.from(pcm16BytesToMulaw(backing.subarray(1)))).toEqual([0x00, 0x80, 0xff, 0x7f]);
    expect(() => pcm16BytesToMulaw(backing.subarray(0, 3))).toThrow(/even byte count/);
  });
});
