/**
 * The voice pipeline end to end with the real vendor clients: caller audio goes through the
 * Deepgram adapter to its emulator, the OpenAI SDK streams from its emulator, the ElevenLabs
 * adapter synthesises through its emulator, and the session's audio comes out of a test transport
 * as phone audio (mu-law 8 kHz). Tools, database (PGlite) and local calendar are real.
 */
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PHONE_AUDIO } from '../src/core/frames.js';
import { appointments } from '../src/db/schema.js';
import { createCallManager } from '../src/pipeline/call-manager.js';
import { DEFAULT_PHRASES } from '../src/pipeline/call-session.js';
import type { CallSession, SessionTiming } from '../src/pipeline/call-session.js';
import { INTERRUPTED_NOTE } from '../src/pipeline/chat-context.js';
import { createElevenLabsTts } from '../src/providers/elevenlabs/elevenlabs-tts.js';
import type { TtsProvider } from '../src/providers/tts.js';
import { echoResponder } from './emulators/openai.js';
import type { EmulatedRequest } from './emulators/openai.js';
import { createTestTransport } from './support/test-transport.js';
import type { TestTransport } from './support/test-transport.js';
import { openToolFixture } from './support/tool-fixture.js';
import type { ToolFixture } from './support/tool-fixture.js';
import { startVoiceStack, utteranceFrames } from './support/voice-stack.js';
import type { VoiceStack } from './support/voice-stack.js';

const GREETING = 'Thanks for calling Test Garage. How can I help?';
let fixture: ToolFixture;
let stack: VoiceStack;
let apologyAudio: Uint8Array;
let callNumber = 0;
const open: CallSession[] = [];

beforeAll(async () => {
  [fixture, stack] = await Promise.all([openToolFixture(), startVoiceStack()]);
  apologyAudio = await stack.tts.synthesizeOnce(DEFAULT_PHRASES.apology, PHONE_AUDIO, AbortSignal.timeout(5_000));
}, 60_000);
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.end('test_over')));
});
afterAll(async () => {
  await Promise.all([stack?.close(), fixture?.close()]);
});

interface CallOptions {
  callerNumber?: string;
  timing?: Partial<SessionTiming>;
  speed?: number;
  tts?: TtsProvider;
  onError?: (callId: string, error: unknown, where: string) => void;
}

async function startCall(options: CallOptions = {}) {
  const transport = createTestTransport(PHONE_AUDIO, { speed: options.speed ?? 20 });
  const manager = createCallManager({
    providers: { stt: stack.stt, llm: stack.llm, tts: options.tts ?? stack.tts },
    onError: options.onError,
    tools: fixture.toolPorts,
    instructions: fixture.instructions,
    phrases: { ...DEFAULT_PHRASES, greeting: GREETING },
    timing: { idleMs: 60_000, ...options.timing },
    maxConcurrentCalls: 5,
    apologyAudio: new Map([['mulaw/8000', apologyAudio]]),
  });
  callNumber += 1;
  const started = await manager.start({
    callId: `CA-pipeline-${callNumber}`,
    callerNumber: options.callerNumber,
    transportName: 'test',
    transport,
  });
  if (!started.ok) throw new Error(`call refused: ${started.reason}`);
  const session = started.session;
  transport.attach((name) => session.handle({ kind: 'mark', name }));
  open.push(session);
  return { session, transport };
}

/** The caller says something: speech-like audio then silence, as 20 ms mu-law frames. */
function speak(session: CallSession, speechMs = 800): void {
  for (const audio of utteranceFrames(PHONE_AUDIO, speechMs)) {
    session.handle({ kind: 'audio', audio, timestampMs: performance.now() });
  }
}

/** Everything the agent said, joined: replies are spoken (and reported) sentence by sentence. */
const agentSaid = (transport: TestTransport) =>
  transport.events.flatMap((e) => (e.type === 'agent_text' ? [e.text] : [])).join(' ');
const toolResults = (request: EmulatedRequest) =>
  request.messages.filter((m) => m.role === 'tool').map((m) => JSON.parse(String(m.content)) as { success: boolean; data: any });

