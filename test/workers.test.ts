/**
 * WORKERS=2: the real server (`tsx src/main.ts`) as two worker processes sharing one port, on real
 * PostgreSQL (and Redis when TEST_REDIS_URL is set), against the vendor emulators. Calls land on
 * both workers, a webhook answered by one worker hands its call to a stream on the other (the
 * stream token is in the database), /metrics on any worker counts the calls of both,
 * MAX_CONCURRENT_CALLS holds for the instance rather than per worker, a worker that dies is
 * replaced, and SIGTERM to the primary
 * lets every worker finish its live call before the instance exits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AT_CAPACITY_MESSAGE, CLOSE_TRY_LATER } from '../src/server/twilio-routes.js';
import { startTwilioRestEmulator, twilioSid } from './emulators/twilio.js';
import type { TwilioCaller, TwilioRestEmulator } from './emulators/twilio.js';
import { createThrowawayPostgres } from './support/databases.js';
import { freePort, spawnServer } from './support/spawn-server.js';
import { ACCOUNT_SID, AUTH_TOKEN, phoneAppEnv, waitUntil } from './support/phone-app.js';
import { samples, spawnPhoneServer } from './support/spawned-phone.js';
import type { SpawnedPhoneServer } from './support/spawned-phone.js';
import { startVoiceStack } from './support/voice-stack.js';
import type { VoiceStack } from './support/voice-stack.js';
import { present } from './support/prerequisites.js';
import { dialWebRtc } from './support/webrtc-caller.js';
import type { WebRtcCaller } from './support/webrtc-caller.js';

const adminUrl = process.env.TEST_DATABASE_URL;
const redisUrl = process.env.TEST_REDIS_URL;
const CALLER = '+15557772020';

describe.skipIf(!present(Boolean(adminUrl), 'TEST_DATABASE_URL'))('WORKERS=2 on PostgreSQL', () => {
  let stack: VoiceStack;
  let rest: TwilioRestEmulator;
  let drop: (() => Promise<void>) | undefined;
  let server: SpawnedPhoneServer | undefined;
  const callers: TwilioCaller[] = [];

  beforeAll(async () => {
    [stack, rest] = await Promise.all([startVoiceStack(), startTwilioRestEmulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN })]);
    const database = await createThrowawayPostgres(adminUrl!);
    drop = database.drop;
    server = await spawnPhoneServer({
      ...phoneAppEnv({ stack, rest, google: undefined }),
      DATABASE_URL: database.url,
      ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl }),
      WORKERS: '2',
      MAX_CONCURRENT_CALLS: '3',
      SHUTDOWN_DRAIN_MS: '30000',
    });
    await waitUntil(() => listening().length === 2, 60_000, 'both workers listening');
    // The calendar loops run in one worker of the machine, not in each.
    await waitUntil(() => logs().some((l) => l.msg === 'calendar reconciler and staff-edit sync run in this worker'), 10_000, 'background duty');
    expect(logs().filter((l) => l.msg === 'calendar reconciler and staff-edit sync run in this worker')).toHaveLength(1);
  }, 90_000);

  afterAll(async () => {
    for (const caller of callers) caller.close();
    if (server !== undefined && server.process.child.exitCode === null) server.process.child.kill('SIGKILL');
    await server?.process.exited;
    await Promise.all([stack?.close(), rest?.close()]);
    await drop?.();
  });

  const logs = () => server!.logs();
  const listening = () => logs().filter((l) => l.msg === 'worker listening');
  /** The worker whose log line `msg` names `callId`. */
  const workerOf = (msg: string, callId: string) => logs().find((l) => l.msg === msg && l.callId === callId)?.worker;
  const metrics = async () => (await fetch(`${server!.url}/metrics`)).text();

  it('spreads calls over both workers, hands a webhook to a stream on the other worker, and limits calls per instance', async () => {
    // Every webhook first, then every stream: the limit is tested where it decides, at the stream.
    const calls = [];
    for (let i = 0; i < 4; i += 1) {
      const callSid = twilioSid('CA');
      const { statusCode, body } = await server!.webhook(callSid, CALLER);
      expect(statusCode).toBe(200);
      expect(body).toContain('<Connect><Stream');
      calls.push({ callSid, twiml: body });
    }
    for (const call of calls.slice(0, 3)) {
      const caller = await server!.connectStream(call.callSid, call.twiml);
      callers.push(caller);
      await caller.waitFor(() => caller.audioBytes() > 0, 15_000);
    }
    const started = calls.slice(0, 3).map((c) => workerOf('call started', c.callSid));
    expect(new Set(started)).toEqual(new Set(listening().map((l) => l.worker)));

    // At least one call's stream was served by another worker than its webhook, and it was greeted.
    // (Each webhook's worker is a known one: a log line without it would count as "crossed".)
    const webhookWorkers = calls.slice(0, 3).map((c) => workerOf('incoming call: connecting the media stream', c.callSid));
    for (const worker of webhookWorkers) expect(listening().map((l) => l.worker)).toContain(worker);
    const crossed = calls.slice(0, 3).filter((c, i) => webhookWorkers[i] !== workerOf('call started', c.callSid));
    expect(crossed.length).toBeGreaterThan(0);

    // Three live calls, spread over two workers, fill the instance: the fourth stream is refused as over the limit.
    const fourth = await server!.connectStream(calls[3]!.callSid, calls[3]!.twiml);
    callers.push(fourth);
    const refusedOrLive = await Promise.race([fourth.closed, new Promise((r) => setTimeout(() => r('still live'), 10_000))]);
    expect(refusedOrLive).toMatchObject({ code: CLOSE_TRY_LATER, reason: 'at_capacity' });
    // ...and a new caller hears the polite busy message, whichever worker the webhook reaches.
    for (let i = 0; i < 2; i += 1) {
      const busy = await server!.webhook(twilioSid('CA'), CALLER);
      expect(busy.body).toContain(`<Say>${AT_CAPACITY_MESSAGE}</Say><Hangup/>`);
    }

    // /metrics, whichever worker answers, counts the live calls of both, with process metrics per worker.
    for (let i = 0; i < 3; i += 1) {
      const text = await metrics();
      expect(samples(text, 'agent_active_calls', { transport: 'twilio' })).toEqual([3]);
      for (const { worker } of listening()) {
        expect(samples(text, 'agent_process_resident_memory_bytes', { worker: String(worker) })).toHaveLength(1);
      }
    }

    for (const caller of callers.splice(0, 3)) caller.hangUp();
    await waitUntil(async () => samples(await metrics(), 'agent_calls_total').reduce((a, b) => a + b, 0) === 3, 15_000, 'three finished calls counted');
    expect(samples(await metrics(), 'agent_active_calls', { transport: 'twilio' })).toEqual([0]);
    // The slots came back: a new call is taken again.
    const again = await server!.webhook(twilioSid('CA'), CALLER);
    expect(again.body).toContain('<Connect><Stream');
  }, 60_000);

  it('takes WebRTC calls on both workers at once, each on UDP sockets of its own', async () => {
    // Node's cluster would share the first UDP socket of each worker between them (see
    // src/cluster/exclusive-udp.ts): the ICE and media of one worker's call would reach the other.
    const live: WebRtcCaller[] = [];
    try {
      while (new Set(live.map((c) => workerOf('webrtc call started', c.callId))).size < 2) {
        expect(live.length).toBeLessThan(4);
        const caller = await dialWebRtc(server!.url, { callerNumber: CALLER });
        live.push(caller);
        // Connected in about a second when the call's sockets are its worker's own; with them shared,
        // ICE and DTLS packets went astray and a call took 5-20 s to come up, if it did.
        await waitUntil(() => logs().some((l) => l.msg === 'webrtc call started' && l.callId === caller.callId), 8_000, 'the call started');
      }
      // Every call, on either worker, hears its greeting: its media reach the worker that owns it.
      for (const caller of live) await waitUntil(() => caller.loudFrames() > 25, 8_000, 'greeting audio');
    } finally {
      await Promise.all(live.map((c) => c.hangUp()));
    }
    await waitUntil(async () => samples(await metrics(), 'agent_active_calls', { transport: 'webrtc' }).every((n) => n === 0), 20_000, 'the calls ended');
  }, 60_000);

  it('a worker that dies is replaced, and the calendar loops move to a living worker', async () => {
    const duty = () => logs().filter((l) => l.msg === 'calendar reconciler and staff-edit sync run in this worker');
    const victim = listening().find((l) => l.worker === duty()[0]!.worker)!;
    process.kill(Number(victim.pid), 'SIGKILL');
    await waitUntil(() => logs().some((l) => l.msg === 'worker exited unexpectedly; starting a new one' && l.worker === victim.worker), 10_000, 'the death logged');
    await waitUntil(() => listening().length === 3, 60_000, 'a new worker listening');
    await waitUntil(() => duty().length === 2, 10_000, 'the calendar loops reassigned');
    expect(duty()[1]!.worker).not.toBe(victim.worker);
    // The instance takes calls as before.
    const callSid = twilioSid('CA');
    const { body } = await server!.webhook(callSid, CALLER);
    const caller = await server!.connectStream(callSid, body);
    callers.push(caller);
    await caller.waitFor(() => caller.audioBytes() > 0, 15_000);
    caller.hangUp();
    await caller.closed;
  }, 90_000);

  it('SIGTERM to the primary: both workers stop taking calls, finish their live call, and the instance exits 0', async () => {
    const live: TwilioCaller[] = [];
    // Streams go round the workers; keep connecting until each worker has one live call.
    while (new Set(live.map((c) => workerOf('call started', c.callSid))).size < 2) {
      expect(live.length).toBeLessThan(3);
      const callSid = twilioSid('CA');
      const { body } = await server!.webhook(callSid, CALLER);
      const caller = await server!.connectStream(callSid, body);
      callers.push(caller);
      await caller.waitFor(() => caller.audioBytes() > 0, 15_000);
      live.push(caller);
    }

    server!.process.child.kill('SIGTERM');
    await waitUntil(() => logs().filter((l) => l.msg === 'shutting down: no new calls, finishing live ones').length === 2, 10_000, 'both workers draining');
    const refused = await server!.webhook(twilioSid('CA'), CALLER);
    expect(refused.body).toContain(`<Say>${AT_CAPACITY_MESSAGE}</Say><Hangup/>`);
    await new Promise((r) => setTimeout(r, 500));
    expect(server!.process.child.exitCode).toBeNull();
    for (const caller of live) expect(caller.closeCode).toBeUndefined();

    for (const caller of live) caller.hangUp();
    expect(await server!.process.exited).toBe(0);
    const drained = logs().filter((l) => l.msg === 'calls drained');
    expect(drained).toHaveLength(2);
    expect(new Set(drained.map((l) => l.worker))).toEqual(new Set(live.map((c) => workerOf('call started', c.callSid))));
    expect(drained.reduce((sum, l) => sum + Number(l.finished), 0)).toBe(live.length);
    expect(drained.every((l) => l.cutOff === 0)).toBe(true);
    expect(logs().some((l) => l.msg === 'shutdown complete' && l.role === 'primary')).toBe(true);
  }, 60_000);
});

describe('WORKERS=2 that cannot run', () => {
  it('without DATABASE_URL: refuses to start, in one line saying the embedded database is one process\'s', async () => {
    const server = spawnServer({ WORKERS: '2', PORT: String(await freePort()), HOST: '127.0.0.1', DATA_DIR: 'memory://' });
    expect(await server.exited).toBe(1);
    expect(server.output().trim().split('\n')).toEqual([
      'Invalid configuration:',
      '  - WORKERS: 2 worker processes need DATABASE_URL (PostgreSQL); the embedded database (DATA_DIR) belongs to one process, so set DATABASE_URL or WORKERS=1',
    ]);
  }, 30_000);

  it('when no worker can start (database unreachable): the primary stops instead of restarting them forever', async () => {
    const server = spawnServer({
      WORKERS: '2',
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/nowhere`,
    });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('a worker failed to start; stopping the others');
    expect(server.output()).not.toContain('starting a new one');
  }, 60_000);
});
