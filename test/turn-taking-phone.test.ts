/**
 * Turn-taking on real audio, end to end: the real composition root (startApp, so the real Silero
 * VAD as main.ts wires it) behind the signed webhook and the Twilio media stream, with the vendor
 * emulators. The caller's audio is espeak-ng speech and synthesised garage, car and street
 * sounds (test/support/caller-sounds.ts), mu-law at 8 kHz as Twilio carries it.
 *
 * The Deepgram emulator finds "speech" by energy, as a cheap vendor VAD would, so it hears the
 * noises too (SpeechStarted, then the empty transcripts Deepgram gives for sounds without words):
 * what keeps the agent talking through them is ours.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { concatBytes } from '../src/audio/pcm.js';
import { DEFAULT_SPEECH_THRESHOLD } from './emulators/deepgram.js';
import type { DeepgramConnectionRecord as DeepgramConnection } from './emulators/deepgram.js';
import type { TwilioCaller } from './emulators/twilio.js';
import { atLevel, concat, espeakInstalled, mulawFrames, noiseCorpus, silence, speech, toMulaw } from './support/caller-sounds.js';
import { say, startPhoneApp, waitUntil } from './support/phone-app.js';
import type { PhoneApp } from './support/phone-app.js';
import { present } from './support/prerequisites.js';

const TRANSFER_NUMBER = '+15550009000';
const LONG_REPLY = 'Our shop has been open since nineteen eighty, and we service every make and model. '.repeat(20);

let phone: PhoneApp;
let callerIndex = 0;
const callers: TwilioCaller[] = [];

beforeAll(async () => {
  phone = await startPhoneApp({ google: false, env: { SHOP_TRANSFER_NUMBER: TRANSFER_NUMBER } });
}, 60_000);

afterEach(async () => {
  // A failed test must not leave its texts or its call to the next one.
  phone.stack.deepgram.clearScript();
  for (const caller of callers.splice(0)) caller.hangUp();
  await waitUntil(() => phone.running.calls.activeCalls() === 0, 10_000, 'every call to end');
});

afterAll(async () => {
  await phone?.close();
});

async function placeCall(): Promise<TwilioCaller> {
  const caller = await phone.placeCall(`+1555301${String(callerIndex++).padStart(4, '0')}`);
  callers.push(caller);
  return caller;
}

/** Log lines about this call (the app logs at debug level here). */
function callLog(caller: TwilioCaller, text: string, app: PhoneApp = phone): string[] {
  return app.logLines.filter((line) => line.includes(caller.callSid) && line.includes(text));
}

/** The Results with words the STT has sent on `connection`, from message `from` on. */
function wordsSent(connection: DeepgramConnection, from = 0): DeepgramConnection['messagesSent'] {
  return connection.messagesSent.slice(from).filter((m) => m.type === 'Results' && m.channel.alternatives[0]!.transcript !== '');
}

/**
 * Runs `work` with the Deepgram emulator hearing voices as quiet as a real STT transcribes (its
 * energy detector is otherwise deaf below -36 dBFS), and its default back afterwards.
 */
async function withSttHearingQuietVoices(app: PhoneApp, work: () => Promise<void>): Promise<void> {
  app.stack.deepgram.setSpeechThreshold(20);
  try {
    await work();
  } finally {
    app.stack.deepgram.setSpeechThreshold(DEFAULT_SPEECH_THRESHOLD);
  }
}

/** Sends mu-law audio as 20 ms media messages at the pace a phone would (stopping early once `until` holds). */
async function sendRealTime(caller: TwilioCaller, audio: Uint8Array, until?: () => boolean): Promise<void> {
  const start = performance.now();
  const frames = mulawFrames(audio);
  for (let i = 0; i < frames.length && until?.() !== true; i++) {
    const wait = start + i * 20 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    caller.sendAudio(frames[i]!);
  }
}

/** A call whose agent is in the middle of a long reply, played in real time. */
async function callWithAgentTalking(): Promise<{ caller: TwilioCaller; requestsBefore: number }> {
  const { stack } = phone;
  stack.deepgram.script(['Tell me about the shop']);
  stack.openai.script([{ text: LONG_REPLY }]);
  const caller = await placeCall();
  await caller.waitFor(() => caller.echoedMarks.length > 2 && caller.echoedMarks.length === caller.marks.length, 10_000);
  caller.setSpeed(1);
  say(caller);
  await waitUntil(() => stack.elevenlabs.spokenTexts().some((t) => t.includes('nineteen eighty')), 10_000, 'the reply');
  await caller.waitFor(() => caller.audioBytes() > 40_000, 10_000);
  return { caller, requestsBefore: stack.openai.completionRequests().length };
}