describe('voice pipeline with the real vendor clients', () => {
  it('greets with mu-law audio and a mark after every chunk, before any LLM request', async () => {
    const before = stack.openai.completionRequests().length;
    const { transport } = await startCall();
    await transport.waitFor(() => transport.audioBytes() >= 4_000);
    expect(stack.openai.completionRequests().length).toBe(before);
    const audio = transport.frames.filter((f) => f.kind === 'audio');
    expect(audio.length).toBeGreaterThan(0);
    // mu-law 8 kHz straight from the vendor: no transcoding, one byte per sample.
    // One multi-stream-input socket per call, opened before the greeting.
    const lastConnection = stack.elevenlabs.multiConnections.at(-1)!;
    expect(lastConnection.query.output_format).toBe('ulaw_8000');
    transport.frames.forEach((f, i) => {
      if (f.kind === 'audio') expect(transport.frames[i + 1]?.kind).toBe('mark');
    });
  });

  it('books an appointment: greeting, lookup, availability (filler first), booking, confirmation', async () => {
    const number = '+15557770101';
    const { customerId, vehicleIds } = await fixture.addCustomer({
      phone: number,
      firstName: 'Maria',
      vehicles: [{ year: 2019, make: 'Toyota', model: 'Camry' }],
    });
    let transport!: TestTransport;
    let audioWhenSlotsRequested = 0;
    stack.deepgram.script(['I need an oil change on Thursday', 'Two PM works']);
    stack.openai.script([
      { toolCalls: [{ name: 'lookup_customer', arguments: {} }] },
      (request) => {
        expect(toolResults(request)[0]).toMatchObject({ success: true, data: { found: true } });
        audioWhenSlotsRequested = transport.audioBytes();
        return { toolCalls: [{ name: 'get_available_slots', arguments: { date: '2026-12-03', service_type: 'oil change' } }] };
      },
      (request) => {
        // The filler was heard (handed to the caller) before the slots reached the model.
        expect(stack.elevenlabs.spokenTexts().some((t) => t.includes('Let me check the calendar'))).toBe(true);
        expect(transport.audioBytes()).toBeGreaterThan(audioWhenSlotsRequested);
        const slots = toolResults(request).at(-1)!;
        expect(slots.data.slots.map((s: { label: string }) => s.label)).toContain('2:00 PM');
        return { text: 'On Thursday I have nine AM or two PM. Which would you like?' };
      },
      {
        toolCalls: [
          {
            name: 'book_appointment',
            arguments: { customer_id: customerId, vehicle_id: vehicleIds[0], scheduled_at: '2026-12-03T14:00', service_type: 'oil change' },
          },
        ],
      },
      (request) => {
        expect(toolResults(request).at(-1)).toMatchObject({ success: true });
        return { text: "You're all set for Thursday at two PM. Anything else?" };
      },
    ]);
    const call = await startCall({ callerNumber: number });
    transport = call.transport;
    await transport.waitFor(() => agentSaid(transport).includes(GREETING));
    speak(call.session);
    await transport.waitFor(() => agentSaid(transport).includes('Which would you like?'), 10_000);
    speak(call.session);
    await transport.waitFor(() => agentSaid(transport).includes('Anything else?'), 10_000);

    const rows = await fixture.database.db.select().from(appointments).where(eq(appointments.customerId, customerId));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.startsAt.toISOString()).toBe('2026-12-03T19:00:00.000Z');
    expect(call.session.record.transcript.filter((t) => t.role === 'caller').map((t) => t.text)).toEqual([
      'I need an oil change on Thursday',
      'Two PM works',
    ]);
    const firstTurn = call.session.record.turns[0]!;
    expect(firstTurn.marks.stt_final).toBeGreaterThanOrEqual(0);
    expect(firstTurn.marks.llm_first_token).toBeGreaterThan(0);
    expect(firstTurn.voiceToVoiceMs).toBeGreaterThan(0);
  }, 30_000);

  it('barge-in mid-sentence: clear sent, LLM and TTS streams aborted, context keeps the heard part', async () => {
    const long = 'We do oil changes, brake jobs, tire rotations, alignments, inspections and a lot more besides.';
    stack.deepgram.script(['What do you do?', 'Just oil changes please']);
    stack.openai.script([
      { text: `${long} ${'And there is more to say about every single one of them. '.repeat(12)}`, interChunkDelayMs: 40 },
      { text: 'Sure, oil changes take about thirty minutes.' },
    ]);
    const { session, transport } = await startCall({ speed: 1 });
    await transport.waitFor(() => agentSaid(transport).includes(GREETING));
    await new Promise((r) => setTimeout(r, 2_000)); // the greeting plays in real time
    stack.elevenlabs.setLatency({ interChunkDelayMs: 60 }); // synthesis of the reply is still streaming
    const requestsBefore = stack.openai.completionRequests().length;
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('We do oil changes'), 10_000);
    await new Promise((r) => setTimeout(r, 1_500)); // part of the reply plays
    speak(session, 600); // the caller talks over it

    await transport.waitFor(() => transport.frames.some((f) => f.kind === 'clear'), 5_000);
    await transport.waitFor(() => stack.openai.completionRequests().length === requestsBefore + 2, 10_000);
    const requests = stack.openai.completionRequests();
    // The interrupted reply's HTTP stream was abandoned by the client.
    expect(requests[requestsBefore]!.clientAborted).toBe(true);
    // The interrupted reply's context was closed before the vendor had finished it.
    const contexts = stack.elevenlabs.multiConnections.flatMap((m) => m.contexts);
    expect(contexts.some((c) => c.closeRequested && c.audioChunksSent > 0 && c.texts.join('').includes('We do oil changes'))).toBe(true);
    const assistant = (requests.at(-1)!.body as { messages: Array<{ role: string; content: string }> }).messages
      .filter((m) => m.role === 'assistant')
      .at(-1)!;
    expect(assistant.content.endsWith(INTERRUPTED_NOTE)).toBe(true);
    expect(assistant.content.length).toBeLessThan(long.length + INTERRUPTED_NOTE.length + 1);
    expect(session.record.bargeIns).toBeGreaterThanOrEqual(1);
    stack.elevenlabs.setLatency({ interChunkDelayMs: 0 });
  }, 40_000);

  it('after a barge-in, the next reply waits behind the cut one’s flushed text without a TTS error or an apology', async () => {
    // The vendor still speaks the cut reply's flushed sentences (150 ms each, one after another)
    // before the next reply's: seconds of audio nobody plays, longer than the watchdog's second.
    const tts = createElevenLabsTts({
      apiKey: stack.elevenlabs.apiKey,
      baseUrl: stack.elevenlabs.baseUrl,
      voiceId: 'test-voice',
      modelId: 'eleven_flash_v2_5',
      audioTimeoutMs: 1_000,
    });
    const errors: string[] = [];
    stack.deepgram.script(['What do you do?', 'Just oil changes please']);
    stack.openai.script([
      { text: 'We service every make and model. '.repeat(30) },
      { text: 'Sure, an oil change takes about forty minutes.' },
    ]);
    stack.elevenlabs.setLatency({ firstByteDelayMs: 150 });
    try {
      const { session, transport } = await startCall({
        speed: 1,
        tts,
        onError: (_call, error, where) => errors.push(`${where}: ${String(error)}`),
      });
      await transport.waitFor(() => agentSaid(transport).includes(GREETING));
      await new Promise((r) => setTimeout(r, 2_000)); // the greeting plays in real time
      speak(session);
      await transport.waitFor(() => agentSaid(transport).includes('We service every make'), 10_000);
      await new Promise((r) => setTimeout(r, 1_000)); // part of the reply plays
      speak(session, 600); // the caller talks over it
      await transport.waitFor(() => transport.frames.some((f) => f.kind === 'clear'), 5_000);
      const answered = () =>
        stack.elevenlabs.multiConnections.flatMap((m) => m.contexts).filter((c) => c.texts.join('').includes('forty minutes'));
      await transport.waitFor(() => answered().some((c) => c.finalSent), 15_000);
      await new Promise((r) => setTimeout(r, 200));
      expect(errors).toEqual([]);
      expect(agentSaid(transport)).not.toContain(DEFAULT_PHRASES.apology);
      expect(answered()).toHaveLength(1); // spoken from its own context, not failed and sent again
      expect(session.record.endReason).toBeUndefined();
    } finally {
      stack.elevenlabs.setLatency({ firstByteDelayMs: 0 });
      tts.close();
    }
  }, 40_000);

  it('survives a Deepgram drop mid-call: reconnects and understands the next utterance', async () => {
    stack.deepgram.script(['Hello there', 'Are you still with me']);
    stack.openai.script([{ text: 'Hi! How can I help?' }, { text: 'Yes, I am here.' }]);
    const { session, transport } = await startCall();
    await transport.waitFor(() => agentSaid(transport).includes(GREETING));
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('Hi! How can I help?'), 10_000);
    const connectionsBefore = stack.deepgram.connections.length;
    stack.deepgram.dropConnections();
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes('Yes, I am here.'), 10_000);
    expect(stack.deepgram.connections.length).toBeGreaterThan(connectionsBefore);
    expect(session.record.transcript.filter((t) => t.role === 'caller').map((t) => t.text)).toEqual([
      'Hello there',
      'Are you still with me',
    ]);
  }, 30_000);

  it('apologises when OpenAI keeps failing, and the call goes on', async () => {
    stack.deepgram.script(['Hello', 'Hello again']);
    let failing = true;
    // Every attempt (the adapter retries within its budget) fails while `failing` holds.
    stack.openai.setDefault(() => (failing ? { error: { status: 500 } } : { text: 'Sorry about that. How can I help?' }));
    try {
      const { session, transport } = await startCall();
      await transport.waitFor(() => agentSaid(transport).includes(GREETING));
      speak(session);
      await transport.waitFor(() => agentSaid(transport).includes(DEFAULT_PHRASES.apology), 10_000);
      expect(stack.openai.completionRequests().length).toBeGreaterThan(1); // it did retry first
      failing = false;
      speak(session);
      await transport.waitFor(() => agentSaid(transport).includes('Sorry about that. How can I help?'), 10_000);
      expect(session.record.endReason).toBeUndefined();
    } finally {
      stack.openai.setDefault(echoResponder);
    }
  }, 30_000);

  it('speaks the rest of the reply over a new socket when ElevenLabs drops mid-reply', async () => {
    stack.deepgram.script(['Can you hear me']);
    stack.openai.script([{ text: 'Yes I can hear you loud and clear.' }]);
    const { session, transport } = await startCall();
    await transport.waitFor(() => agentSaid(transport).includes(GREETING));
    await transport.waitFor(() => transport.audioBytes() > 0);
    const sockets = stack.elevenlabs.multiConnections.length;
    stack.elevenlabs.dropMidStream(); // the reply's synthesis is cut off part-way
    speak(session);
    await transport.waitFor(() => stack.elevenlabs.multiConnections.length > sockets, 10_000);
    const resent = stack.elevenlabs.multiConnections.at(-1)!;
    await transport.waitFor(() => resent.contexts.some((c) => c.finalSent && c.texts.join('').includes('loud and clear')), 10_000);
    expect(agentSaid(transport)).not.toContain(DEFAULT_PHRASES.apology);
    expect(session.record.endReason).toBeUndefined();
  }, 30_000);

  it('plays the pre-synthesised apology when ElevenLabs fails mid-reply and cannot be reached again', async () => {
    stack.deepgram.script(['Can you hear me']);
    stack.openai.script([{ text: 'Yes I can hear you.' }]);
    const { session, transport } = await startCall();
    await transport.waitFor(() => agentSaid(transport).includes(GREETING));
    await transport.waitFor(() => transport.audioBytes() > 0);
    stack.elevenlabs.dropMidStream(); // the reply's synthesis is cut off part-way
    stack.elevenlabs.failNextConnections(3); // ... and every reconnect attempt is refused
    const before = transport.audioBytes();
    speak(session);
    await transport.waitFor(() => agentSaid(transport).includes(DEFAULT_PHRASES.apology), 10_000);
    await transport.waitFor(() => transport.audioBytes() - before >= apologyAudio.length, 10_000);
    expect(session.record.endReason).toBeUndefined();
  }, 30_000);

  it('checks in after silence, then says goodbye and hangs up', async () => {
    const { session, transport } = await startCall({ timing: { idleMs: 300 } });
    const record = await session.finished;
    expect(record.endReason).toBe('idle');
    expect(transport.hungUp).toBe(true);
    expect(agentSaid(transport)).toBe([GREETING, DEFAULT_PHRASES.idlePrompt, DEFAULT_PHRASES.goodbye].join(' '));
  }, 20_000);
});
