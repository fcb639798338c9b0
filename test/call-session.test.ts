/**
 * The call session on scripted STT/LLM/TTS fakes, with the real tools, database (PGlite) and
 * local calendar: the turn-taking, filler, barge-in, error and idle behaviour a caller notices.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PHONE_AUDIO } from '../src/core/frames.js';
import type { OutboundFrame } from '../src/core/frames.js';
import { ProviderError } from '../src/core/errors.js';
import { appointments } from '../src/db/schema.js';
import { createCallSession, DEFAULT_PHRASES } from '../src/pipeline/call-session.js';
import type { SessionTiming } from '../src/pipeline/call-session.js';
import { INTERRUPTED_NOTE } from '../src/pipeline/chat-context.js';
import { createScriptedLlm } from './support/fakes/scripted-llm.js';
import type { ScriptedLlmStep } from './support/fakes/scripted-llm.js';
import { createScriptedStt } from './support/fakes/scripted-stt.js';
import { createScriptedTts } from './support/fakes/scripted-tts.js';
import type { ChatMessage, LlmEvent } from '../src/providers/llm.js';
import { createTestTransport } from './support/test-transport.js';
import { openToolFixture } from './support/tool-fixture.js';
import type { ToolFixture } from './support/tool-fixture.js';

const GREETING = 'Thanks for calling Test Garage. How can I help?';
let fixture: ToolFixture;
let phone = 0;

beforeAll(async () => {
  fixture = await openToolFixture();
});
afterAll(async () => {
  await fixture?.close();
});

function text(delta: string): LlmEvent {
  return { type: 'text', delta };
}
function toolCall(id: string, name: string, args: Record<string, unknown>): LlmEvent {
  return { type: 'tool_calls', calls: [{ id, name, arguments: JSON.stringify(args) }] };
}

function startSession(options: {
  script: ScriptedLlmStep[];
  llmDelays?: { firstTokenDelayMs?: number; interEventDelayMs?: number };
  speed?: number;
  callerNumber?: string;
  timing?: Partial<SessionTiming>;
  apologyAudio?: Uint8Array;
  greetingAudio?: Uint8Array;
}) {
  const stt = createScriptedStt();
  const llm = createScriptedLlm(options.script, options.llmDelays);
  const tts = createScriptedTts({ msPerChar: 40, chunkMs: 100 });
  const transport = createTestTransport(PHONE_AUDIO, { speed: options.speed ?? 50 });
  const errors: Array<{ error: unknown; where: string }> = [];
  const session = createCallSession({
    callId: `CA-session-${phone}`,
    callerNumber: options.callerNumber,
    transport,
    stt,
    llm,
    tts,
    tools: fixture.toolPorts,
    instructions: fixture.instructions,
    phrases: { ...DEFAULT_PHRASES, greeting: GREETING },
    timing: { idleMs: 60_000, ...options.timing },
    apologyAudio: options.apologyAudio,
    greetingAudio: options.greetingAudio,
    onError: (error, where) => errors.push({ error, where }),
  });
  transport.attach((name) => session.handle({ kind: 'mark', name }));
  return { stt, llm, tts, transport, session, errors };
}

const agentTexts = (frames: OutboundFrame[]) =>
  frames.flatMap((f) => (f.kind === 'event' && f.event.type === 'agent_text' ? [f.event.text] : []));

describe('call session', () => {
  it('greets as soon as TTS can, without the LLM', async () => {
    const { session, tts, llm, transport } = startSession({ script: [] });
    await session.start();
    await transport.waitFor(() => transport.audioBytes() > 0);
    expect(tts.texts[0]).toBe(GREETING);
    expect(llm.requests).toHaveLength(0);
    const firstAudio = transport.frames.findIndex((f) => f.kind === 'audio');
    expect(transport.frames[firstAudio + 1]).toMatchObject({ kind: 'mark' });
    await session.end('test_over');
  });

  it('plays a pre-synthesised greeting without asking TTS', async () => {
    const greetingAudio = new Uint8Array(3200).fill(0x21);
    const { session, tts, transport } = startSession({ script: [], greetingAudio });
    await session.start();
    await transport.waitFor(() => transport.audioBytes() >= 3200);
    expect(tts.texts).toEqual([]);
    expect(transport.events).toContainEqual({ type: 'agent_text', text: GREETING, turn: 0 });
    expect(session.record.transcript[0]).toMatchObject({ role: 'agent', text: GREETING });
    await session.end('test_over');
  });

  it('books an appointment over a whole conversation, speaking a filler before tool results reach the LLM', async () => {
    const number = `+1555${String(4_000_000 + phone++).padStart(7, '0')}`;
    const { customerId, vehicleIds } = await fixture.addCustomer({
      phone: number,
      firstName: 'Maria',
      email: 'maria@example.com',
      vehicles: [{ year: 2019, make: 'Toyota', model: 'Camry' }],
    });
    const audioAtRequest: number[] = [];
    const fillerBytes = () => tts.streams.filter((s) => s.texts.join('') === 'Let me pull up your account.').reduce((n, s) => n + s.audioBytes, 0);
    const toolMessages = (messages: ChatMessage[]) => messages.filter((m) => m.role === 'tool');

    const { session, stt, llm, tts, transport, errors } = startSession({
      callerNumber: number,
      script: [
        () => {
          audioAtRequest.push(transport.audioBytes());
          return [toolCall('call_1', 'lookup_customer', {})];
        },
        (request) => {
          // The filler was handed to the caller before the model sees the tool result.
          expect(fillerBytes()).toBeGreaterThan(0);
          expect(transport.audioBytes()).toBeGreaterThanOrEqual(audioAtRequest[0]! + fillerBytes());
          expect(JSON.parse((toolMessages(request.messages as ChatMessage[])[0] as { content: string }).content)).toMatchObject({
            success: true,
            data: { found: true },
          });
          return [toolCall('call_2', 'get_available_slots', { date: '2026-12-03', service_type: 'oil change' })];
        },
        [text('On Thursday I have nine AM, '), text('or two PM. Which works for you?')],
        () => [
          toolCall('call_3', 'book_appointment', {
            customer_id: customerId,
            vehicle_id: vehicleIds[0],
            scheduled_at: '2026-12-03T14:00',
            service_type: 'oil change',
          }),
        ],
        (request) => {
          const last = toolMessages(request.messages as ChatMessage[]).at(-1) as { content: string };
          expect(JSON.parse(last.content)).toMatchObject({ success: true });
          return [text("You're booked for Thursday at two PM. "), text("You'll get an invitation by email.")];
        },
      ],
    });
    await session.start();
    await transport.waitFor(() => transport.audioBytes() > 0);
    stt.say('Hi, I need an oil change for my Camry on Thursday');
    await transport.waitFor(() => agentTexts(transport.frames).some((t) => t.includes('Which works for you?')));
    stt.say('Two PM please');
    await transport.waitFor(() => agentTexts(transport.frames).some((t) => t.includes('invitation by email')));

    const rows = await fixture.database.db.select().from(appointments).where(eq(appointments.customerId, customerId));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.startsAt.toISOString()).toBe('2026-12-03T19:00:00.000Z');
    expect(llm.requests).toHaveLength(5);
    // Fillers are speech only: never in the model's context.
    const lastRequest = llm.requests.at(-1)!.messages;
    expect(JSON.stringify(lastRequest)).not.toContain('Let me pull up your account.');
    expect(lastRequest[0]).toMatchObject({ role: 'system' });
    expect((lastRequest[0] as { content: string }).content).toContain('Tuesday, 2026-12-01');

    expect(session.record.toolCalls.map((c) => [c.name, c.result.success])).toEqual([
      ['lookup_customer', true],
      ['get_available_slots', true],
      ['book_appointment', true],
    ]);
    expect(session.record.transcript.filter((t) => t.role === 'caller').map((t) => t.text)).toEqual([
      'Hi, I need an oil change for my Camry on Thursday',
      'Two PM please',
    ]);
    const turn = session.record.turns[0]!;
    expect(turn.marks).toMatchObject({ llm_request: expect.any(Number), 'tool_start:lookup_customer': expect.any(Number) });
    expect(turn.voiceToVoiceMs).toBeGreaterThanOrEqual(0);
    expect(errors).toEqual([]);
    await session.end('test_over');
  });

  it('stops on barge-in: clear sent, LLM and TTS aborted, context keeps only what was heard', async () => {
    const long = 'Well, let me tell you about all of our services in great detail, starting with oil changes and filters. ';
    const deltas = Array.from({ length: 40 }, (_, i) => text(i === 0 ? long : 'And more words keep coming here. '));
    const { session, stt, llm, tts, transport } = startSession({
      script: [deltas, [text('Sure, go ahead.')]],
      llmDelays: { interEventDelayMs: 40 },
    });
    await session.start();
    await transport.waitFor(() => transport.events.some((e) => e.type === 'agent_text'));
    await new Promise((r) => setTimeout(r, 100)); // the greeting plays (fast)
    transport.setSpeed(1); // the reply plays in real time, so the caller is mid-sentence when they interrupt
    tts.setLatency({ interChunkDelayMs: 30 }); // and its synthesis is still streaming
    stt.say('What services do you have?');
    // Wait until some of the reply has actually played (a mark of a reply utterance came back).
    await transport.waitFor(() => agentTexts(transport.frames).length > 1 && transport.audioBytes() > 8000, 8_000);
    await new Promise((r) => setTimeout(r, 700));
    // Deepgram's SpeechStarted fires on any sound: alone, it stops nothing.
    stt.emit({ type: 'speech_started' });
    await new Promise((r) => setTimeout(r, 100));
    expect(transport.frames.some((f) => f.kind === 'clear')).toBe(false);
    // Words do.
    stt.emit({ type: 'transcript', text: 'Wait', isFinal: false, speechFinal: false });

    await transport.waitFor(() => transport.frames.some((f) => f.kind === 'clear'));
    expect(tts.closed).toBe(true);
    // The model's stream was cut too: most of its 40 deltas never reached speech.
    await new Promise((r) => setTimeout(r, 200));
    expect(tts.texts.filter((t) => t.includes('And more words')).length).toBeLessThan(20);
    const interrupted = transport.events.find((e) => e.type === 'agent_interrupted');
    expect(interrupted).toBeDefined();
    const heard = (interrupted as { heard: string }).heard;
    expect(heard.length).toBeGreaterThan(0);
    expect(heard.length).toBeLessThan(long.length);
    expect(long.startsWith(heard.slice(0, 10))).toBe(true);

    stt.say('Actually, just the oil change price');
    await transport.waitFor(() => llm.requests.length === 2);
    const assistant = llm.requests[1]!.messages.filter((m) => m.role === 'assistant').at(-1) as { content: string };
    expect(assistant.content.endsWith(INTERRUPTED_NOTE)).toBe(true);
    expect(assistant.content).not.toContain('And more words keep coming');
    expect(session.record.bargeIns).toBe(1);
    const cutLine = session.record.transcript.find((t) => t.role === 'agent' && t.complete === false);
    expect(cutLine?.text).toBe(heard);
    await session.end('test_over');
  });

  it('cuts the context to what was heard even when the model had already finished its reply', async () => {
    const reply = 'We are open Monday to Friday from nine to five, and on Saturday from nine to three, closed Sunday.';
    const { session, stt, llm, transport } = startSession({ script: [[text(reply)], [text('Sure.')]] });
    await session.start();
    await transport.waitFor(() => agentTexts(transport.frames).length > 0);
    await new Promise((r) => setTimeout(r, 100));
    transport.setSpeed(1);
    stt.say('When are you open?');
    // The model is done (one fast response); the reply is still playing in real time.
    await transport.waitFor(() => llm.requests.length === 1 && agentTexts(transport.frames).some((t) => t.startsWith('We are open')));
    await new Promise((r) => setTimeout(r, 800));
    stt.emit({ type: 'speech_started' });
    stt.emit({ type: 'transcript', text: 'Hold on', isFinal: false, speechFinal: false });
    await transport.waitFor(() => transport.events.some((e) => e.type === 'agent_interrupted'));
    transport.setSpeed(50);
    stt.say('What about Sunday?');
    await transport.waitFor(() => llm.requests.length === 2);
    const assistant = llm.requests[1]!.messages.filter((m) => m.role === 'assistant').at(-1) as { content: string };
    expect(assistant.content.endsWith(INTERRUPTED_NOTE)).toBe(true);
    expect(assistant.content.length).toBeLessThan(reply.length);
    await session.end('test_over');
  });

  it('reports a turn\'s latency once its reply audio has gone out', async () => {
    const { session, stt, transport } = startSession({ script: [[text('Yes.')]] });
    await session.start();
    stt.say('Are you open today?');
    await transport.waitFor(() => transport.events.some((e) => e.type === 'latency'));
    const latency = transport.events.find((e) => e.type === 'latency') as { timeline: Record<string, number> };
    expect(latency.timeline).toMatchObject({ stt_final: expect.any(Number), llm_first_token: expect.any(Number), first_audio_out: expect.any(Number) });
    expect(session.record.turns[0]!.voiceToVoiceMs).toBeGreaterThanOrEqual(0);
    await session.end('test_over');
  });

  it('apologises and carries on when the LLM fails', async () => {
    const { session, stt, transport, errors, llm } = startSession({
      script: [new ProviderError('openai', 'HTTP 500', { status: 500 }), [text('Sure, how can I help?')]],
    });
    await session.start();
    stt.say('Hello?');
    await transport.waitFor(() => agentTexts(transport.frames).includes(DEFAULT_PHRASES.apology));
    expect(errors.map((e) => e.where)).toEqual(['turn']);
    stt.say('I said hello');
    await transport.waitFor(() => agentTexts(transport.frames).includes('Sure, how can I help?'));
    expect(llm.requests).toHaveLength(2);
    await session.end('test_over');
  });

  it('plays the pre-synthesised apology when TTS fails mid-turn', async () => {
    const apologyAudio = new Uint8Array(1600).fill(0x55);
    const { session, stt, tts, transport } = startSession({ script: [[text('Let me check that for you.')]], apologyAudio });
    await session.start();
    await transport.waitFor(() => transport.audioBytes() > 0);
    tts.failNext({ at: 'open' });
    const before = transport.audioBytes();
    stt.say('Can you check my car?');
    await transport.waitFor(() => transport.frames.some((f) => f.kind === 'audio' && f.audio[0] === 0x55));
    expect(transport.audioBytes() - before).toBeGreaterThanOrEqual(1600);
    await session.end('test_over');
  });

  it('checks in after silence, then says goodbye and hangs up', async () => {
    const { session, transport } = startSession({ script: [], timing: { idleMs: 150 } });
    await session.start();
    const record = await session.finished;
    expect(record.endReason).toBe('idle');
    expect(transport.hungUp).toBe(true);
    const said = agentTexts(transport.frames);
    expect(said).toEqual([GREETING, DEFAULT_PHRASES.idlePrompt, DEFAULT_PHRASES.goodbye]);
  });

  it('hangs up after the goodbye has played when the model ends the call', async () => {
    const { session, stt, transport } = startSession({
      script: [[text('Thanks for calling, goodbye! '), toolCall('call_end', 'end_call', {})]],
    });
    await session.start();
    stt.say("That's all, thanks");
    const record = await session.finished;
    expect(record.endReason).toBe('agent_ended');
    expect(transport.hungUp).toBe(true);
    // Everything sent before the hang-up had played: no mark was left unacknowledged.
    expect(agentTexts(transport.frames).at(-1)).toBe('Thanks for calling, goodbye!');
  });

  it('takes typed turns without STT audio', async () => {
    const { session, transport, llm } = startSession({ script: [[text('We open at nine.')]] });
    await session.start();
    session.handle({ kind: 'text', text: 'When do you open?' });
    await transport.waitFor(() => agentTexts(transport.frames).includes('We open at nine.'));
    expect(llm.requests[0]!.messages.at(-1)).toEqual({ role: 'user', content: 'When do you open?' });
    await session.end('test_over');
  });
});