/** The user messages the model was sent in requests after `from`. */
function userMessagesSince(from: number): string[] {
  return phone.stack.openai
    .completionRequests()
    .slice(from)
    .map((r) => (r.body?.messages as Array<{ role: string; content: string }>).filter((m) => m.role === 'user').at(-1)?.content ?? '');
}

describe.skipIf(!present(espeakInstalled(), 'espeak-ng'))('turn-taking on a phone call, real audio through the real VAD', () => {
  it('keeps talking through an engine, coughs, a door, clicks, music, street, wind, a horn, a wrench and far-off babble', async () => {
    const { caller, requestsBefore } = await callWithAgentTalking();
    const { deepgram } = phone.stack;
    const connection = deepgram.connections.at(-1)!;
    // Whatever the emulator's energy detector takes for speech transcribes to nothing, as Deepgram's does.
    deepgram.script(Array.from({ length: 100 }, () => ''));
    const clearsBefore = caller.clears;
    const heard: string[] = [];
    for (const { name, audio } of noiseCorpus(8000)) {
      const sent = connection.audioMs;
      caller.sendAudio(toMulaw(concat(audio, silence(400, 8000))));
      const ms = (audio.length / 8000) * 1000 + 400;
      await waitUntil(() => connection.audioMs >= sent + ms - 1, 5_000, `${name} to reach the STT`);
      // The VAD's verdicts on the last windows.
      await new Promise((r) => setTimeout(r, 150));
      if (caller.clears > clearsBefore) heard.push(name);
    }
    deepgram.clearScript();
    expect(heard).toEqual([]);
    expect(callLog(caller, 'agent paused')).toEqual([]);
    expect(phone.stack.openai.completionRequests().length).toBe(requestsBefore);
    // The reply is still playing: audio keeps coming.
    expect(caller.marks.length).toBeGreaterThan(caller.echoedMarks.length);
  }, 60_000);

  it('stops for real speech on the VAD alone: its first 300 ms clear the agent, before the STT has a word', async () => {
    const { caller, requestsBefore } = await callWithAgentTalking();
    const { deepgram } = phone.stack;
    const connection = deepgram.connections.at(-1)!;
    const said = 'Hold on I need to change the day';
    deepgram.script([said]);
    const clip = toMulaw(speech(said, 8000));
    const resultsBefore = connection.messagesSent.length;
    const clearsBefore = caller.clears;
    const words = () => wordsSent(connection, resultsBefore);
    let wordsAtClear: unknown[] | undefined;
    const cleared = (): boolean => {
      if (caller.clears > clearsBefore) wordsAtClear ??= words();
      return wordsAtClear !== undefined;
    };
    const firstPart = clip.subarray(0, 300 * 8);
    await sendRealTime(caller, firstPart, cleared);
    await caller.waitFor(cleared, 3_000);
    // The STT had sent no words when the clear reached the caller: the VAD stopped the agent.
    expect(wordsAtClear).toEqual([]);

    // The rest of the sentence: its words take the floor and become the caller's turn.
    await sendRealTime(caller, concatBytes([clip.subarray(firstPart.length), toMulaw(silence(800, 8000))]));
    await waitUntil(() => phone.stack.openai.completionRequests().length > requestsBefore, 10_000, 'the next request');
    expect(userMessagesSince(requestsBefore)).toEqual([said]);
    expect(callLog(caller, 'caller barged in')).toHaveLength(1);
  }, 60_000);

  it('still stops for a quiet caller (-35 dBFS): only far-off voices are below the VAD gate', async () => {
    const { caller } = await callWithAgentTalking();
    phone.stack.deepgram.script(['Hold on I need to change the day']);
    const clearsBefore = caller.clears;
    const quiet = speech('Hold on I need to change the day', 8000, { gainDb: -14 });
    await sendRealTime(caller, toMulaw(quiet.subarray(0, 400 * 8)), () => caller.clears > clearsBefore);
    await caller.waitFor(() => caller.clears > clearsBefore, 3_000);
  }, 60_000);

  it('talks on over a voice far behind the caller that the STT transcribes (-54 dBFS: a radio across the shop)', async () => {
    const { caller, requestsBefore } = await callWithAgentTalking();
    const { deepgram } = phone.stack;
    const connection = deepgram.connections.at(-1)!;
    await withSttHearingQuietVoices(phone, async () => {
      const said = 'Is the Camry ready yet';
      deepgram.script([said]);
      const resultsBefore = connection.messagesSent.length;
      const clearsBefore = caller.clears;
      // The line as a phone sends it: quiet (the caller listening), the voice behind them, quiet.
      const far = atLevel(speech(said, 8000), -54);
      await sendRealTime(caller, toMulaw(concat(silence(2_500, 8000), far, silence(1_200, 8000))));
      const words = wordsSent(connection, resultsBefore);
      // The STT did send its words, interim and final...
      expect(words.some((m) => m.type === 'Results' && m.is_final)).toBe(true);
      // ...and the agent neither stopped nor took them for a turn.
      expect(caller.clears).toBe(clearsBefore);
      expect(phone.stack.openai.completionRequests().length).toBe(requestsBefore);
      expect(caller.marks.length).toBeGreaterThan(caller.echoedMarks.length);
      await waitUntil(() => callLog(caller, 'taken for a voice behind them').length === words.length, 2_000, 'the words to be logged');
    });
  }, 60_000);

  it('takes "uh-huh" over the agent as listening: no turn, the reply plays on from where it stopped', async () => {
    const { caller, requestsBefore } = await callWithAgentTalking();
    const { deepgram, elevenlabs } = phone.stack;
    deepgram.script(['Uh-huh.']);
    const ttsBefore = elevenlabs.connections.length;
    // The reply is one ElevenLabs context: resuming must not ask for it again.
    const replySyntheses = (): number => elevenlabs.spokenTexts().filter((t) => t.includes('nineteen eighty')).length;
    const synthesesBefore = replySyntheses();
    const eventsBefore = caller.events.length;
    await sendRealTime(caller, toMulaw(concat(speech('uh-huh', 8000), silence(900, 8000))));
    await waitUntil(() => callLog(caller, 'agent resumed').length > 0 || callLog(caller, 'caller barged in').length > 0, 5_000, 'a decision');
    expect(callLog(caller, 'caller barged in')).toEqual([]);
    // The VAD may stop the agent for a moment (an "uh-huh" is speech), but it comes back by itself...
    expect(callLog(caller, 'agent resumed').length).toBe(callLog(caller, 'agent paused').length);
    const clear = caller.events.slice(eventsBefore).findIndex((e) => e.type === 'clear');
    if (clear >= 0) await caller.waitFor(() => caller.events.slice(eventsBefore + clear).some((e) => e.type === 'media'), 3_000);
    // ...with the reply intact: no synthesis was abandoned, and the model was not asked again.
    expect(elevenlabs.connections.slice(ttsBefore).filter((c) => c.clientClosedEarly)).toEqual([]);
    expect(replySyntheses()).toBe(synthesesBefore);
    await new Promise((r) => setTimeout(r, 300));
    expect(phone.stack.openai.completionRequests().length).toBe(requestsBefore);
  }, 60_000);

  it('plays on between two "mm-hmm"s the STT has no words for: each pause ends on the VAD alone, soon after the sound', async () => {
    const { caller, requestsBefore } = await callWithAgentTalking();
    phone.stack.deepgram.script(['', '']);
    const eventsBefore = caller.events.length;
    const mmHmm = speech('mm-hmm', 8000);
    // 700 ms between them: a pause that waited for words (1.5 s) would still be on at the second.
    await sendRealTime(caller, toMulaw(concat(mmHmm, silence(700, 8000), mmHmm, silence(900, 8000))));
    await waitUntil(() => callLog(caller, 'agent resumed').length >= 2, 5_000, 'two resumes');
    const events = caller.events.slice(eventsBefore);
    const clears = events.flatMap((e, i) => (e.type === 'clear' ? [i] : []));
    expect(clears).toHaveLength(2);
    // The caller heard the reply again between the two.
    expect(events.slice(clears[0]!, clears[1]!).some((e) => e.type === 'media')).toBe(true);
    expect(callLog(caller, 'caller barged in')).toEqual([]);
    expect(phone.stack.openai.completionRequests().length).toBe(requestsBefore);
  }, 60_000);

  it('hears a phone number read in three groups with 700 ms pauses as one turn', async () => {
    const { deepgram, openai } = phone.stack;
    const caller = await placeCall();
    await caller.waitFor(() => caller.echoedMarks.length > 2 && caller.echoedMarks.length === caller.marks.length, 10_000);
    deepgram.script(['My number is 555', '555', '0123.']);
    openai.script([{ text: 'Thanks, I have it.' }]);
    const before = openai.completionRequests().length;
    const pause = toMulaw(silence(700, 8000));
    await sendRealTime(
      caller,
      concatBytes([
        toMulaw(speech('My number is five five five', 8000)),
        pause,
        toMulaw(speech('five five five', 8000)),
        pause,
        toMulaw(speech('zero one two three', 8000)),
        toMulaw(silence(1_000, 8000)),
      ]),
    );
    await waitUntil(() => openai.completionRequests().length > before, 10_000, 'the turn');
    await new Promise((r) => setTimeout(r, 1_800));
    expect(userMessagesSince(before)).toEqual(['My number is 555 555 0123.']);
  }, 60_000);

  it('hands the caller to a person when they press 0', async () => {
    const { openai } = phone.stack;
    const caller = await placeCall();
    await caller.waitFor(() => caller.audioBytes() > 0, 10_000);
    openai.script([{ text: 'Transferring you now.' }]);
    caller.sendDtmf('0');
    await waitUntil(() => phone.rest.requests.some((r) => r.callSid === caller.callSid), 10_000, 'the transfer');
    expect(phone.rest.requests.filter((r) => r.callSid === caller.callSid)).toEqual([
      expect.objectContaining({
        params: { Twiml: `<?xml version="1.0" encoding="UTF-8"?><Response><Dial>${TRANSFER_NUMBER}</Dial></Response>` },
        authorized: true,
      }),
    ]);
    expect(phone.logLines.some((l) => l.includes(caller.callSid) && l.includes('pressed 0 on the keypad'))).toBe(true);
  }, 60_000);

  it('takes keypad digits as the answer when the agent asked for a number (0 included, ended by #)', async () => {
    const { deepgram, openai } = phone.stack;
    deepgram.script(['I want to book a service']);
    openai.script([{ text: "Sure. What's the best phone number to reach you?" }, { text: 'Thank you.' }]);
    const caller = await placeCall();
    await caller.waitFor(() => caller.echoedMarks.length > 2 && caller.echoedMarks.length === caller.marks.length, 10_000);
    say(caller);
    await waitUntil(() => phone.stack.elevenlabs.spokenTexts().some((t) => t.includes('phone number')), 10_000, 'the question');
    const before = openai.completionRequests().length;
    for (const digit of '5550100#') caller.sendDtmf(digit);
    await waitUntil(() => openai.completionRequests().length > before, 10_000, 'the keypad turn');
    expect(userMessagesSince(before)).toEqual(['5 5 5 0 1 0 0 (typed on the keypad)']);
    expect(phone.rest.requests.filter((r) => r.callSid === caller.callSid)).toEqual([]);
  }, 60_000);
});

