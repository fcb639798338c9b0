/**
 * The incoming-call webhook, driven with fastify inject, and the stream's guards before a call
 * starts. Calls over the media stream are in test/twilio-stream.test.ts.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectTwilioCaller, twilioSid } from '../../test/emulators/twilio.js';
import { createLogger } from '../observability/logger.js';
import type { CallManager } from '../pipeline/call-manager.js';
import { twilioSignature } from '../transports/twilio/signature.js';
import { deriveStreamTokenSecret, issueStreamToken, verifyStreamToken } from '../transports/twilio/stream-token.js';
import type { StreamTokenLedger } from '../transports/twilio/stream-token.js';
import { buildServer } from './app.js';
import { AT_CAPACITY_MESSAGE, CLOSE_POLICY, twilioRoutes } from './twilio-routes.js';

const AUTH_TOKEN = 'webhook-auth-token-0123';
const PUBLIC_URL = 'https://agent.example.com';
const CALL = 'CA2a6e1b0b36bc4e54bb1d5d8a2b1a0e77';
const NOW = Date.parse('2026-12-01T15:00:00Z');
const PARAMS = {
  AccountSid: 'AC0123456789abcdef0123456789abcdef',
  CallSid: CALL,
  From: '+15551234567',
  To: '+15557654321',
  CallStatus: 'ringing',
  Direction: 'inbound',
};

/** Webhook tests start no stream; the ledger itself is exercised in test/stream-token-replay.test.ts. */
const acceptingLedger: StreamTokenLedger = { claim: async () => true };

function fakeManager(accepting: boolean): CallManager {
  return {
    accepting: () => accepting,
    start: async () => ({ ok: false, reason: 'at_capacity' }),
    activeCalls: () => 0,
    drain: async () => ({ finished: 0, cutOff: 0 }),
  };
}

