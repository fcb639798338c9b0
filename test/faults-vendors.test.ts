/**
 * Fault injection on the three voice vendors, as a caller would notice it: a call session with
 * the real Deepgram, OpenAI and ElevenLabs adapters against their emulators, the real tools and
 * database (PGlite), audio out through a test transport that plays it back like a phone.
 *
 *   - socket drops: Deepgram mid-utterance, ElevenLabs mid-reply, OpenAI mid-response;
 *   - slow vendors: OpenAI's first token past the stillThinking threshold, a slow Deepgram final,
 *     a slow ElevenLabs first byte;
 *   - error bursts: OpenAI 429 with Retry-After, Deepgram 503 handshakes on reconnect, ElevenLabs
 *     503 on connect.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PHONE_AUDIO } from '../src/core/frames.js';
import { createCallManager } from '../src/pipeline/call-manager.js';
import { DEFAULT_PHRASES } from '../src/pipeline/call-session.js';
import type { CallSession, SessionTiming } from '../src/pipeline/call-session.js';
import { createElevenLabsTts } from '../src/providers/elevenlabs/elevenlabs-tts.js';
import type { LlmProvider } from '../src/providers/llm.js';
import { createOpenAiLlm } from '../src/providers/openai/openai-llm.js';
import type { TtsOptions, TtsProvider, TtsSession, TtsStream } from '../src/providers/tts.js';
import { createTestTransport } from './support/test-transport.js';
import type { TestTransport } from './support/test-transport.js';
import { openToolFixture } from './support/tool-fixture.js';
import type { ToolFixture } from './support/tool-fixture.js';
import { startVoiceStack, utteranceFrames } from './support/voice-stack.js';
import type { VoiceStack } from './support/voice-stack.js';

const GREETING = 'Thanks for calling Test Garage. How can I help?';
const APOLOGY = DEFAULT_PHRASES.apology;
let fixture: ToolFixture;
let stack: VoiceStack;
let apologyAudio: Uint8Array | undefined;
let callNumber = 0;
const open: CallSession[] = [];
const closers: Array<() => void> = [];

beforeAll(async () => {
  fixture = await openToolFixture();
}, 60_000);
// A fresh set of emulators per test: a failing test cannot leave scripted turns behind for the next.
beforeEach(async () => {
  stack = await startVoiceStack();
  apologyAudio ??= await stack.tts.synthesizeOnce(APOLOGY, PHONE_AUDIO, AbortSignal.timeout(5_000));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.end('test_over')));
  for (const close of closers.splice(0)) close();
  await stack.close();
});
afterAll(async () => {
  await fixture?.close();
});

interface SpokenText {
  text: string;
  at: number;
  /** Audio the caller had been sent when this text went to synthesis. */
  audioBytesBefore: number;
}

/** Wraps a TTS provider to log every text sent to synthesis, in order, with the time and the audio already out. */
function recording(inner: TtsProvider, log: SpokenText[], transport: () => TestTransport | undefined): TtsProvider {
  const wrap = (stream: TtsStream): TtsStream => ({
    sendText(text) {
      log.push({ text, at: performance.now(), audioBytesBefore: transport()?.audioBytes() ?? 0 });
      stream.sendText(text);
    },
    end: () => stream.end(),
    audio: stream.audio,
    close: () => stream.close(),
    ...(stream.spokenWithin === undefined ? {} : { spokenWithin: (ms: number) => stream.spokenWithin!(ms) }),
  });
  const openSession = inner.openSession?.bind(inner);
  return {
    name: inner.name,
    open: async (options) => wrap(await inner.open(options)),
    ...(openSession === undefined
      ? {}
      : {
          async openSession(options: TtsOptions): Promise<TtsSession> {
            const session = await openSession(options);
            return { open: async (signal) => wrap(await session.open(signal)), close: () => session.close() };
          },
        }),
  };
}

