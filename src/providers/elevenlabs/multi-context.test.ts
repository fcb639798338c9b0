import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startElevenLabsEmulator } from '../../../test/emulators/elevenlabs.js';
import type { ElevenLabsEmulator, ElevenLabsEmulatorOptions } from '../../../test/emulators/elevenlabs.js';
import { collectAudio, elevenLabsTtsFor, totalBytes } from '../../../test/support/elevenlabs-client.js';
import { ProviderError } from '../../core/errors.js';
import { PHONE_AUDIO } from '../../core/frames.js';
import type { TtsSession, TtsStream } from '../tts.js';
import type { ElevenLabsTts, ElevenLabsTtsOptions } from './elevenlabs-tts.js';
import { until } from '../../../test/support/until.js';

const MS_PER_CHAR = 20;
const BYTES_PER_MS = 8; // ulaw_8000

let emulator: ElevenLabsEmulator;
const providers: ElevenLabsTts[] = [];
const sessions: TtsSession[] = [];

async function startEmulator(options: ElevenLabsEmulatorOptions = {}): Promise<void> {
  await emulator?.close();
  emulator = await startElevenLabsEmulator({ msPerChar: MS_PER_CHAR, chunkMs: 100, ...options });
}

beforeEach(async () => {
  emulator = await startElevenLabsEmulator({ msPerChar: MS_PER_CHAR, chunkMs: 100 });
});
afterEach(async () => {
  for (const session of sessions.splice(0)) session.close();
  for (const provider of providers.splice(0)) provider.close();
  await emulator.close();
});

async function session(overrides: Partial<ElevenLabsTtsOptions> = {}): Promise<TtsSession> {
  const tts = elevenLabsTtsFor(emulator, overrides);
  providers.push(tts);
  const opened = await tts.openSession({ format: PHONE_AUDIO, signal: new AbortController().signal });
  sessions.push(opened);
  return opened;
}

const signal = (): AbortSignal => new AbortController().signal;

const SENTENCES = ['You are booked for Tuesday.', 'We open at nine.', 'See you then!'];

/** A reply of `texts` on a new context of `tts`, spoken to its end: the stream and its audio. */
async function speak(tts: TtsSession, texts: readonly string[]): Promise<{ reply: TtsStream; audio: Uint8Array[] }> {
  const reply = await tts.open(signal());
  for (const text of texts) reply.sendText(text);
  reply.end();
  return { reply, audio: await collectAudio(reply) };
}

describe('one context per reply', () => {
  it('a three-sentence reply is one context on one socket, each sentence flushed, ended by close_context', async () => {
    const tts = await session();
    const { audio } = await speak(tts, SENTENCES);

    expect(emulator.handshakes).toBe(1);
    expect(emulator.multiConnections).toHaveLength(1);
    const [connection] = emulator.multiConnections;
    expect(connection?.query).toMatchObject({ output_format: 'ulaw_8000', sync_alignment: 'true' });
    const used = connection?.contexts.filter((c) => c.texts.length > 0) ?? [];
    expect(used).toHaveLength(1);
    expect(used[0]?.texts).toEqual(SENTENCES.map((s) => `${s} `));
    expect(used[0]?.flushes).toEqual([true, true, true]);
    expect(used[0]?.closeRequested).toBe(true);
    expect(used[0]?.finalSent).toBe(true);
    const spokenChars = SENTENCES.reduce((sum, s) => sum + s.length, 0);
    expect(totalBytes(audio)).toBe(spokenChars * MS_PER_CHAR * BYTES_PER_MS);
  });

  it('the next reply takes a new context on the same socket, with no handshake', async () => {
    const tts = await session();
    for (const text of ['First reply.', 'Second reply.']) {
      const { audio } = await speak(tts, [text]);
      expect(totalBytes(audio)).toBe(text.length * MS_PER_CHAR * BYTES_PER_MS);
    }
    expect(emulator.handshakes).toBe(1);
    const used = emulator.multiConnections[0]?.contexts.filter((c) => c.texts.length > 0) ?? [];
    expect(used.map((c) => c.texts)).toEqual([['First reply. '], ['Second reply. ']]);
    expect(new Set(used.map((c) => c.contextId)).size).toBe(2);
  });
});

describe('alignment: what a given amount of audio said', () => {
  it('the first sentence’s audio covers that sentence and not a word of the next', async () => {
    const tts = await session();
    const { reply } = await speak(tts, SENTENCES);
    const firstMs = SENTENCES[0]!.length * MS_PER_CHAR;
    expect(reply.spokenWithin?.(firstMs)).toBe(SENTENCES[0]);
    expect(reply.spokenWithin?.(firstMs + MS_PER_CHAR)).toBe(SENTENCES[0]); // "W" of "We": not heard
    expect(reply.spokenWithin?.(firstMs + MS_PER_CHAR * 5)).toBe(`${SENTENCES[0]} We`); // "We o"
    const twoMs = (SENTENCES[0]!.length + SENTENCES[1]!.length) * MS_PER_CHAR;
    expect(reply.spokenWithin?.(twoMs)).toBe(`${SENTENCES[0]} ${SENTENCES[1]}`);
    expect(reply.spokenWithin?.(0)).toBe('');
  });

  it('in the middle of a sentence it cuts after the last whole word', async () => {
    const tts = await session();
    const { reply } = await speak(tts, ['You are booked for Tuesday.']);
    // "You are boo" played: "booked" was not heard.
    expect(reply.spokenWithin?.(11 * MS_PER_CHAR)).toBe('You are');
    // "You are booked" and its trailing space.
    expect(reply.spokenWithin?.(15 * MS_PER_CHAR)).toBe('You are booked');
  });
});