describe('POST /twilio/voice', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function server(options: { authToken?: string | undefined; publicUrl?: string | undefined; accepting?: boolean } = {}) {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line) => lines.push(line) } });
    const app = await buildServer({
      logger,
      readinessChecks: [],
      routes: [
        twilioRoutes({
          manager: fakeManager(options.accepting ?? true),
          publicUrl: 'publicUrl' in options ? options.publicUrl : PUBLIC_URL,
          authToken: 'authToken' in options ? options.authToken : AUTH_TOKEN,
          streamTokenTtlSeconds: 120,
          tokenLedger: acceptingLedger,
          transferNumber: undefined,
          callControl: undefined,
          logger,
          now: () => NOW,
        }),
      ],
    });
    close = () => app.close();
    return { app, lines };
  }

  function post(app: Awaited<ReturnType<typeof server>>['app'], options: { signature?: string; params?: Record<string, string>; url?: string } = {}) {
    const params = options.params ?? PARAMS;
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (options.signature !== undefined) headers['x-twilio-signature'] = options.signature;
    return app.inject({ method: 'POST', url: options.url ?? '/twilio/voice', headers, payload: new URLSearchParams(params).toString() });
  }

  const sign = (params: Record<string, string> = PARAMS, url = `${PUBLIC_URL}/twilio/voice`, authToken = AUTH_TOKEN) =>
    twilioSignature({ authToken, url, params });

  it('answers a signed call with TwiML connecting the wss stream, the caller number and a token that verifies', async () => {
    const { app } = await server();
    const response = await post(app, { signature: sign() });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/xml/);
    const body = response.body;
    expect(body).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Response><Connect><Stream url="wss:\/\/agent\.example\.com\/twilio\/stream">/);
    expect(body).toContain('<Parameter name="callerNumber" value="+15551234567"/>');
    expect(body).toMatch(/<\/Stream><\/Connect><\/Response>$/);
    const token = /<Parameter name="token" value="([^"]+)"\/>/.exec(body)?.[1];
    const secret = deriveStreamTokenSecret(AUTH_TOKEN);
    expect(verifyStreamToken({ secret, token, callSid: CALL, now: NOW + 1_000 })).toBe('ok');
    expect(verifyStreamToken({ secret, token, callSid: CALL, now: NOW + 120_000 })).toBe('expired');
    expect(verifyStreamToken({ secret, token, callSid: 'CAother', now: NOW })).toBe('invalid');
    expect(body).not.toContain(AUTH_TOKEN);
  });

  it('keeps a path prefix of PUBLIC_URL in the signed URL and the stream URL', async () => {
    const { app } = await server({ publicUrl: 'https://agent.example.com/shop-7/' });
    const response = await post(app, { signature: sign(PARAMS, 'https://agent.example.com/shop-7/twilio/voice') });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('<Stream url="wss://agent.example.com/shop-7/twilio/stream">');
  });

  it('accepts a signature over the URL with the default port spelled out, as Twilio validators do', async () => {
    const { app } = await server();
    expect((await post(app, { signature: sign(PARAMS, 'https://agent.example.com:443/twilio/voice') })).statusCode).toBe(200);
    expect((await post(app, { signature: sign(PARAMS, 'https://agent.example.com:8443/twilio/voice') })).statusCode).toBe(403);
  });

  it('accepts the form content type with a charset', async () => {
    const { app } = await server();
    const response = await app.inject({
      method: 'POST',
      url: '/twilio/voice',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8', 'x-twilio-signature': sign() },
      payload: new URLSearchParams(PARAMS).toString(),
    });
    expect(response.statusCode).toBe(200);
  });

  it('includes the query string in the signed URL', async () => {
    const { app } = await server();
    const ok = await post(app, { url: '/twilio/voice?shop=7', signature: sign(PARAMS, `${PUBLIC_URL}/twilio/voice?shop=7`) });
    expect(ok.statusCode).toBe(200);
    const bad = await post(app, { url: '/twilio/voice?shop=8', signature: sign(PARAMS, `${PUBLIC_URL}/twilio/voice?shop=7`) });
    expect(bad.statusCode).toBe(403);
  });

  it('leaves out callerNumber for a withheld number', async () => {
    const { app } = await server();
    const params = { ...PARAMS, From: '' };
    const response = await post(app, { params, signature: sign(params) });
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toContain('callerNumber');
  });

  it.each([
    ['a missing signature', () => undefined],
    ['an invalid signature', () => 'AAAAAAAAAAAAAAAAAAAAAAAAAAA='],
    ['a signature for another URL', () => sign(PARAMS, 'https://evil.example.com/twilio/voice')],
    ['a signature over http instead of https', () => sign(PARAMS, 'http://agent.example.com/twilio/voice')],
    ['a signature with another auth token', () => sign(PARAMS, `${PUBLIC_URL}/twilio/voice`, 'other-token')],
    ['a signature for other parameters', () => sign({ ...PARAMS, From: '+15550000000' })],
  ])('refuses %s with 403 and no TwiML', async (_name, signature) => {
    const { app, lines } = await server();
    const response = await post(app, { signature: signature() });
    expect(response.statusCode).toBe(403);
    expect(response.body).not.toContain('<Response>');
    expect(lines.join('')).toContain('invalid or missing X-Twilio-Signature');
  });

  it('refuses with 503, and says why in the log, when the auth token is not configured', async () => {
    const { app, lines } = await server({ authToken: undefined });
    const response = await post(app, { signature: sign() });
    expect(response.statusCode).toBe(503);
    expect(response.body).not.toContain('<Response>');
    expect(lines.join('')).toContain('TWILIO_AUTH_TOKEN is not set');
  });

  it('refuses with 503 when the public URL is not configured', async () => {
    const { app, lines } = await server({ publicUrl: undefined });
    expect((await post(app, { signature: sign() })).statusCode).toBe(503);
    expect(lines.join('')).toContain('PUBLIC_URL is not set');
  });

  it('says a polite message and hangs up at capacity', async () => {
    const { app } = await server({ accepting: false });
    const response = await post(app, { signature: sign() });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><Response><Say>${AT_CAPACITY_MESSAGE}</Say><Hangup/></Response>`,
    );
    expect(response.body).not.toContain('<Stream');
  });

  it('answers 400 to a signed request without a CallSid', async () => {
    const { app } = await server();
    const params = { From: '+15551234567' };
    expect((await post(app, { params, signature: sign(params) })).statusCode).toBe(400);
  });

  it('never logs the auth token or the stream token', async () => {
    const { app, lines } = await server();
    const response = await post(app, { signature: sign() });
    const token = /name="token" value="([^"]+)"/.exec(response.body)?.[1];
    await post(app, { signature: 'bad' });
    const log = lines.join('');
    expect(log).not.toContain(AUTH_TOKEN);
    expect(token).toBeDefined();
    expect(log).not.toContain(token!);
  });
});

describe('GET /twilio/stream before a call starts', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function listen(options: { authToken?: string | undefined; tokenLedger?: StreamTokenLedger } = {}) {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line) => lines.push(line) } });
    let starts = 0;
    const manager = { ...fakeManager(true), start: async () => { starts += 1; return { ok: false as const, reason: 'at_capacity' as const }; } };
    const app = await buildServer({
      logger,
      readinessChecks: [],
      routes: [
        twilioRoutes({
          manager,
          publicUrl: PUBLIC_URL,
          authToken: 'authToken' in options ? options.authToken : AUTH_TOKEN,
          streamTokenTtlSeconds: 120,
          tokenLedger: options.tokenLedger ?? acceptingLedger,
          transferNumber: undefined,
          callControl: undefined,
          logger,
          startTimeoutMs: 150,
          maxMalformedBeforeStart: 5,
        }),
      ],
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    close = () => app.close();
    const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/twilio/stream`;
    return { url, lines, starts: () => starts };
  }

  it('closes a stream that never starts', async () => {
    const { url, lines } = await listen();
    const caller = await connectTwilioCaller({ url, callSid: twilioSid('CA'), customParameters: {}, autoStart: false });
    expect((await caller.closed).code).toBe(CLOSE_POLICY);
    expect(lines.join('')).toContain('no valid start message in time');
  });

  it('closes a stream that sends only garbage before starting', async () => {
    const { url } = await listen();
    const caller = await connectTwilioCaller({ url, callSid: twilioSid('CA'), customParameters: {}, autoStart: false });
    for (let i = 0; i < 10; i++) caller.sendRaw('not json');
    expect((await caller.closed).code).toBe(CLOSE_POLICY);
  });

  it('refuses every stream when the auth token is not configured', async () => {
    const { url, lines, starts } = await listen({ authToken: undefined });
    const caller = await connectTwilioCaller({ url, callSid: twilioSid('CA'), customParameters: { token: 'v1.1.x' } });
    expect((await caller.closed).code).toBe(1011);
    expect(starts()).toBe(0);
    expect(lines.join('')).toContain('TWILIO_AUTH_TOKEN is not set');
  });

  it('refuses a stream with a valid token, fail closed, when the token ledger cannot answer', async () => {
    const unavailable: StreamTokenLedger = {
      claim: async () => {
        throw new Error('the stream token ledger is unavailable: connect ECONNREFUSED 127.0.0.1:5432');
      },
    };
    const { url, lines, starts } = await listen({ tokenLedger: unavailable });
    const callSid = twilioSid('CA');
    const token = issueStreamToken({ secret: deriveStreamTokenSecret(AUTH_TOKEN), callSid, ttlSeconds: 120, now: Date.now() });
    const caller = await connectTwilioCaller({ url, callSid, customParameters: { token } });
    expect((await caller.closed).code).toBe(1013);
    expect(starts()).toBe(0);
    const refusal = lines.filter((line) => line.includes('cannot check that its stream token is unused'));
    expect(refusal.map((line) => (JSON.parse(line) as { level: number }).level)).toEqual([40]); // warn, not error
    expect(lines.join('')).not.toContain(token);
  });
});
