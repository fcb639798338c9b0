import { describe, expect, it } from 'vitest';
import { BROWSER_AUDIO, PHONE_AUDIO } from '../core/frames.js';
import { pcm16ToMulaw } from './mulaw.js';
import { pcm16FromBytes, pcm16ToBytes } from './pcm.js';
import { WavError, decodeWav, encodeWav } from './wav.js';

function ascii(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + 4));
}

/** A hand-built WAV: fmt fields as given, then the chunks listed. */
function buildWav(fmt: { code: number; channels: number; rate: number; bits: number; extra?: Uint8Array }, data: Uint8Array, before: Array<[string, Uint8Array]> = []): Uint8Array {
  const fmtBody = new Uint8Array(16 + (fmt.extra?.length ?? 0));
  const fv = new DataView(fmtBody.buffer);
  fv.setUint16(0, fmt.code, true);
  fv.setUint16(2, fmt.channels, true);
  fv.setUint32(4, fmt.rate, true);
  fv.setUint32(8, (fmt.rate * fmt.channels * fmt.bits) / 8, true);
  fv.setUint16(12, (fmt.channels * fmt.bits) / 8, true);
  fv.setUint16(14, fmt.bits, true);
  if (fmt.extra) fmtBody.set(fmt.extra, 16);
  const chunks: Array<[string, Uint8Array]> = [['fmt ', fmtBody], ...before, ['data', data]];
  const size = 12 + chunks.reduce((n, [, body]) => n + 8 + body.length + (body.length & 1), 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  const put = (o: number, s: string) => [...s].forEach((c, i) => (out[o + i] = c.charCodeAt(0)));
  put(0, 'RIFF');
  v.setUint32(4, size - 8, true);
  put(8, 'WAVE');
  let o = 12;
  for (const [id, body] of chunks) {
    put(o, id);
    v.setUint32(o + 4, body.length, true);
    out.set(body, o + 8);
    o += 8 + body.length + (body.length & 1);
  }
  return out;
}

const samples = Int16Array.from({ length: 321 }, (_, i) => Math.round(12000 * Math.sin(i / 5)));

describe('encodeWav', () => {
  it('writes a canonical 44-byte PCM16 header', () => {
    const wav = encodeWav(samples, BROWSER_AUDIO);
    const v = new DataView(wav.buffer);
    expect(wav.length).toBe(44 + samples.length * 2);
    expect([ascii(wav, 0), ascii(wav, 8), ascii(wav, 12), ascii(wav, 36)]).toEqual(['RIFF', 'WAVE', 'fmt ', 'data']);
    expect(v.getUint32(4, true)).toBe(wav.length - 8);
    expect(v.getUint16(20, true)).toBe(1);
    expect(v.getUint16(22, true)).toBe(1);
    expect(v.getUint32(24, true)).toBe(16000);
    expect(v.getUint32(28, true)).toBe(32000);
    expect(v.getUint16(32, true)).toBe(2);
    expect(v.getUint16(34, true)).toBe(16);
    expect(v.getUint32(40, true)).toBe(samples.length * 2);
    expect(v.getInt16(44 + 2 * 10, true)).toBe(samples[10]);
  });

  it('writes mu-law as format 7 with cbSize and a fact chunk, padded to an even size', () => {
    const mulaw = pcm16ToMulaw(samples); // 321 bytes: odd
    const wav = encodeWav(mulaw, PHONE_AUDIO);
    const v = new DataView(wav.buffer);
    expect(v.getUint16(20, true)).toBe(7);
    expect(v.getUint16(34, true)).toBe(8);
    expect(v.getUint32(16, true)).toBe(18);
    expect(ascii(wav, 38)).toBe('fact');
    expect(v.getUint32(46, true)).toBe(321);
    expect(ascii(wav, 50)).toBe('data');
    expect(v.getUint32(54, true)).toBe(321);
    expect(wav.length % 2).toBe(0);
    expect(v.getUint32(4, true)).toBe(wav.length - 8);
  });

  it('rejects samples with a mu-law format and odd PCM16 bytes', () => {
    expect(() => encodeWav(samples, PHONE_AUDIO)).toThrow(/encode them to mu-law first/);
    expect(() => encodeWav(new Uint8Array(3), BROWSER_AUDIO)).toThrow(/even byte count/);
  });
});

describe('decodeWav', () => {
  it('round-trips PCM16 given as samples or as bytes', () => {
    const fromSamples = decodeWav(encodeWav(samples, BROWSER_AUDIO));
    expect(fromSamples).toEqual({ format: BROWSER_AUDIO, sampleRate: 16000, channels: 1, data: pcm16ToBytes(samples) });
    expect(pcm16FromBytes(decodeWav(encodeWav(pcm16ToBytes(samples), BROWSER_AUDIO)).data)).toEqual(samples);
  });

  it('round-trips mu-law (odd length, through the pad byte)', () => {
    const mulaw = pcm16ToMulaw(samples);
    expect(decodeWav(encodeWav(mulaw, PHONE_AUDIO))).toEqual({ format: PHONE_AUDIO, sampleRate: 8000, channels: 1, data: mulaw });
  });

  it('reads a file held at an odd offset inside a larger buffer', () => {
    const wav = encodeWav(samples, BROWSER_AUDIO);
    const backing = new Uint8Array(wav.length + 3);
    backing.set(wav, 1);
    expect(pcm16FromBytes(decodeWav(backing.subarray(1, 1 + wav.length)).data)).toEqual(samples);
  });

  it('skips unknown chunks (LIST, odd-sized) before the data', () => {
    const data = pcm16ToBytes(Int16Array.of(1, 2, 3));
    const wav = buildWav({ code: 1, channels: 1, rate: 8000, bits: 16 }, data, [['LIST', new Uint8Array(5)], ['junk', new Uint8Array(2)]]);
    expect(decodeWav(wav).data).toEqual(data);
  });

  it('downmixes stereo PCM16 by averaging and reports the file had two channels', () => {
    const interleaved = pcm16ToBytes(Int16Array.of(100, 300, -32768, -32768, 32767, 32767, 5, -6));
    const decoded = decodeWav(buildWav({ code: 1, channels: 2, rate: 16000, bits: 16 }, interleaved));
    expect(decoded.channels).toBe(2);
    expect(decoded.format).toEqual(BROWSER_AUDIO);
    expect(Array.from(pcm16FromBytes(decoded.data))).toEqual([200, -32768, 32767, 0]);
  });

  it('downmixes stereo mu-law', () => {
    const left = pcm16ToMulaw(Int16Array.of(1000, -8000));
    const right = pcm16ToMulaw(Int16Array.of(1000, 8000));
    const interleaved = Uint8Array.of(left[0]!, right[0]!, left[1]!, right[1]!);
    const decoded = decodeWav(buildWav({ code: 7, channels: 2, rate: 8000, bits: 8 }, interleaved));
    expect(decoded.channels).toBe(2);
    expect(Array.from(decoded.data)).toEqual([left[0], 0xff]);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE wrapping PCM', () => {
    const extra = new Uint8Array(24);
    const ev = new DataView(extra.buffer);
    ev.setUint16(0, 22, true); // cbSize
    ev.setUint16(2, 16, true); // valid bits
    ev.setUint32(4, 4, true); // channel mask
    ev.setUint16(8, 1, true); // SubFormat GUID starts with the real format code
    const data = pcm16ToBytes(Int16Array.of(42, -42));
    expect(decodeWav(buildWav({ code: 0xfffe, channels: 1, rate: 24000, bits: 16, extra }, data))).toMatchObject({
      format: { encoding: 'linear16', sampleRate: 24000 },
      data,
    });
  });

  it('reads up to the end of the file when the data size was never patched', () => {
    const wav = encodeWav(Int16Array.of(1, 2, 3), BROWSER_AUDIO);
    new DataView(wav.buffer).setUint32(40, 0xffffffff, true);
    expect(Array.from(pcm16FromBytes(decodeWav(wav).data))).toEqual([1, 2, 3]);
    // And a truncated last sample is dropped rather than misread.
    expect(Array.from(pcm16FromBytes(decodeWav(wav.subarray(0, wav.length - 1)).data))).toEqual([1, 2]);
  });

  it.each([
    ['empty input', new Uint8Array(0), 'not_wav', /not a WAV file/],
    ['an MP3', Uint8Array.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 'not_wav', /no RIFF\/WAVE header/],
    ['a RIFX file', new TextEncoder().encode('RIFX\0\0\0\0WAVE'), 'not_wav', /big-endian/],
    ['8-bit PCM', buildWav({ code: 1, channels: 1, rate: 8000, bits: 8 }, new Uint8Array(4)), 'unsupported_format', /PCM, 8-bit/],
    ['float', buildWav({ code: 3, channels: 1, rate: 16000, bits: 32 }, new Uint8Array(8)), 'unsupported_format', /IEEE float/],
    ['A-law', buildWav({ code: 6, channels: 1, rate: 8000, bits: 8 }, new Uint8Array(4)), 'unsupported_format', /A-law.*supported are 16-bit PCM and 8-bit mu-law/],
    ['no data chunk', encodeWav(new Int16Array(2), BROWSER_AUDIO).subarray(0, 36), 'malformed', /no data chunk/],
    ['a short fmt chunk', new Uint8Array([...new TextEncoder().encode('RIFF\0\0\0\0WAVEfmt '), 4, 0, 0, 0, 1, 0, 1, 0]), 'malformed', /fmt chunk is 4 bytes/],
  ])('rejects %s with a clear error', (_name, bytes, code, message) => {
    let caught: unknown;
    try {
      decodeWav(bytes);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WavError);
    expect((caught as WavError).code).toBe(code);
    expect((caught as WavError).message).toMatch(message);
  });
});
