/**
 * The call session through its ports alone: a fake tool port and fake instructions stand in for
 * the application, so these tests show what the session relies on (the port's word, never a tool
 * name or a prompt of its own). The shop's tools on the same session: test/call-session.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { BROWSER_AUDIO } from '../core/frames.js';
import type { CallActions, DispatchOptions, LlmTool, ToolCall, ToolPort, ToolPortCall, ToolPortFactory, ToolResult } from '../core/tool-port.js';
import type { LlmEvent } from '../providers/llm.js';
import type { VadProvider } from '../providers/vad.js';
import { speechLike, toFrames } from '../../test/support/audio-fixtures.js';
import { createScriptedLlm } from '../../test/support/fakes/scripted-llm.js';
import type { ScriptedLlmStep } from '../../test/support/fakes/scripted-llm.js';
import { createScriptedStt } from '../../test/support/fakes/scripted-stt.js';
import { createScriptedTts } from '../../test/support/fakes/scripted-tts.js';
import { createTestTransport } from '../../test/support/test-transport.js';
import { createCallSession, DEFAULT_PHRASES } from './call-session.js';

interface FakeTool {
  name: string;
  endsCall?: boolean;
  run?: (actions: CallActions) => Promise<ToolResult>;
}

/** A tool port over `tools` that records the calls it was made for. */
function fakeToolPorts(tools: FakeTool[]): ToolPortFactory & { calls: ToolPortCall[] } {
  const calls: ToolPortCall[] = [];
  const schemas: LlmTool[] = tools.map((t) => ({ type: 'function', function: { name: t.name, description: `The ${t.name} tool.` } }));
  const factory = (call: ToolPortCall): ToolPort => {
    calls.push(call);
    return {
      tools: schemas,
      async dispatch(requested: ReadonlyArray<ToolCall>, options: DispatchOptions) {
        return Promise.all(
          requested.map(async (request) => {
            const tool = tools.find((t) => t.name === request.name);
            const result: ToolResult = (await tool?.run?.(call.actions)) ?? { success: true, data: null, message: 'Done.' };
            options.onResult?.(request.id, result, {
              name: request.name,
              durationMs: 0,
              outcome: 'ok',
              callOutcome: undefined,
              endsCall: tool?.endsCall === true,
            });
            return { id: request.id, name: request.name, result };
          }),
        );
      },
    };
  };
  return Object.assign(factory, { calls });
}

function toolCall(id: string, name: string): LlmEvent {
  return { type: 'tool_calls', calls: [{ id, name, arguments: '{}' }] };
}

function startSession(options: { script: ScriptedLlmStep[]; tools: ToolPortFactory; instructions?: () => string }) {
  const llm = createScriptedLlm(options.script);
  const transport = createTestTransport(BROWSER_AUDIO, { speed: 1000 });
  const errors: Array<{ error: unknown; where: string }> = [];
  const session = createCallSession({
    callId: 'CA-ports',
    callerNumber: '+15550001111',
    transport,
    stt: undefined,
    llm,
    tts: undefined,
    tools: options.tools,
    instructions: options.instructions ?? (() => 'You answer the phone.'),
    phrases: { ...DEFAULT_PHRASES, greeting: 'Hello.' },
    timing: { idleMs: 60_000 },
    onError: (error, where) => errors.push({ error, where }),
  });
  transport.attach((name) => session.handle({ kind: 'mark', name }));
  return { llm, transport, session, errors };
}