/** An ElevenLabs client of the test's own, so connection failures injected for it are not shared. */
function coldTts(): TtsProvider & { close(): void } {
  const tts = createElevenLabsTts({
    apiKey: stack.elevenlabs.apiKey,
    baseUrl: stack.elevenlabs.baseUrl,
    voiceId: 'test-voice',
    modelId: 'eleven_flash_v2_5',
  });
  closers.push(() => tts.close());
  return tts;
}

async function startCall(
  options: { timing?: Partial<SessionTiming>; tts?: TtsProvider; llm?: LlmProvider; spoken?: SpokenText[] } = {},
) {
  const transport = createTestTransport(PHONE_AUDIO, { speed: 20 });
  const baseTts = options.tts ?? stack.tts;
  const tts = options.spoken ? recording(baseTts, options.spoken, () => transport) : baseTts;
  const errors: Array<{ where: string; error: unknown }> = [];
  const manager = createCallManager({
    providers: { stt: stack.stt, llm: options.llm ?? stack.llm, tts },
    tools: fixture.toolPorts,
    instructions: fixture.instructions,
    phrases: { ...DEFAULT_PHRASES, greeting: GREETING },
    timing: { idleMs: 60_000, ...options.timing },
    maxConcurrentCalls: 5,
    apologyAudio: new Map([['mulaw/8000', apologyAudio!]]),
    onError: (_callId, error, where) => errors.push({ where, error }),
  });
  callNumber += 1;
  const started = await manager.start({ callId: `CA-faults-${callNumber}`, callerNumber: '+15557770199', transportName: 'test', transport });
  if (!started.ok) throw new Error(`call refused: ${started.reason}`);
  const session = started.session;
  transport.attach((name) => session.handle({ kind: 'mark', name }));
  open.push(session);
  await transport.waitFor(() => agentSaid(transport).includes(GREETING));
  await transport.waitFor(() => transport.audioBytes() > 0);
  return { session, transport, errors };
}

function speak(session: CallSession, speechMs = 800): void {
  for (const audio of utteranceFrames(PHONE_AUDIO, speechMs)) session.handle({ kind: 'audio', audio, timestampMs: performance.now() });
}