describe('barge-in', () => {
  it('a closed context’s late audio is never delivered, and the next reply hears only its own', async () => {
    await startEmulator({ msPerChar: MS_PER_CHAR, chunkMs: 100, interChunkDelayMs: 15 });
    const tts = await session();
    const reply = await tts.open(signal());
    for (const sentence of SENTENCES) reply.sendText(sentence);
    const received: Uint8Array[] = [];
    for await (const chunk of reply.audio) {
      received.push(chunk);
      if (received.length === 2) reply.close();
    }
    const context = emulator.multiConnections[0]?.contexts.find((c) => c.texts.length > 0);
    await until(() => context?.finalSent === true);
    // The vendor kept generating what had been flushed: that audio reached the socket but not us.
    expect(context?.closeRequested).toBe(true);
    expect(context?.audioChunksAfterClose).toBeGreaterThan(0);
    expect(received).toHaveLength(2);

    const { audio } = await speak(tts, ['Sure.']);
    expect(totalBytes(audio)).toBe('Sure.'.length * MS_PER_CHAR * BYTES_PER_MS);
  });
});

describe('keeping the socket', () => {
  it('keeps open contexts alive, so a socket idle past the inactivity timeout still serves the next reply', async () => {
    const tts = await session({ inactivityTimeoutMs: 1_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_400));
    const { audio } = await speak(tts, ['Still here.']);
    expect(totalBytes(audio)).toBeGreaterThan(0);
    expect(emulator.handshakes).toBe(1);
    expect(emulator.multiConnections[0]?.contexts[0]?.keepAlives).toBeGreaterThan(0);
  });

  it('keeps a reply context alive through a tool call longer than the inactivity timeout, not the ones it ended', async () => {
    const tts = await session({ inactivityTimeoutMs: 1_000 });
    const reply = await tts.open(signal());
    reply.sendText('Let me look.');
    const done = await speak(tts, ['Sure.']);
    expect(totalBytes(done.audio)).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 1_400)); // the tool runs
    reply.sendText('You are booked.');
    reply.end();
    expect(totalBytes(await collectAudio(reply))).toBe('Let me look.You are booked.'.length * MS_PER_CHAR * BYTES_PER_MS);
    const [first, second] = emulator.multiConnections[0]!.contexts;
    expect(first).toMatchObject({ texts: ['Let me look. ', 'You are booked. '], timedOut: false, finalSent: true });
    expect(first!.keepAlives).toBeGreaterThan(0);
    expect(second).toMatchObject({ texts: ['Sure. '], keepAlives: 0 });
    expect(emulator.multiConnections[0]!.errors).toEqual([]);
  });

  it('a socket dropped mid-reply fails that reply (retryable) and the next open() reconnects', async () => {
    await startEmulator({ msPerChar: MS_PER_CHAR, chunkMs: 100, interChunkDelayMs: 10 });
    const tts = await session();
    const reply = await tts.open(signal());
    emulator.dropMidStream();
    reply.sendText(SENTENCES[0]!);
    const error = await collectAudio(reply).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(true);

    const again = await speak(tts, [SENTENCES[1]!]);
    expect(totalBytes(again.audio)).toBe(SENTENCES[1]!.length * MS_PER_CHAR * BYTES_PER_MS);
    expect(emulator.multiConnections).toHaveLength(2);
  });
});

describe('emulator: multi-stream-input protocol', () => {
  it('closes a context sent nothing for the inactivity timeout: a keep-alive to it then answers context_not_found', async () => {
    const ws = new WebSocket(
      `${emulator.wsBaseUrl}/v1/text-to-speech/v/multi-stream-input?output_format=ulaw_8000&inactivity_timeout=1`,
      { headers: { 'xi-api-key': emulator.apiKey } },
    );
    const messages: Array<Record<string, unknown>> = [];
    ws.on('message', (data) => messages.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ text: ' ', context_id: 'idle' }));
    ws.send(JSON.stringify({ text: ' ', context_id: 'kept' }));
    const keepAlive = setInterval(() => ws.send(JSON.stringify({ text: '', context_id: 'kept' })), 300);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    clearInterval(keepAlive);
    ws.send(JSON.stringify({ text: '', context_id: 'idle' }));
    await until(() => messages.length > 0);
    ws.close();
    expect(messages).toEqual([{ error: 'context_not_found', message: 'Context idle does not exist.', contextId: 'idle' }]);
    expect(emulator.multiConnections[0]!.contexts.map((c) => [c.contextId, c.timedOut])).toEqual([
      ['idle', true],
      ['kept', false],
    ]);
  });

  it('answers context_not_found for a context that does not exist and keeps the socket open', async () => {
    const ws = new WebSocket(`${emulator.wsBaseUrl}/v1/text-to-speech/v/multi-stream-input?output_format=ulaw_8000`, {
      headers: { 'xi-api-key': emulator.apiKey },
    });
    const messages: Array<Record<string, unknown>> = [];
    ws.on('message', (data) => messages.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ context_id: 'nope', close_context: true }));
    ws.send(JSON.stringify({ text: ' ', context_id: 'a' }));
    ws.send(JSON.stringify({ text: 'Hi. ', context_id: 'a', flush: true }));
    ws.send(JSON.stringify({ context_id: 'a', close_context: true }));
    await until(() => messages.some((m) => m.isFinal === true));
    ws.close();
    expect(messages[0]).toMatchObject({ error: 'context_not_found', contextId: 'nope' });
    expect(messages.filter((m) => typeof m.audio === 'string').every((m) => m.contextId === 'a')).toBe(true);
    expect(messages.at(-1)).toEqual({ contextId: 'a', isFinal: true });
  });
});
