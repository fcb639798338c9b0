import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startElevenLabsEmulator } from '../../../test/emulators/elevenlabs.js';
import type { ElevenLabsEmulator, ElevenLabsEmulatorOptions } from '../../../test/emulators/elevenlabs.js';
import { collectAudio, elevenLabsTtsFor, totalBytes } from '../../../test/support/elevenlabs-client.js';
import { ProviderError } from '../../core/errors.js';
import { BROWSER_AUDIO, PHONE_AUDIO } from '../../core/frames.js';
import { toOutputFormat } from './elevenlabs-tts.js';
import type { ElevenLabsTts, ElevenLabsTtsOptions } from './elevenlabs-tts.js';
import { until } from '../../../test/support/until.js';

const MS_PER_CHAR = 60;

let emulator: ElevenLabsEmulator;
const providers: ElevenLabsTts[] = [];

async function startEmulator(options: ElevenLabsEmulatorOptions = {}): Promise<void> {
  await emulator?.close();
  emulator = await startElevenLabsEmulator({ msPerChar: MS_PER_CHAR, chunkMs: 100, ...options });
}

beforeEach(async () => {
  emulator = await startElevenLabsEmulator({ msPerChar: MS_PER_CHAR, chunkMs: 100 });
});
afterEach(async () => {
  for (const provider of providers.splice(0)) provider.close();
  await emulator.close();
});

function provider(overrides: Partial<ElevenLabsTtsOptions> = {}): ElevenLabsTts {
  const tts = elevenLabsTtsFor(emulator, overrides);
  providers.push(tts);
  return tts;
}