const agentSaid = (transport: TestTransport) => transport.events.flatMap((e) => (e.type === 'agent_text' ? [e.text] : [])).join(' ');
const callerSaid = (session: CallSession) => session.record.transcript.filter((t) => t.role === 'caller').map((t) => t.text);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('vendor sockets dropped mid-stream', () => {
  it('Deepgram dropped mid-utterance: after the reconnect the whole utterance is still understood', async () => {
    stack.deepgram.script(['I need new brake pads', 'Thanks']);
    stack.openai.script([{ text: 'Sure, I can help with brake pads.' }, { text: 'You are welcome.' }]);
    const { session, transport } = await startCall();
    const frames = utteranceFrames(PHONE_AUDIO, 1_000);
    const connectionsBefore = stack.deepgram.connections.length;
    const current = stack.deepgram.connections.at(-1)!;
    const audioMsBefore = current.audioMs;
    // The first 600 ms of speech reach Deepgram, then the socket is cut while the caller talks on.
    for (const audio of frames.slice(0, 30)) session.handle({ kind: 'audio', audio, timestampMs: performance.now() });
    await transport.waitFor(() => current.audioMs >= audioMsBefore + 590);
    stack.deepgram.dropConnections();
    await sleep(5); // the client sees the drop; what follows arrives during the gap or after it
    for (const audio of frames.slice(30)) session.handle({ kind: 'audio', audio, timestampMs: performance.now() });

    await transport.waitFor(() => agentSaid(transport).includes('Sure, I can help with brake pads.'), 10_000);
    expect(stack.deepgram.connections.length).toBeGreaterThan(connectionsBefore);
    // One utterance, understood once: not lost, not split in two, not duplicated by the replay.
    expect(callerSaid(session)).toEqual(['I need new brake pads']);
    // The new connection heard the start of the utterance again (the unacknowledged audio was replayed).
    expect(stack.deepgram.connections.at(-1)!.audioMs).toBeGreaterThanOrEqual(1_000);
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('You are welcome.'), 10_000);
    expect(callerSaid(session)).toEqual(['I need new brake pads', 'Thanks']);
  }, 30_000);

  it('ElevenLabs dropped mid-reply: the rest is spoken over a new socket, the call goes on, the next reply is spoken', async () => {
    stack.deepgram.script(['What are your hours', 'And on Saturday']);
    stack.openai.script([
      { text: 'We are open from nine to five on weekdays, and we are happy to see you any time.' },
      { text: 'On Saturday we are open from nine to three.' },
    ]);
    const spoken: SpokenText[] = [];
    const { session, transport } = await startCall({ spoken });
    const sockets = stack.elevenlabs.multiConnections.length;
    stack.elevenlabs.dropMidStream();
    speak(session);
    // Never silence: the words not yet spoken go again in a context on a fresh socket.
    await transport.waitFor(() => stack.elevenlabs.multiConnections.length > sockets, 10_000);
    const resent = stack.elevenlabs.multiConnections.at(-1)!;
    await transport.waitFor(() => resent.contexts.some((c) => c.finalSent && c.texts.join('').includes('any time.')), 10_000);
    expect(agentSaid(transport)).not.toContain(APOLOGY);
    expect(session.record.endReason).toBeUndefined();

    const beforeNext = transport.audioBytes();
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('On Saturday we are open from nine to three.'), 10_000);
    // Spoken, not just written: its synthesis produced audio that went to the caller.
    await transport.waitFor(() => transport.audioBytes() - beforeNext > 2_000, 10_000);
    expect(spoken.some((s) => s.text.includes('On Saturday'))).toBe(true);
    expect(callerSaid(session)).toEqual(['What are your hours', 'And on Saturday']);
    expect(session.record.endReason).toBeUndefined();
  }, 30_000);

  it("OpenAI stream dropped before the first sentence: apology, and the next turn works", async () => {
    stack.deepgram.script(['Do you do alignments', 'Hello?']);
    stack.openai.script([
      { text: 'Yes we do wheel alignments every day of the week.', interrupt: { afterChunks: 3, mode: 'drop' } },
      { text: 'Yes, we do alignments.' },
    ]);
    const { session, transport } = await startCall();
    const requestsBefore = stack.openai.completionRequests().length;
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes(APOLOGY), 10_000);
    // Dropped after the first token: not retried (that would repeat half a sentence), apologised for.
    expect(stack.openai.completionRequests().length).toBe(requestsBefore + 1);
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('Yes, we do alignments.'), 10_000);
    expect(session.record.endReason).toBeUndefined();
    // The model is told the caller heard the apology, not the half-finished reply.
    const last = stack.openai.completionRequests().at(-1)!.body as { messages: Array<{ role: string; content: string }> };
    const assistant = last.messages.filter((m) => m.role === 'assistant').map((m) => m.content);
    expect(assistant).toContain(APOLOGY);
    expect(assistant.join(' ')).not.toContain('every day of the week');
  }, 30_000);

  // When the stream fails while the first sentence is still playing, the apology still follows it,
  // and the sentence the caller heard stays in the context and the transcript (src/pipeline/
  // call-session.ts, runTurn and modelRound); otherwise the caller would hear half an answer, then
  // silence until the idle prompt.
  it('OpenAI stream dropped after the first sentence was spoken: the caller still hears an apology', async () => {
    stack.deepgram.script(['Tell me about your shop', 'Hello?']);
    const first = 'We have been fixing cars on Main Street since nineteen eighty. ';
    stack.openai.script([
      {
        text: `${first}Our technicians are certified and every repair comes with a warranty of twelve months.`,
        // The first sentence and a few words of the second arrive, then the connection resets.
        interrupt: { afterChunks: 16, mode: 'drop' },
        interChunkDelayMs: 20,
      },
      { text: 'Sorry about that, we are a family shop.' },
    ]);
    const { session, transport } = await startCall();
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('since nineteen eighty'), 10_000);
    await transport.waitFor(() => agentSaid(transport).includes(APOLOGY), 3_000);
    // What the caller heard stays in the record.
    expect(session.record.transcript.some((t) => t.role === 'agent' && t.text.includes('since nineteen eighty'))).toBe(true);
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('we are a family shop'), 10_000);
    expect(session.record.endReason).toBeUndefined();
  }, 30_000);
});

