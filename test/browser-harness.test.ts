/**
 * The browser harness end to end: its WebSocket route driven by a plain ws client (token, bad
 * messages, typed calls), and its page in real headless Chromium with a fake microphone, on the
 * real call manager, tools, database (PGlite) and local calendar, with scripted STT/LLM/TTS.
 *
 * The Chromium suite needs /usr/bin/chromium (Debian package `chromium`); without it, it is
 * skipped with a message. It leaves a screenshot at test-results/harness.png.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeWav, encodeWav } from '../src/audio/wav.js';
import { BROWSER_AUDIO } from '../src/core/frames.js';
import type { InboundFrame, OutboundFrame, SessionEvent } from '../src/core/frames.js';
import { createLogger } from '../src/observability/logger.js';
import { createCallManager } from '../src/pipeline/call-manager.js';
import type { CallManager, CallProviders } from '../src/pipeline/call-manager.js';
import { DEFAULT_PHRASES } from '../src/pipeline/call-session.js';
import type { CallSession } from '../src/pipeline/call-session.js';
import { createScriptedLlm } from './support/fakes/scripted-llm.js';
import type { ScriptedLlmStep } from './support/fakes/scripted-llm.js';
import { createScriptedStt } from './support/fakes/scripted-stt.js';
import type { ScriptedStt } from './support/fakes/scripted-stt.js';
import { createScriptedTts } from './support/fakes/scripted-tts.js';
import type { LlmEvent } from '../src/providers/llm.js';
import { buildServer } from '../src/server/app.js';
import { HARNESS_TRANSFER_MESSAGE, harnessRoutes } from '../src/server/harness-routes.js';
import type { HarnessServerMessage } from '../src/transports/browser/serializer.js';
import { CHROMIUM, launchWithFakeMicrophone } from './support/chromium.js';
import { stopReading } from './support/stuck-client.js';
import { openToolFixture } from './support/tool-fixture.js';
import type { ToolFixture } from './support/tool-fixture.js';
import { present } from './support/prerequisites.js';

const ESPEAK = '/usr/bin/espeak-ng';
const GREETING = 'Thanks for calling Test Garage. How can I help?';
const LONG_REPLY =
  'Besides oil changes we do brakes, tires, alignments, batteries, air conditioning, ' +
  'inspections, diagnostics and most scheduled maintenance, on nearly every make and model.';

let fixture: ToolFixture;
beforeAll(async () => {
  fixture = await openToolFixture();
});
afterAll(async () => {
  await fixture?.close();
});

// ---- a harness server on the real call manager, with a spy on every call ------------------------

interface CallSpy {
  callId: string;
  inbound: InboundFrame[];
  outbound: OutboundFrame[];
  session?: CallSession;
}

interface HarnessServer {
  base: string;
  ws: string;
  stt: ScriptedStt;
  manager: CallManager;
  calls: CallSpy[];
  logs: string[];
  /** Sockets the server still holds. */
  openSockets(): number;
  close(): Promise<void>;
}

