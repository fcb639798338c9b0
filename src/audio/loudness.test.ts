import { describe, expect, it } from 'vitest';
import { encodedRms } from './loudness.js';
import { pcm16ToMulaw } from './mulaw.js';
import { pcm16ToBytes, rms } from './pcm.js';

function tone(amplitude: number, samples = 160): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / 8000)));
}

describe('encodedRms', () => {
  it('matches the RMS of the decoded samples for PCM16 bytes, negative samples included', () => {
    const samples = tone(12_000);
    expect(encodedRms(pcm16ToBytes(samples), 'linear16')).toBeCloseTo(rms(samples), 6);
  });

  it('is within mu-law quantisation of the original RMS for mu-law bytes, and 0 for silence', () => {
    const samples = tone(3_000);
    expect(Math.abs(encodedRms(pcm16ToMulaw(samples), 'mulaw') - rms(samples)) / rms(samples)).toBeLessThan(0.03);
    expect(encodedRms(new Uint8Array(160).fill(0xff), 'mulaw')).toBe(0);
    expect(encodedRms(new Uint8Array(0), 'mulaw')).toBe(0);
  });
});
