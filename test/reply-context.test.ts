/**
 * A reply spoken as one ElevenLabs context (speech output over the real adapter and the
 * multi-stream-input emulator): one socket and one context per reply, what was heard at a barge-in
 * from alignment and confirmed marks, late audio of a closed context dropped, a dropped socket
 * recovered by speaking the rest.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PHONE_AUDIO } from '../src/core/frames.js';
import type { OutboundFrame } from '../src/core/frames.js';
import { createSpeechOutput } from '../src/pipeline/speech-output.js';
import type { ElevenLabsTts, ElevenLabsTtsOptions } from '../src/providers/elevenlabs/elevenlabs-tts.js';
import { startElevenLabsEmulator } from './emulators/elevenlabs.js';
import type { ElevenLabsEmulator, ElevenLabsEmulatorOptions } from './emulators/elevenlabs.js';
import { elevenLabsTtsFor } from './support/elevenlabs-client.js';
import { until } from './support/until.js';

const MS_PER_CHAR = 20;
const BYTES_PER_CHAR = MS_PER_CHAR * 8; // ulaw_8000
const SENTENCES = ['You are booked for Tuesday.', 'We open at nine.', 'See you then!'];

let emulator: ElevenLabsEmulator | undefined;
let tts: ElevenLabsTts | undefined;
afterEach(async () => {
  tts?.close();
  await emulator?.close();
});

async function harness(options: ElevenLabsEmulatorOptions = {}, ttsOptions: Partial<ElevenLabsTtsOptions> = {}) {
  emulator = await startElevenLabsEmulator({ msPerChar: MS_PER_CHAR, chunkMs: 100, ...options });
  tts = elevenLabsTtsFor(emulator, ttsOptions);
  let clock = 1_000;
  const sent: OutboundFrame[] = [];
  const errors: unknown[] = [];
  const speech = createSpeechOutput({
    tts,
    format: PHONE_AUDIO,
    now: () => clock,
    send: (frame) => sent.push(frame),
    onSynthesisError: (_u, error) => errors.push(error),
    // A mark after every character's audio: the test confirms playback to the character.
    maxChunkBytes: BYTES_PER_CHAR,
  });
  /** Confirms the marks of the first `chars` characters' audio. */
  const confirm = (chars: number): void => {
    let bytes = 0;
    for (const frame of [...sent]) {
      if (frame.kind === 'audio') bytes += frame.audio.length;
      if (frame.kind === 'mark' && bytes <= chars * BYTES_PER_CHAR) speech.onMark(frame.name);
    }
  };
  const audioBytes = (): number => sent.reduce((sum, f) => sum + (f.kind === 'audio' ? f.audio.length : 0), 0);
  const advance = (ms: number): void => {
    clock += ms;
  };
  return { emulator, speech, sent, errors, confirm, audioBytes, advance };
}

const chars = (texts: string[]): number => texts.reduce((sum, t) => sum + t.length, 0);

describe('a reply is one ElevenLabs context', () => {
  it('a three-sentence reply uses one context on one socket, and is heard in full once its marks are back', async () => {
    const { emulator, speech, confirm, audioBytes } = await harness();
    const said = SENTENCES.map((s) => speech.say(s, 'reply', 1));
    speech.endReply(1);
    await Promise.all(said.map((u) => u.sent));
    expect(emulator.multiConnections).toHaveLength(1);
    expect(emulator.connections).toHaveLength(0);
    const used = emulator.multiConnections[0]!.contexts.filter((c) => c.texts.length > 0);
    expect(used.map((c) => c.texts)).toEqual([SENTENCES.map((s) => `${s} `)]);
    expect(used[0]!.finalSent).toBe(true);
    expect(audioBytes()).toBe(chars(SENTENCES) * BYTES_PER_CHAR);
    confirm(chars(SENTENCES));
    await expect(Promise.all(said.map((u) => u.played))).resolves.toEqual([true, true, true]);
    expect(speech.busy()).toBe(false);
  });

  it('the next reply (and a filler) take contexts of their own on the same socket', async () => {
    const { emulator, speech } = await harness();
    const first = speech.say('First reply.', 'reply', 1);
    speech.endReply(1);
    const filler = speech.say('One moment.', 'filler', 2);
    const second = speech.say('Second reply.', 'reply', 2);
    speech.endReply(2);
    await Promise.all([first.sent, filler.sent, second.sent]);
    expect(emulator.handshakes).toBe(1);
    const used = emulator.multiConnections[0]!.contexts.filter((c) => c.texts.length > 0);
    expect(used.map((c) => c.texts.join(''))).toEqual(['First reply. ', 'One moment. ', 'Second reply. ']);
  });
});

