import { describe, expect, it } from 'vitest';
import { BROWSER_AUDIO, PHONE_AUDIO } from '../../core/frames.js';
import type { AudioFormat } from '../../core/frames.js';
import { ProviderError } from '../../core/errors.js';
import { mulawToPcm16 } from '../../audio/mulaw.js';
import { pcm16FromBytes, rms } from '../../audio/pcm.js';
import { createEspeakTts, espeakAvailable, findEspeak } from './espeak-tts.js';
import { concatBytes } from '../../audio/pcm.js';
import { present } from '../../../test/support/prerequisites.js';

const available = present(espeakAvailable(), 'espeak-ng');

async function speak(format: AudioFormat, texts: string[]): Promise<Uint8Array[]> {
  const tts = createEspeakTts({});
  const stream = await tts.open({ format, signal: new AbortController().signal });
  for (const text of texts) stream.sendText(text);
  stream.end();
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream.audio) chunks.push(chunk);
  return chunks;
}


describe('espeak-ng lookup', () => {
  it('reports a missing binary as unavailable, and open() fails with a non-retryable ProviderError', async () => {
    expect(espeakAvailable('/nonexistent/espeak-ng')).toBe(false);
    expect(findEspeak('/nonexistent/espeak-ng')).toBeUndefined();
    const tts = createEspeakTts({ binary: '/nonexistent/espeak-ng' });
    const error = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(false);
  });

  it('rejects voices that are not voice names', () => {
    expect(() => createEspeakTts({ voice: 'en; rm -rf /' })).toThrow(RangeError);
    expect(() => createEspeakTts({ wordsPerMinute: 5 })).toThrow(RangeError);
  });
});

describe.skipIf(!available)('espeak-ng speech', () => {
  it.each([
    { name: 'phone (mu-law 8 kHz)', format: PHONE_AUDIO, bytesPerSecond: 8000 },
    { name: 'browser (PCM16 16 kHz)', format: BROWSER_AUDIO, bytesPerSecond: 32000 },
  ])('speaks in the requested format: $name', async ({ format, bytesPerSecond }) => {
    const chunks = await speak(format, ['Your oil change is booked for Thursday at two PM.']);
    const audio = concatBytes(chunks);
    const seconds = audio.length / bytesPerSecond;
    // About three seconds of speech at 170 words per minute.
    expect(seconds).toBeGreaterThan(1.5);
    expect(seconds).toBeLessThan(6);
    if (format.encoding === 'linear16') expect(audio.length % 2).toBe(0);
    const samples = format.encoding === 'mulaw' ? mulawToPcm16(audio) : pcm16FromBytes(audio);
    expect(rms(samples)).toBeGreaterThan(300);
  });

  it('speaks queued chunks in order, longer text giving longer audio', async () => {
    const one = concatBytes(await speak(PHONE_AUDIO, ['Hello.']));
    const two = concatBytes(await speak(PHONE_AUDIO, ['Hello.', 'How can I help you today?']));
    expect(two.length).toBeGreaterThan(one.length * 1.5);
  });

  it('treats text starting with a dash as words, not options', async () => {
    const audio = concatBytes(await speak(PHONE_AUDIO, ['--version please']));
    expect(audio.length).toBeGreaterThan(4000);
  });

  it('stops at once when closed (barge-in) and when the signal aborts', async () => {
    const tts = createEspeakTts({});
    const stream = await tts.open({ format: PHONE_AUDIO, signal: new AbortController().signal });
    stream.sendText('This is a long sentence that would take quite a few seconds to say out loud, so it gets cut off.');
    stream.sendText('And this one is never spoken.');
    const received: Uint8Array[] = [];
    const started = Date.now();
    for await (const chunk of stream.audio) {
      received.push(chunk);
      stream.close();
    }
    expect(received.length).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);

    const controller = new AbortController();
    const aborted = await tts.open({ format: BROWSER_AUDIO, signal: controller.signal });
    aborted.sendText('Another sentence to be cut off by the signal.');
    const iterator = aborted.audio[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    const rest = await iterator.next();
    expect(rest.done).toBe(true);
  });

  it('ends with no audio when nothing speakable was sent', async () => {
    expect(concatBytes(await speak(BROWSER_AUDIO, ['   ', '**']))).toHaveLength(0);
  });
});