async function caught(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('output formats', () => {
  it('maps our formats onto ElevenLabs output_format and rejects the rest clearly', () => {
    expect(toOutputFormat(PHONE_AUDIO)).toBe('ulaw_8000');
    expect(toOutputFormat(BROWSER_AUDIO)).toBe('pcm_16000');
    expect(() => toOutputFormat({ encoding: 'mulaw', sampleRate: 16000 })).toThrow(/unsupported audio format mulaw\/16000/);
    expect(() => toOutputFormat({ encoding: 'linear16', sampleRate: 11025 })).toThrow(ProviderError);
  });

  it('phone: requests ulaw_8000 and returns mu-law bytes at 8 kHz, length following the text', async () => {
    const tts = provider();
    const text = 'Your appointment is booked for Tuesday at nine.';
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    stream.sendText(text);
    stream.end();
    const chunks = await collectAudio(stream);

    const connection = emulator.connections.at(-1);
    expect(connection?.query).toMatchObject({ model_id: 'eleven_flash_v2_5', output_format: 'ulaw_8000' });
    expect(connection?.voiceId).toBe('voice-123');
    expect(connection?.headerKey).toBe(true);
    expect(connection?.initMessage).toEqual({ text: ' ' });
    expect(chunks.length).toBeGreaterThan(1);
    // 8000 one-byte samples a second.
    expect(totalBytes(chunks)).toBe(text.length * MS_PER_CHAR * 8);
    // A tone, not silence (mu-law silence is 0xFF / 0x7F).
    expect(chunks[0]?.some((byte) => byte !== 0xff && byte !== 0x7f)).toBe(true);
  });

  it('browser: requests pcm_16000 and returns 16-bit PCM at 16 kHz; longer text, longer audio', async () => {
    const tts = provider();
    const lengths: number[] = [];
    const texts = ['Sure.', 'Sure, I can book that for you on Monday morning.'];
    for (const text of texts) {
      const stream = await tts.open({ format: BROWSER_AUDIO, signal: new AbortController().signal });
      stream.sendText(text);
      stream.end();
      const bytes = totalBytes(await collectAudio(stream));
      expect(bytes).toBe(text.length * MS_PER_CHAR * 32); // 16000 samples/s x 2 bytes
      lengths.push(bytes);
    }
    expect(emulator.connections.map((c) => c.query.output_format)).toEqual(['pcm_16000', 'pcm_16000']);
    expect(lengths[1]! / lengths[0]!).toBeCloseTo(texts[1]!.length / texts[0]!.length, 5);
  });

  it('re-aligns PCM chunks cut off the sample grid', async () => {
    await startEmulator({ misalignChunks: true });
    const tts = provider();
    const stream = await tts.open({ format: BROWSER_AUDIO, signal: new AbortController().signal });
    stream.sendText('Odd sized chunks must not split a sample.');
    stream.end();
    const chunks = await collectAudio(stream);
    expect(chunks.every((chunk) => chunk.length % 2 === 0)).toBe(true);
    expect(totalBytes(chunks)).toBe('Odd sized chunks must not split a sample.'.length * MS_PER_CHAR * 32);
  });
});

describe('streaming', () => {
  it('sends each chunk with flush, adds the trailing space, and plays both before end()', async () => {
    emulator.setLatency({ interChunkDelayMs: 5 });
    const tts = provider();
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    const iterator = stream.audio[Symbol.asyncIterator]();

    stream.sendText('Hello there.');
    const first: Uint8Array[] = [];
    const firstBytes = 'Hello there.'.length * MS_PER_CHAR * 8;
    while (totalBytes(first) < firstBytes) {
      const next = await iterator.next();
      expect(next.done).toBe(false);
      if (!next.done) first.push(next.value);
    }
    expect(totalBytes(first)).toBe(firstBytes);

    stream.sendText('How can I help?');
    const second: Uint8Array[] = [];
    const secondBytes = 'How can I help?'.length * MS_PER_CHAR * 8;
    while (totalBytes(second) < secondBytes) {
      const next = await iterator.next();
      expect(next.done).toBe(false);
      if (!next.done) second.push(next.value);
    }
    expect(totalBytes(second)).toBe(secondBytes);

    stream.end();
    expect((await iterator.next()).done).toBe(true);

    const connection = emulator.connections.at(-1)!;
    expect(connection.texts).toEqual(['Hello there. ', 'How can I help? ']);
    expect(connection.flushes).toEqual([true, true]);
    expect(connection.endReceived).toBe(true);
    expect(connection.finalSent).toBe(true);
  });

  it('skips blank chunks (an empty text would end the input) and keeps an existing trailing space', async () => {
    const tts = provider();
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    stream.sendText('');
    stream.sendText('   ');
    stream.sendText('Okay. ');
    stream.end();
    await collectAudio(stream);
    expect(emulator.connections.at(-1)?.texts).toEqual(['Okay. ']);
    expect(() => stream.sendText('late')).toThrow(/after end/);
  });

  it('end() with no text completes the iterator', async () => {
    const tts = provider();
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    stream.end();
    expect(await collectAudio(stream)).toEqual([]);
  });

  it('close() mid-stream stops at once and the server sees the client close', async () => {
    emulator.setLatency({ interChunkDelayMs: 30 });
    const tts = provider();
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    stream.sendText('This is a long answer that the caller is going to interrupt halfway through.');
    const iterator = stream.audio[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);

    const pending = iterator.next();
    const closedAt = performance.now();
    stream.close();
    const after = await pending;
    expect(after.done).toBe(true);
    expect(performance.now() - closedAt).toBeLessThan(50);

    const connection = emulator.connections.at(-1)!;
    await until(() => connection.closed);
    expect(connection.closedBy).toBe('client');
    expect(connection.clientClosedEarly).toBe(true);
    expect(connection.audioChunksSent).toBeLessThan(10);
    stream.sendText('ignored after close');
    expect(connection.texts).toHaveLength(1);
  });

  it('aborting the signal closes the stream like close()', async () => {
    emulator.setLatency({ interChunkDelayMs: 30 });
    const tts = provider();
    const controller = new AbortController();
    const stream = await tts.open({ format: PHONE_AUDIO, signal: controller.signal });
    stream.sendText('Another long answer that will be cut off by a barge-in from the caller.');
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream.audio) {
      chunks.push(chunk);
      controller.abort();
    }
    expect(chunks).toHaveLength(1);
    const connection = emulator.connections.at(-1)!;
    await until(() => connection.closed);
    expect(connection.clientClosedEarly).toBe(true);
  });
});