describe('slow vendors', () => {
  it("OpenAI's first token later than the stillThinking threshold (2 s): 'One moment.' is heard before the answer", async () => {
    stack.deepgram.script(['How much is an oil change']);
    // The first token at 2.3 s: past the 2 s stillThinking default, within the adapter's default 2.5 s
    // first-token budget (as main.ts builds it; the shared test stack uses a tighter 1.5 s).
    stack.openai.script([{ text: 'An oil change is forty nine dollars.', firstTokenDelayMs: 2_300 }]);
    const llm = createOpenAiLlm({ apiKey: stack.openai.apiKey, baseUrl: stack.openai.baseUrl, model: 'gpt-4o-mini' });
    const spoken: SpokenText[] = [];
    const { session, transport } = await startCall({ spoken, llm });
    const turnStart = performance.now();
    const audioAtTurn = transport.audioBytes();
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('forty nine dollars'), 10_000);
    const texts = spoken.map((s) => s.text.trim());
    const moment = texts.indexOf(DEFAULT_PHRASES.stillThinking);
    const answer = texts.findIndex((t) => t.includes('forty nine dollars'));
    expect(moment).toBeGreaterThanOrEqual(0);
    expect(answer).toBeGreaterThan(moment);
    // Said at about the threshold, not at the end...
    const momentAt = spoken[moment]!.at - turnStart;
    expect(momentAt).toBeGreaterThanOrEqual(1_900);
    expect(momentAt).toBeLessThan(2_300);
    // ...and the caller already had its audio before the answer was even written by the model.
    expect(spoken[answer]!.audioBytesBefore).toBeGreaterThan(audioAtTurn);
    // Once only: a filler never enters the model's context or the transcript.
    expect(texts.filter((t) => t === DEFAULT_PHRASES.stillThinking)).toHaveLength(1);
    expect(session.record.transcript.map((t) => t.text).join(' ')).not.toContain(DEFAULT_PHRASES.stillThinking);
  }, 30_000);

  it('a prompt answer gets no "One moment."', async () => {
    stack.deepgram.script(['Are you open today']);
    stack.openai.script([{ text: 'Yes, until five.' }]);
    const spoken: SpokenText[] = [];
    const { session, transport } = await startCall({ spoken });
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('until five'), 10_000);
    await sleep(2_200);
    expect(spoken.map((s) => s.text.trim())).not.toContain(DEFAULT_PHRASES.stillThinking);
  }, 30_000);

  it("a slow Deepgram final (1.5 s): the turn still completes and the call goes on", async () => {
    stack.deepgram.script(['Can I bring my car tomorrow', 'Great']);
    stack.openai.script([{ text: 'Yes, tomorrow works.' }, { text: 'See you then.' }]);
    const { session, transport } = await startCall();
    stack.deepgram.setFinalDelay(1_500);
    const started = performance.now();
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('Yes, tomorrow works.'), 10_000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_500);
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('See you then.'), 10_000);
    expect(callerSaid(session)).toEqual(['Can I bring my car tomorrow', 'Great']);
    expect(agentSaid(transport)).not.toContain(APOLOGY);
  }, 30_000);

  it("a slow ElevenLabs first byte (1.5 s): the reply is still spoken in full, no apology", async () => {
    stack.deepgram.script(['Do you sell tires']);
    stack.openai.script([{ text: 'Yes, we sell and mount tires.' }]);
    const { session, transport } = await startCall({ tts: coldTts() });
    stack.elevenlabs.setLatency({ firstByteDelayMs: 1_500 });
    const before = transport.audioBytes();
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('Yes, we sell and mount tires.'), 10_000);
    // 29 characters at 20 ms each, mu-law 8 bytes/ms: about 4.6 kB of audio.
    await transport.waitFor(() => transport.audioBytes() - before >= 4_000, 10_000);
    expect(agentSaid(transport)).not.toContain(APOLOGY);
    expect(session.record.endReason).toBeUndefined();
  }, 30_000);
});

