/**
 * The Twilio media stream end to end on a real listening server: the webhook's TwiML, the stream
 * route, the pure serializer and call control, with the call manager on scripted STT/LLM/TTS
 * fakes and the real tools (PGlite, local calendar). The Twilio side is played by
 * test/emulators/twilio.ts: a media-stream caller and the REST Calls endpoint.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { SessionEvent } from '../src/core/frames.js';
import { createStreamTokenLedger } from '../src/db/stream-token-ledger.js';
import { createLogger } from '../src/observability/logger.js';
import { createCallManager } from '../src/pipeline/call-manager.js';
import type { CallManager } from '../src/pipeline/call-manager.js';
import { DEFAULT_PHRASES } from '../src/pipeline/call-session.js';
import { createScriptedLlm } from './support/fakes/scripted-llm.js';
import type { ScriptedLlm } from './support/fakes/scripted-llm.js';
import { createScriptedStt } from './support/fakes/scripted-stt.js';
import type { ScriptedStt } from './support/fakes/scripted-stt.js';
import { createScriptedTts } from './support/fakes/scripted-tts.js';
import type { ScriptedTts } from './support/fakes/scripted-tts.js';
import type { LlmEvent } from '../src/providers/llm.js';
import { buildServer } from '../src/server/app.js';
import { CLOSE_POLICY, TRANSFER_MESSAGE, twilioRoutes } from '../src/server/twilio-routes.js';
import { createTwilioCallControl } from '../src/transports/twilio/call-control.js';
import { postSignedWebhook, streamParameters } from './support/twilio-webhook.js';
import { deriveStreamTokenSecret, issueStreamToken } from '../src/transports/twilio/stream-token.js';
import { connectTwilioCaller, startTwilioRestEmulator, twilioSid } from './emulators/twilio.js';
import type { TwilioCaller, TwilioRestEmulator } from './emulators/twilio.js';
import { openToolFixture } from './support/tool-fixture.js';
import type { ToolFixture } from './support/tool-fixture.js';

const AUTH_TOKEN = 'stream-test-auth-token-42';
const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const PUBLIC_URL = 'https://agent.example.com';
const TRANSFER_NUMBER = '+15550009000';
const GREETING = 'Thanks for calling Test Garage. How can I help?';
const MS_PER_CHAR = 20;
/** Mu-law bytes the scripted TTS makes for `text` (8 bytes per ms). */
const bytesFor = (text: string) => Math.round(text.replace(/\s+/g, ' ').trim().length * MS_PER_CHAR * 8);

let fixture: ToolFixture;
let rest: TwilioRestEmulator;
let app: FastifyInstance;
let manager: CallManager;
let stt: ScriptedStt;
let llm: ScriptedLlm;
let tts: ScriptedTts;
let streamUrl: string;
const logLines: string[] = [];
const sessionEvents = new Map<string, SessionEvent[]>();
const sessionErrors: Array<{ callId: string; where: string; error: unknown }> = [];
const callers = new Map<string, TwilioCaller>();
let phone = 0;

beforeAll(async () => {
  fixture = await openToolFixture();
  rest = await startTwilioRestEmulator({ accountSid: ACCOUNT, authToken: AUTH_TOKEN });
  // Like Twilio: once a call is completed or its TwiML replaced, its media stream stops.
  rest.onUpdate((request) => {
    setTimeout(() => callers.get(request.callSid)?.hangUp(), 20);
  });
  stt = createScriptedStt();
  llm = createScriptedLlm([]);
  tts = createScriptedTts({ msPerChar: MS_PER_CHAR, chunkMs: 100 });
  ({ app, manager, streamUrl } = await startStreamServer({ tts, greeting: GREETING }));
});