describe('failures', () => {
  it('retries a refused connection within open()', async () => {
    emulator.failNextConnections(1);
    const tts = provider();
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    stream.sendText('Recovered.');
    stream.end();
    expect(totalBytes(await collectAudio(stream))).toBeGreaterThan(0);
    expect(emulator.handshakes).toBe(2);
  });

  it('a lasting outage rejects open() with a retryable ProviderError, not a hang', async () => {
    emulator.failNextConnections(10);
    const tts = provider({ connectBudgetMs: 1_500 });
    const started = Date.now();
    const error = await caught(tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal }));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(true);
    expect((error as ProviderError).status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('connection refused (nothing listening) is a retryable ProviderError', async () => {
    // Start the replacement first so the dead port cannot be handed straight back to it.
    const dead = emulator;
    emulator = await startElevenLabsEmulator();
    const { baseUrl } = dead;
    await dead.close();
    const tts = provider({ baseUrl, connectBudgetMs: 800 });
    const error = await caught(tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal }));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(true);
  });

  it('a socket dropped mid-stream fails the iterator after the audio already received', async () => {
    emulator.setLatency({ interChunkDelayMs: 5 });
    const tts = provider();
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    emulator.dropMidStream();
    stream.sendText('This reply will be cut off by the network.');
    const chunks: Uint8Array[] = [];
    const error = await caught(
      (async () => {
        for await (const chunk of stream.audio) chunks.push(chunk);
      })(),
    );
    expect(chunks).toHaveLength(1);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(true);
    expect((error as ProviderError).message).toMatch(/dropped/);
  });

  it('no audio within the timeout fails the iterator', async () => {
    emulator.setLatency({ firstByteDelayMs: 1_000 });
    const tts = provider({ audioTimeoutMs: 150 });
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    stream.sendText('Slow.');
    const started = Date.now();
    const error = await caught(collectAudio(stream));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).message).toMatch(/no audio within 150 ms/);
    expect(Date.now() - started).toBeLessThan(600);
  });

  it('a socket accepted then cut at once surfaces as a ProviderError from the iterator', async () => {
    emulator.failNextConnections(1, 'close');
    const tts = provider();
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    stream.sendText('Hello.');
    stream.end();
    const error = await caught(collectAudio(stream));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(true);
  });

  it('a wrong API key is a non-retryable error that never contains the key (1008 close)', async () => {
    const secret = 'sk_wrong_secret_key_0123456789';
    const tts = provider({ apiKey: secret });
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    stream.sendText('Hello.');
    const error = await caught(collectAudio(stream));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(false);
    expect(inspect(error)).not.toContain(secret);
    expect(JSON.stringify(error)).not.toContain(secret);
    expect(emulator.connections[0]?.authorized).toBe(false);
  });

  it('a wrong API key refused at the handshake (HTTP 401) rejects open() without retrying', async () => {
    await startEmulator({ authFailure: 'http' });
    const secret = 'sk_wrong_secret_key_9876543210';
    const tts = provider({ apiKey: secret });
    const error = await caught(tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal }));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(false);
    expect((error as ProviderError).status).toBe(401);
    expect(inspect(error)).not.toContain(secret);
    expect(emulator.handshakes).toBe(1);
  });

  it('an aborted signal rejects open() with its reason', async () => {
    emulator.setLatency({ handshakeDelayMs: 500 });
    const tts = provider();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new DOMException('barge-in', 'AbortError')), 30);
    const error = await caught(tts.open({ format: PHONE_AUDIO, signal: controller.signal }));
    expect((error as Error).name).toBe('AbortError');
  });
});

describe('synthesizeOnce (HTTP streaming endpoint)', () => {
  it('returns the whole phrase in the requested format', async () => {
    const tts = provider();
    const greeting = "Thanks for calling Main Street Auto, how can I help?";
    const phone = await tts.synthesizeOnce(greeting, PHONE_AUDIO, new AbortController().signal);
    expect(phone.length).toBe(greeting.length * MS_PER_CHAR * 8);
    const browser = await tts.synthesizeOnce(greeting, BROWSER_AUDIO, new AbortController().signal);
    expect(browser.length).toBe(greeting.length * MS_PER_CHAR * 32);
    expect(emulator.httpRequests.map((r) => r.query.output_format)).toEqual(['ulaw_8000', 'pcm_16000']);
    expect(emulator.httpRequests[0]?.body).toEqual({ text: greeting, model_id: 'eleven_flash_v2_5' });
    expect(emulator.httpRequests[0]?.voiceId).toBe('voice-123');
  });

  it('retries a 503 and refuses a wrong key without retrying or leaking it', async () => {
    emulator.failNextHttpRequests(1);
    const tts = provider();
    const audio = await tts.synthesizeOnce('Sorry about that.', PHONE_AUDIO, new AbortController().signal);
    expect(audio.length).toBe('Sorry about that.'.length * MS_PER_CHAR * 8);

    const secret = 'sk_wrong_http_key_555';
    const wrong = provider({ apiKey: secret });
    const before = emulator.httpRequests.length;
    const error = await caught(wrong.synthesizeOnce('Hi.', PHONE_AUDIO, new AbortController().signal));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(false);
    expect((error as ProviderError).status).toBe(401);
    expect(inspect(error)).not.toContain(secret);
    expect(emulator.httpRequests.length - before).toBe(1);
  });
});
