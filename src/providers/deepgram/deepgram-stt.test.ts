import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startDeepgramEmulator } from '../../../test/emulators/deepgram.js';
import type { DeepgramEmulator } from '../../../test/emulators/deepgram.js';
import { concatAudio, silence, speechLike, toFrames } from '../../../test/support/audio-fixtures.js';
import { ProviderError } from '../../core/errors.js';
import { BROWSER_AUDIO, PHONE_AUDIO } from '../../core/frames.js';
import type { AudioFormat } from '../../core/frames.js';
import type { SttEvent, SttStream } from '../stt.js';
import { createDeepgramStt } from './deepgram-stt.js';
import type { DeepgramSttOptions } from './deepgram-stt.js';

const API_KEY = 'dg-test-key-5f1c9a7e3b2d4c6a8e0f';
const WAIT = { timeout: 5000, interval: 10 };

let emulator: DeepgramEmulator;
let controller: AbortController;
const open: SttStream[] = [];

beforeEach(async () => {
  emulator = await startDeepgramEmulator({ apiKey: API_KEY });
  controller = new AbortController();
});

afterEach(async () => {
  controller.abort();
  await Promise.all(open.splice(0).map((s) => s.close()));
  await emulator.close();
});

function provider(overrides: Partial<DeepgramSttOptions> = {}) {
  return createDeepgramStt({
    apiKey: API_KEY,
    baseUrl: emulator.url,
    model: 'nova-3',
    reconnect: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 40 },
    ...overrides,
  });
}

async function connect(
  format: AudioFormat,
  overrides: Partial<DeepgramSttOptions> = {},
  keyterms?: readonly string[],
  wordsWantedAtOnce?: () => boolean,
): Promise<{ stream: SttStream; events: SttEvent[] }> {
  const events: SttEvent[] = [];
  const stream = await provider(overrides).connect(
    { format, signal: controller.signal, ...(keyterms ? { keyterms } : {}), ...(wordsWantedAtOnce ? { wordsWantedAtOnce } : {}) },
    (event) => events.push(event),
  );
  open.push(stream);
  return { stream, events };
}

function send(stream: SttStream, audio: Uint8Array, format: AudioFormat): void {
  for (const frame of toFrames(audio, format)) stream.sendAudio(frame);
}