/** The stream route on the real call manager and tools; every server of this file logs to logLines. */
async function startStreamServer(options: { tts: ScriptedTts; greeting: string; maxBufferedBytes?: number }) {
  const manager = createCallManager({
    providers: { stt, llm, tts: options.tts },
    tools: fixture.toolPorts,
    instructions: fixture.instructions,
    phrases: { ...DEFAULT_PHRASES, greeting: options.greeting },
    timing: { idleMs: 60_000 },
    maxConcurrentCalls: 10,
    onSessionEvent: (callId, event) => {
      const list = sessionEvents.get(callId) ?? [];
      list.push(event);
      sessionEvents.set(callId, list);
    },
    onError: (callId, error, where) => sessionErrors.push({ callId, where, error }),
  });
  const logger = createLogger({ level: 'info', secrets: [AUTH_TOKEN], destination: { write: (line) => logLines.push(line) } });
  const app = await buildServer({
    logger,
    readinessChecks: [],
    routes: [
      twilioRoutes({
        manager,
        publicUrl: PUBLIC_URL,
        authToken: AUTH_TOKEN,
        streamTokenTtlSeconds: 60,
        tokenLedger: createStreamTokenLedger(fixture.database.db),
        transferNumber: TRANSFER_NUMBER,
        callControl: createTwilioCallControl({ accountSid: ACCOUNT, authToken: AUTH_TOKEN, apiBaseUrl: rest.baseUrl, timeoutMs: 2_000 }),
        logger,
        dropLogIntervalMs: 1_000,
        ...(options.maxBufferedBytes === undefined ? {} : { maxBufferedBytes: options.maxBufferedBytes }),
      }),
    ],
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, manager, streamUrl: `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/twilio/stream` };
}

afterEach(async () => {
  for (const caller of callers.values()) caller.close();
  callers.clear();
  await waitUntil(() => manager.activeCalls() === 0, 5_000);
});

afterAll(async () => {
  await app?.close();
  await rest?.close();
  await fixture?.close();
});

async function waitUntil(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A stream token the way Twilio gets one: from the TwiML of a signed webhook. */
async function tokenFromWebhook(callSid: string, from: string): Promise<string> {
  const params = { AccountSid: ACCOUNT, CallSid: callSid, From: from, To: '+15557654321' };
  const response = await postSignedWebhook(app, { authToken: AUTH_TOKEN, publicUrl: PUBLIC_URL, params });
  expect(response.statusCode).toBe(200);
  const token = streamParameters(response.body).token;
  expect(token).toBeDefined();
  return token!;
}

async function call(options: { speed?: number; autoStart?: boolean; token?: string; customParameters?: Record<string, string> } = {}) {
  const callSid = twilioSid('CA');
  const callerNumber = `+1555${String(7_000_000 + phone++).padStart(7, '0')}`;
  const token = options.token ?? (await tokenFromWebhook(callSid, callerNumber));
  const caller = await connectTwilioCaller({
    url: streamUrl,
    callSid,
    customParameters: options.customParameters ?? { callerNumber, token },
    speed: options.speed ?? 50,
    autoStart: options.autoStart ?? true,
  });
  callers.set(callSid, caller);
  return { caller, callSid, callerNumber };
}

const text = (delta: string): LlmEvent => ({ type: 'text', delta });
const agentTexts = (callSid: string) =>
  (sessionEvents.get(callSid) ?? []).flatMap((e) => (e.type === 'agent_text' ? [e.text] : []));

describe('Twilio media stream', () => {
  it('greets a verified stream with mu-law media, a mark after every media message, and hears the caller', async () => {
    const { caller, callSid, callerNumber } = await call();
    await caller.waitFor(() => caller.audioBytes() >= bytesFor(GREETING) && caller.echoedMarks.length === caller.marks.length);
    expect(caller.audioBytes()).toBe(bytesFor(GREETING));
    expect(caller.protocolErrors).toEqual([]);
    const kinds = caller.events.filter((e) => e.type === 'media' || e.type === 'mark').map((e) => e.type);
    expect(kinds.length).toBeGreaterThan(2);
    for (let i = 0; i < kinds.length; i += 2) expect(kinds.slice(i, i + 2)).toEqual(['media', 'mark']);
    expect(caller.echoedMarks.every((m) => !m.cleared)).toBe(true);
    expect(agentTexts(callSid)).toEqual([GREETING]);

    // The caller's audio reaches STT as sent, and the verified number reached the session.
    const audio = Uint8Array.from({ length: 800 }, (_, i) => (i * 7) & 0xff);
    caller.sendAudio(audio);
    await waitUntil(() => stt.current.audioBytes === 800);
    expect(Buffer.concat(stt.current.audio)).toEqual(Buffer.from(audio));
    expect(stt.current.format).toEqual({ encoding: 'mulaw', sampleRate: 8000 });

    caller.hangUp();
    await waitUntil(() => manager.activeCalls() === 0);
    expect(sessionEvents.get(callSid)?.at(-1)).toEqual({ type: 'call_ended', reason: 'caller_hung_up' });
    expect(callerNumber).toMatch(/^\+1555/);
    expect(logLines.join('')).not.toContain(AUTH_TOKEN);
  });

  it.each([
    ['an expired token', (callSid: string) => issueStreamToken({ secret: deriveStreamTokenSecret(AUTH_TOKEN), callSid, ttlSeconds: 60, now: Date.now() - 61_000 })],
    ['a forged token', (callSid: string) => issueStreamToken({ secret: deriveStreamTokenSecret('not-the-auth-token'), callSid, ttlSeconds: 60, now: Date.now() })],
    ["another call's token", () => issueStreamToken({ secret: deriveStreamTokenSecret(AUTH_TOKEN), callSid: twilioSid('CA'), ttlSeconds: 60, now: Date.now() })],
    ['garbage', () => 'v1.99999999999.AAAA'],
    ['no token', () => undefined],
  ])('closes a stream that starts with %s, before any call starts', async (_name, makeToken) => {
    const callSid = twilioSid('CA');
    const token = makeToken(callSid);
    const caller = await connectTwilioCaller({
      url: streamUrl,
      callSid,
      customParameters: token === undefined ? { callerNumber: '+15550001111' } : { callerNumber: '+15550001111', token },
    });
    callers.set(callSid, caller);
    const { code } = await caller.closed;
    expect(code).toBe(CLOSE_POLICY);
    expect(caller.audioBytes()).toBe(0);
    expect(sessionEvents.has(callSid)).toBe(false);
    expect(manager.activeCalls()).toBe(0);
  });

  it('drops media sent before start, then serves the call once it starts', async () => {
    const { caller } = await call({ autoStart: false });
    const streamsBefore = stt.streams.length;
    caller.sendAudio(new Uint8Array(480).fill(0x11));
    caller.sendRaw(JSON.stringify({ event: 'mark', streamSid: caller.streamSid, mark: { name: 'early' } }));
    await new Promise((r) => setTimeout(r, 50));
    expect(stt.streams.length).toBe(streamsBefore);
    caller.sendStart();
    caller.sendAudio(new Uint8Array(320).fill(0x22));
    await caller.waitFor(() => caller.audioBytes() >= bytesFor(GREETING));
    await waitUntil(() => stt.streams.length > streamsBefore && stt.current.audioBytes === 320);
    expect(stt.current.audio.every((chunk) => chunk.every((b) => b === 0x22))).toBe(true);
    expect(caller.closeCode).toBeUndefined();
    expect(logLines.join('')).toContain('media before start');
  });

  it('survives thousands of malformed messages on one stream while another call completes an exchange', async () => {
    const fuzzed = await call();
    await fuzzed.caller.waitFor(() => fuzzed.caller.audioBytes() >= bytesFor(GREETING));
    // Connected last, so the scripted STT hears this one.
    const good = await call();
    await good.caller.waitFor(() => good.caller.audioBytes() >= bytesFor(GREETING));

    llm.push([text('Sure. '), text('What day works for you?')]);
    let spoke = false;

    const random = seeded(1234);
    const sid = fuzzed.caller.streamSid;
    const samples: Array<() => { data: string | Buffer; binary?: boolean }> = [
      () => ({ data: randomBytes(random, 1 + Math.floor(random() * 300)), binary: true }),
      () => ({ data: randomText(random, Math.floor(random() * 300)) }),
      () => ({ data: JSON.stringify({ event: 'media', streamSid: sid, media: { payload: 'abc' } }).slice(0, Math.floor(random() * 40)) }),
      () => ({ data: JSON.stringify({ event: 'media', streamSid: sid, media: { payload: random() * 1e6 } }) }),
      () => ({ data: JSON.stringify({ event: 'media', streamSid: sid, media: { track: 'inbound', payload: '!!notbase64!!' } }) }),
      () => ({ data: JSON.stringify({ event: 'media', streamSid: sid, media: null }) }),
      () => ({ data: JSON.stringify({ event: 'media', streamSid: 'MZsomeoneelse', media: { payload: '//8=' } }) }),
      () => ({ data: JSON.stringify({ event: 'mark', streamSid: sid, mark: { name: random() } }) }),
      () => ({ data: JSON.stringify({ event: 'mark', streamSid: sid, mark: { name: `junk-${random()}` } }) }),
      () => ({ data: JSON.stringify({ event: 'dtmf', streamSid: sid, dtmf: { digit: random() > 0.5 ? '5' : 55 } }) }),
      () => ({ data: JSON.stringify({ event: 'start', start: { callSid: twilioSid('CA'), streamSid: twilioSid('MZ') } }) }),
      () => ({ data: JSON.stringify({ event: 'stop', streamSid: 'MZsomeoneelse' }) }),
      () => ({ data: JSON.stringify({ event: ['media'] }) }),
      () => ({ data: JSON.stringify({ event: `evt-${Math.floor(random() * 1e6)}` }) }),
      () => ({ data: JSON.stringify([1, 2, { event: 'media' }]) }),
      () => ({ data: 'null' }),
      () => ({ data: `{"event":"media","media":{"payload":"${'A'.repeat(100_000)}"}}` }),
      () => ({ data: JSON.stringify({ event: 'media', streamSid: sid, media: { track: 'inbound', payload: randomBytes(random, 160).toString('base64') } }) }),
    ];
    for (let i = 0; i < 3_000; i++) {
      const sample = samples[Math.floor(random() * samples.length)]!();
      fuzzed.caller.sendRaw(sample.data, { binary: sample.binary ?? false });
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
      if (i === 500) {
        stt.say('I need an oil change');
        spoke = true;
      }
    }
    expect(spoke).toBe(true);

    // One TTS utterance per sentence.
    const replyBytes = bytesFor('Sure.') + bytesFor('What day works for you?');
    await good.caller.waitFor(() => good.caller.audioBytes() >= bytesFor(GREETING) + replyBytes, 10_000);
    expect(good.caller.audioBytes()).toBe(bytesFor(GREETING) + replyBytes);
    expect(agentTexts(good.callSid)).toEqual([GREETING, 'Sure.', 'What day works for you?']);
    expect(good.caller.protocolErrors).toEqual([]);
    expect(good.caller.closeCode).toBeUndefined();

    // The fuzzed call goes on too, and so does the server.
    expect(fuzzed.caller.closeCode).toBeUndefined();
    expect(fuzzed.caller.protocolErrors).toEqual([]);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect(manager.activeCalls()).toBe(2);
    expect(sessionErrors).toEqual([]);
    // Drops are logged, rate-limited, and without payloads.
    const dropLines = logLines.filter((l) => l.includes('dropped a malformed media stream message'));
    expect(dropLines.length).toBeGreaterThan(0);
    expect(dropLines.length).toBeLessThan(20);
    expect(dropLines.join('')).not.toContain('AAAAAAAAAA');
  });

  it('a message over the server-wide WebSocket limit closes only that stream, with one warn line and no stack', async () => {
    const big = await call();
    const other = await call();
    await other.caller.waitFor(() => other.caller.audioBytes() >= bytesFor(GREETING));
    await big.caller.waitFor(() => big.caller.audioBytes() >= bytesFor(GREETING));
    const firstLine = logLines.length;
    big.caller.sendRaw('x'.repeat(300 * 1024));
    const { code } = await big.caller.closed;
    // ws answers 1009 (message too big) and drops the connection, so the client may see 1006.
    expect([1006, 1009]).toContain(code);
    await waitUntil(() => manager.activeCalls() === 1);
    expect(other.caller.closeCode).toBeUndefined();

    const lines = logLines.slice(firstLine).map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    const warnings = lines.filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ route: '/twilio/stream', error: { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' } });
    expect(JSON.stringify(warnings[0])).not.toContain('stack');
  });

  it('closes the stream itself within a second of `stop`, without waiting for Twilio to close it', async () => {
    const { caller, callSid } = await call();
    await caller.waitFor(() => caller.audioBytes() >= bytesFor(GREETING));
    caller.sendStop();
    const closed = await Promise.race([caller.closed, new Promise<'still open'>((r) => setTimeout(() => r('still open'), 1_000))]);
    expect(closed).toEqual({ code: 1000, reason: 'stopped' });
    await waitUntil(() => manager.activeCalls() === 0);
    expect(sessionEvents.get(callSid)?.at(-1)).toEqual({ type: 'call_ended', reason: 'caller_hung_up' });
  });

  it('ends the call of a stream that stops reading while the agent talks, holding a bounded backlog', async () => {
    // A long greeting, spoken as fast as TTS makes it: ~17 MB of media messages, more than the
    // kernel's socket buffers (a few MB on loopback) can absorb for a client that does not read.
    const longGreeting = 'Thanks for calling Test Garage, home of the longest greeting in the business. '.repeat(20);
    const greedy = await startStreamServer({
      tts: createScriptedTts({ msPerChar: 1_000, chunkMs: 1_000 }),
      greeting: longGreeting,
      maxBufferedBytes: 64 * 1024,
    });
    try {
      const callSid = twilioSid('CA');
      const caller = await connectTwilioCaller({
        url: greedy.streamUrl,
        callSid,
        customParameters: { callerNumber: '+15550004444', token: await tokenFromWebhook(callSid, '+15550004444') },
        autoStart: false,
      });
      callers.set(callSid, caller);
      caller.stopReading();
      caller.sendStart();

      await waitUntil(() => logLines.some((line) => line.includes('media stream is not reading') && line.includes(callSid)), 10_000);
      await waitUntil(() => greedy.manager.activeCalls() === 0);
      expect(sessionEvents.get(callSid)?.at(-1)).toEqual({ type: 'call_ended', reason: 'client_not_reading' });
      const warning = JSON.parse(logLines.find((line) => line.includes('media stream is not reading'))!) as Record<string, unknown>;
      expect(warning).toMatchObject({ level: 40, callId: callSid, buffered: expect.any(Number) });

      // What the server still held for it went with the socket: the caller gets what the kernel
      // had buffered, a fraction of the greeting, and then the end of the stream.
      caller.resumeReading();
      await caller.closed;
      const greetingBytes = Math.round(longGreeting.replace(/\s+/g, ' ').trim().length * 1_000 * 8);
      expect(caller.audioBytes()).toBeGreaterThan(0);
      expect(caller.audioBytes()).toBeLessThan(greetingBytes / 2);
    } finally {
      await greedy.app.close();
    }
  });

  it('clears Twilio’s buffer when the caller barges in, and Twilio’s mark echoes on clear are tolerated', async () => {
    // Real-time playback: the greeting is still playing when the caller talks over it.
    const { caller, callSid } = await call({ speed: 1 });
    await caller.waitFor(() => caller.audioBytes() >= 1_600);
    llm.push([text('Of course, go ahead.')]);
    stt.say('Sorry, hold on');
    await caller.waitFor(() => caller.clears === 1);
    const clear = caller.events.findIndex((e) => e.type === 'clear');
    expect(caller.echoedMarks.some((m) => m.cleared)).toBe(true);
    caller.setSpeed(50);
    await waitUntil(() => agentTexts(callSid).includes('Of course, go ahead.'));
    await caller.waitFor(() => caller.events.slice(clear).filter((e) => e.type === 'media').length > 0);
    expect(caller.protocolErrors).toEqual([]);
    expect(sessionErrors).toEqual([]);
  });

  it('hangs up through the REST API when the agent ends the call', async () => {
    const { caller, callSid } = await call();
    await caller.waitFor(() => caller.audioBytes() >= bytesFor(GREETING));
    llm.push([{ type: 'tool_calls', calls: [{ id: 'call_end', name: 'end_call', arguments: '{}' }] }]);
    const before = rest.requests.length;
    stt.say("That's all, thanks");
    await caller.closed;
    const updates = rest.requests.slice(before);
    expect(updates).toEqual([{ accountSid: ACCOUNT, callSid, params: { Status: 'completed' }, authorized: true }]);
    await waitUntil(() => manager.activeCalls() === 0);
    expect(sessionEvents.get(callSid)?.at(-1)).toEqual({ type: 'call_ended', reason: 'agent_ended' });
    // The goodbye played before the hang-up.
    expect(agentTexts(callSid)).toContain('Thanks for calling, goodbye!');
  });

  it('transfers to the shop by redirecting the call to a Dial', async () => {
    const { caller, callSid } = await call();
    await caller.waitFor(() => caller.audioBytes() >= bytesFor(GREETING));
    llm.push([{ type: 'tool_calls', calls: [{ id: 'call_t', name: 'transfer_to_human', arguments: '{"reason":"billing question"}' }] }]);
    llm.push([text('Transferring you now.')]);
    const before = rest.requests.length;
    stt.say('Can I talk to a person?');
    await caller.closed;
    expect(rest.requests.slice(before)).toEqual([
      {
        accountSid: ACCOUNT,
        callSid,
        params: { Twiml: `<?xml version="1.0" encoding="UTF-8"?><Response><Dial>${TRANSFER_NUMBER}</Dial></Response>` },
        authorized: true,
      },
    ]);
    const result = (sessionEvents.get(callSid) ?? []).find((e) => e.type === 'tool_result');
    expect(result).toMatchObject({ name: 'transfer_to_human', result: { success: true, data: { transferred: true }, message: TRANSFER_MESSAGE } });
    expect(logLines.join('')).toContain('billing question');
    await waitUntil(() => manager.activeCalls() === 0);
  });
});

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomBytes(random: () => number, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
}

function randomText(random: () => number, length: number): string {
  const alphabet = '{}[]":,event media start stop mark 0123456789 \\ \u00e9\u4e2d';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(random() * alphabet.length)];
  return out;
}
