/**
 * The offer route's decisions, with a stand-in call manager (the real one runs in
 * test/webrtc-call.test.ts): who may offer, when nothing is started, and what a caller is told
 * when its call cannot start once connected.
 */
import type { AddressInfo } from 'node:net';
import { RTCPeerConnection } from 'werift';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import type { CallManager, StartCallRequest } from '../pipeline/call-manager.js';
import { dialWebRtc, postOffer } from '../../test/support/webrtc-caller.js';
import { buildServer } from './app.js';
import { webrtcRoutes } from './webrtc-routes.js';
import type { WebRtcRoutesDeps } from './webrtc-routes.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function startRoute(options: Partial<WebRtcRoutesDeps> & { accepting?: boolean } = {}) {
  const starts: StartCallRequest[] = [];
  const manager: CallManager = {
    accepting: () => options.accepting ?? true,
    async start(request) {
      starts.push(request);
      return { ok: false, reason: 'at_capacity' };
    },
    activeCalls: () => 0,
    drain: async () => ({ finished: 0, cutOff: 0 }),
  };
  const logs: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line) => logs.push(line) } });
  const app = await buildServer({
    logger,
    readinessChecks: [],
    routes: [webrtcRoutes({ manager, harnessToken: undefined, ice: { iceServers: [] }, voiceAvailable: true, logger, ...options })],
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close());
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { base, starts, logs };
}

async function offerSdp(): Promise<{ sdp: string; pc: RTCPeerConnection }> {
  const pc = new RTCPeerConnection({ iceAdditionalHostAddresses: ['127.0.0.1'] });
  pc.addTransceiver('audio', { direction: 'sendrecv' });
  pc.createDataChannel('events');
  await pc.setLocalDescription(await pc.createOffer());
  closers.push(() => pc.close());
  return { sdp: pc.localDescription!.sdp, pc };
}

describe('POST /webrtc/offer', () => {
  it('refuses a remote peer without a token, and offers while not taking calls or without STT', async () => {
    const remote = await startRoute({ peerAddress: () => '203.0.113.9' });
    const { sdp } = await offerSdp();
    const refused = await postOffer(remote.base, { sdp, type: 'offer' });
    expect(refused).toMatchObject({ status: 403, body: { error: 'not_loopback' } });

    const draining = await startRoute({ accepting: false });
    expect(await postOffer(draining.base, { sdp, type: 'offer' })).toMatchObject({ status: 503, body: { error: 'not_accepting' } });
    const deaf = await startRoute({ voiceAvailable: false });
    expect(await postOffer(deaf.base, { sdp, type: 'offer' })).toMatchObject({ status: 503, body: { error: 'voice_unavailable' } });
    expect([...remote.starts, ...draining.starts, ...deaf.starts]).toEqual([]);
  });

  it('starts no call for an answered offer whose connection never comes up', async () => {
    const route = await startRoute({ connectTimeoutMs: 300 });
    const { sdp } = await offerSdp();
    // The answer is never applied: ICE cannot complete.
    const answered = await postOffer(route.base, { sdp, type: 'offer' });
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ type: 'answer', callId: expect.stringMatching(/^webrtc-[0-9a-f]{16}$/) });
    expect(String(answered.body.sdp)).toMatch(/a=candidate:.* 127\.0\.0\.1 \d+ typ host/);
    await new Promise((r) => setTimeout(r, 800));
    expect(route.starts).toEqual([]);
    expect(route.logs.join('\n')).toContain('webrtc caller refused: the peer connection did not come up in time');
  });

  it('answers on the configured UDP ports, advertising the public address behind 1:1 NAT', async () => {
    const route = await startRoute({ ice: { iceServers: [], portRange: [47100, 47120], publicIp: '203.0.113.7' } });
    const { sdp } = await offerSdp();
    const answered = await postOffer(route.base, { sdp, type: 'offer' });
    expect(answered.status).toBe(200);
    const candidates = [...String(answered.body.sdp).matchAll(/^a=candidate:\S+ \d udp \d+ (\S+) (\d+) typ host/gm)];
    expect(candidates.length).toBeGreaterThan(0);
    for (const [, , port] of candidates) expect(Number(port)).toBeGreaterThanOrEqual(47100);
    for (const [, , port] of candidates) expect(Number(port)).toBeLessThanOrEqual(47120);
    expect(candidates.map(([, address]) => address)).toEqual(expect.arrayContaining(['127.0.0.1']));
    // Only when the host has a private address to map; a loopback-only sandbox has none.
    const privateOnes = candidates.filter(([, address]) => address !== '127.0.0.1' && address !== '203.0.113.7');
    expect(candidates.filter(([, address]) => address === '203.0.113.7')).toHaveLength(privateOnes.length);
  });

  it('bounds the offers waiting to connect', async () => {
    const route = await startRoute({ connectTimeoutMs: 20_000 });
    const { sdp } = await offerSdp();
    for (let i = 0; i < 20; i++) expect((await postOffer(route.base, { sdp, type: 'offer' })).status).toBe(200);
    expect(await postOffer(route.base, { sdp, type: 'offer' })).toMatchObject({ status: 503, body: { error: 'too_many_pending' } });
    expect(route.starts).toEqual([]);
  });

  it('tells a connected caller why its call did not start, then closes its events channel', async () => {
    const route = await startRoute();
    const caller = await dialWebRtc(route.base, { callerNumber: '(555) 867-5309' });
    closers.push(() => caller.hangUp());
    const deadline = Date.now() + 10_000;
    while (!caller.messages.some((m) => m.type === 'ended') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(route.starts).toHaveLength(1);
    expect(route.starts[0]).toMatchObject({ callId: caller.callId, callerNumber: '+15558675309', transportName: 'webrtc' });
    expect(caller.messages).toEqual([
      { type: 'error', message: 'the agent is not taking calls right now (at_capacity)' },
      { type: 'ended', reason: 'at_capacity' },
    ]);
    while (caller.channelState() !== 'closed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(caller.channelState()).toBe('closed');
  });
});
