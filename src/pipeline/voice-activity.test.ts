import { describe, expect, it } from 'vitest';
import { BROWSER_AUDIO, PHONE_AUDIO } from '../core/frames.js';
import type { AudioFormat } from '../core/frames.js';
import type { VadStream } from '../providers/vad.js';
import { concatAudio, encodeMulawSample, silence, speechLike, toFrames } from '../../test/support/audio-fixtures.js';
import { decodeMulawSample } from '../audio/mulaw.js';
import { createVoiceActivity } from './voice-activity.js';
import type { VadWindow } from './voice-activity.js';

/** A VAD stream that answers each window with the next scripted probability, after a delay. */
function fakeVad(windowSamples: number, probabilities: (index: number) => number, delayMs = 0) {
  const asked: Float32Array[] = [];
  let resets = 0;
  let failWith: Error | undefined;
  const stream: VadStream = {
    windowSamples,
    async probability(window) {
      asked.push(window);
      const index = asked.length - 1;
      // Later windows answer sooner: the verdicts must still come out in order.
      if (delayMs > 0) await new Promise((r) => setTimeout(r, Math.max(0, delayMs - index)));
      if (failWith !== undefined) throw failWith;
      return probabilities(index);
    },
    reset: () => void (resets += 1),
    close: () => undefined,
  };
  return { stream, asked, resets: () => resets, fail: (error: Error) => void (failWith = error) };
}

/** A tone at RMS `rms` (of 32768): 70 is about -53 dBFS, under the foreground gate, over the floor. */
function tone(ms: number, format: AudioFormat, rms: number): Uint8Array {
  const n = Math.round((format.sampleRate * ms) / 1000);
  const sample = (i: number): number => Math.round(rms * Math.SQRT2 * Math.sin((2 * Math.PI * 440 * i) / format.sampleRate));
  if (format.encoding === 'mulaw') return Uint8Array.from({ length: n }, (_, i) => encodeMulawSample(sample(i)));
  const out = new Uint8Array(n * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) view.setInt16(i * 2, sample(i), true);
  return out;
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 60));
}

