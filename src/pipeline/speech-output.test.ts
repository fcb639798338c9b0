import { describe, expect, it, vi } from 'vitest';
import { PHONE_AUDIO } from '../core/frames.js';
import type { OutboundFrame } from '../core/frames.js';
import { createScriptedTts } from '../../test/support/fakes/scripted-tts.js';
import { encodedRms } from '../audio/loudness.js';
import { createSpeechOutput, heardPrefix } from './speech-output.js';

/** Resumed speech fades in over 10 ms: 80 bytes of phone audio. */
const FADE_BYTES = 80;

interface HarnessOptions {
  firstByteDelayMs?: number;
  interChunkDelayMs?: number;
  withTts?: boolean;
  maxChunkBytes?: number;
  startBufferMs?: number;
  startHoldMs?: number;
  now?: () => number;
}

function harness(options: HarnessOptions = {}) {
  const tts = createScriptedTts({
    msPerChar: 10,
    chunkMs: 100,
    firstByteDelayMs: options.firstByteDelayMs ?? 0,
    interChunkDelayMs: options.interChunkDelayMs ?? 0,
  });
  const sent: OutboundFrame[] = [];
  const sentAt: number[] = [];
  const errors: unknown[] = [];
  const speech = createSpeechOutput({
    tts: options.withTts === false ? undefined : tts,
    format: PHONE_AUDIO,
    now: options.now ?? (() => performance.now()),
    send: (frame) => {
      sent.push(frame);
      sentAt.push(performance.now());
    },
    onSynthesisError: (_u, error) => errors.push(error),
    maxChunkBytes: options.maxChunkBytes ?? 400,
    startBufferMs: options.startBufferMs ?? 0,
    startHoldMs: options.startHoldMs ?? 0,
  });
  const marks = () => sent.filter((f): f is Extract<OutboundFrame, { kind: 'mark' }> => f.kind === 'mark').map((f) => f.name);
  /** Each audio piece sent: its bytes (8 per ms of phone audio) and when it went out. */
  const audio = () =>
    sent.flatMap((f, i) => (f.kind === 'audio' ? [{ bytes: f.audio.length, atMs: sentAt[i]!, mark: (sent[i + 1] as { name?: string } | undefined)?.name ?? '' }] : []));
  return { tts, sent, errors, speech, marks, audio };
}

