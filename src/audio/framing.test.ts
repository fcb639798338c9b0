import { describe, expect, it } from 'vitest';
import { BROWSER_AUDIO, PHONE_AUDIO } from '../core/frames.js';
import { createFramer, frameBytesFor } from './framing.js';

function ramp(length: number, start = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (start + i) % 251);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('frameBytesFor', () => {
  it.each([
    [PHONE_AUDIO, 20, 160],
    [BROWSER_AUDIO, 20, 640],
    [PHONE_AUDIO, 10, 80],
    [BROWSER_AUDIO, 100, 3200],
  ])('%o, %i ms -> %i bytes', (format, ms, bytes) => {
    expect(frameBytesFor(format, ms)).toBe(bytes);
    expect(createFramer(format, ms).frameBytes).toBe(bytes);
  });

  it('rejects a frame too short for one sample', () => {
    expect(() => createFramer(PHONE_AUDIO, 0.1)).toThrow(/holds no samples/);
  });
});

describe('Framer', () => {
  it('cuts chunks of any size into whole 20 ms frames and carries the rest', () => {
    const framer = createFramer(PHONE_AUDIO);
    expect(framer.push(ramp(100))).toEqual([]);
    expect(framer.pendingBytes).toBe(100);
    const frames = framer.push(ramp(400, 100));
    expect(frames.map((f) => f.length)).toEqual([160, 160, 160]);
    expect(concat(frames)).toEqual(ramp(480));
    expect(framer.pendingBytes).toBe(20);
    expect(framer.flush()).toEqual(ramp(20, 480));
    expect(framer.pendingBytes).toBe(0);
    expect(framer.flush()).toBeNull();
  });

  it('gives the same bytes whatever the chunking', () => {
    const input = ramp(640 * 7 + 123);
    for (const sizes of [[1], [639], [640], [641], [3, 1000, 17], [input.length]]) {
      const framer = createFramer(BROWSER_AUDIO);
      const frames: Uint8Array[] = [];
      for (let offset = 0, k = 0; offset < input.length; k++) {
        const size = sizes[k % sizes.length]!;
        frames.push(...framer.push(input.subarray(offset, offset + size)));
        offset += size;
      }
      expect(frames.every((f) => f.length === 640)).toBe(true);
      expect(frames.length).toBe(7);
      const rest = framer.flush();
      expect(concat([...frames, rest ?? new Uint8Array(0)])).toEqual(input);
    }
  });

  it('returns frames that own their memory', () => {
    const framer = createFramer(PHONE_AUDIO);
    const chunk = ramp(320);
    const frames = framer.push(chunk);
    chunk.fill(0);
    expect(frames[0]).toEqual(ramp(160));
    expect(frames[0]!.buffer).not.toBe(chunk.buffer);
    // A frame built from the carry is not overwritten by the next carry either.
    framer.push(ramp(100));
    const [joined] = framer.push(ramp(60, 100));
    framer.push(ramp(100, 7));
    expect(joined).toEqual(ramp(160));
  });

  it('pads the remainder with the format silence on request', () => {
    const phone = createFramer(PHONE_AUDIO);
    phone.push(Uint8Array.of(1, 2, 3));
    const padded = phone.flush({ pad: true })!;
    expect(padded.length).toBe(160);
    expect(Array.from(padded.subarray(0, 4))).toEqual([1, 2, 3, 0xff]);
    expect(padded.subarray(3).every((b) => b === 0xff)).toBe(true);

    const browser = createFramer(BROWSER_AUDIO);
    browser.push(Uint8Array.of(9, 9));
    const pcm = browser.flush({ pad: true })!;
    expect(pcm.length).toBe(640);
    expect(pcm.subarray(2).every((b) => b === 0)).toBe(true);
  });

  it('reset drops the remainder', () => {
    const framer = createFramer(PHONE_AUDIO);
    framer.push(ramp(150));
    framer.reset();
    expect(framer.pendingBytes).toBe(0);
    expect(framer.push(ramp(160, 50))).toEqual([ramp(160, 50)]);
    expect(framer.flush()).toBeNull();
  });

  it('ignores empty chunks', () => {
    const framer = createFramer(PHONE_AUDIO);
    expect(framer.push(new Uint8Array(0))).toEqual([]);
    framer.push(ramp(10));
    expect(framer.push(new Uint8Array(0))).toEqual([]);
    expect(framer.pendingBytes).toBe(10);
  });
});