const servers: HarnessServer[] = [];
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const socket of clients.splice(0)) socket.terminate();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startServer(options: {
  script?: ScriptedLlmStep[];
  token?: string;
  voiceAvailable?: boolean;
  textModeProviders?: Partial<CallProviders>;
  startTimeoutMs?: number;
  llmInterEventDelayMs?: number;
  greeting?: string;
  ttsMsPerChar?: number;
  maxBufferedBytes?: number;
  /** The peer address the route sees (default: the socket's, always loopback here). */
  peerAddress?: string;
}): Promise<HarnessServer> {
  const stt = createScriptedStt();
  const llm = createScriptedLlm(options.script ?? [], {
    firstTokenDelayMs: 20,
    interEventDelayMs: options.llmInterEventDelayMs ?? 10,
  });
  const tts = createScriptedTts({ msPerChar: options.ttsMsPerChar ?? 25, chunkMs: 100 });
  const manager = createCallManager({
    providers: { stt, llm, tts },
    tools: fixture.toolPorts,
    instructions: fixture.instructions,
    phrases: { ...DEFAULT_PHRASES, greeting: options.greeting ?? GREETING },
    timing: { idleMs: 120_000, stillThinkingMs: 10_000 },
    maxConcurrentCalls: 4,
  });
  const calls: CallSpy[] = [];
  // Sees what the route hands the session and what the session sends, without changing either.
  const spied: CallManager = {
    ...manager,
    async start(request) {
      const spy: CallSpy = { callId: request.callId, inbound: [], outbound: [] };
      calls.push(spy);
      const transport = {
        ...request.transport,
        send(frame: OutboundFrame) {
          spy.outbound.push(frame);
          request.transport.send(frame);
        },
      };
      const result = await manager.start({ ...request, transport });
      if (result.ok) {
        const session = result.session;
        const handle = session.handle.bind(session);
        session.handle = (frame) => {
          spy.inbound.push(frame);
          handle(frame);
        };
        spy.session = session;
      }
      return result;
    },
  };
  const logs: string[] = [];
  // As in production, where the config hands the logger every secret value to scrub.
  const logger = createLogger({
    level: 'info',
    secrets: options.token === undefined ? [] : [options.token],
    destination: { write: (line) => logs.push(line) },
  });
  const app = await buildServer({
    logger,
    readinessChecks: [],
    routes: [
      harnessRoutes({
        manager: spied,
        harnessToken: options.token,
        logger,
        textModeProviders: options.textModeProviders ?? { stt: undefined },
        voiceAvailable: options.voiceAvailable ?? true,
        ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
        ...(options.maxBufferedBytes === undefined ? {} : { maxBufferedBytes: options.maxBufferedBytes }),
        ...(options.peerAddress === undefined ? {} : { peerAddress: () => options.peerAddress }),
      }),
    ],
  });
  const host = '127.0.0.1';
  await app.listen({ host, port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const server: HarnessServer = {
    base: `http://${host}:${port}`,
    ws: `ws://${host}:${port}/harness/ws`,
    stt,
    manager,
    calls,
    logs,
    openSockets: () => app.websocketServer.clients.size,
    async close() {
      await manager.drain(2_000);
      await app.close();
    },
  };
  servers.push(server);
  return server;
}

async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const text = (delta: string): LlmEvent => ({ type: 'text', delta });
const toolCall = (id: string, name: string, args: Record<string, unknown>): LlmEvent => ({
  type: 'tool_calls',
  calls: [{ id, name, arguments: JSON.stringify(args) }],
});

const sentMarks = (call: CallSpy) => call.outbound.flatMap((f) => (f.kind === 'mark' ? [f.name] : []));
const echoedMarks = (call: CallSpy) => call.inbound.flatMap((f) => (f.kind === 'mark' ? [f.name] : []));
const micBytes = (call: CallSpy) => call.inbound.reduce((n, f) => n + (f.kind === 'audio' ? f.audio.length : 0), 0);
const allMarksEchoed = (call: CallSpy) => {
  const echoed = new Set(echoedMarks(call));
  const sent = sentMarks(call);
  return sent.length > 0 && sent.every((name) => echoed.has(name));
};

// ---- a plain WebSocket client ---------------------------------------------------------------------

interface Client {
  socket: WebSocket;
  messages: HarnessServerMessage[];
  binaryBytes: () => number;
  closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
  next(predicate: (m: HarnessServerMessage) => boolean, what: string): Promise<HarnessServerMessage>;
}

function connect(url: string, protocols?: string[], options: { origin?: string; headers?: Record<string, string> } = {}): Client {
  const socket = new WebSocket(url, protocols, options);
  clients.push(socket);
  const messages: HarnessServerMessage[] = [];
  let binary = 0;
  socket.on('message', (data, isBinary) => {
    if (isBinary) binary += (data as Buffer).length;
    else messages.push(JSON.parse(String(data)) as HarnessServerMessage);
  });
  socket.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const opened = new Promise<void>((resolve) => socket.on('open', () => resolve()));
  return {
    socket,
    messages,
    binaryBytes: () => binary,
    closed,
    send(message) {
      void opened.then(() => socket.send(typeof message === 'string' || message instanceof Uint8Array ? message : JSON.stringify(message)));
    },
    async next(predicate, what) {
      await until(() => messages.some(predicate), what);
      return messages.find(predicate)!;
    },
  };
}

const isEvent =
  <T extends SessionEvent['type']>(type: T, match: (e: Extract<SessionEvent, { type: T }>) => boolean = () => true) =>
  (m: HarnessServerMessage): boolean =>
    m.type === 'event' && m.event.type === type && match(m.event as Extract<SessionEvent, { type: T }>);

// ---- the route, without a browser ---------------------------------------------------------------

/** A peer on another network: the route is told this address, since tests dial loopback only. */
const REMOTE_PEER = '203.0.113.9';

const warnings = (server: HarnessServer) =>
  server.logs.map((line) => JSON.parse(line) as Record<string, unknown> & { msg: string; level: number }).filter((line) => line.level === 40);

describe('harness routes', () => {
  it('serves the page, with the server capabilities filled in, and its assets', async () => {
    const server = await startServer({ voiceAvailable: false, token: 'secret-token-1' });
    const page = await fetch(`${server.base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('data-voice-available="false"');
    expect(html).toContain('data-token-required="true"');
    expect(html).not.toContain('secret-token-1');
    for (const asset of ['app.js', 'audio.js', 'waterfall.js', 'mic-worklet.js', 'style.css']) {
      const response = await fetch(`${server.base}/harness/${asset}`);
      expect(response.status, asset).toBe(200);
    }
    expect((await fetch(`${server.base}/harness/secrets.txt`)).status).toBe(404);
  });

  it('closes a socket without the token with a policy violation, and lets the token in either way', async () => {
    const server = await startServer({ token: 'tok_0123456789abcdef', script: [] });
    for (const protocols of [undefined, ['harness', 'wrong-token']]) {
      const client = connect(server.ws, protocols);
      client.send({ type: 'start', mode: 'text' });
      expect((await client.closed).code).toBe(1008);
      expect(client.messages).toEqual([{ type: 'error', message: expect.stringMatching(/token/) }]);
    }
    expect(server.calls).toHaveLength(0);

    const bySubprotocol = connect(server.ws, ['harness', 'tok_0123456789abcdef']);
    bySubprotocol.send({ type: 'start', mode: 'text' });
    await bySubprotocol.next((m) => m.type === 'started', 'started (subprotocol)');
    expect(bySubprotocol.socket.protocol).toBe('harness');

    const byQuery = connect(`${server.ws}?token=tok_0123456789abcdef`);
    byQuery.send({ type: 'start', mode: 'text' });
    await byQuery.next((m) => m.type === 'started', 'started (query)');
    expect(server.calls).toHaveLength(2);
    expect(server.logs.join('\n')).not.toContain('tok_0123456789abcdef');
  });

  it('without a token, refuses a peer on another address with 1008 and one warn line', async () => {
    const server = await startServer({ peerAddress: REMOTE_PEER });
    // Asking for a loopback name, so the peer's address is the only thing that is not local.
    const client = connect(server.ws, undefined, { headers: { host: `localhost:${new URL(server.base).port}` } });
    client.send({ type: 'start', mode: 'text', callerNumber: '+15550102000' });
    expect(await client.closed).toMatchObject({ code: 1008, reason: 'not_loopback' });
    expect(client.messages).toEqual([{ type: 'error', message: expect.stringMatching(/HARNESS_TOKEN/) }]);
    expect(server.calls).toHaveLength(0);
    expect(warnings(server)).toEqual([
      expect.objectContaining({ reason: 'not_loopback', remote: REMOTE_PEER, msg: expect.stringMatching(/^harness socket refused/) }),
    ]);
  });

  it('with a token, lets in a peer on another address that presents it', async () => {
    const server = await startServer({ peerAddress: REMOTE_PEER, token: 'tok_0123456789abcdef' });
    const client = connect(server.ws, ['harness', 'tok_0123456789abcdef']);
    client.send({ type: 'start', mode: 'text' });
    await client.next((m) => m.type === 'started', 'started');
  });

  it('without a token, refuses loopback connections relayed by a proxy or asking for another host name', async () => {
    const server = await startServer({});
    const relayed: Array<Record<string, string>> = [
      { 'x-forwarded-for': '203.0.113.9' },
      { forwarded: 'for=203.0.113.9' },
      // DNS rebinding: a page under its own name that resolves to 127.0.0.1.
      { host: 'rebound.example:8080' },
    ];
    for (const headers of relayed) {
      const client = connect(server.ws, undefined, { headers });
      client.send({ type: 'start', mode: 'text' });
      expect((await client.closed).code, JSON.stringify(headers)).toBe(1008);
    }
    expect(server.calls).toHaveLength(0);
    expect(warnings(server).map((line) => line.reason)).toEqual(['not_loopback', 'not_loopback', 'not_loopback']);
    const local = connect(server.ws.replace('127.0.0.1', 'localhost'));
    local.send({ type: 'start', mode: 'text' });
    await local.next((m) => m.type === 'started', 'started (localhost)');
  });

  it('refuses a browser page from another origin, with or without a token, and serves its own page', async () => {
    for (const token of [undefined, 'tok_0123456789abcdef']) {
      const server = await startServer(token === undefined ? {} : { token });
      const protocols = token === undefined ? undefined : ['harness', token];
      for (const origin of ['http://evil.example', server.base.replace('127.0.0.1', 'localhost'), 'null']) {
        const foreign = connect(server.ws, protocols, { origin });
        foreign.send({ type: 'start', mode: 'text' });
        expect(await foreign.closed, origin).toMatchObject({ code: 1008, reason: 'foreign_origin' });
      }
      expect(server.calls).toHaveLength(0);
      const own = connect(server.ws, protocols, { origin: server.base });
      own.send({ type: 'start', mode: 'text' });
      await own.next((m) => m.type === 'started', 'started (same origin)');
    }
  });

  it.each([
    ['no token configured', {}, undefined],
    ['a token configured but not presented', { token: 'tok_0123456789abcdef' }, 'harness socket refused'],
  ])('an oversize frame with %s is one warn line, never an error with a stack', async (_name, options, expected) => {
    const server = await startServer(options);
    const client = connect(server.ws);
    client.send(new Uint8Array(300 * 1024));
    expect([1006, 1008, 1009]).toContain((await client.closed).code);
    await until(() => server.openSockets() === 0, 'the server to let go of the socket');
    const lines = server.logs.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    const warned = warnings(server);
    expect(warned).toHaveLength(1);
    expect(warned[0]!.msg).toContain(expected ?? 'websocket client error');
    expect(JSON.stringify(warned[0])).not.toContain('stack');
  });

  it('closes the socket itself after a stop, and drops a client that never answers the close', async () => {
    const server = await startServer({ textModeProviders: { stt: undefined, tts: undefined } });
    const polite = connect(server.ws);
    polite.send({ type: 'start', mode: 'text' });
    await polite.next((m) => m.type === 'started', 'started');
    polite.send({ type: 'stop' });
    const closed = await Promise.race([polite.closed, new Promise<'still open'>((r) => setTimeout(() => r('still open'), 1_000))]);
    expect(closed).toMatchObject({ code: 1000 });

    const stuck = connect(server.ws);
    stuck.send({ type: 'start', mode: 'text' });
    await stuck.next((m) => m.type === 'started', 'started');
    stuck.send({ type: 'stop' });
    stopReading(stuck.socket);
    await until(() => server.manager.activeCalls() === 0, 'the call to end');
    // The close handshake gets a second, then the server lets go (ws alone would wait 30 s).
    await until(() => server.openSockets() === 0, 'the server to drop the silent socket', 3_000);
  });

  it('ends the call of a client that stops reading while the agent talks', async () => {
    // Hundreds of seconds of 16 kHz audio, sent as fast as TTS makes it: more than the kernel's
    // socket buffers hold for a client that does not read.
    const server = await startServer({
      greeting: 'Thanks for calling Test Garage, home of the longest greeting in the business. '.repeat(5),
      ttsMsPerChar: 1_000,
      maxBufferedBytes: 64 * 1024,
    });
    const client = connect(server.ws);
    client.socket.once('open', () => stopReading(client.socket));
    client.send({ type: 'start', mode: 'voice' });
    await until(() => server.calls[0]?.session?.record.endReason !== undefined, 'the call to end');
    expect(server.calls[0]!.session!.record.endReason).toBe('client_not_reading');
    await until(() => server.manager.activeCalls() === 0, 'the call to be released');
    expect(warnings(server)).toEqual([
      expect.objectContaining({ callId: server.calls[0]!.callId, buffered: expect.any(Number), msg: expect.stringMatching(/not reading/) }),
    ]);
  });

  it('runs a typed call: greeting, turn, tool call with the harness transfer answer, latency, hang-up', async () => {
    const server = await startServer({
      script: [
        [toolCall('call_1', 'transfer_to_human', { reason: 'wants a person' })],
        [text('Someone from the shop will call you back.')],
      ],
      textModeProviders: { stt: undefined, tts: undefined },
    });
    const client = connect(server.ws);
    client.send({ type: 'start', mode: 'text', callerNumber: '(555) 010-2000' });
    const started = await client.next((m) => m.type === 'started', 'started');
    expect(started).toEqual({ type: 'started', callId: expect.stringMatching(/^web-[0-9a-f]{16}$/), mode: 'text', audio: false });
    // Nothing the session said while starting came before `started`.
    expect(client.messages[0]?.type).toBe('started');
    await client.next(isEvent('agent_text', (e) => e.text === GREETING), 'greeting');
    expect(server.calls[0]?.session?.record.callerNumber).toBe('+15550102000');

    client.send({ type: 'text', text: 'Can I talk to a person?' });
    await client.next(isEvent('user_transcript', (e) => e.text === 'Can I talk to a person?' && e.final), 'caller line');
    await client.next(isEvent('tool_call', (e) => e.name === 'transfer_to_human'), 'tool call');
    const result = await client.next(isEvent('tool_result'), 'tool result');
    expect(JSON.stringify(result)).toContain(HARNESS_TRANSFER_MESSAGE);
    await client.next(isEvent('agent_text', (e) => e.text.startsWith('Someone from the shop')), 'reply');
    const latency = await client.next(isEvent('latency'), 'latency');
    expect(latency.type === 'event' && latency.event.type === 'latency' && latency.event.timeline).toMatchObject({
      llm_request: expect.any(Number),
      'tool_start:transfer_to_human': expect.any(Number),
    });
    expect(client.binaryBytes()).toBe(0);

    client.send({ type: 'stop' });
    await client.next((m) => m.type === 'ended', 'ended');
    expect(client.messages.at(-1)).toEqual({ type: 'ended', reason: 'caller_hung_up' });
    expect((await client.closed).code).toBe(1000);
    await until(() => server.manager.activeCalls() === 0, 'the call to finish');
  });

  it('drops malformed messages with an error and carries on', async () => {
    const server = await startServer({ script: [[text('Sure thing.')]], textModeProviders: { stt: undefined, tts: undefined } });
    const client = connect(server.ws);
    client.send({ type: 'text', text: 'too early' });
    await client.next((m) => m.type === 'error' && /start/.test(m.message), 'error for a turn before start');
    client.send({ type: 'start', mode: 'text' });
    await client.next((m) => m.type === 'started', 'started');
    client.send('{not json');
    client.send({ type: 'dance' });
    client.send({ type: 'text', text: 'x'.repeat(5_000) });
    client.send({ type: 'start' });
    await until(() => client.messages.filter((m) => m.type === 'error').length >= 5, 'four more errors');
    // The early turn and the second start are protocol errors, answered but not malformed.
    expect(server.logs.filter((line) => line.includes('dropped a malformed harness message'))).toHaveLength(3);

    client.send({ type: 'text', text: 'Hello?' });
    await client.next(isEvent('agent_text', (e) => e.text === 'Sure thing.'), 'the reply');
    const inbound = server.calls[0]!.inbound;
    expect(inbound.filter((f) => f.kind === 'text')).toEqual([{ kind: 'text', text: 'Hello?' }]);
  });

  it('hangs up when the agent ends the call, saying why', async () => {
    const server = await startServer({
      script: [[text('Goodbye!'), toolCall('call_1', 'end_call', {})]],
      textModeProviders: { stt: undefined, tts: undefined },
    });
    const client = connect(server.ws);
    client.send({ type: 'start', mode: 'text' });
    await client.next((m) => m.type === 'started', 'started');
    client.send({ type: 'text', text: "That's all, thanks." });
    expect(await client.next((m) => m.type === 'ended', 'ended')).toEqual({ type: 'ended', reason: 'agent_ended' });
    expect((await client.closed).code).toBe(1000);
  });

  it('relays microphone audio and mark echoes of a voice call, and sends the agent audio', async () => {
    const server = await startServer({ script: [] });
    const client = connect(server.ws);
    client.send({ type: 'start' });
    const started = await client.next((m) => m.type === 'started', 'started');
    expect(started).toMatchObject({ mode: 'voice', audio: true });
    await until(() => client.binaryBytes() > 0, 'agent audio');
    const mark = (await client.next((m) => m.type === 'mark', 'a mark')) as { type: 'mark'; name: string };
    client.send({ type: 'mark', name: mark.name });
    client.send(new Uint8Array(640));
    client.send(new Uint8Array(641));
    await until(() => server.stt.current.audioBytes === 640, 'audio at the STT');
    const call = server.calls[0]!;
    expect(echoedMarks(call)).toEqual([mark.name]);
    await client.next((m) => m.type === 'error' && /PCM16/.test(m.message), 'odd audio refused');
    client.socket.close();
    await until(() => call.session?.record.endReason === 'caller_hung_up', 'the call to end');
  });

  it('makes a voice request a typed call when the server has no STT', async () => {
    const server = await startServer({ voiceAvailable: false });
    const client = connect(server.ws);
    client.send({ type: 'start', mode: 'voice' });
    expect(await client.next((m) => m.type === 'started', 'started')).toMatchObject({ mode: 'text', audio: true });
    client.send(new Uint8Array(640));
    client.send({ type: 'text', text: 'hi' });
    await until(() => server.calls[0]!.inbound.length > 0, 'the typed turn');
    expect(server.calls[0]!.inbound.map((f) => f.kind)).toEqual(['text']);
  });

  it('refuses a caller number it cannot read, and a socket that never starts', async () => {
    const server = await startServer({ startTimeoutMs: 200 });
    const bad = connect(server.ws);
    bad.send({ type: 'start', callerNumber: '12' });
    await bad.next((m) => m.type === 'error' && /callerNumber/.test(m.message), 'error');
    expect(await bad.next((m) => m.type === 'ended', 'ended')).toEqual({ type: 'ended', reason: 'invalid_start' });
    const idle = connect(server.ws);
    expect((await idle.closed).code).toBe(1008);
    expect(server.calls).toHaveLength(0);
  });
});

// ---- the page in headless Chromium ------------------------------------------------------------

const hasChromium = present(existsSync(CHROMIUM), `${CHROMIUM} (apt-get install chromium)`);
if (!hasChromium) console.warn(`browser harness: ${CHROMIUM} not found, skipping the Chromium tests (apt-get install chromium)`);

describe.skipIf(!hasChromium)(`harness page in headless Chromium (${CHROMIUM})`, () => {
  let workDir: string;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'harness-chromium-'));
    const wav = join(workDir, 'caller.wav');
    writeFileSync(wav, fakeMicrophoneWav(workDir));
    ({ context, page, pageErrors } = await launchWithFakeMicrophone(workDir, wav));
  });

  afterAll(async () => {
    await context?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('calls the agent by voice and by typing, plays its audio, and draws the latency', { timeout: 90_000 }, async () => {
    const server = await startServer({
      script: [
        [toolCall('call_slots', 'get_available_slots', { date: '2026-12-02', service_type: 'oil change' })],
        [text('I have openings tomorrow at nine and at ten. '), text('Which works for you?')],
        [text('Great, nine it is. '), text('Can I have your name?')],
        // Streamed slowly, so the caller interrupts while the model is still talking.
        LONG_REPLY.split(/(?<= )/).map(text),
        [text('Of course, go ahead.')],
      ],
      llmInterEventDelayMs: 120,
    });
    await page.goto(`${server.base}/`);
    // The page opens with a demo caller number, so a first call is never a caller with none.
    expect(await page.inputValue('#caller-number')).toMatch(/^\+1555\d{7}$/);
    await page.fill('#caller-number', '+15550102000');
    await page.click('#call');

    await page.locator('#status.live').waitFor({ timeout: 10_000 });
    await page.locator('#transcript li.agent', { hasText: GREETING }).waitFor({ timeout: 10_000 });
    const call = server.calls[0]!;
    expect(call.session?.record.callerNumber).toBe('+15550102000');

    // The fake microphone streams; the greeting plays to its end, every mark echoed back.
    await until(() => micBytes(call) > 32_000, 'a second of microphone audio at the server', 15_000);
    expect(server.stt.current.audioBytes).toBeGreaterThan(32_000);
    await until(() => allMarksEchoed(call), 'the greeting to play', 15_000);

    // A spoken turn: the scripted STT "hears" it; the agent checks the calendar and answers.
    server.stt.say('I need an oil change tomorrow morning');
    await page.locator('#transcript li.caller', { hasText: 'I need an oil change tomorrow morning' }).waitFor();
    await page.locator('#transcript li.tool', { hasText: 'get_available_slots' }).locator('.result', { hasText: 'ms' }).waitFor();
    await page.locator('#transcript li.agent', { hasText: 'Which works for you?' }).waitFor();
    const marksBefore = echoedMarks(call).length;
    await until(() => allMarksEchoed(call) && echoedMarks(call).length > marksBefore, 'the reply to play', 15_000);
    const turn1 = page.locator('svg.waterfall[data-turn="1"]');
    await turn1.waitFor();
    expect(await turn1.locator('rect.bar').count()).toBeGreaterThanOrEqual(4);
    expect(await turn1.locator('rect.bar-tool').count()).toBe(1);
    // The filler spoken while the tool ran has its own, labelled bar.
    expect(await turn1.locator('rect.bar-filler').count()).toBe(1);
    expect(await turn1.locator('text', { hasText: 'filler audio out' }).count()).toBe(1);
    // One bubble for the reply, its sentences appended as they streamed.
    const reply = page.locator('#transcript li.agent[data-turn="1"]');
    expect(await reply.count()).toBe(1);
    expect(await reply.locator('.text').textContent()).toBe('I have openings tomorrow at nine and at ten. Which works for you?');

    // A typed turn on the same call.
    await page.fill('#say', 'Nine works.');
    await page.press('#say', 'Enter');
    await page.locator('#transcript li.caller', { hasText: 'Nine works.' }).waitFor();
    await page.locator('#transcript li.agent', { hasText: 'Can I have your name?' }).waitFor();
    await page.locator('svg.waterfall[data-turn="2"] rect.bar').first().waitFor();
    expect(call.inbound.filter((f) => f.kind === 'text')).toEqual([{ kind: 'text', text: 'Nine works.' }]);
    await until(() => allMarksEchoed(call), 'the second reply to play', 15_000);

    // A barge-in: the caller speaks over a long answer; the page stops playing at once.
    await page.fill('#say', 'What else do you do?');
    await page.press('#say', 'Enter');
    const playedBefore = echoedMarks(call).length;
    await until(() => echoedMarks(call).length >= playedBefore + 3, 'the long answer to start playing');
    server.stt.say('Sorry, one more thing');
    await until(() => call.outbound.some((f) => f.kind === 'clear'), 'a clear');
    const cut = new Set(sentMarks(call));
    const echoedAtClear = echoedMarks(call).length;
    // Audio was still queued at the page: uncleared, its marks would come back within the wait below.
    expect(cut.size - new Set(echoedMarks(call)).size).toBeGreaterThanOrEqual(3);
    await page.locator('#transcript li.agent.interrupted del.unheard').first().waitFor();
    await page.locator('#transcript li.agent', { hasText: 'Of course, go ahead.' }).waitFor();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Audio cut by the clear never plays, so its marks never come back (one may have been in flight).
    const lateEchoes = echoedMarks(call).slice(echoedAtClear).filter((name) => cut.has(name));
    expect(lateEchoes.length).toBeLessThanOrEqual(1);

    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/harness.png', fullPage: true });

    await page.click('#hangup');
    await page.locator('#status', { hasText: 'Call ended (caller_hung_up)' }).waitFor();
    await until(() => call.session?.record.endReason === 'caller_hung_up', 'the call to end');
    expect(call.session?.record.transcript.filter((t) => t.role === 'caller').map((t) => t.text)).toEqual([
      'I need an oil change tomorrow morning',
      'Nine works.',
      'What else do you do?',
      'Sorry, one more thing',
    ]);
    expect(call.session?.record.bargeIns).toBe(1);
    expect(pageErrors).toEqual([]);
  });
});

/**
 * What the fake microphone plays (looped): espeak-ng saying a sentence when it is installed, else
 * a voice-band tone; then a second of silence. PCM16 mono 16 kHz.
 */
function fakeMicrophoneWav(dir: string): Uint8Array {
  const rate = BROWSER_AUDIO.sampleRate;
  let speech: Int16Array | undefined;
  if (existsSync(ESPEAK)) {
    const file = join(dir, 'espeak.wav');
    try {
      execFileSync(ESPEAK, ['-w', file, 'I need an oil change tomorrow morning'], { stdio: 'ignore', timeout: 10_000 });
      const decoded = decodeWav(readFileSync(file));
      const samples = new Int16Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length / 2);
      speech = linearResample(samples, decoded.sampleRate, rate);
    } catch {
      speech = undefined;
    }
  }
  if (speech === undefined) {
    speech = new Int16Array(rate * 2);
    for (let i = 0; i < speech.length; i++) {
      const t = i / rate;
      speech[i] = Math.round(6000 * Math.sin(2 * Math.PI * 220 * t) + 3000 * Math.sin(2 * Math.PI * 660 * t));
    }
  }
  const out = new Int16Array(speech.length + rate);
  out.set(speech);
  return encodeWav(out, BROWSER_AUDIO);
}

function linearResample(samples: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return samples.slice();
  const out = new Int16Array(Math.floor((samples.length * to) / from));
  for (let i = 0; i < out.length; i++) {
    const position = (i * from) / to;
    const left = Math.floor(position);
    const a = samples[left] ?? 0;
    const b = samples[left + 1] ?? a;
    out[i] = Math.round(a + (b - a) * (position - left));
  }
  return out;
}
