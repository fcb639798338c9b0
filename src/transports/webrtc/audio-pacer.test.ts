import { describe, expect, it } from 'vitest';
import { OPUS_FRAME_BYTES, OPUS_FRAME_TICKS } from '../../audio/opus.js';
import { createAudioPacer } from './audio-pacer.js';
import type { PacerClock } from './audio-pacer.js';

/** A clock whose time moves only when the test says. */
function manualClock(): PacerClock & { advance(ms: number): void } {
  let now = 1_000;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (due === undefined) break;
        timers.delete(due[0]);
        now = Math.max(now, due[1].at);
        due[1].fn();
      }
      now = end;
    },
  };
}

function setup(allowance = 100) {
  const clock = manualClock();
  const sent: Array<{ at: number; timestamp: number; marker: boolean; first: number }> = [];
  const marks: Array<{ at: number; name: string }> = [];
  const pacer = createAudioPacer({
    encode: (frame) => frame.subarray(0, 1),
    sendPacket: (payload, timestamp, marker) => sent.push({ at: clock.now(), timestamp, marker, first: payload[0]! }),
    onMarkPlayed: (name) => marks.push({ at: clock.now(), name }),
    playoutAllowanceMs: allowance,
    clock,
  });
  return { clock, sent, marks, pacer };
}

const frames = (n: number, fill = 1) => new Uint8Array(OPUS_FRAME_BYTES * n).fill(fill);

describe('audio pacer', () => {
  it('sends one frame per 20 ms, never ahead of real time, with continuous timestamps', () => {
    const { clock, sent, pacer } = setup();
    pacer.push(frames(10));
    expect(sent).toHaveLength(1);
    clock.advance(100);
    expect(sent).toHaveLength(6);
    clock.advance(1_000);
    expect(sent).toHaveLength(10);
    expect(sent.map((s) => s.at - sent[0]!.at)).toEqual([0, 20, 40, 60, 80, 100, 120, 140, 160, 180]);
    expect(sent.slice(1).every((s, i) => s.timestamp === (sent[i]!.timestamp + OPUS_FRAME_TICKS) >>> 0)).toBe(true);
    expect(sent.map((s) => s.marker)).toEqual([true, false, false, false, false, false, false, false, false, false]);
    expect(pacer.queuedBytes()).toBe(0);
  });

  it('reports a mark once the audio before it was sent and the playout allowance passed', () => {
    const { clock, marks, pacer } = setup(100);
    pacer.push(frames(5));
    pacer.mark('m1');
    clock.advance(99);
    expect(marks).toEqual([]);
    // Five frames play until t+100; heard at t+200.
    clock.advance(100);
    expect(marks).toEqual([]);
    clock.advance(1);
    expect(marks).toEqual([{ at: 1_200, name: 'm1' }]);
  });

  it('a clear stops the audio at once and drops marks still inside the allowance', () => {
    const { clock, sent, marks, pacer } = setup(100);
    pacer.push(frames(10));
    pacer.mark('first');
    pacer.push(frames(10, 2));
    pacer.mark('second');
    clock.advance(250);
    // first: frames end at +200, heard at +300; nothing reported yet.
    expect(marks).toEqual([]);
    pacer.clear();
    const sentAtClear = sent.length;
    clock.advance(2_000);
    expect(sent.length).toBe(sentAtClear);
    expect(marks).toEqual([]);
    expect(pacer.queuedBytes()).toBe(0);
  });

  it('completes a partial frame with silence before a mark and opens a new talkspurt after a gap', () => {
    const { clock, sent, marks, pacer } = setup(50);
    pacer.push(new Uint8Array(OPUS_FRAME_BYTES + 10).fill(3));
    pacer.mark('end');
    clock.advance(500);
    expect(sent).toHaveLength(2);
    expect(marks.map((m) => m.name)).toEqual(['end']);
    const before = sent[1]!.timestamp;
    pacer.push(frames(1));
    expect(sent[2]!.marker).toBe(true);
    // The silence moved the clock on: the receiver plays a gap rather than rushing.
    expect(((sent[2]!.timestamp - before) >>> 0) / OPUS_FRAME_TICKS).toBeGreaterThan(20);
  });

  it('after a stall sends a short burst and forgives the rest', () => {
    const { clock, sent, pacer } = setup();
    pacer.push(frames(50));
    // A timer that fires 1 s late (the event loop was blocked): at most 60 ms are caught up at once.
    const real = clock.now;
    let skew = 0;
    clock.now = () => real() + skew;
    skew = 1_000;
    clock.advance(20);
    expect(sent.length).toBeLessThanOrEqual(5);
  });
});
