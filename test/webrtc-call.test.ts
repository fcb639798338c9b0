/**
 * WebRTC callers on the deployed system: `startApp` against the vendor emulators (Deepgram hears
 * the caller's audio, ElevenLabs speaks, OpenAI answers), with a werift peer in Node as the caller
 * on loopback. It checks what a caller and an operator would notice: a bad or unauthorised offer
 * starts nothing; a call connects, hears the greeting, is heard, answers with audio and events on
 * the `events` channel; a barge-in stops the agent at once and keeps only what was heard; typed
 * turns work; a caller whose audio stops is hung up; the call is recorded and counted as webrtc;
 * a shutdown drains it like any call.
 */
import { eq } from 'drizzle-orm';
import { RTCPeerConnection } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_AUDIO } from '../src/core/frames.js';
import { callRecords } from '../src/db/schema.js';
import type { SessionEvent } from '../src/core/frames.js';
import { startPhoneApp, waitUntil } from './support/phone-app.js';
import type { PhoneApp } from './support/phone-app.js';
import { utteranceAudio } from './support/voice-stack.js';
import { dialWebRtc, postOffer } from './support/webrtc-caller.js';

const TOKEN = 'harness-token-secret-42';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const CALLER = '+15558675309';

let phone: PhoneApp;
let base: string;

beforeAll(async () => {
  phone = await startPhoneApp({ google: false, env: { HARNESS_TOKEN: TOKEN, SHUTDOWN_DRAIN_MS: '1500' } });
  base = phone.running.url;
}, 60_000);

afterAll(async () => {
  await phone?.close();
});