describe('call session ports', () => {
  it('asks the tool port for the call once, with its id, the caller and the call actions, and shows the LLM its tools', async () => {
    const ports = fakeToolPorts([{ name: 'look_up' }]);
    const { llm, session, transport } = startSession({ script: [[{ type: 'text', delta: 'Hi there.' }]], tools: ports });
    await session.start();
    session.handle({ kind: 'text', text: 'Hello?' });
    await transport.waitFor(() => transport.events.some((e) => e.type === 'agent_text' && e.text === 'Hi there.'));
    expect(ports.calls).toHaveLength(1);
    expect(ports.calls[0]).toMatchObject({ callId: 'CA-ports', callerNumber: '+15550001111' });
    expect(llm.requests[0]?.tools.map((t) => t.function.name)).toEqual(['look_up']);
    await session.end('test_over');
  });

  it('asks the instructions port before every LLM request, tool rounds included', async () => {
    let asked = 0;
    const { llm, session, transport } = startSession({
      script: [[toolCall('c1', 'look_up')], [{ type: 'text', delta: 'Found it.' }], [{ type: 'text', delta: 'Bye for now.' }]],
      tools: fakeToolPorts([{ name: 'look_up' }]),
      instructions: () => `instructions #${++asked}`,
    });
    await session.start();
    session.handle({ kind: 'text', text: 'Find me.' });
    await transport.waitFor(() => transport.events.some((e) => e.type === 'agent_text' && e.text === 'Found it.'));
    session.handle({ kind: 'text', text: 'Thanks.' });
    await transport.waitFor(() => transport.events.some((e) => e.type === 'agent_text' && e.text === 'Bye for now.'));
    expect(llm.requests.map((r) => r.messages[0])).toEqual([
      { role: 'system', content: 'instructions #1' },
      { role: 'system', content: 'instructions #2' },
      { role: 'system', content: 'instructions #3' },
    ]);
    await session.end('test_over');
  });

  it('asks the model for nothing more once the port says a tool ended the call, whatever its name', async () => {
    const ports = fakeToolPorts([
      {
        name: 'wrap_up',
        endsCall: true,
        run: async (actions) => {
          await actions.endCall();
          return { success: true, data: null, message: 'Goodbye.' };
        },
      },
    ]);
    // A second model response would be a bug: the scripted LLM has none and would fail the turn.
    const { llm, session, transport, errors } = startSession({ script: [[toolCall('c1', 'wrap_up')]], tools: ports });
    await session.start();
    session.handle({ kind: 'text', text: "That's all." });
    const record = await session.finished;
    expect(llm.requests).toHaveLength(1);
    expect(errors).toEqual([]);
    expect(record.endReason).toBe('agent_ended');
    // The model said nothing itself, so the session's farewell is heard.
    expect(transport.events).toContainEqual(expect.objectContaining({ type: 'agent_text', text: DEFAULT_PHRASES.farewell }));
  });

  it('gives a tool named end_call no special meaning when the port does not say it ends the call', async () => {
    const { llm, session, transport, errors } = startSession({
      script: [[toolCall('c1', 'end_call')], [{ type: 'text', delta: 'Anything else?' }]],
      tools: fakeToolPorts([{ name: 'end_call' }]),
    });
    await session.start();
    session.handle({ kind: 'text', text: 'Hm.' });
    await transport.waitFor(() => transport.events.some((e) => e.type === 'agent_text' && e.text === 'Anything else?'));
    expect(llm.requests).toHaveLength(2);
    expect(errors).toEqual([]);
    await session.end('test_over');
  });

  it('carries out the call actions a tool asks for through the transport', async () => {
    const ports = fakeToolPorts([
      {
        name: 'hand_over',
        run: async (actions) => {
          const outcome = await actions.transferToHuman('billing question');
          return { success: true, data: outcome, message: outcome.message };
        },
      },
    ]);
    const { session, transport } = startSession({ script: [[toolCall('c1', 'hand_over')], [{ type: 'text', delta: 'Done.' }]], tools: ports });
    await session.start();
    session.handle({ kind: 'text', text: 'A person, please.' });
    await transport.waitFor(() => transport.events.some((e) => e.type === 'agent_text' && e.text === 'Done.'));
    expect(transport.transfers).toEqual(['billing question']);
    await session.end('test_over');
  });
});

/** A VAD that calls every window it is shown speech (the audio fed to it is loud throughout). */
const everythingIsSpeech: VadProvider = {
  name: 'fake',
  async open() {
    return { windowSamples: 512, probability: async () => 0.9, reset: () => undefined, close: () => undefined };
  },
};