describe.skipIf(!present(espeakInstalled(), 'espeak-ng'))('a voice behind the caller when the agent checks in after a silence', () => {
  let idle: PhoneApp;

  beforeAll(async () => {
    idle = await startPhoneApp({ google: false, env: { IDLE_PROMPT_MS: '2000' } });
  }, 60_000);

  afterAll(async () => {
    await idle?.close();
  });

  it('talks on from the first word of the check-in: the quiet line before it counts, not only what was heard while the agent talked', async () => {
    const { deepgram } = idle.stack;
    const said = 'Is the Camry ready yet';
    deepgram.script([said]);
    const caller = await idle.placeCall('+15553029999');
    caller.setSpeed(1);
    // The line as a phone sends it, a frame every 20 ms: quiet while the caller listens, then (from
    // the first audio of the check-in) a voice far behind them.
    const quiet = toMulaw(silence(20, 8000));
    const far = mulawFrames(toMulaw(concat(atLevel(speech(said, 8000), -54), silence(800, 8000))));
    let farAt: number | undefined;
    const line = setInterval(() => caller.sendAudio(farAt === undefined || farAt >= far.length ? quiet : far[farAt++]!), 20);
    try {
      await withSttHearingQuietVoices(idle, async () => {
        // The greeting has played when its marks are all echoed; the check-in is the next audio, 2 s later.
        await caller.waitFor(() => caller.marks.length > 0 && caller.echoedMarks.length === caller.marks.length, 15_000);
        const greetingMarks = caller.marks.length;
        await caller.waitFor(() => caller.marks.length > greetingMarks, 15_000);
        farAt = 0;
        // The STT's first words for the voice come while the check-in plays (its final, after the
        // check-in, is a turn: words over a quiet line are judged only while the agent talks).
        const connection = deepgram.connections.at(-1)!;
        await waitUntil(() => wordsSent(connection).length > 0, 10_000, "the STT's first words");
        await new Promise((r) => setTimeout(r, 200));
        expect(caller.clears).toBe(0);
        expect(callLog(caller, 'taken for a voice behind them', idle)).toHaveLength(1);
      });
    } finally {
      clearInterval(line);
      deepgram.clearScript();
      caller.hangUp();
    }
  }, 60_000);
});
