import { describe, expect, it } from 'vitest';
import { createFrameSplitter, createOpusDecoder, createOpusEncoder, OPUS_FRAME_BYTES, OPUS_FRAME_SAMPLES } from './opus.js';
import { pcm16FromBytes, pcm16ToBytes, rms } from './pcm.js';

function tone(frequency: number, samples: number, amplitude = 8000, rate = 16_000, phase = 0): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * frequency * (i + phase)) / rate)));
}

/** Zero crossings per second: a crude but codec-proof measure of pitch. */
function crossingsPerSecond(samples: Int16Array, rate = 16_000): number {
  let n = 0;
  for (let i = 1; i < samples.length; i++) if ((samples[i - 1]! < 0) !== (samples[i]! < 0)) n++;
  return n / (samples.length / rate);
}

describe('opus glue', () => {
  it('round-trips speech-band audio at 16 kHz: level and pitch survive', () => {
    const encoder = createOpusEncoder();
    const decoder = createOpusDecoder();
    const input = tone(440, OPUS_FRAME_SAMPLES * 50);
    const decoded: Int16Array[] = [];
    for (let f = 0; f < 50; f++) {
      const frame = pcm16ToBytes(input.subarray(f * OPUS_FRAME_SAMPLES, (f + 1) * OPUS_FRAME_SAMPLES));
      const packet = encoder.encode(frame);
      // 24 kb/s is 60 bytes a frame; a packet this size is compressed audio, not PCM.
      expect(packet.length).toBeLessThan(200);
      const pcm = decoder.decode(packet);
      expect(pcm.length).toBe(OPUS_FRAME_BYTES);
      decoded.push(pcm16FromBytes(pcm));
    }
    // Past the codec's start-up delay.
    const steady = Int16Array.from(decoded.slice(10).flatMap((f) => [...f]));
    expect(rms(steady)).toBeGreaterThan(rms(input) * 0.7);
    expect(rms(steady)).toBeLessThan(rms(input) * 1.3);
    expect(crossingsPerSecond(steady)).toBeGreaterThan(860);
    expect(crossingsPerSecond(steady)).toBeLessThan(900);
    encoder.close();
    decoder.close();
  });

  it('hands out packets and PCM that the next call does not overwrite (no copy of our own is made)', () => {
    const encoder = createOpusEncoder();
    const decoder = createOpusDecoder();
    const packets = [300, 300, 300].map((f, i) => encoder.encode(pcm16ToBytes(tone(f, OPUS_FRAME_SAMPLES, 8000, 16_000, i * OPUS_FRAME_SAMPLES))));
    const pcm = packets.map((p) => decoder.decode(p));
    const kept = { packet: Uint8Array.from(packets[2]!), pcm: Uint8Array.from(pcm[2]!) };
    expect(rms(pcm16FromBytes(kept.pcm))).toBeGreaterThan(1000);
    const silencePacket = encoder.encode(new Uint8Array(OPUS_FRAME_BYTES));
    decoder.decode(silencePacket);
    decoder.decode(silencePacket);
    expect(packets[2]).toEqual(kept.packet);
    expect(pcm[2]).toEqual(kept.pcm);
    encoder.close();
    decoder.close();
  });

  it('refuses a frame of the wrong size and a corrupt packet with a clear error', () => {
    const encoder = createOpusEncoder();
    const decoder = createOpusDecoder();
    expect(() => encoder.encode(new Uint8Array(100))).toThrow(/640 bytes/);
    expect(() => decoder.decode(new Uint8Array(0))).toThrow(/empty packet/);
    // TOC byte of a code-3 packet claiming 63 frames with no payload: invalid per RFC 6716.
    expect(() => decoder.decode(Uint8Array.from([0xff, 0xff]))).toThrow();
    // The decoder still works after a bad packet.
    const pcm = decoder.decode(encoder.encode(pcm16ToBytes(tone(300, OPUS_FRAME_SAMPLES))));
    expect(pcm.length).toBe(OPUS_FRAME_BYTES);
    encoder.close();
    decoder.close();
  });
});

describe('frame splitter', () => {
  it('cuts any chunking into whole 20 ms frames and pads the tail with silence', () => {
    const splitter = createFrameSplitter();
    const bytes = Uint8Array.from({ length: OPUS_FRAME_BYTES * 2 + 100 }, (_, i) => (i % 250) + 1);
    const frames = [...splitter.push(bytes.subarray(0, 333)), ...splitter.push(bytes.subarray(333))];
    expect(frames).toHaveLength(2);
    expect(frames[1]).toEqual(bytes.subarray(OPUS_FRAME_BYTES, 2 * OPUS_FRAME_BYTES));
    expect(splitter.pending).toBe(100);
    const tail = splitter.flush()!;
    expect(tail.length).toBe(OPUS_FRAME_BYTES);
    expect(tail.subarray(0, 100)).toEqual(bytes.subarray(2 * OPUS_FRAME_BYTES));
    expect(tail.subarray(100).every((b) => b === 0)).toBe(true);
    expect(splitter.flush()).toBeUndefined();
  });
});