function finals(events: SttEvent[]): Array<Extract<SttEvent, { type: 'transcript' }>> {
  return events.filter((e): e is Extract<SttEvent, { type: 'transcript' }> => e.type === 'transcript' && e.isFinal);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Deepgram STT against the emulator', () => {
  it('asks for mu-law 8 kHz on a phone call, with endpointing, VAD events and keyterms', async () => {
    await connect(PHONE_AUDIO, {}, ['oil change', 'Civic', ' ', 'brake pads', 'Civic']);
    const connection = emulator.connections[0];
    expect(connection?.auth).toBe('header');
    const query = connection?.query;
    expect(Object.fromEntries(query ?? [])).toMatchObject({
      model: 'nova-3',
      encoding: 'mulaw',
      sample_rate: '8000',
      channels: '1',
      interim_results: 'true',
      endpointing: '300',
      utterance_end_ms: '1000',
      vad_events: 'true',
      smart_format: 'true',
      punctuate: 'true',
    });
    expect(query?.getAll('keyterm')).toEqual(['oil change', 'Civic', 'brake pads']);
    expect(query?.has('keywords')).toBe(false);
  });

  it('asks for linear16 16 kHz from a browser, with the configured timings', async () => {
    await connect(BROWSER_AUDIO, { endpointingMs: 500, utteranceEndMs: 1500 }, ['Camry']);
    const query = emulator.connections[0]?.query;
    expect(query?.get('encoding')).toBe('linear16');
    expect(query?.get('sample_rate')).toBe('16000');
    expect(query?.get('endpointing')).toBe('500');
    expect(query?.get('utterance_end_ms')).toBe('1500');
    expect(query?.getAll('keyterm')).toEqual(['Camry']);
  });

  it.each([
    ['phone', PHONE_AUDIO],
    ['browser', BROWSER_AUDIO],
  ])('turns %s speech then silence into speech_started, interims, a speech-final transcript, utterance_end', async (_name, format) => {
    emulator.script(['I need an oil change for my Civic.']);
    const { stream, events } = await connect(format);
    send(stream, concatAudio(speechLike(1200, format), silence(1500, format)), format);

    await vi.waitFor(() => expect(events.at(-1)?.type).toBe('utterance_end'), WAIT);
    expect(events[0]?.type).toBe('speech_started');
    const transcripts = events.filter((e) => e.type === 'transcript');
    const interims = transcripts.filter((e) => !e.isFinal);
    expect(interims.length).toBeGreaterThan(0);
    for (const interim of interims) expect('I need an oil change for my Civic.'.startsWith(interim.text)).toBe(true);
    expect(finals(events)).toEqual([
      { type: 'transcript', text: 'I need an oil change for my Civic.', isFinal: true, speechFinal: true, atMs: expect.any(Number) },
    ]);
    expect(events.map((e) => e.type).indexOf('utterance_end')).toBeGreaterThan(events.indexOf(finals(events)[0] as SttEvent));
    // Every ms reaches Deepgram (the quiet tail still held goes out on close).
    await stream.close();
    expect(emulator.connections[0]?.audioMs).toBeCloseTo(2700, 0);
  });

  it('sends KeepAlive while no audio flows, and not while it does', async () => {
    const { stream, events } = await connect(PHONE_AUDIO, { keepAliveIntervalMs: 200 });
    const connection = emulator.connections[0];
    // Audio at its real pace: every frame resets the keep-alive clock.
    for (const frame of toFrames(silence(400, PHONE_AUDIO), PHONE_AUDIO)) {
      stream.sendAudio(frame);
      await sleep(20);
    }
    expect(connection?.keepAlives).toBe(0);

    await sleep(700); // a muted mic: nothing to send
    expect(connection?.keepAlives).toBeGreaterThanOrEqual(2);
    expect(connection?.open).toBe(true);

    emulator.script(['Still there.']);
    send(stream, concatAudio(speechLike(500, PHONE_AUDIO), silence(400, PHONE_AUDIO)), PHONE_AUDIO);
    await vi.waitFor(() => expect(finals(events).map((e) => e.text)).toEqual(['Still there.']), WAIT);
  });

  it('keeps a silent stream alive past the server idle timeout', async () => {
    await emulator.close();
    emulator = await startDeepgramEmulator({ apiKey: API_KEY, idleTimeoutMs: 500 });
    const { events } = await connect(PHONE_AUDIO, { keepAliveIntervalMs: 100 });
    await sleep(1200);
    expect(emulator.connections).toHaveLength(1);
    expect(emulator.connections[0]?.open).toBe(true);
    expect(events).toEqual([]);
  });

  it('finalize() flushes the utterance in progress', async () => {
    emulator.script(['Hold on a second.']);
    const { stream, events } = await connect(PHONE_AUDIO);
    send(stream, speechLike(700, PHONE_AUDIO), PHONE_AUDIO);
    await vi.waitFor(() => expect(events.some((e) => e.type === 'transcript' && !e.isFinal)).toBe(true), WAIT);
    expect(finals(events)).toEqual([]);

    stream.finalize();
    await vi.waitFor(() => expect(finals(events)).toHaveLength(1), WAIT);
    expect(finals(events)[0]).toMatchObject({ text: 'Hold on a second.', isFinal: true, speechFinal: false });
    expect(emulator.connections[0]?.finalizes).toBe(1);
  });

  it('sends a long-quiet line in 250 ms chunks, the voice in 40 ms ones, and the quiet after it frame by frame', async () => {
    emulator.script(['I need an oil change.']);
    const { stream, events } = await connect(PHONE_AUDIO);
    // 1.7 s of silence: the first 1.2 s (endpointing and UtteranceEnd reach back) frame by frame.
    send(stream, silence(1_680, PHONE_AUDIO), PHONE_AUDIO);
    await vi.waitFor(() => expect(emulator.connections[0]?.audioBytes).toBe(1_680 * 8), WAIT);
    const record = emulator.connections[0]!;
    // 60 frames, then 480 ms as two 240 ms chunks (20 ms frames fill a chunk to 240, not over 250).
    expect(record.audioMessages).toBe(60 + 2);
    // 60 ms more is held (less than a chunk), and goes out as soon as the voice starts.
    send(stream, silence(60, PHONE_AUDIO), PHONE_AUDIO);
    const speech = speechLike(800, PHONE_AUDIO);
    stream.sendAudio(speech.subarray(0, 160));
    await vi.waitFor(() => expect(record.audioBytes).toBe(1_740 * 8), WAIT);
    expect(record.audioMessages).toBe(62 + 1);
    // The voice goes two frames to a message.
    stream.sendAudio(speech.subarray(160, 320));
    await vi.waitFor(() => expect(record.audioBytes).toBe(1_740 * 8 + 320), WAIT);
    expect(record.audioMessages).toBe(63 + 1);
    // The rest of it likewise, then the silence frame by frame; the utterance is heard as before.
    send(stream, concatAudio(speech.subarray(320), silence(1_200, PHONE_AUDIO)), PHONE_AUDIO);
    await vi.waitFor(() => expect(finals(events).map((e) => e.text)).toEqual(['I need an oil change.']), WAIT);
    expect(finals(events)[0]?.speechFinal).toBe(true);
    await vi.waitFor(() => expect(events.at(-1)?.type).toBe('utterance_end'), WAIT);
    expect(record.audioMessages).toBe(64 + 19 + 60);
  });

  it('holds the quiet line as soon as a speech_final has covered the last sound, not 1.2 s after it', async () => {
    emulator.script(['I need an oil change.']);
    const { stream, events } = await connect(PHONE_AUDIO);
    send(stream, concatAudio(speechLike(600, PHONE_AUDIO), silence(400, PHONE_AUDIO)), PHONE_AUDIO);
    await vi.waitFor(() => expect(finals(events)[0]?.speechFinal).toBe(true), WAIT);
    const record = emulator.connections[0]!;
    expect(record.audioMessages).toBe(15 + 20);
    // Deepgram has ended the turn: only UtteranceEnd is to come, and it changes nothing.
    send(stream, silence(500, PHONE_AUDIO), PHONE_AUDIO);
    await vi.waitFor(() => expect(record.audioBytes).toBe(1_480 * 8), WAIT);
    expect(record.audioMessages).toBe(35 + 2);
    // The voice sends the 20 ms still held at once, then goes two frames to a message.
    send(stream, speechLike(120, PHONE_AUDIO), PHONE_AUDIO);
    await vi.waitFor(() => expect(record.audioBytes).toBe(1_620 * 8), WAIT);
    expect(record.audioMessages).toBe(37 + 1 + 3);
  });

  it('sends the voice frame by frame while words are wanted at once (the agent talks), and holds the line after it as before', async () => {
    emulator.script(['Wait, I have a question.']);
    let agentTalking = true;
    const { stream, events } = await connect(PHONE_AUDIO, {}, undefined, () => agentTalking);
    const record = (): NonNullable<(typeof emulator.connections)[number]> => emulator.connections[0]!;
    send(stream, speechLike(200, PHONE_AUDIO), PHONE_AUDIO);
    await vi.waitFor(() => expect(record().audioBytes).toBe(200 * 8), WAIT);
    expect(record().audioMessages).toBe(10);
    // The agent stopped: the rest of the voice goes two frames to a message again.
    agentTalking = false;
    send(stream, concatAudio(speechLike(400, PHONE_AUDIO), silence(400, PHONE_AUDIO)), PHONE_AUDIO);
    await vi.waitFor(() => expect(finals(events)[0]?.speechFinal).toBe(true), WAIT);
    expect(record().audioMessages).toBe(10 + 10 + 20);
    // A speech_final covers the last sound, whichever way it went: the quiet line is held.
    send(stream, silence(500, PHONE_AUDIO), PHONE_AUDIO);
    // Two chunks of 240 ms; the last 20 ms waits for more.
    await vi.waitFor(() => expect(record().audioBytes).toBe(1_480 * 8), WAIT);
    expect(record().audioMessages).toBe(40 + 2);
  });

  it('a speech_final that ends before the latest sound does not start holding', async () => {
    emulator.script(['I need an oil change.', 'For my Civic.']);
    emulator.setFinalDelay(150);
    const { stream, events } = await connect(PHONE_AUDIO);
    // The caller goes on after the pause Deepgram ends the first utterance on, before that final arrives.
    send(stream, concatAudio(speechLike(600, PHONE_AUDIO), silence(400, PHONE_AUDIO), speechLike(200, PHONE_AUDIO)), PHONE_AUDIO);
    await vi.waitFor(() => expect(finals(events)[0]?.speechFinal).toBe(true), WAIT);
    const record = emulator.connections[0]!;
    send(stream, silence(200, PHONE_AUDIO), PHONE_AUDIO);
    await vi.waitFor(() => expect(record.audioBytes).toBe(1_400 * 8), WAIT);
    expect(record.audioMessages).toBe(15 + 20 + 5 + 10);
  });

  it('finalize() and close() send what a quiet line held first', async () => {
    const { stream } = await connect(PHONE_AUDIO);
    send(stream, silence(1_540, PHONE_AUDIO), PHONE_AUDIO);
    stream.finalize();
    await vi.waitFor(() => expect(emulator.connections[0]?.finalizes).toBe(1), WAIT);
    expect(emulator.connections[0]?.audioBytes).toBe(1_540 * 8);
    send(stream, silence(40, PHONE_AUDIO), PHONE_AUDIO);
    await stream.close();
    expect(emulator.connections[0]?.audioBytes).toBe(1_580 * 8);
  });

  it('close() sends CloseStream, delivers the last results, then closes without reconnecting', async () => {
    emulator.script(['Thanks, bye.']);
    emulator.setFinalDelay(100);
    const { stream, events } = await connect(PHONE_AUDIO, { closeTimeoutMs: 2000 });
    send(stream, speechLike(600, PHONE_AUDIO), PHONE_AUDIO);

    const started = performance.now();
    await stream.close();
    expect(performance.now() - started).toBeLessThan(1000);
    const connection = emulator.connections[0];
    expect(connection?.controlMessages.at(-1)).toBe('CloseStream');
    expect(connection?.messagesSent.at(-1)?.type).toBe('Metadata');
    expect(finals(events).map((e) => e.text)).toEqual(['Thanks, bye.']);
    await vi.waitFor(() => expect(connection?.open).toBe(false), WAIT);
    expect(connection?.closedByClient).toBe(true);

    const seen = events.length;
    stream.sendAudio(speechLike(100, PHONE_AUDIO));
    stream.finalize();
    await sleep(100);
    expect(events).toHaveLength(seen);
    expect(emulator.connections).toHaveLength(1);
  });

  it('reconnects after a drop and hears the next utterance whole, part of it sent during the gap', async () => {
    emulator.script(['I need an oil change.', 'Tomorrow at nine works.']);
    const { stream, events } = await connect(PHONE_AUDIO, { reconnect: { maxAttempts: 100, baseDelayMs: 5, maxDelayMs: 20 } });
    send(stream, concatAudio(speechLike(800, PHONE_AUDIO), silence(1200, PHONE_AUDIO)), PHONE_AUDIO);
    await vi.waitFor(() => expect(events.at(-1)?.type).toBe('utterance_end'), WAIT);

    const part1 = speechLike(300, PHONE_AUDIO);
    const part2 = speechLike(300, PHONE_AUDIO);
    const part3 = concatAudio(speechLike(300, PHONE_AUDIO), silence(1200, PHONE_AUDIO));
    // The outage lasts until we say so, so part 2 certainly arrives while there is no connection.
    emulator.rejectNextConnections(1_000_000);
    emulator.dropConnections();
    send(stream, part1, PHONE_AUDIO); // written before the client can know the socket is gone
    await vi.waitFor(() => expect(emulator.rejectedHandshakes).toBeGreaterThan(0), WAIT);
    send(stream, part2, PHONE_AUDIO);
    emulator.rejectNextConnections(0);

    await vi.waitFor(() => expect(events.some((e) => e.type === 'reconnected')).toBe(true), WAIT);
    send(stream, part3, PHONE_AUDIO);
    await vi.waitFor(() => expect(finals(events).map((e) => e.text)).toEqual(['I need an oil change.', 'Tomorrow at nine works.']), WAIT);

    expect(finals(events)[1]?.speechFinal).toBe(true);
    const reconnected = events.find((e) => e.type === 'reconnected');
    expect(reconnected).toMatchObject({ attempt: expect.any(Number) });
    expect(emulator.connections).toHaveLength(2);
    // Everything since the last final reached the new connection: the whole second utterance.
    const second = emulator.connections[1];
    expect(second?.audioBytes).toBeGreaterThanOrEqual(part1.length + part2.length + part3.length);
    expect(events.some((e) => e.type === 'error')).toBe(false);
  });

  it('bounds what it replays by maxBufferMs, dropping the oldest audio', async () => {
    const { stream, events } = await connect(PHONE_AUDIO, {
      maxBufferMs: 1000,
      reconnect: { maxAttempts: 100, baseDelayMs: 5, maxDelayMs: 20 },
    });
    emulator.rejectNextConnections(1_000_000);
    emulator.dropConnections();
    await sleep(30);
    send(stream, silence(3000, PHONE_AUDIO), PHONE_AUDIO);
    emulator.rejectNextConnections(0);
    await vi.waitFor(() => expect(events.some((e) => e.type === 'reconnected')).toBe(true), WAIT);
    await sleep(50);
    expect(emulator.connections[1]?.audioMs).toBeLessThanOrEqual(1000);
    // The oldest goes in whole chunks: a quiet line's are up to 250 ms.
    expect(emulator.connections[1]?.audioMs).toBeGreaterThanOrEqual(750);
  });

  it('gives up after maxAttempts with an error event that does not carry the key', async () => {
    const { events } = await connect(PHONE_AUDIO, { reconnect: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 10 } });
    emulator.rejectNextConnections(1_000_000);
    emulator.dropConnections();

    await vi.waitFor(() => expect(events.some((e) => e.type === 'error')).toBe(true), WAIT);
    const event = events.find((e) => e.type === 'error');
    const error = event?.type === 'error' ? event.error : undefined;
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).status).toBe(503);
    expect(error?.message).toMatch(/3 attempts/);
    expect(emulator.rejectedHandshakes).toBe(3);
    expect(inspect(error, { depth: 10 })).not.toContain(API_KEY);
    expect(JSON.stringify(error)).not.toContain(API_KEY);
  });

  it('refuses a bad key at once, naming the status but never the key', async () => {
    const secret = 'dg-wrong-key-9d8c7b6a5f4e';
    const attempt = createDeepgramStt({ apiKey: secret, baseUrl: emulator.url, model: 'nova-3' }).connect(
      { format: PHONE_AUDIO, signal: controller.signal },
      () => undefined,
    );
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status: 401, retryable: false, code: 'deepgram_error' });
    expect(emulator.rejectedHandshakes).toBe(1);
    for (const text of [inspect(error, { depth: 10 }), JSON.stringify(error), String(error)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(API_KEY);
    }
  });

  it('does not leak the key when Deepgram is unreachable', async () => {
    const url = emulator.url;
    await emulator.close();
    emulator = await startDeepgramEmulator({ apiKey: API_KEY });
    const error = await createDeepgramStt({ apiKey: API_KEY, baseUrl: url, model: 'nova-3', reconnect: { maxAttempts: 2, baseDelayMs: 5 } })
      .connect({ format: PHONE_AUDIO, signal: controller.signal }, () => undefined)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect(inspect(error, { depth: 10 })).not.toContain(API_KEY);
  });

  it('aborting the signal closes the stream and silences it', async () => {
    emulator.script(['Never heard.']);
    const { stream, events } = await connect(PHONE_AUDIO);
    controller.abort();
    await vi.waitFor(() => expect(emulator.connections[0]?.open).toBe(false), WAIT);
    send(stream, concatAudio(speechLike(500, PHONE_AUDIO), silence(500, PHONE_AUDIO)), PHONE_AUDIO);
    await sleep(100);
    expect(events).toEqual([]);
    expect(emulator.connections).toHaveLength(1);
    expect(emulator.connections[0]?.audioBytes).toBe(0);
  });

  it('rejects connect() with the reason when the signal is already aborted', async () => {
    controller.abort(new Error('call ended'));
    await expect(connect(PHONE_AUDIO)).rejects.toThrow('call ended');
    expect(emulator.connections).toHaveLength(0);
  });
});