const utterance = (speechMs = 800) => utteranceAudio(BROWSER_AUDIO, speechMs);
const webrtcCallsCounted = async () => {
  const text = await phone.running.metrics.render();
  return text.split('\n').filter((l) => l.startsWith('agent_calls_total') && l.includes('transport="webrtc"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
};

async function audioOnlyOffer(withAudio: boolean): Promise<string> {
  const pc = new RTCPeerConnection({ iceAdditionalHostAddresses: ['127.0.0.1'] });
  if (withAudio) pc.addTransceiver('audio', { direction: 'sendrecv' });
  pc.createDataChannel('events');
  await pc.setLocalDescription(await pc.createOffer());
  const sdp = pc.localDescription!.sdp;
  await pc.close();
  return sdp;
}

describe('POST /webrtc/offer refuses what it cannot answer, and starts nothing', () => {
  it('answers a bad offer with 400 and the reason', async () => {
    const before = await webrtcCallsCounted();
    const cases: Array<[unknown, RegExp]> = [
      ['{not json', /./],
      [{ type: 'offer' }, /sdp/],
      [{ sdp: 'hello', type: 'answer' }, /type/],
      [{ sdp: 'hello', type: 'offer' }, /not a session description/],
      [{ sdp: await audioOnlyOffer(false), type: 'offer' }, /no audio section/],
      [{ sdp: (await audioOnlyOffer(true)).replace(/a=fingerprint:.*\r\n/g, ''), type: 'offer' }, /fingerprint/],
      [{ sdp: await audioOnlyOffer(true), type: 'offer', callerNumber: 'call me maybe' }, /callerNumber/],
    ];
    for (const [body, reason] of cases) {
      const response = await postOffer(base, body, AUTH);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(String(response.body.message)).toMatch(reason);
    }
    expect(phone.running.calls.activeCalls()).toBe(0);
    expect(await webrtcCallsCounted()).toBe(before);
  });

  it('applies the harness admission rule: the token as a bearer, and no foreign page', async () => {
    const sdp = await audioOnlyOffer(true);
    expect((await postOffer(base, { sdp, type: 'offer' })).status).toBe(401);
    expect((await postOffer(base, { sdp, type: 'offer' }, { authorization: 'Bearer wrong' })).status).toBe(401);
    const foreign = await postOffer(base, { sdp, type: 'offer' }, { ...AUTH, origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toBe('foreign_origin');
    expect(phone.running.calls.activeCalls()).toBe(0);
    expect(phone.logLines.join('\n')).not.toContain(TOKEN);
  });
});

describe('a WebRTC call, end to end', () => {
  it('hears the greeting, is heard by the STT, answers with audio and events, and is recorded as webrtc', async () => {
    phone.stack.deepgram.script(['I need an oil change']);
    phone.stack.openai.script([{ text: 'Sure, we can do an oil change this week.' }]);
    const caller = await dialWebRtc(base, { callerNumber: CALLER, headers: AUTH });
    expect(caller.callId).toMatch(/^webrtc-/);
    await waitUntil(() => caller.messages.some((m) => m.type === 'started'), 10_000, 'started');
    // The greeting arrives as audio with energy on the remote track.
    await waitUntil(() => caller.loudFrames() > 25, 10_000, 'greeting audio');
    await new Promise((r) => setTimeout(r, 2_500));

    const heardBefore = caller.loudFrames();
    await caller.say(utterance());
    await waitUntil(() => caller.events().some((e) => e.type === 'user_transcript' && e.final && e.text.includes('oil change')), 10_000, 'transcript');
    await waitUntil(() => caller.events().some((e) => e.type === 'agent_text' && e.text.includes('oil change this week')), 10_000, 'agent text');
    await waitUntil(() => caller.loudFrames() > heardBefore + 25, 10_000, 'reply audio');
    await waitUntil(() => caller.events().some((e) => e.type === 'latency'), 10_000, 'latency event');
    // Audio arrived paced in real time, not in a burst: 20 ms apart on average.
    const reply = caller.received.slice(-20);
    expect((reply.at(-1)!.atMs - reply[0]!.atMs) / 19).toBeGreaterThan(12);

    expect(await webrtcCallsCounted()).toBe(0);
    await caller.hangUp();
    await waitUntil(() => phone.running.calls.activeCalls() === 0, 10_000, 'call ended');
    await waitUntil(async () => (await phone.running.database.db.select().from(callRecords).where(eq(callRecords.callId, caller.callId))).length === 1, 10_000, 'record');
    const [record] = await phone.running.database.db.select().from(callRecords).where(eq(callRecords.callId, caller.callId));
    expect(record).toMatchObject({ transport: 'webrtc', callerNumber: CALLER });
    expect(await webrtcCallsCounted()).toBe(1);
  }, 60_000);

  it('stops the agent at once on a barge-in and keeps only what was heard', async () => {
    phone.stack.deepgram.script(['Tell me everything', 'Stop']);
    const long = 'Our shop has been open since nineteen eighty. '.repeat(12).trim();
    phone.stack.openai.script([{ text: long, interChunkDelayMs: 20 }, { text: 'Sure.' }]);
    const caller = await dialWebRtc(base, { headers: AUTH });
    await waitUntil(() => caller.loudFrames() > 25, 10_000, 'greeting audio');
    await new Promise((r) => setTimeout(r, 2_500));
    await caller.say(utterance());
    await waitUntil(() => caller.events().some((e) => e.type === 'agent_text' && e.text.includes('nineteen eighty')), 10_000, 'long reply');
    const replyStarted = caller.loudFrames();
    await waitUntil(() => caller.loudFrames() > replyStarted + 50, 10_000, 'a second of the reply');
    await caller.say(utterance(900));
    await waitUntil(() => caller.events().some((e) => e.type === 'agent_interrupted'), 10_000, 'interruption');
    const stoppedAt = performance.now();
    const interrupted = caller.events().find((e) => e.type === 'agent_interrupted') as Extract<SessionEvent, { type: 'agent_interrupted' }>;
    // Heard: a real part of the reply, not all of it.
    expect(interrupted.heard.length).toBeGreaterThan(0);
    expect(interrupted.heard.length).toBeLessThan(long.length / 2);
    expect(long.startsWith(interrupted.heard.replace(/[\s.]+$/, ''))).toBe(true);
    // Nothing of the long reply plays after the stop, beyond what was already in flight (the
    // answer to the barge-in comes only after the caller's 900 ms of speech and the endpointing).
    await new Promise((r) => setTimeout(r, 900));
    const lateLoud = caller.received.filter((f) => f.atMs > stoppedAt + 200 && f.atMs < stoppedAt + 900 && f.rms > 300).length;
    await waitUntil(() => caller.events().some((e) => e.type === 'agent_text' && e.text === 'Sure.'), 10_000, 'answer to the barge-in');
    expect(lateLoud).toBeLessThan(5);
    await caller.hangUp();
    await waitUntil(() => phone.running.calls.activeCalls() === 0, 10_000, 'call ended');
  }, 60_000);

  it('takes typed turns on the events channel, and says what it does not take', async () => {
    phone.stack.openai.script([{ text: 'We open at nine.' }]);
    const caller = await dialWebRtc(base, { headers: AUTH });
    await waitUntil(() => caller.messages.some((m) => m.type === 'started'), 10_000, 'started');
    expect(caller.messages.find((m) => m.type === 'started')).toEqual({ type: 'started', callId: caller.callId, mode: 'voice', audio: true });
    caller.sendText({ type: 'start' });
    caller.sendText({ nonsense: true });
    caller.sendText({ type: 'text', text: 'When do you open?' });
    await waitUntil(() => caller.events().some((e) => e.type === 'agent_text' && e.text === 'We open at nine.'), 10_000, 'typed reply');
    const errors = caller.messages.flatMap((m) => (m.type === 'error' ? [m.message] : []));
    expect(errors).toEqual([expect.stringContaining('started with the offer'), expect.stringContaining('invalid message')]);
    caller.sendText({ type: 'stop' });
    await waitUntil(() => caller.messages.some((m) => m.type === 'ended'), 10_000, 'ended');
    expect(caller.messages.find((m) => m.type === 'ended')).toEqual({ type: 'ended', reason: 'caller_hung_up' });
    await caller.hangUp();
  }, 30_000);

  it('hangs up a caller whose audio stops for 10 s', async () => {
    const caller = await dialWebRtc(base, { headers: AUTH });
    await waitUntil(() => caller.messages.some((m) => m.type === 'started'), 10_000, 'started');
    caller.goSilent();
    const silentAt = Date.now();
    await waitUntil(() => phone.running.calls.activeCalls() === 0, 15_000, 'silent call ended');
    expect(Date.now() - silentAt).toBeGreaterThan(9_000);
    const ended = phone.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'call ended' && l.callId === caller.callId);
    expect(ended).toMatchObject({ transport: 'webrtc', endReason: 'caller_hung_up' });
    await caller.hangUp();
  }, 30_000);

  it('leaves no UDP socket open once calls have ended (no file descriptor leaks per call)', async () => {
    // Sockets of both peers live in this process; the caller bundles everything on one transport,
    // so every socket opened for a call belongs to a peer that a hang-up closes.
    const udpSockets = () =>
      (process as unknown as { _getActiveHandles(): unknown[] })
        ._getActiveHandles()
        .filter((handle) => typeof (handle as { addMembership?: unknown }).addMembership === 'function').length;
    // Peers of the calls before this one may still be closing: start from a count that holds still.
    let before = udpSockets();
    for (let settled = false; !settled; ) {
      await new Promise((r) => setTimeout(r, 500));
      const now = udpSockets();
      settled = now === before;
      before = now;
    }
    for (let i = 0; i < 2; i++) {
      const caller = await dialWebRtc(base, { headers: AUTH });
      await waitUntil(() => phone.running.calls.activeCalls() === 1, 10_000, 'call started');
      expect(udpSockets()).toBeGreaterThan(before);
      await caller.hangUp();
      await waitUntil(() => phone.running.calls.activeCalls() === 0, 15_000, 'call ended');
    }
    await waitUntil(() => udpSockets() === before, 5_000, 'sockets closed');
  }, 40_000);

  // Last: it stops the server.
  it('drains like every call: no new offers, the live call ended at the deadline', async () => {
    const caller = await dialWebRtc(base, { headers: AUTH });
    await waitUntil(() => caller.messages.some((m) => m.type === 'started'), 10_000, 'started');
    const stopping = phone.running.stop();
    const sdp = await audioOnlyOffer(true);
    expect(await postOffer(base, { sdp, type: 'offer' }, AUTH)).toMatchObject({ status: 503, body: { error: 'not_accepting' } });
    await waitUntil(() => caller.messages.some((m) => m.type === 'ended'), 10_000, 'ended');
    expect(caller.messages.find((m) => m.type === 'ended')).toEqual({ type: 'ended', reason: 'shutdown' });
    await stopping;
    await caller.hangUp();
  }, 30_000);
});
