import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startElevenLabsEmulator } from '../../../test/emulators/elevenlabs.js';
import type { ElevenLabsEmulator, ElevenLabsEmulatorOptions } from '../../../test/emulators/elevenlabs.js';
import { ProviderError } from '../../core/errors.js';
import { BROWSER_AUDIO, PHONE_AUDIO } from '../../core/frames.js';
import type { TtsStream } from '../tts.js';
import { createElevenLabsTts, toOutputFormat } from './elevenlabs-tts.js';
import type { ElevenLabsTts, ElevenLabsTtsOptions } from './elevenlabs-tts.js';

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
  const tts = createElevenLabsTts({
    apiKey: emulator.apiKey,
    baseUrl: emulator.baseUrl,
    voiceId: 'voice-123',
    modelId: 'eleven_flash_v2_5',
    connectTimeoutMs: 1_000,
    audioTimeoutMs: 2_000,
    ...overrides,
  });
  providers.push(tts);
  return tts;
}

async function collect(stream: TtsStream): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream.audio) chunks.push(chunk);
  return chunks;
}

const total = (chunks: Uint8Array[]): number => chunks.reduce((sum, chunk) => sum + chunk.length, 0);

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
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
    const chunks = await collect(stream);

    const connection = emulator.connections.at(-1);
    expect(connection?.query).toMatchObject({ model_id: 'eleven_flash_v2_5', output_format: 'ulaw_8000' });
    expect(connection?.voiceId).toBe('voice-123');
    expect(connection?.headerKey).toBe(true);
    expect(connection?.initMessage).toEqual({ text: ' ' });
    expect(chunks.length).toBeGreaterThan(1);
    // 8000 one-byte samples a second.
    expect(total(chunks)).toBe(text.length * MS_PER_CHAR * 8);
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
      const bytes = total(await collect(stream));
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
    const chunks = await collect(stream);
    expect(chunks.every((chunk) => chunk.length % 2 === 0)).toBe(true);
    expect(total(chunks)).toBe('Odd sized chunks must not split a sample.'.length * MS_PER_CHAR * 32);
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
    while (total(first) < firstBytes) {
      const next = await iterator.next();
      expect(next.done).toBe(false);
      if (!next.done) first.push(next.value);
    }
    expect(total(first)).toBe(firstBytes);

    stream.sendText('How can I help?');
    const second: Uint8Array[] = [];
    const secondBytes = 'How can I help?'.length * MS_PER_CHAR * 8;
    while (total(second) < secondBytes) {
      const next = await iterator.next();
      expect(next.done).toBe(false);
      if (!next.done) second.push(next.value);
    }
    expect(total(second)).toBe(secondBytes);

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
    await collect(stream);
    expect(emulator.connections.at(-1)?.texts).toEqual(['Okay. ']);
    expect(() => stream.sendText('late')).toThrow(/after end/);
  });

  it('end() with no text completes the iterator', async () => {
    const tts = provider();
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    stream.end();
    expect(await collect(stream)).toEqual([]);
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

describe('pre-warming', () => {
  it('a warm socket skips the handshake: open() is fast and uses the socket opened beforehand', async () => {
    emulator.setLatency({ handshakeDelayMs: 150 });
    const tts = provider();
    expect(await tts.warm(PHONE_AUDIO)).toBe(true);
    const warmConnection = emulator.connections.at(-1)!;
    await until(() => warmConnection.initMessage !== undefined);
    expect(warmConnection.initMessage).toEqual({ text: ' ' });

    const warmStart = performance.now();
    const warm = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    const warmOpenMs = performance.now() - warmStart;
    warm.sendText('Hi.');
    warm.end();
    await collect(warm);
    expect(warmConnection.texts).toEqual(['Hi. ']);

    const cold = provider(); // nothing warm
    const coldStart = performance.now();
    const stream = await cold.open({ format: BROWSER_AUDIO, signal: new AbortController().signal });
    const coldOpenMs = performance.now() - coldStart;
    stream.close();

    expect(warmOpenMs).toBeLessThan(100);
    expect(warmOpenMs).toBeLessThan(coldOpenMs / 2);
    expect(coldOpenMs).toBeGreaterThanOrEqual(140);
  });

  it('opens a replacement after each use so the next reply is warm too', async () => {
    const tts = provider({ prewarm: [PHONE_AUDIO] });
    expect(await tts.warm(PHONE_AUDIO)).toBe(true);
    for (const text of ['One.', 'Two.', 'Three.']) {
      // Ready on our side, not just accepted by the server: the upgrade response may still be in flight.
      await until(() => tts.warmPoolStats(PHONE_AUDIO).ready > 0);
      const before = emulator.handshakes;
      const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
      // Taking the warm socket performs no handshake of its own (the refill happens in the background).
      expect(emulator.handshakes - before).toBeLessThanOrEqual(1);
      stream.sendText(text);
      stream.end();
      await collect(stream);
      const used = emulator.connections.find((c) => c.texts[0] === `${text} `)!;
      expect(used.openedAt).toBeLessThan(Date.now());
    }
    // Three used sockets and one warm spare; every used one was opened before its reply began.
    await until(() => emulator.connections.length === 4);
  });

  it('replaces a warm socket the server idled out, transparently', async () => {
    await startEmulator({ idleTimeoutMs: 1_200 });
    const errors: ProviderError[] = [];
    const tts = provider({ onWarmupError: (error) => errors.push(error) });
    expect(await tts.warm(PHONE_AUDIO)).toBe(true);
    const first = emulator.connections.at(-1)!;
    await until(() => first.closed, 3_000);
    expect(first.closedBy).toBe('server');
    expect(first.closeCode).toBe(1008);
    await until(() => emulator.connections.length === 2 && tts.warmPoolStats(PHONE_AUDIO).ready === 1);

    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    stream.sendText('Still here.');
    stream.end();
    expect(total(await collect(stream))).toBe('Still here.'.length * MS_PER_CHAR * 8);
    expect(emulator.connections[1]?.texts).toEqual(['Still here. ']);
    expect(errors).toEqual([]);
  });

  it('renews a warm socket before the inactivity timeout it asked for', async () => {
    const tts = provider({ inactivityTimeoutMs: 2_000 });
    expect(await tts.warm(PHONE_AUDIO)).toBe(true);
    expect(emulator.connections[0]?.query.inactivity_timeout).toBe('2');
    // Renewed at half the timeout here (the 3 s margin is more than the whole timeout).
    await until(() => emulator.connections.length === 2 && emulator.connections[0]!.closed, 3_000);
    expect(emulator.connections[0]?.closedBy).toBe('client');
  });
});

describe('warm pool', () => {
  /** Sockets the server holds open that have carried no text: the warm ones. */
  const idleConnections = (): number[] =>
    emulator.connections.filter((c) => !c.closed && c.texts.length === 0).map((c) => c.id);

  /** Opens `n` streams at once; reports which of them were served by a socket opened beforehand. */
  async function burst(tts: ElevenLabsTts, n: number, label: string): Promise<{ warm: number; cold: number; slowest: number }> {
    const before = new Set(idleConnections());
    const started = performance.now();
    const timed = await Promise.all(
      Array.from({ length: n }, async () => {
        const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
        return { stream, ms: performance.now() - started };
      }),
    );
    timed.forEach(({ stream }, i) => {
      stream.sendText(`${label} ${i}.`);
      stream.end();
    });
    await Promise.all(timed.map(({ stream }) => collect(stream)));
    let warm = 0;
    for (let i = 0; i < n; i++) {
      const used = emulator.connections.find((c) => c.texts[0] === `${label} ${i}. `)!;
      if (before.has(used.id)) warm++;
    }
    return { warm, cold: n - warm, slowest: Math.max(...timed.map(({ ms }) => ms)) };
  }

  it('grows after a burst of cold opens, so the next burst finds warm sockets', async () => {
    emulator.setLatency({ handshakeDelayMs: 150 });
    const tts = provider({ warmPool: { max: 4 } });
    expect(await tts.warm(PHONE_AUDIO)).toBe(true);
    expect(tts.warmPoolStats(PHONE_AUDIO)).toEqual({ ready: 1, connecting: 0, target: 1 });

    const first = await burst(tts, 4, 'first');
    expect(first).toMatchObject({ warm: 1, cold: 3 });
    expect(first.slowest).toBeGreaterThanOrEqual(140);
    // Three cold takes raised the target from 1 to 4.
    await until(() => tts.warmPoolStats(PHONE_AUDIO).ready === 4);
    expect(tts.warmPoolStats(PHONE_AUDIO).target).toBe(4);
    expect(idleConnections()).toHaveLength(4);

    const handshakesBefore = emulator.handshakes;
    const second = await burst(tts, 4, 'second');
    expect(second).toMatchObject({ warm: 4, cold: 0 });
    expect(second.slowest).toBeLessThan(100);
    // The only handshakes since are the background refills, none of them on an open()'s path.
    await until(() => tts.warmPoolStats(PHONE_AUDIO).ready === 4);
    expect(emulator.handshakes - handshakesBefore).toBe(4);

    // The single-socket behaviour (max 1), for comparison: the second burst is mostly cold again.
    const single = provider({ warmPool: { max: 1 } });
    expect(await single.warm(PHONE_AUDIO)).toBe(true);
    await burst(single, 4, 'single-first');
    await until(() => single.warmPoolStats(PHONE_AUDIO).ready === 1);
    expect(await burst(single, 4, 'single-second')).toMatchObject({ warm: 1, cold: 3 });
  });

  it('never holds more than max sockets, however many opens find it empty', async () => {
    const tts = provider({ warmPool: { max: 2 } });
    expect(await tts.warm(PHONE_AUDIO)).toBe(true);
    let peak = 0;
    let peakTarget = 0;
    const sampler = setInterval(() => {
      const stats = tts.warmPoolStats(PHONE_AUDIO);
      peak = Math.max(peak, stats.ready + stats.connecting);
      peakTarget = Math.max(peakTarget, stats.target);
    }, 1);
    try {
      for (const label of ['a', 'b', 'c']) {
        await burst(tts, 6, label);
        await until(() => tts.warmPoolStats(PHONE_AUDIO).ready === 2);
        await new Promise((resolve) => setTimeout(resolve, 100));
        // Every stream has closed; what the server still holds open is the pool.
        expect(emulator.connections.filter((c) => !c.closed)).toHaveLength(2);
      }
    } finally {
      clearInterval(sampler);
    }
    expect(peak).toBeLessThanOrEqual(2);
    expect(peakTarget).toBe(2);
    expect(tts.warmPoolStats(PHONE_AUDIO)).toEqual({ ready: 2, connecting: 0, target: 2 });
  });

  it('shrinks back to min as sockets idle to renewal untaken', async () => {
    const tts = provider({ inactivityTimeoutMs: 2_000, warmPool: { min: 1, max: 4 } });
    expect(await tts.warm(PHONE_AUDIO)).toBe(true);
    await burst(tts, 4, 'grow');
    await until(() => tts.warmPoolStats(PHONE_AUDIO).ready === 4);
    // Renewal comes at half the 2 s timeout: three sockets are dropped, one renewed.
    await until(() => {
      const stats = tts.warmPoolStats(PHONE_AUDIO);
      return stats.target === 1 && stats.ready === 1 && stats.connecting === 0;
    }, 3_000);
    // The renewed socket's predecessor is closed once its replacement is open.
    await until(() => emulator.connections.filter((c) => !c.closed).length === 1, 3_000);
    expect(emulator.connections.filter((c) => c.closedBy === 'server')).toHaveLength(4); // the streams
    expect(await tts.warm(PHONE_AUDIO)).toBe(true);
  });

  it('close() closes every socket of the pool', async () => {
    const tts = provider({ warmPool: { max: 3 } });
    expect(await tts.warm(PHONE_AUDIO)).toBe(true);
    await burst(tts, 3, 'x');
    await until(() => tts.warmPoolStats(PHONE_AUDIO).ready === 3);
    const handshakes = emulator.handshakes;
    tts.close();
    await until(() => emulator.connections.every((c) => c.closed));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(emulator.handshakes).toBe(handshakes);
  });
});

describe('failures', () => {
  it('retries a refused connection within open()', async () => {
    emulator.failNextConnections(1);
    const tts = provider();
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    stream.sendText('Recovered.');
    stream.end();
    expect(total(await collect(stream))).toBeGreaterThan(0);
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
    const error = await caught(collect(stream));
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
    const error = await caught(collect(stream));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(true);
  });

  it('prewarm opens sockets at creation; close() shuts them and stops renewing', async () => {
    const tts = provider({ prewarm: [PHONE_AUDIO, BROWSER_AUDIO] });
    await until(() => emulator.connections.length === 2 && emulator.connections.every((c) => c.initMessage));
    expect(emulator.connections.map((c) => c.query.output_format).sort()).toEqual(['pcm_16000', 'ulaw_8000']);
    tts.close();
    await until(() => emulator.connections.every((c) => c.closed));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(emulator.handshakes).toBe(2);
    expect(() => provider({ prewarm: [{ encoding: 'mulaw', sampleRate: 16000 }] })).toThrow(ProviderError);
  });

  it('a wrong API key is a non-retryable error that never contains the key (1008 close)', async () => {
    const secret = 'sk_wrong_secret_key_0123456789';
    const tts = provider({ apiKey: secret });
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    stream.sendText('Hello.');
    const error = await caught(collect(stream));
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

  it('a warm-up refused for its key is reported once and not retried in a loop', async () => {
    const errors: ProviderError[] = [];
    const tts = provider({ apiKey: 'sk_wrong_warm_key', onWarmupError: (error) => errors.push(error) });
    // The key is checked after the upgrade, so the socket opens and is then closed with 1008.
    await tts.warm(PHONE_AUDIO);
    await until(() => errors.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.retryable).toBe(false);
    expect(errors[0]?.message).not.toContain('sk_wrong_warm_key');
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