describe('barge-in: what the caller heard', () => {
  it('after the first sentence’s audio was confirmed: that sentence, not the next', async () => {
    const { speech, confirm } = await harness();
    const said = SENTENCES.map((s) => speech.say(s, 'reply', 1));
    speech.endReply(1);
    await said[0]!.sent;
    confirm(SENTENCES[0]!.length);
    const cut = speech.interrupt();
    expect(cut.map((c) => c.heard)).toEqual([SENTENCES[0], '', '']);
    expect(cut.map((c) => c.utterance)).toEqual(said);
    await expect(Promise.all(said.map((u) => u.played))).resolves.toEqual([false, false, false]);
  });

  it('in the middle of a sentence: cut at the word, plus what real-time playback since the mark covered', async () => {
    const { speech, confirm, advance } = await harness();
    const said = SENTENCES.map((s) => speech.say(s, 'reply', 1));
    speech.endReply(1);
    await said[0]!.sent;
    confirm(11); // "You are boo"
    advance(4 * MS_PER_CHAR); // ... and 80 ms more played since that mark: "You are booked "
    const cut = speech.interrupt();
    expect(cut.map((c) => c.heard)).toEqual(['You are booked', '', '']);
  });

  it('nothing confirmed and no time passed: nothing heard (audio only sent ahead does not count)', async () => {
    const { speech } = await harness();
    const said = SENTENCES.map((s) => speech.say(s, 'reply', 1));
    speech.endReply(1);
    await said[0]!.sent;
    expect(speech.interrupt().map((c) => c.heard)).toEqual(['', '', '']);
  });

  it('real-time playback counts only from when the reply could start playing, not while the greeting still played', async () => {
    const { speech, advance } = await harness();
    speech.say('Thanks for calling.', 'greeting', 0);
    const said = SENTENCES.map((s) => speech.say(s, 'reply', 1));
    speech.endReply(1);
    await said[0]!.sent;
    advance(10_000); // no mark of the greeting came back: the caller is still hearing it
    const cut = speech.interrupt();
    expect(cut.map((c) => c.heard)).toEqual(['', '', '', '']);
  });

  it('a closed context’s late audio is never played', async () => {
    const { emulator, speech, sent } = await harness({ interChunkDelayMs: 20 });
    SENTENCES.forEach((s) => speech.say(s, 'reply', 1));
    await until(() => sent.some((f) => f.kind === 'audio'));
    speech.interrupt();
    const framesAtInterrupt = sent.filter((f) => f.kind === 'audio').length;
    const context = emulator.multiConnections[0]!.contexts.find((c) => c.texts.length > 0)!;
    await until(() => context.finalSent);
    // The vendor went on generating what had been flushed; none of it reached the caller.
    expect(context.audioChunksAfterClose).toBeGreaterThan(0);
    expect(sent.filter((f) => f.kind === 'audio').length).toBe(framesAtInterrupt);
    expect(sent.at(-1)?.kind === 'clear' || sent.some((f) => f.kind === 'clear')).toBe(true);
  });
});

describe('the socket drops mid-reply', () => {
  it('the rest of the reply is spoken after reconnecting, never silence', async () => {
    const { emulator, speech, errors, audioBytes } = await harness();
    emulator.dropMidStream(); // the socket is cut after the first audio chunk (100 ms: "You a")
    const said = SENTENCES.map((s) => speech.say(s, 'reply', 1));
    speech.endReply(1);
    await Promise.all(said.map((u) => u.sent));
    expect(errors).toEqual([]);
    expect(emulator.multiConnections).toHaveLength(2);
    const resent = emulator.multiConnections[1]!.contexts.filter((c) => c.texts.length > 0);
    expect(resent.map((c) => c.texts.join(''))).toEqual([`are booked for Tuesday. ${SENTENCES[1]} ${SENTENCES[2]} `]);
    // "You a" before the drop, then the rest from the first word not wholly spoken.
    expect(audioBytes()).toBe((5 + chars([`are booked for Tuesday. ${SENTENCES[1]} ${SENTENCES[2]}`])) * BYTES_PER_CHAR);
  });
});

