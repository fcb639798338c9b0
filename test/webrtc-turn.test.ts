/**
 * WebRTC through a TURN server, as callers behind strict NATs reach the agent: a real TURN server
 * (coturn) on loopback, the agent configured with it through WEBRTC_ICE_SERVERS and its own
 * credentials, and a werift caller that may send only through the relay (iceTransportPolicy
 * "relay", with credentials of its own): every packet of the call goes through the TURN server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_AUDIO } from '../src/core/frames.js';
import { startPhoneApp, waitUntil } from './support/phone-app.js';
import type { PhoneApp } from './support/phone-app.js';
import { present } from './support/prerequisites.js';
import { startTurnServer, turnServerInstalled } from './support/turn-server.js';
import type { TurnServer } from './support/turn-server.js';
import { utteranceAudio } from './support/voice-stack.js';
import { dialWebRtc } from './support/webrtc-caller.js';

const TOKEN = 'harness-token-turn-7';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const AGENT_TURN = { username: 'agent', credential: 'agent-turn-5f2c9a' };
const CALLER_TURN = { username: 'caller', credential: 'caller-turn-81d0e3' };

let phone: PhoneApp;
let turn: TurnServer;

describe.skipIf(!present(turnServerInstalled(), 'turnserver (coturn)'))('WebRTC through a TURN server', () => {
  beforeAll(async () => {
    turn = await startTurnServer({ [AGENT_TURN.username]: AGENT_TURN.credential, [CALLER_TURN.username]: CALLER_TURN.credential });
    phone = await startPhoneApp({
      google: false,
      env: {
        HARNESS_TOKEN: TOKEN,
        WEBRTC_ICE_SERVERS: turn.url,
        WEBRTC_TURN_USERNAME: AGENT_TURN.username,
        WEBRTC_TURN_CREDENTIAL: AGENT_TURN.credential,
      },
    });
  }, 60_000);

  afterAll(async () => {
    await phone?.close();
    await turn?.stop();
  });

  it('connects a caller who can only relay: the greeting reaches them, their voice reaches the STT, the reply comes back', async () => {
    phone.stack.deepgram.script(['I need new tires']);
    phone.stack.openai.script([{ text: 'We can fit new tires on Thursday.' }]);
    const caller = await dialWebRtc(phone.running.url, { headers: AUTH, relayOnly: { urls: turn.url, ...CALLER_TURN } });
    try {
      await waitUntil(() => caller.loudFrames() > 25, 10_000, 'the greeting through the relay');
      await new Promise((r) => setTimeout(r, 2_500));
      const heardBefore = caller.loudFrames();
      await caller.say(utteranceAudio(BROWSER_AUDIO));
      await waitUntil(() => caller.events().some((e) => e.type === 'user_transcript' && e.final && e.text.includes('tires')), 10_000, 'the transcript');
      await waitUntil(() => caller.events().some((e) => e.type === 'agent_text' && e.text.includes('Thursday')), 10_000, 'the reply');
      await waitUntil(() => caller.loudFrames() > heardBefore + 25, 10_000, 'the reply audio');
    } finally {
      await caller.hangUp();
    }
    await waitUntil(() => phone.running.calls.activeCalls() === 0, 10_000, 'the call to end');
    // The agent took a relay of its own with the credentials it was given (as a caller's NAT may need),
    // and no log line shows them.
    expect(turn.allocatedBy()).toEqual(expect.arrayContaining([AGENT_TURN.username, CALLER_TURN.username]));
    expect(phone.logLines.filter((line) => line.includes(AGENT_TURN.credential))).toEqual([]);
  }, 60_000);
});