describe.each([PHONE_AUDIO, BROWSER_AUDIO])('voice activity ($encoding)', (format) => {
  const windowSamples = format.sampleRate === 8000 ? 256 : 512;
  const windowMs = (windowSamples * 1000) / format.sampleRate;

  it('remembers when voice was last heard, and ignores silence after it', () => {
    const voice = createVoiceActivity({ format });
    expect(voice.lastVoiceAtMs()).toBeUndefined();
    toFrames(silence(200, format), format).forEach((frame, i) => voice.push(frame, i * 20));
    expect(voice.lastVoiceAtMs()).toBeUndefined();
    toFrames(speechLike(200, format), format).forEach((frame, i) => voice.push(frame, 1000 + i * 20));
    toFrames(silence(200, format), format).forEach((frame, i) => voice.push(frame, 2000 + i * 20));
    expect(voice.lastVoiceAtMs()).toBe(1000 + 9 * 20);
  });

  it('says how long the line has carried nothing loud enough to be the caller, by the audio and by the clock', () => {
    const voice = createVoiceActivity({ format });
    expect(voice.quietForMs(1_000)).toBe(0);
    toFrames(silence(1_000, format), format).forEach((frame, i) => voice.push(frame, i * 20));
    expect(voice.quietForMs(1_000)).toBe(1_000);
    // A voice far behind the caller (-44 dBFS) is not loud enough; the caller's (-21 dBFS) is.
    toFrames(tone(200, format, 200), format).forEach((frame, i) => voice.push(frame, 1_000 + i * 20));
    expect(voice.quietForMs(1_200)).toBe(1_200);
    toFrames(tone(20, format, 3000), format).forEach((frame) => voice.push(frame, 1_200));
    expect(voice.quietForMs(1_200)).toBe(0);
    toFrames(silence(500, format), format).forEach((frame, i) => voice.push(frame, 1_220 + i * 20));
    expect(voice.quietForMs(1_700)).toBe(500);
    // Audio that arrives after a stall is as much quiet as it carries, not as long as the stall.
    voice.push(silence(20, format), 5_000);
    expect(voice.quietForMs(5_000)).toBe(520);
  });

  it('ignores empty chunks', () => {
    const voice = createVoiceActivity({ format });
    voice.push(new Uint8Array(0), 5);
    expect(voice.lastVoiceAtMs()).toBeUndefined();
  });

  it('gives the model each window as the audio scaled to -1..1, in a buffer of its own', async () => {
    const vad = fakeVad(windowSamples, () => 0, 20);
    const voice = createVoiceActivity({ format, vad: vad.stream });
    // Quiet windows between the loud ones: the buffer they were gathered in is filled again.
    const audio = concatAudio(tone(windowMs, format, 3000), silence(windowMs, format), tone(windowMs, format, 6000));
    toFrames(audio, format).forEach((frame, i) => voice.push(frame, i * 20));
    await settle();
    expect(vad.asked).toHaveLength(2);
    const expected = (windowIndex: number): number[] => {
      const bytes = audio.subarray(windowIndex * windowSamples * (format.encoding === 'mulaw' ? 1 : 2));
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      return Array.from({ length: windowSamples }, (_, i) =>
        format.encoding === 'mulaw' ? decodeMulawSample(bytes[i]!) / 32768 : view.getInt16(i * 2, true) / 32768,
      );
    };
    expect(Array.from(vad.asked[0]!)).toEqual(expected(0).map(Math.fround));
    expect(Array.from(vad.asked[1]!)).toEqual(expected(2).map(Math.fround));
  });

  it('asks the model about loud windows only, and reports every window in order with Silero hysteresis', async () => {
    // 0.9, 0.4 (still speech: above 0.35 once started), 0.2, 0.4 (still: a dip of one window does
    // not end the stretch), then 0 0 0 0 (ended) and 0.4 (not speech: below 0.5 to start)
    const probabilities = [0.9, 0.4, 0.2, 0.4, 0, 0, 0, 0, 0.4];
    const vad = fakeVad(windowSamples, (i) => probabilities[i] ?? 0, 20);
    const windows: VadWindow[] = [];
    const voice = createVoiceActivity({ format, vad: vad.stream, onWindow: (w) => windows.push(w) });
    const loud = toFrames(speechLike(windowMs * 9, format), format);
    loud.forEach((frame, i) => voice.push(frame, i * 20));
    toFrames(silence(windowMs * 2, format), format).forEach((frame, i) => voice.push(frame, 1000 + i * 20));
    await settle();
    expect(vad.asked).toHaveLength(9);
    expect(voice.inferences()).toBe(9);
    expect(windows.map((w) => [w.probability, w.speech])).toEqual([
      [0.9, true],
      [0.4, true],
      [0.2, false],
      [0.4, true],
      [0, false],
      [0, false],
      [0, false],
      [0, false],
      [0.4, false],
      [0, false],
      [0, false],
    ]);
    expect(windows.every((w) => w.durationMs === windowMs)).toBe(true);
    // Each window is stamped with the arrival of the chunk that completed it.
    expect(windows[0]!.atMs).toBe(Math.floor((windowMs - 1) / 20) * 20);
  });

  it('judges quiet windows just after loud speech (a closure inside a word), and takes them for speech only when the model is sure', async () => {
    // Asked: the 3 loud windows, then the first 3 quiet ones after them (0.9 speech, 0.7 not, 0.9
    // speech); not the quiet windows before any speech, nor those further on, nor silence.
    const probabilities = [0.9, 0.9, 0.9, 0.9, 0.7, 0.9];
    const vad = fakeVad(windowSamples, (i) => probabilities[i] ?? 0.9);
    const windows: VadWindow[] = [];
    const voice = createVoiceActivity({ format, vad: vad.stream, onWindow: (w) => windows.push(w) });
    const audio = concatAudio(
      tone(windowMs * 2, format, 70),
      speechLike(windowMs * 3, format),
      tone(windowMs * 5, format, 70),
      silence(windowMs, format),
    );
    toFrames(audio, format).forEach((frame, i) => voice.push(frame, i * 20));
    await settle();
    expect(vad.asked).toHaveLength(6);
    expect(windows.map((w) => w.speech)).toEqual([false, false, true, true, true, true, false, true, false, false, false]);
  });

  it('says which windows carry sound above the line\'s silence, whether the model calls them speech or not', async () => {
    // A -53 dBFS hiss (an "s" said quietly) is sound; -66 dBFS (line noise) and silence are not.
    const vad = fakeVad(windowSamples, () => 0.9);
    const windows: VadWindow[] = [];
    const voice = createVoiceActivity({ format, vad: vad.stream, onWindow: (w) => windows.push(w) });
    const audio = concatAudio(silence(windowMs, format), tone(windowMs * 2, format, 16), tone(windowMs * 2, format, 70), speechLike(windowMs * 2, format));
    toFrames(audio, format).forEach((frame, i) => voice.push(frame, i * 20));
    await settle();
    expect(windows.map((w) => [w.audible, w.speech])).toEqual([
      [false, false],
      [false, false],
      [false, false],
      [true, false],
      [true, false],
      [true, true],
      [true, true],
    ]);
  });

  it('spends nothing while not wanted, and starts the model afresh when wanted again', async () => {
    let wanted = false;
    const vad = fakeVad(windowSamples, () => 0.9);
    const windows: VadWindow[] = [];
    const voice = createVoiceActivity({ format, vad: vad.stream, wanted: () => wanted, onWindow: (w) => windows.push(w) });
    const frames = toFrames(speechLike(windowMs * 3, format), format);
    frames.forEach((frame, i) => voice.push(frame, i * 20));
    await settle();
    expect(vad.asked).toHaveLength(0);
    expect(windows).toEqual([]);
    wanted = true;
    frames.forEach((frame, i) => voice.push(frame, 500 + i * 20));
    await settle();
    expect(vad.asked).toHaveLength(3);
    expect(vad.resets()).toBe(1);
    expect(windows.every((w) => w.speech)).toBe(true);
  });

  it('reports a failing model once, then goes on without it', async () => {
    const vad = fakeVad(windowSamples, () => 0.9);
    const errors: unknown[] = [];
    const windows: VadWindow[] = [];
    const voice = createVoiceActivity({ format, vad: vad.stream, onWindow: (w) => windows.push(w), onError: (e) => errors.push(e) });
    vad.fail(new Error('model gone'));
    toFrames(speechLike(windowMs * 3, format), format).forEach((frame, i) => voice.push(frame, i * 20));
    await settle();
    toFrames(speechLike(windowMs * 3, format), format).forEach((frame, i) => voice.push(frame, 500 + i * 20));
    await settle();
    expect(errors).toHaveLength(1);
    expect(windows.every((w) => !w.speech)).toBe(true);
    expect(vad.asked).toHaveLength(3);
    expect(voice.lastVoiceAtMs()).toBe(500 + (toFrames(speechLike(windowMs * 3, format), format).length - 1) * 20);
  });
});
