/**
 * A stream token starts one media stream, ever, whichever instance it reaches. First the deployed
 * system (`startApp` against the vendor emulators): a real call ends, then a second stream presents
 * the same token. Then two instances sharing one database (PGlite: one handle; PostgreSQL: two
 * pools, when TEST_DATABASE_URL is set): a token used on one is refused on the other, also when
 * both see it at the same moment.
 */
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client.js';
import { callRecords } from '../src/db/schema.js';
import { createStreamTokenLedger } from '../src/db/stream-token-ledger.js';
import { createLogger } from '../src/observability/logger.js';
import type { CallManager } from '../src/pipeline/call-manager.js';
import { buildServer } from '../src/server/app.js';
import { CLOSE_POLICY, CLOSE_TRY_LATER, twilioRoutes } from '../src/server/twilio-routes.js';
import { connectTwilioCaller, twilioSid } from './emulators/twilio.js';
import { databaseBackends } from './support/databases.js';
import { phoneAppOnFreshDatabase, waitUntil } from './support/phone-app.js';
import { postSignedWebhook, streamParameters } from './support/twilio-webhook.js';

const CALLER = '+15557770101';
const tokenIn = (twiml: string) => streamParameters(twiml).token;
const levelsOf = (lines: readonly string[], message: string) =>
  lines.filter((line) => line.includes(message)).map((line) => (JSON.parse(line) as { level: number }).level);

describe.each(databaseBackends())('a replayed stream token, on $name', (backend) => {
  const startPhoneApp = phoneAppOnFreshDatabase(backend);

  it('a second stream with the token of a call that ended is closed with 1008: no second session, no second record', async () => {
    const phone = await startPhoneApp();
    const db = phone.running.database.db;
    const callSid = twilioSid('CA');
    const { statusCode, body: twiml } = await phone.webhook(callSid, CALLER);
    expect(statusCode).toBe(200);
    const token = tokenIn(twiml);
    expect(token).toBeDefined();

    const first = await phone.connectStream(callSid, twiml);
    await first.waitFor(() => first.audioBytes() > 0, 10_000);
    first.hangUp();
    const recordOf = () => db.select().from(callRecords).where(eq(callRecords.callId, callSid));
    await waitUntil(async () => (await recordOf()).length === 1, 10_000, 'the call record');
    const [record] = await recordOf();

    const replay = await phone.connectStream(callSid, twiml);
    expect((await replay.closed).code).toBe(CLOSE_POLICY);
    expect(replay.audioBytes()).toBe(0);
    expect(phone.running.calls.activeCalls()).toBe(0);
    expect(await recordOf()).toEqual([record]);
    const started = phone.logLines.filter((line) => line.includes('"call started"') && line.includes(callSid));
    expect(started).toHaveLength(1);
    expect(levelsOf(phone.logLines, 'its stream token was already used')).toEqual([40]);
    expect(phone.logLines.join('')).not.toContain(token!);
  }, 60_000);
});

const AUTH_TOKEN = 'replay-test-auth-token-7';
const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const PUBLIC_URL = 'https://agent.example.com';

interface Instance {
  app: FastifyInstance;
  streamUrl: string;
  lines: string[];
  /** Streams that got past the token checks to the call manager. */
  starts: string[];
}

describe.each(databaseBackends())('two instances sharing one database, on $name', (backend) => {
  const opened: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of opened.splice(0).reverse()) await close();
  });

  /** One instance: its own routes, logger and call manager, on its own handle of the shared database. */
  async function instance(handle: Database): Promise<Instance> {
    const lines: string[] = [];
    const starts: string[] = [];
    const logger = createLogger({ level: 'info', secrets: [AUTH_TOKEN], destination: { write: (line) => lines.push(line) } });
    // Takes the start and turns the call away: what matters here is who got that far.
    const manager: CallManager = {
      accepting: () => true,
      start: async (request) => {
        starts.push(request.callId);
        return { ok: false, reason: 'at_capacity' };
      },
      activeCalls: () => 0,
      drain: async () => ({ finished: 0, cutOff: 0 }),
    };
    const app = await buildServer({
      logger,
      readinessChecks: [],
      routes: [
        twilioRoutes({
          manager,
          publicUrl: PUBLIC_URL,
          authToken: AUTH_TOKEN,
          streamTokenTtlSeconds: 60,
          tokenLedger: createStreamTokenLedger(handle.db),
          transferNumber: undefined,
          callControl: undefined,
          logger,
        }),
      ],
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    opened.push(() => app.close());
    return { app, streamUrl: `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/twilio/stream`, lines, starts };
  }

  async function twoInstances(): Promise<[Instance, Instance]> {
    const shared = await backend.openShared();
    opened.push(() => shared.close());
    return [await instance(shared.handles[0]), await instance(shared.handles[1])];
  }

  /** The stream parameters Twilio gets from `at`'s TwiML for a new call. */
  async function incomingCall(at: Instance): Promise<{ callSid: string; parameters: Record<string, string> }> {
    const callSid = twilioSid('CA');
    const params = { AccountSid: ACCOUNT, CallSid: callSid, From: CALLER, To: '+15557654321' };
    const response = await postSignedWebhook(at.app, { authToken: AUTH_TOKEN, publicUrl: PUBLIC_URL, params });
    expect(response.statusCode).toBe(200);
    const token = tokenIn(response.body);
    expect(token).toBeDefined();
    return { callSid, parameters: { callerNumber: CALLER, token: token! } };
  }

  async function stream(at: Instance, call: { callSid: string; parameters: Record<string, string> }): Promise<number> {
    const caller = await connectTwilioCaller({ url: at.streamUrl, callSid: call.callSid, customParameters: call.parameters });
    return (await caller.closed).code;
  }

  it('a token used on one instance is refused on the other', async () => {
    const [a, b] = await twoInstances();
    const call = await incomingCall(a);
    expect(await stream(a, call)).toBe(CLOSE_TRY_LATER); // the manager's answer: the token was good
    expect(a.starts).toEqual([call.callSid]);

    expect(await stream(b, call)).toBe(CLOSE_POLICY);
    expect(await stream(a, call)).toBe(CLOSE_POLICY);
    expect(b.starts).toEqual([]);
    expect(a.starts).toEqual([call.callSid]);
    expect(levelsOf(b.lines, 'its stream token was already used')).toEqual([40]);
    expect([...a.lines, ...b.lines].join('')).not.toContain(call.parameters.token);
  }, 30_000);

  it('one token presented to both instances at once starts exactly one stream', async () => {
    const [a, b] = await twoInstances();
    for (let round = 0; round < 5; round++) {
      const call = await incomingCall(round % 2 === 0 ? a : b);
      const codes = await Promise.all([stream(a, call), stream(b, call), stream(a, call), stream(b, call)]);
      expect(codes.filter((code) => code === CLOSE_POLICY)).toHaveLength(3);
      expect([...a.starts, ...b.starts].filter((id) => id === call.callSid)).toHaveLength(1);
    }
  }, 30_000);
});
