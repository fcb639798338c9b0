import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/core/errors.js';
import { BROWSER_AUDIO, PHONE_AUDIO } from '../../../src/core/frames.js';
import type { TtsStream } from '../../../src/providers/tts.js';
import { createScriptedTts } from './scripted-tts.js';

async function collect(stream: TtsStream): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream.audio) chunks.push(chunk);
  return chunks;
}
const total = (chunks: Uint8Array[]): number => chunks.reduce((sum, chunk) => sum + chunk.length, 0);
const signal = (): AbortSignal => new AbortController().signal;

describe('scripted TTS', () => {
  it('produces audio proportional to the text, in the requested format, and records the texts', async () => {
    const tts = createScriptedTts({ msPerChar: 50, chunkMs: 40 });
    const phone = await tts.open({ format: PHONE_AUDIO, signal: signal() });
    phone.sendText('Hello.');
    phone.sendText('Bye.');
    phone.end();
    const chunks = await collect(phone);
    expect(total(chunks)).toBe((6 + 4) * 50 * 8);
    expect(chunks.length).toBeGreaterThan(2);

    const browser = await tts.open({ format: BROWSER_AUDIO, signal: signal() });
    browser.sendText('Hello.');
    browser.end();
    expect(total(await collect(browser))).toBe(6 * 50 * 32);

    expect(tts.texts).toEqual(['Hello.', 'Bye.', 'Hello.']);
    expect(tts.streams.map((s) => s.ended)).toEqual([true, true]);
    expect(tts.closed).toBe(false);
  });

  it('waits for text until end(), and applies the first-byte delay', async () => {
    const tts = createScriptedTts({ firstByteDelayMs: 40 });
    const stream = await tts.open({ format: PHONE_AUDIO, signal: signal() });
    const started = performance.now();
    const first = stream.audio[Symbol.asyncIterator]().next();
    setTimeout(() => stream.sendText('Hi.'), 10);
    await first;
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('close() ends the iterator at once and is recorded', async () => {
    const tts = createScriptedTts({ interChunkDelayMs: 50 });
    const stream = await tts.open({ format: PHONE_AUDIO, signal: signal() });
    stream.sendText('A long reply that is interrupted by the caller.');
    const iterator = stream.audio[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    const pending = iterator.next();
    stream.close();
    expect((await pending).done).toBe(true);
    expect(tts.closed).toBe(true);
    expect(tts.streams[0]?.closed).toBe(true);
  });

  it('aborting the signal closes the stream', async () => {
    const tts = createScriptedTts({ interChunkDelayMs: 20 });
    const controller = new AbortController();
    const stream = await tts.open({ format: PHONE_AUDIO, signal: controller.signal });
    stream.sendText('Something long enough to have several chunks of audio.');
    let count = 0;
    for await (const _chunk of stream.audio) {
      count++;
      controller.abort();
    }
    expect(count).toBe(1);
    expect(tts.streams[0]?.closed).toBe(true);
  });

  it('failNext() fails the next stream, or the next open()', async () => {
    const tts = createScriptedTts();
    tts.failNext({ afterChunks: 1 });
    const stream = await tts.open({ format: PHONE_AUDIO, signal: signal() });
    stream.sendText('This will fail after its first chunk.');
    stream.end();
    const received: Uint8Array[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream.audio) received.push(chunk);
      })(),
    ).rejects.toBeInstanceOf(ProviderError);
    expect(received).toHaveLength(1);

    tts.failNext({ at: 'open', error: new ProviderError('scripted-tts', 'down', { retryable: false }) });
    await expect(tts.open({ format: PHONE_AUDIO, signal: signal() })).rejects.toMatchObject({ retryable: false });

    const ok = await tts.open({ format: PHONE_AUDIO, signal: signal() });
    ok.sendText('Fine.');
    ok.end();
    expect(total(await collect(ok))).toBeGreaterThan(0);
  });
});