describe('speech output', () => {
  it('sends each utterance in queue order with a mark after every audio chunk', async () => {
    // The first utterance is slow to synthesise; the second must still not overtake it.
    const { speech, sent, tts } = harness({ firstByteDelayMs: 30 });
    const a = speech.say('First sentence here.', 'reply', 1);
    const b = speech.say('Second.', 'reply', 1);
    await Promise.all([a.sent, b.sent]);
    expect(tts.texts).toEqual(['First sentence here.', 'Second.']);
    const kinds = sent.map((f) => f.kind);
    for (let i = 0; i < kinds.length; i += 1) {
      if (kinds[i] === 'audio') expect(kinds[i + 1]).toBe('mark');
    }
    const firstMarkOfB = sent.findIndex((f) => f.kind === 'mark' && f.name.startsWith(`u${b.id}.`));
    const lastMarkOfA = sent.map((f, i) => (f.kind === 'mark' && f.name.startsWith(`u${a.id}.`) ? i : -1)).reduce((m, i) => Math.max(m, i));
    expect(lastMarkOfA).toBeLessThan(firstMarkOfB);
  });

  it('counts an utterance heard only when all its marks come back', async () => {
    const { speech, marks } = harness();
    const u = speech.say('Hello there, welcome to the shop.', 'greeting', 0);
    await u.sent;
    expect(speech.busy()).toBe(true);
    const names = marks();
    for (const name of names.slice(0, -1)) speech.onMark(name);
    expect(speech.busy()).toBe(true);
    speech.onMark(names[names.length - 1]!);
    await expect(u.played).resolves.toBe(true);
    expect(speech.busy()).toBe(false);
  });

  it('on interrupt: clears the transport, drops what is queued, and reports what was heard', async () => {
    const { speech, sent, marks } = harness();
    const text = 'One two three four five six seven eight nine ten eleven twelve thirteen fourteen.';
    const u = speech.say(text, 'reply', 1);
    const queued = speech.say('This never plays.', 'reply', 1);
    await u.sent;
    const names = marks().filter((m) => m.startsWith(`u${u.id}.`));
    speech.onMark(names[0]!); // about the first part played
    const cut = speech.interrupt();
    expect(sent.at(-1)).toEqual({ kind: 'clear' });
    const heard = cut.find((c) => c.utterance === u)!.heard;
    expect(heard.length).toBeGreaterThan(0);
    expect(text.startsWith(heard)).toBe(true);
    expect(heard.length).toBeLessThan(text.length);
    expect(cut.find((c) => c.utterance === queued)?.heard ?? '').toBe('');
    await expect(u.played).resolves.toBe(false);
    await expect(queued.played).resolves.toBe(false);
    // Marks echoed back after the clear are not taken as played.
    for (const name of names) speech.onMark(name);
    expect(speech.busy()).toBe(false);
  });

  it('plays pre-synthesised audio and treats text-only speech as heard at once', async () => {
    const withAudio = harness();
    const audio = new Uint8Array(800).fill(0x7f);
    const played = withAudio.speech.play(audio, 'Sorry.', 'apology', 0);
    await played.sent;
    expect(withAudio.sent.filter((f) => f.kind === 'audio')).toHaveLength(2);

    const textOnly = harness({ withTts: false });
    const u = textOnly.speech.say('Typed reply.', 'reply', 1);
    await expect(u.played).resolves.toBe(true);
    expect(textOnly.sent).toEqual([]);
  });

  it('reports a synthesis failure and moves on to the next utterance', async () => {
    const { speech, tts, errors } = harness();
    tts.failNext({ at: 'open' });
    const failed = speech.say('This fails.', 'reply', 1);
    const next = speech.say('This works.', 'reply', 1);
    await Promise.all([failed.sent, next.sent]);
    await expect(failed.played).resolves.toBe(false);
    expect(errors).toHaveLength(1);
    expect(next.firstAudioAtMs).toBeDefined();
  });

  it('synthesises at most two utterances ahead of the one being sent', async () => {
    const { speech, tts } = harness({ firstByteDelayMs: 40 });
    const all = Array.from({ length: 6 }, (_, i) => speech.say(`Sentence number ${i}.`, 'reply', 1));
    await new Promise((r) => setTimeout(r, 10));
    expect(tts.streams).toHaveLength(3);
    await Promise.all(all.map((u) => u.sent));
    expect(tts.texts).toEqual(all.map((u) => u.text));
  });

  it('on pause: clears the transport, keeps every utterance, and on resume sends again from where it stopped', async () => {
    // The clock stands still from the mark to the pause: playback stopped right at the mark.
    let stopped: number | undefined;
    const { speech, sent, marks } = harness({ now: () => stopped ?? performance.now() });
    const text = 'One two three four five six seven eight nine ten eleven twelve thirteen fourteen.';
    const u = speech.say(text, 'reply', 1);
    const next = speech.say('And then this.', 'reply', 1);
    await u.sent;
    const audioOf = (frames: OutboundFrame[]) => Buffer.concat(frames.flatMap((f) => (f.kind === 'audio' ? [f.audio] : [])));
    const original = audioOf(sent);
    const uMarks = marks().filter((m) => m.startsWith(`u${u.id}.`));
    stopped = performance.now();
    speech.onMark(uMarks[0]!); // the caller heard the first 400 bytes, then talked
    const sentBeforePause = sent.length;
    speech.pause();
    stopped = undefined;
    expect(sent.at(-1)).toEqual({ kind: 'clear' });
    expect(speech.isPaused()).toBe(true);
    expect(speech.busy()).toBe(true);
    // Twilio echoes the cleared marks at once: they are not taken as heard.
    for (const name of uMarks.slice(1)) speech.onMark(name);
    // Nothing more goes out while paused, whatever synthesis delivers meanwhile.
    await new Promise((r) => setTimeout(r, 50));
    expect(sent.length).toBe(sentBeforePause + 1);

    speech.resume();
    await next.sent;
    const resent = audioOf(sent.slice(sentBeforePause + 1));
    // The unheard rest of the first utterance, byte for byte after its first 10 ms, which rise from
    // silence (mid-word, no click), then the next one.
    const rest = original.subarray(400);
    expect(resent.subarray(FADE_BYTES, rest.length)).toEqual(rest.subarray(FADE_BYTES));
    expect(encodedRms(resent.subarray(0, FADE_BYTES / 2), 'mulaw')).toBeLessThan(encodedRms(rest.subarray(0, FADE_BYTES / 2), 'mulaw') / 2);
    expect(resent.length).toBeGreaterThan(rest.length);
    for (const name of marks().slice(uMarks.length)) speech.onMark(name);
    await expect(u.played).resolves.toBe(true);
    await expect(next.played).resolves.toBe(true);
    expect(speech.busy()).toBe(false);
  });

  it('resumes where playback stopped: the last mark heard plus real-time playback since, not that mark', async () => {
    // Real time, 30 ms ahead from the moment the first mark is heard.
    let skew = 0;
    const { speech, sent, marks } = harness({ now: () => performance.now() + skew });
    const u = speech.say('One two three four five six seven eight nine ten eleven twelve thirteen fourteen.', 'reply', 1);
    await u.sent;
    const audioOf = (frames: OutboundFrame[]) => Buffer.concat(frames.flatMap((f) => (f.kind === 'audio' ? [f.audio] : [])));
    const original = audioOf(sent);
    speech.onMark(marks()[0]!); // the first 400 bytes (50 ms) heard...
    skew = 30; // ...and 30 ms (240 bytes) more had played when the caller spoke
    const sentBeforePause = sent.length;
    speech.pause();
    speech.resume();
    await new Promise((r) => setTimeout(r, 20));
    const resent = audioOf(sent.slice(sentBeforePause + 1));
    const skipped = original.length - resent.length;
    // From 640 bytes on (a few more for the real time the test itself took), not from 400.
    expect(skipped).toBeGreaterThanOrEqual(640);
    expect(skipped).toBeLessThan(640 + 40);
    expect(resent.subarray(FADE_BYTES)).toEqual(original.subarray(skipped + FADE_BYTES));
    expect(encodedRms(resent.subarray(0, FADE_BYTES / 2), 'mulaw')).toBeLessThan(encodedRms(original.subarray(skipped, skipped + FADE_BYTES / 2), 'mulaw') / 2);
  });

  it('an interrupt during a pause cuts what was heard before it and ends the pause', async () => {
    const { speech, sent, marks } = harness();
    const text = 'One two three four five six seven eight nine ten eleven twelve thirteen fourteen.';
    const u = speech.say(text, 'reply', 1);
    await u.sent;
    speech.onMark(marks()[0]!);
    speech.pause();
    const clears = sent.filter((f) => f.kind === 'clear').length;
    const cut = speech.interrupt();
    // The pause already cleared the transport: nothing more to clear.
    expect(sent.filter((f) => f.kind === 'clear').length).toBe(clears);
    const heard = cut[0]!.heard;
    expect(heard.length).toBeGreaterThan(0);
    expect(heard.length).toBeLessThan(text.length / 2);
    expect(speech.isPaused()).toBe(false);
    // Speech queued afterwards plays.
    const after = speech.say('Go ahead.', 'reply', 2);
    await after.sent;
    expect(after.firstAudioAtMs).toBeDefined();
  });

  it('a pause before any audio went out sends no clear, and holds what arrives until resumed', async () => {
    const { speech, sent } = harness({ firstByteDelayMs: 30 });
    speech.pause();
    const u = speech.say('Held back.', 'reply', 1);
    await new Promise((r) => setTimeout(r, 80));
    expect(sent).toEqual([]);
    speech.resume();
    await u.sent;
    expect(sent.some((f) => f.kind === 'audio')).toBe(true);
    expect(sent.some((f) => f.kind === 'clear')).toBe(false);
  });

  describe('start buffer: playback that starts from silence waits for audio in hand', () => {
    // 100 ms chunks; 60 characters are 600 ms of audio.
    const SENTENCE = 'We have an opening tomorrow at nine in the morning, ok then.';

    it('sends the first audio once startBufferMs of it is in hand, not the first 100 ms chunk alone', async () => {
      const { speech, audio } = harness({ interChunkDelayMs: 30, maxChunkBytes: 8_000, startBufferMs: 200, startHoldMs: 500 });
      const u = speech.say(SENTENCE, 'reply', 1);
      await u.sent;
      const pieces = audio();
      expect(pieces[0]!.bytes).toBeGreaterThanOrEqual(200 * 8);
      expect(pieces.reduce((sum, p) => sum + p.bytes, 0)).toBe(600 * 8);
    });

    it('waits no longer than startHoldMs after the first audio arrived', async () => {
      const { speech, audio } = harness({ interChunkDelayMs: 400, maxChunkBytes: 8_000, startBufferMs: 200, startHoldMs: 40 });
      const said = performance.now();
      const u = speech.say(SENTENCE, 'reply', 1);
      await vi.waitFor(() => expect(audio().length).toBeGreaterThan(0), { timeout: 2_000 });
      const first = audio()[0]!;
      // The first chunk alone, sent after the hold and long before the vendor's second chunk.
      expect(first.bytes).toBe(100 * 8);
      expect(first.atMs - said).toBeGreaterThanOrEqual(38);
      expect(first.atMs - said).toBeLessThan(300);
      speech.interrupt();
      await u.played;
    });

    it('does not hold audio that follows speech still playing, nor audio that is complete', async () => {
      const { speech, audio } = harness({ interChunkDelayMs: 400, maxChunkBytes: 8_000, startBufferMs: 200, startHoldMs: 1_000 });
      // 100 ms in one chunk: complete at once, so it goes out without waiting for more.
      const short = speech.say('All right.', 'reply', 1);
      await short.sent;
      const second = speech.say(SENTENCE, 'reply', 1);
      await vi.waitFor(() => expect(audio().length).toBe(2), { timeout: 2_000 });
      // The second utterance's first chunk goes out at once: the caller is still hearing the first.
      expect(audio()[1]!.atMs - audio()[0]!.atMs).toBeLessThan(300);
      expect(audio()[1]!.bytes).toBe(100 * 8);
      speech.interrupt();
      await second.played;
    });
  });

  it('with over a second queued at the caller, sends only full pieces (fewer messages and marks)', async () => {
    // 3 s of audio in 100 ms chunks, 10 ms apart: far faster than it plays, and no mark comes back.
    const { speech, audio } = harness({ interChunkDelayMs: 10, maxChunkBytes: 200 * 8 });
    const u = speech.say('x'.repeat(300), 'reply', 1);
    await u.sent;
    const pieces = audio();
    expect(pieces.reduce((sum, p) => sum + p.bytes, 0)).toBe(3_000 * 8);
    let sentMs = 0;
    for (const [i, piece] of pieces.entries()) {
      // Past a second (and a piece) sent, every piece but the last is a full 200 ms.
      if (sentMs >= 1_200 && i < pieces.length - 1) expect(piece.bytes).toBe(200 * 8);
      sentMs += piece.bytes / 8;
    }
    expect(pieces.length).toBeLessThan(22);
    speech.interrupt();
  });

  it.each([
    ['Hello there friend', 1, 'Hello there friend'],
    ['Hello there friend', 0, ''],
    ['Hello there friend', 0.6, 'Hello'],
    ['Hello there friend', 0.75, 'Hello there'],
  ])('heardPrefix(%s, %d) = %s', (text, fraction, expected) => {
    expect(heardPrefix(text, fraction)).toBe(expected);
  });
});