describe('a paused reply context (the caller may be starting to talk)', () => {
  const audioOf = (frames: OutboundFrame[]): number[] =>
    frames.flatMap((f) => (f.kind === 'audio' ? Array.from(f.audio) : []));

  it('resumes from the last mark the caller heard, with the same audio (nothing synthesised again)', async () => {
    const { emulator, speech, sent, confirm } = await harness();
    const said = SENTENCES.map((s) => speech.say(s, 'reply', 1));
    speech.endReply(1);
    await Promise.all(said.map((u) => u.sent));
    const original = audioOf(sent);
    const heardChars = SENTENCES[0]!.length + 4;
    confirm(heardChars);
    speech.pause();
    expect(sent.at(-1)).toEqual({ kind: 'clear' });
    const before = sent.length;
    speech.resume();
    await until(() => audioOf(sent.slice(before)).length === original.length - heardChars * BYTES_PER_CHAR);
    // Byte for byte, after the first 10 ms (80 bytes), which fade in: it starts again mid-word.
    expect(audioOf(sent.slice(before)).slice(80)).toEqual(original.slice(heardChars * BYTES_PER_CHAR + 80));
    expect(emulator.multiConnections.flatMap((m) => m.contexts).filter((c) => c.texts.length > 0)).toHaveLength(1);
    for (const frame of sent.slice(before)) if (frame.kind === 'mark') speech.onMark(frame.name);
    await expect(Promise.all(said.map((u) => u.played))).resolves.toEqual([true, true, true]);
    expect(speech.busy()).toBe(false);
  });

  it('a cut after a resume counts real-time playback from the resume, never the time spent paused', async () => {
    const { speech, sent, confirm, advance } = await harness();
    const said = SENTENCES.map((s) => speech.say(s, 'reply', 1));
    speech.endReply(1);
    await Promise.all(said.map((u) => u.sent));
    confirm(11); // "You are boo"
    speech.pause();
    advance(5_000); // silent while paused
    const before = sent.length;
    speech.resume();
    await until(() => sent.slice(before).some((f) => f.kind === 'audio'));
    advance(4 * MS_PER_CHAR); // 80 ms played since the resume: "You are booked "
    expect(speech.interrupt().map((c) => c.heard)).toEqual(['You are booked', '', '']);
  });

  it('a cut while paused counts only what the marks confirmed', async () => {
    const { speech, confirm, advance } = await harness();
    const said = SENTENCES.map((s) => speech.say(s, 'reply', 1));
    speech.endReply(1);
    await Promise.all(said.map((u) => u.sent));
    confirm(SENTENCES[0]!.length);
    speech.pause();
    advance(5_000);
    expect(speech.interrupt().map((c) => c.heard)).toEqual([SENTENCES[0], '', '']);
  });
});

describe('contexts closed on purpose stay closed (the vendor answers anything sent to one with context_not_found)', () => {
  const contextErrors = (emulator: ElevenLabsEmulator): unknown[] => emulator.multiConnections.flatMap((m) => m.errors);

  it('a keep-alive while an ended reply and a filler are still being generated cuts neither off', async () => {
    // Keep-alives every 500 ms; each sentence's audio starts 300 ms after its flush, one after another.
    const { emulator, speech, errors, audioBytes } = await harness({ firstByteDelayMs: 300 }, { inactivityTimeoutMs: 1_000 });
    const said = SENTENCES.map((s) => speech.say(s, 'reply', 1));
    speech.endReply(1);
    const filler = speech.say('One moment.', 'filler', 2);
    await Promise.all([...said, filler].map((u) => u.sent));
    expect(errors).toEqual([]);
    expect(contextErrors(emulator)).toEqual([]);
    const used = emulator.multiConnections[0]!.contexts.filter((c) => c.texts.length > 0);
    expect(used.map((c) => c.texts.join(''))).toEqual([SENTENCES.map((s) => `${s} `).join(''), 'One moment. ']);
    // Every sentence once: nothing said twice after a context was failed and spoken again.
    expect(audioBytes()).toBe(chars([...SENTENCES, 'One moment.']) * BYTES_PER_CHAR);
  });

  it('a barge-in closes a context once: a reply already ended gets no second close_context', async () => {
    const { emulator, speech, sent } = await harness({ interChunkDelayMs: 20 });
    SENTENCES.forEach((s) => speech.say(s, 'reply', 1));
    speech.endReply(1);
    await until(() => sent.some((f) => f.kind === 'audio'));
    speech.interrupt();
    const context = emulator.multiConnections[0]!.contexts.find((c) => c.texts.length > 0)!;
    await until(() => context.finalSent);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(contextErrors(emulator)).toEqual([]);
  });

  it('the next reply waits behind the flushed text of a barged-in one (audio nobody plays) without failing', async () => {
    // The vendor still speaks the cut reply's ten flushed sentences, 150 ms each, before the next
    // reply's: 1.5 s of audio on the socket, three times the watchdog's 500 ms.
    const { emulator, speech, errors, sent } = await harness({ firstByteDelayMs: 150 }, { audioTimeoutMs: 500 });
    for (let i = 0; i < 10; i++) speech.say(`Sentence number ${i} of the long answer.`, 'reply', 1);
    speech.endReply(1);
    await until(() => sent.some((f) => f.kind === 'audio'));
    speech.interrupt();
    const before = sent.length;
    const next = speech.say('Sure, Wednesday works.', 'reply', 2);
    speech.endReply(2);
    await next.sent;
    expect(errors).toEqual([]);
    const audio = sent.slice(before).reduce((sum, f) => sum + (f.kind === 'audio' ? f.audio.length : 0), 0);
    expect(audio).toBe('Sure, Wednesday works.'.length * BYTES_PER_CHAR);
    // Spoken from the one context it was given: not failed by the watchdog and sent again.
    const used = emulator.multiConnections[0]!.contexts.filter((c) => c.texts.join('').includes('Wednesday'));
    expect(used).toHaveLength(1);
  });
});