describe('429 and 5xx bursts', () => {
  it('OpenAI 429 with Retry-After, then success: retried transparently before the first token', async () => {
    stack.deepgram.script(['Can you check my brakes']);
    stack.openai.script([{ error: { status: 429, retryAfterSeconds: 1 } }, { text: 'Of course, we can check your brakes.' }]);
    const { session, transport } = await startCall();
    const requestsBefore = stack.openai.completionRequests().length;
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('we can check your brakes'), 10_000);
    const requests = stack.openai.completionRequests().slice(requestsBefore);
    expect(requests).toHaveLength(2);
    // Retry-After was honoured: the second attempt came about a second after the first.
    expect(requests[1]!.receivedAt - requests[0]!.receivedAt).toBeGreaterThanOrEqual(950);
    expect(agentSaid(transport)).not.toContain(APOLOGY);
    expect(session.record.endReason).toBeUndefined();
  }, 30_000);

  it('Deepgram answers 503 to three reconnect handshakes: it reconnects once Deepgram recovers', async () => {
    stack.deepgram.script(['Hello there', 'Is anyone there']);
    stack.openai.script([{ text: 'Hi! How can I help?' }, { text: 'Yes, I am here.' }]);
    const { session, transport } = await startCall();
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('Hi! How can I help?'), 10_000);
    const rejectedBefore = stack.deepgram.rejectedHandshakes;
    stack.deepgram.rejectNextConnections(3, 503);
    stack.deepgram.dropConnections();
    speak(session); // said while Deepgram is refusing: buffered and replayed after the reconnect
    await transport.waitFor(() => agentSaid(transport).includes('Yes, I am here.'), 10_000);
    expect(stack.deepgram.rejectedHandshakes - rejectedBefore).toBe(3);
    expect(callerSaid(session)).toEqual(['Hello there', 'Is anyone there']);
  }, 30_000);

  it('ElevenLabs 503 on two connects: the open is retried and the reply is spoken', async () => {
    stack.deepgram.script(['Do you fix air conditioning']);
    stack.openai.script([{ text: 'Yes, we service air conditioning.' }]);
    // The call's TTS socket is opened as the call starts: its first two handshakes are refused.
    const handshakesBefore = stack.elevenlabs.handshakes;
    stack.elevenlabs.failNextConnections(2, 'reject');
    const { session, transport } = await startCall({ tts: coldTts() });
    const before = transport.audioBytes();
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('we service air conditioning'), 10_000);
    await transport.waitFor(() => transport.audioBytes() - before >= 4_000, 10_000);
    expect(stack.elevenlabs.handshakes - handshakesBefore).toBeGreaterThanOrEqual(3);
    expect(agentSaid(transport)).not.toContain(APOLOGY);
  }, 30_000);

  it('ElevenLabs 503 on every connect attempt: the pre-synthesised apology plays, and the call goes on', async () => {
    stack.deepgram.script(['Do you do inspections', 'Hello?']);
    stack.openai.script([{ text: 'Yes, we do state inspections.' }, { text: 'Yes, inspections take an hour.' }]);
    // Every attempt refused: as the call starts (3) and again when the reply needs the socket (3).
    stack.elevenlabs.failNextConnections(6, 'reject');
    const { session, transport } = await startCall({ tts: coldTts() });
    const before = transport.audioBytes();
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes(APOLOGY), 10_000);
    await transport.waitFor(() => transport.audioBytes() - before >= apologyAudio!.length, 10_000);
    expect(session.record.endReason).toBeUndefined();
    // ElevenLabs is back: the next reply is synthesised and spoken.
    const beforeNext = transport.audioBytes();
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('inspections take an hour'), 10_000);
    await transport.waitFor(() => transport.audioBytes() - beforeNext >= 4_000, 10_000);
  }, 30_000);
});