describe('call session turn-taking', () => {
  it('runs the tool call the port maps a keypad key to, without knowing its name, then lets the model answer', async () => {
    const transfers: Array<string | undefined> = [];
    const handOver: FakeTool = {
      name: 'hand_over',
      run: async (actions) => {
        const outcome = await actions.transferToHuman('pressed a key');
        transfers.push('pressed a key');
        return { success: true, data: outcome, message: outcome.message };
      },
    };
    const hand: ToolPortFactory = (call) => ({
      ...fakeToolPorts([handOver])(call),
      keypadShortcut: (key) => (key === '9' ? { id: 'k1', name: 'hand_over', arguments: '{}' } : undefined),
    });
    const { llm, session, transport } = startSession({ script: [[{ type: 'text', delta: 'Connecting you.' }]], tools: hand });
    await session.start();
    session.handle({ kind: 'dtmf', digit: '5' }); // means nothing to this application
    session.handle({ kind: 'dtmf', digit: '9' });
    await transport.waitFor(() => transport.events.some((e) => e.type === 'agent_text' && e.text === 'Connecting you.'));
    expect(transfers).toEqual(['pressed a key']);
    expect(transport.transfers).toEqual(['pressed a key']);
    expect(llm.requests).toHaveLength(1);
    const callBack = 'Someone from the shop will call you back shortly.';
    expect(llm.requests[0]!.messages.slice(-3)).toEqual([
      { role: 'user', content: '9 (pressed on the keypad)' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'k1', type: 'function', function: { name: 'hand_over', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'k1', content: JSON.stringify({ success: true, data: { transferred: false, message: callBack }, message: callBack }) },
    ]);
    expect(session.record.transcript.filter((t) => t.role === 'caller').map((t) => t.text)).toEqual(['9 (pressed on the keypad)']);
    await session.end('test_over');
  });

  it('pauses the reply on VAD speech, and plays the rest of it when no words follow', async () => {
    const stt = createScriptedStt();
    const tts = createScriptedTts({ msPerChar: 20, chunkMs: 100 });
    const transport = createTestTransport(BROWSER_AUDIO, { speed: 1 });
    const reply = 'We are open from nine in the morning until five in the evening, Monday to Friday.';
    const session = createCallSession({
      callId: 'CA-vad',
      callerNumber: undefined,
      transport,
      stt,
      llm: createScriptedLlm([[{ type: 'text', delta: reply }]]),
      tts,
      vad: everythingIsSpeech,
      tools: fakeToolPorts([]),
      instructions: () => 'You answer the phone.',
      phrases: { ...DEFAULT_PHRASES, greeting: 'Hi.' },
      timing: { idleMs: 60_000, resumeAfterMs: 300 },
    });
    transport.attach((name) => session.handle({ kind: 'mark', name }));
    await session.start();
    await transport.waitFor(() => transport.audioBytes() > 0);
    await new Promise((r) => setTimeout(r, 200)); // the greeting (60 ms of audio) has played
    stt.say('When are you open?');
    await transport.waitFor(() => transport.audioBytes() > 20_000, 5_000);
    // 300 ms of a loud voice over the agent; the STT hears no words in it.
    toFrames(speechLike(300, BROWSER_AUDIO), BROWSER_AUDIO).forEach((frame) => session.handle({ kind: 'audio', audio: frame, timestampMs: performance.now() }));
    await transport.waitFor(() => transport.events.some((e) => e.type === 'agent_paused'), 2_000);
    expect(transport.frames.some((f) => f.kind === 'clear')).toBe(true);
    await transport.waitFor(() => transport.events.some((e) => e.type === 'agent_resumed'), 2_000);
    transport.setSpeed(50);
    await transport.waitFor(() => session.record.transcript.some((t) => t.role === 'agent' && t.text === reply), 5_000);
    expect(transport.events.some((e) => e.type === 'agent_interrupted')).toBe(false);
    expect(session.record.bargeIns).toBe(0);
    expect(session.record.transcript.find((t) => t.role === 'agent' && t.text === reply)?.complete).toBe(true);
    await session.end('test_over');
  });
});
