/**
 * One call's conversation. It owns the chat context, the turn state (one AbortController per
 * agent turn), what the agent says (speech output, with marks) and each turn's latency timeline.
 * A transport feeds it inbound frames and carries out what it sends; providers, tools and
 * instructions are injected through ports (core), so the same session serves phone calls, browser
 * calls and tests, and knows nothing of the business it answers for.
 *
 *   caller audio -> STT -> user turn -> LLM (streaming, tools) -> sentence chunks -> TTS -> audio out
 *
 * Who has the floor is turn-taking's decision (turn-taking.ts, fed by the local VAD, the STT and
 * the keypad); the session carries out what it decides. A barge-in (the caller takes the floor)
 * stops playback (clear), aborts the turn's LLM and TTS streams and its waits on tools, and keeps
 * in the context only what was heard; a pause stops playback but keeps the reply, to resume it.
 * Tools are not cancelled by a barge-in: their results always reach the context before the next
 * request, so the model never loses track of a change it made.
 */
import type { CallRecord } from '../core/call-record.js';
import type { AudioFormat, InboundFrame, OutboundFrame, SessionEvent } from '../core/frames.js';
import { isAbortError } from '../core/errors.js';
import type { InstructionsPort } from '../core/instructions-port.js';
import type { CallActions, ToolCall, ToolPortFactory } from '../core/tool-port.js';
import type { LlmProvider } from '../providers/llm.js';
import type { SttProvider } from '../providers/stt.js';
import type { TtsProvider } from '../providers/tts.js';
import type { VadProvider } from '../providers/vad.js';
import { createChatContext } from './chat-context.js';
import { createTurnTimeline } from './latency.js';
import type { TurnTimeline } from './latency.js';
import { createSentenceChunker } from './sentence-chunker.js';
import { createSpeechOutput } from './speech-output.js';
import type { Utterance, UtteranceKind } from './speech-output.js';
import { createCallerInput } from './caller-input.js';
import { keepWhatWasHeard } from './interrupted-reply.js';
import type { SpokenPart } from './interrupted-reply.js';
import { DEFAULT_TURN_TAKING } from './turn-taking.js';
import type { TurnAction } from './turn-taking.js';

export interface SessionTransport {
  readonly format: AudioFormat;
  send(frame: OutboundFrame): void;
  /** Ends the call (after what was sent has played: the session waits for its marks first). */
  hangup(): Promise<void>;
  /** Hands the call to a person; without a number to dial, a call-back is arranged instead. */
  transfer(reason: string | undefined): Promise<{ transferred: boolean; message: string }>;
}

export interface SessionPhrases {
  greeting: string;
  /** Said when the caller has been silent for a while. */
  idlePrompt: string;
  /** Said before hanging up after a second silence, or at the call-length limit. */
  goodbye: string;
  /** Said when the LLM or TTS failed mid-turn. */
  apology: string;
  /** Said when the model is slow to answer, so the caller does not hear dead air. */
  stillThinking: string;
  /** Said when the model ends the call without having said goodbye itself. */
  farewell: string;
  /** Said at the call-length limit before hanging up. */
  timeLimit: string;
}

export const DEFAULT_PHRASES: Omit<SessionPhrases, 'greeting'> = {
  idlePrompt: 'Are you still there?',
  goodbye: "I haven't heard from you, so I'll let you go. Thanks for calling, goodbye!",
  apology: "Sorry, I had a problem on my end. Could you say that again?",
  stillThinking: 'One moment.',
  farewell: 'Thanks for calling, goodbye!',
  timeLimit: "We've reached our time limit for this call. Please call back if you need anything else. Goodbye!",
};

export interface SessionTiming {
  /** Silence after the agent finished speaking before it checks in. */
  idleMs: number;
  maxCallMs: number;
  /** No audio this long after the caller finished: say the stillThinking phrase. */
  stillThinkingMs: number;
  /** Model responses per turn (a tool round each); beyond it the turn ends with an apology. */
  maxToolRounds: number;
  /** VAD speech over the agent for this long stops it (MIN_INTERRUPTION_MS). */
  minInterruptionMs: number;
  /** A stop that brought no words resumes the reply after this long. */
  resumeAfterMs: number;
  /** Extra wait for the rest of a plainly unfinished turn (a number being dictated, "and..."). */
  incompleteTurnExtraMs: number;
  /** A keypad entry ends this long after its last key (or at #). */
  keypadTimeoutMs: number;
  /** Speech that starts from silence waits for this much audio in hand (PLAYOUT_START_BUFFER_MS)... */
  playoutStartBufferMs: number;
  /** ...or this long after its first audio arrived, whichever comes first (PLAYOUT_START_HOLD_MS). */
  playoutStartHoldMs: number;
}

export const DEFAULT_TIMING: SessionTiming = {
  idleMs: 10_000,
  maxCallMs: 15 * 60_000,
  stillThinkingMs: 2_000,
  maxToolRounds: 6,
  playoutStartBufferMs: 200,
  playoutStartHoldMs: 60,
  ...DEFAULT_TURN_TAKING,
};

export interface CallSessionOptions {
  callId: string;
  callerNumber: string | undefined;
  transport: SessionTransport;
  stt: SttProvider | undefined;
  llm: LlmProvider;
  tts: TtsProvider | undefined;
  /** Local voice activity detection; without it only STT words can stop the agent. */
  vad?: VadProvider | undefined;
  /** Asked once, at the start of the call, for the call's tools. */
  tools: ToolPortFactory;
  /** Asked before every LLM request. */
  instructions: InstructionsPort;
  phrases: SessionPhrases;
  timing?: Partial<SessionTiming>;
  /** Audio of the apology synthesised ahead of time, for when TTS itself is what failed. */
  apologyAudio?: Uint8Array | undefined;
  /** The greeting synthesised ahead of time: the caller hears it without waiting for TTS. */
  greetingAudio?: Uint8Array | undefined;
  keyterms?: readonly string[];
  now?: () => number;
  onEvent?: (event: SessionEvent) => void;
  onError?: (error: unknown, where: string) => void;
}

export interface CallSession {
  start(): Promise<void>;
  handle(frame: InboundFrame): void;
  /** Ends the call from our side (shutdown, transport closed). Idempotent. */
  end(reason: string): Promise<void>;
  /** Resolves when the call is over, with its record. */
  readonly finished: Promise<CallRecord>;
  readonly record: CallRecord;
}

interface AgentTurn {
  id: number;
  controller: AbortController;
  timeline: TurnTimeline;
  /** Assistant messages of this turn, the utterances that carried them, and their transcript lines. */
  spoken: SpokenPart[];
  done: Promise<void>;
}

export function createCallSession(options: CallSessionOptions): CallSession {
  const now = options.now ?? (() => performance.now());
  const timing = { ...DEFAULT_TIMING, ...options.timing };
  const phrases = options.phrases;
  const transport = options.transport;
  const context = createChatContext();
  const callController = new AbortController();

  const record: CallRecord = {
    callId: options.callId,
    callerNumber: options.callerNumber,
    startedAtMs: now(),
    endedAtMs: undefined,
    endReason: undefined,
    transcript: [],
    toolCalls: [],
    turns: [],
    bargeIns: 0,
    outcome: undefined,
  };

  let turnCounter = 0;
  /** The turn whose reply is being generated. */
  let currentTurn: AgentTurn | undefined;
  /** The latest turn whose reply may still be playing (its generation may be done). */
  let speakingTurn: AgentTurn | undefined;
  let pendingToolWork: Promise<void> = Promise.resolve();
  let idleTimer: NodeJS.Timeout | undefined;
  let idleCount = 0;
  let maxCallTimer: NodeJS.Timeout | undefined;
  let hangupRequested = false;
  let ended = false;
  let resolveFinished!: (r: CallRecord) => void;
  const finished = new Promise<CallRecord>((resolve) => (resolveFinished = resolve));

  const actions: CallActions = {
    transferToHuman: (reason) => transport.transfer(reason),
    async endCall() {
      hangupRequested = true;
    },
  };
  const tools = options.tools({ callId: options.callId, callerNumber: options.callerNumber, actions });

  const speech = createSpeechOutput({
    tts: options.tts,
    format: transport.format,
    now,
    send: (frame) => {
      if (frame.kind === 'audio') (currentTurn ?? speakingTurn)?.timeline.mark('first_audio_out');
      transport.send(frame);
    },
    onSynthesisError: (utterance, error) => onSpeechFailure(utterance, error),
    startBufferMs: timing.playoutStartBufferMs,
    startHoldMs: timing.playoutStartHoldMs,
  });

  const caller = createCallerInput({
    format: transport.format,
    stt: options.stt,
    vad: options.vad,
    keyterms: options.keyterms ?? [],
    signal: callController.signal,
    turnTaking: {
      minInterruptionMs: timing.minInterruptionMs,
      resumeAfterMs: timing.resumeAfterMs,
      incompleteTurnExtraMs: timing.incompleteTurnExtraMs,
      keypadTimeoutMs: timing.keypadTimeoutMs,
    },
    agent: { talking: () => agentTalking(), paused: () => speech.isPaused() },
    now,
    onAction: (action) => act(action),
    onSttNews: (event) => {
      if (event.type === 'reconnected') emit({ type: 'stt_reconnected', attempt: event.attempt });
      else report(event.error, 'stt');
    },
    report,
  });

  function emit(event: SessionEvent): void {
    options.onEvent?.(event);
    transport.send({ kind: 'event', event });
  }

  function report(error: unknown, where: string): void {
    options.onError?.(error, where);
  }

  // ---- speaking ------------------------------------------------------------------------------

  function say(text: string, kind: UtteranceKind, turn: AgentTurn | undefined): Utterance {
    const utterance = speech.say(text, kind, turn?.id ?? 0);
    if (kind !== 'filler') emit({ type: 'agent_text', text, turn: turn?.id ?? 0 });
    if (kind === 'reply') caller.agentSaid(text);
    if (turn !== undefined && kind === 'reply') {
      void utterance.sent.then(() => {
        if (utterance.firstAudioAtMs !== undefined) turn.timeline.mark('first_reply_audio_out', utterance.firstAudioAtMs);
      });
    }
    return utterance;
  }

  /** Says something outside the model's reply and records it in the context and transcript. */
  function announce(text: string, kind: UtteranceKind, audio?: Uint8Array): Utterance {
    let utterance: Utterance;
    if (audio === undefined) {
      utterance = say(text, kind, undefined);
    } else {
      utterance = speech.play(audio, text, kind, 0);
      emit({ type: 'agent_text', text, turn: 0 });
    }
    context.addAssistant(text);
    record.transcript.push({ role: 'agent', text, atMs: now(), complete: true });
    return utterance;
  }

  let apologizedInTurn = -1;
  function onSpeechFailure(utterance: Utterance, error: unknown): void {
    report(error, 'tts');
    const turn = currentTurn;
    if (apologizedInTurn === utterance.turn) return;
    apologizedInTurn = utterance.turn;
    // TTS is what failed, so the apology comes from audio made earlier, and the turn stops:
    // the rest of its reply could not be spoken anyway.
    if (turn !== undefined && turn.id === utterance.turn) turn.controller.abort(new Error('tts failed'));
    if (options.apologyAudio !== undefined) speech.play(options.apologyAudio, phrases.apology, 'apology', 0);
    emit({ type: 'agent_text', text: phrases.apology, turn: utterance.turn });
  }

  // ---- listening -----------------------------------------------------------------------------

  /** Carries out what turn-taking decided. */
  function act(action: TurnAction): void {
    switch (action.type) {
      case 'caller_active':
        callerActive();
        return;
      case 'pause':
        speech.pause();
        emit({ type: 'agent_paused', turn: (currentTurn ?? speakingTurn)?.id ?? 0 });
        return;
      case 'resume':
        if (!speech.isPaused()) return;
        speech.resume();
        emit({ type: 'agent_resumed', turn: (currentTurn ?? speakingTurn)?.id ?? 0 });
        return;
      case 'interrupt':
        bargeIn();
        return;
      case 'transcript':
        emit({ type: 'user_transcript', text: action.text, final: action.final });
        return;
      case 'background_words':
        emit({ type: 'background_words', text: action.text });
        return;
      case 'user_turn':
        startUserTurn(action.text, action.via, action.sttFinalAtMs);
        return;
      case 'keypad_shortcut': {
        const call = tools.keypadShortcut?.(action.key);
        if (call === undefined) return;
        if (agentTalking()) bargeIn();
        startUserTurn(`${action.key} (pressed on the keypad)`, 'keypad', undefined, [call]);
        return;
      }
    }
  }

  function callerActive(): void {
    idleCount = 0;
    clearIdle();
  }

  /** The agent is saying something, or working on an answer the caller has not heard yet. */
  function agentTalking(): boolean {
    return speech.busy() || currentTurn !== undefined;
  }

  /**
   * `presetCalls`: tool calls the turn starts with instead of asking the model first (a keypad
   * shortcut); the model then answers their results.
   */
  function startUserTurn(text: string, via: 'speech' | 'keypad' | 'text', sttFinalAtMs?: number, presetCalls?: ToolCall[]): void {
    callerActive();
    record.transcript.push({ role: 'caller', text, atMs: now() });
    if (via !== 'speech') emit({ type: 'user_transcript', text, final: true });
    // A paused reply is not coming back: the caller has said what they wanted.
    if (currentTurn !== undefined || speech.isPaused()) bargeIn();
    const turn = beginTurn();
    if (via === 'speech') {
      const speechEnd = caller.lastVoiceAtMs();
      if (speechEnd !== undefined && (sttFinalAtMs === undefined || speechEnd <= sttFinalAtMs)) {
        turn.timeline.mark('user_speech_end', speechEnd);
      }
      if (sttFinalAtMs !== undefined) turn.timeline.mark('stt_final', sttFinalAtMs);
    }
    const previous = pendingToolWork;
    turn.done = runTurn(turn, text, previous, presetCalls);
  }

  function bargeIn(): void {
    const cut = speech.interrupt();
    // Nothing playing and nothing being generated: the caller is simply talking.
    if (cut.length === 0 && currentTurn === undefined) return;
    // The model may have finished its reply while the caller still hears it: that turn is cut too.
    const turn = currentTurn ?? speakingTurn;
    record.bargeIns += 1;
    if (turn !== undefined) {
      turn.controller.abort(new Error('barge-in'));
      currentTurn = undefined;
      speakingTurn = undefined;
      const heard = keepWhatWasHeard(turn.spoken, cut, context, record.transcript, now());
      emit({ type: 'agent_interrupted', heard, turn: turn.id });
    }
  }

  // ---- the agent's turn ----------------------------------------------------------------------

  function beginTurn(): AgentTurn {
    turnCounter += 1;
    const turn: AgentTurn = {
      id: turnCounter,
      controller: new AbortController(),
      timeline: createTurnTimeline(turnCounter, now),
      spoken: [],
      done: Promise.resolve(),
    };
    currentTurn = turn;
    speakingTurn = turn;
    return turn;
  }

  async function runTurn(turn: AgentTurn, userText: string, previousTools: Promise<void>, presetCalls?: ToolCall[]): Promise<void> {
    const signal = turn.controller.signal;
    let stillThinking: NodeJS.Timeout | undefined;
    try {
      // Results of tools a barged-in turn started must be in the context before the next request.
      await previousTools;
      if (signal.aborted) return;
      context.addUser(userText);
      stillThinking = setTimeout(() => {
        if (!signal.aborted && !turn.timeline.has('first_audio_out')) say(phrases.stillThinking, 'filler', turn);
      }, timing.stillThinkingMs);

      let spokeAnything = false;
      for (let round = 0; round < timing.maxToolRounds; round += 1) {
        const outcome = round === 0 && presetCalls !== undefined ? await presetRound(turn, presetCalls) : await modelRound(turn);
        if (signal.aborted) return;
        spokeAnything ||= outcome.spoke;
        if (outcome.toolCalls === undefined) break;
        if (outcome.endsCall) break;
        if (round === timing.maxToolRounds - 1) {
          say(phrases.apology, 'apology', turn);
        }
      }
      if (hangupRequested && !spokeAnything) say(phrases.farewell, 'reply', turn);
    } catch (error) {
      if (signal.aborted || isAbortError(error)) return;
      report(error, 'turn');
      // Queued after whatever part of the reply is still playing: the caller always hears it.
      say(phrases.apology, 'apology', turn);
      context.addAssistant(phrases.apology);
    } finally {
      clearTimeout(stillThinking);
      // The reply's text is complete: its TTS context can finish once its audio is out.
      speech.endReply(turn.id);
      if (!signal.aborted) {
        turn.timeline.mark('turn_done');
        if (currentTurn === turn) currentTurn = undefined;
        // The timeline is complete once the reply's audio has gone out, not when generation ends.
        await Promise.all(turn.spoken.flatMap((part) => part.utterances.map((u) => u.sent)));
      }
      const latency = turn.timeline.toJSON();
      record.turns.push(latency);
      emit({ type: 'latency', turn: turn.id, timeline: latency.marks as Record<string, number> });
      if (!signal.aborted) await afterTurn(turn);
    }
  }

  /** One model response: streams its text to speech; runs its tool calls if it made any. */
  async function modelRound(
    turn: AgentTurn,
  ): Promise<{ toolCalls: ReadonlyArray<{ id: string; name: string }> | undefined; endsCall: boolean; spoke: boolean }> {
    const signal = turn.controller.signal;
    const chunker = createSentenceChunker();
    const part: SpokenPart = { messageIndex: undefined, utterances: [] };
    turn.spoken.push(part);
    let text = '';
    let toolCalls: ToolCall[] | undefined;

    const speakChunks = (chunks: string[]): void => {
      for (const chunk of chunks) {
        turn.timeline.mark('tts_request');
        part.utterances.push(say(chunk, 'reply', turn));
      }
    };

    turn.timeline.mark('llm_request');
    const instructions = options.instructions({ callId: options.callId, callerNumber: options.callerNumber });
    try {
      for await (const event of options.llm.stream({
        messages: context.forRequest(instructions),
        tools: tools.tools,
        signal,
      })) {
        if (signal.aborted) break;
        if (event.type === 'text') {
          turn.timeline.mark('llm_first_token');
          text += event.delta;
          speakChunks(chunker.push(event.delta));
        } else if (event.type === 'tool_calls') {
          turn.timeline.mark('llm_first_token');
          toolCalls = event.calls;
        }
      }
    } catch (error) {
      // The stream failed part-way: what was already handed to speech will be heard, so the
      // context and the transcript keep it (the unflushed rest is dropped).
      const said = part.utterances.map((u) => u.text).join(' ').trim();
      if (!signal.aborted && said !== '') {
        part.messageIndex = context.addAssistant(said);
        part.transcript = { role: 'agent', text: said, atMs: now(), complete: false };
        record.transcript.push(part.transcript);
      }
      throw error;
    }
    if (signal.aborted) return { toolCalls: undefined, endsCall: false, spoke: false };
    speakChunks(chunker.flush());
    const spoken = text.trim();
    if (spoken !== '') {
      part.transcript = { role: 'agent', text: spoken, atMs: now(), complete: true };
      record.transcript.push(part.transcript);
    }

    if (toolCalls === undefined || toolCalls.length === 0) {
      part.messageIndex = context.addAssistant(spoken);
      return { toolCalls: undefined, endsCall: false, spoke: spoken !== '' };
    }
    part.messageIndex = context.addToolCalls(spoken === '' ? null : spoken, toolCalls);
    const { endsCall } = await runTools(turn, toolCalls);
    return { toolCalls, endsCall, spoke: spoken !== '' };
  }

  /** A round whose tool calls were made for the model (a keypad shortcut): they run as if it had. */
  async function presetRound(
    turn: AgentTurn,
    calls: ToolCall[],
  ): Promise<{ toolCalls: ReadonlyArray<{ id: string; name: string }>; endsCall: boolean; spoke: boolean }> {
    turn.spoken.push({ messageIndex: context.addToolCalls(null, calls), utterances: [] });
    const { endsCall } = await runTools(turn, calls);
    return { toolCalls: calls, endsCall, spoke: false };
  }

  /** Runs one response's tool calls; `endsCall` when one of them ends the call (as the port says). */
  async function runTools(turn: AgentTurn, calls: ToolCall[]): Promise<{ endsCall: boolean }> {
    const signal = turn.controller.signal;
    let filler: Utterance | undefined;
    let endsCall = false;
    for (const call of calls) emit({ type: 'tool_call', id: call.id, name: call.name, arguments: call.arguments });
    // Tools run under the call's signal, not the turn's: a barge-in stops waiting for them, not them.
    const work = tools
      .dispatch(calls, {
        signal: callController.signal,
        onFiller: (text) => {
          if (!signal.aborted) filler = say(text, 'filler', turn);
        },
        onStart: (call) => turn.timeline.mark(`tool_start:${call.name}`),
        onResult: (toolCallId, result, info) => {
          turn.timeline.mark(`tool_end:${info.name}`);
          const call = calls.find((c) => c.id === toolCallId);
          record.toolCalls.push({
            id: toolCallId,
            name: info.name,
            arguments: call?.arguments ?? '',
            result,
            durationMs: Math.round(info.durationMs),
            outcome: info.outcome,
          });
          if (info.callOutcome !== undefined) record.outcome = info.callOutcome;
          endsCall ||= info.endsCall;
          emit({ type: 'tool_result', id: toolCallId, name: info.name, result, durationMs: Math.round(info.durationMs) });
        },
      })
      .then((results) => {
        for (const r of results) context.addToolResult(r.id, JSON.stringify(r.result));
      });
    pendingToolWork = work.catch((error: unknown) => report(error, 'tools'));
    await Promise.race([work, aborted(signal)]);
    // The caller hears the filler before the model hears the result.
    if (filler !== undefined && !signal.aborted) await Promise.race([filler.sent, aborted(signal)]);
    return { endsCall };
  }

  async function afterTurn(turn: AgentTurn): Promise<void> {
    await speech.whenIdle();
    if (speakingTurn === turn) speakingTurn = undefined;
    if (ended) return;
    if (hangupRequested) {
      await finish('agent_ended');
      return;
    }
    if (currentTurn === undefined) armIdle();
  }

  // ---- silence and limits --------------------------------------------------------------------

  function armIdle(): void {
    clearIdle();
    idleTimer = setTimeout(() => void onIdle(), timing.idleMs);
    idleTimer.unref?.();
  }

  function clearIdle(): void {
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    idleTimer = undefined;
  }

  async function onIdle(): Promise<void> {
    if (ended || currentTurn !== undefined || speech.busy()) return;
    idleCount += 1;
    if (idleCount === 1) {
      await announce(phrases.idlePrompt, 'prompt').played;
      if (!ended && currentTurn === undefined && idleCount === 1) armIdle();
      return;
    }
    await announce(phrases.goodbye, 'prompt').played;
    await finish('idle');
  }

  async function finish(reason: string): Promise<void> {
    if (ended) return;
    await speech.whenIdle();
    await end(reason);
  }

  async function end(reason: string): Promise<void> {
    if (ended) return;
    ended = true;
    clearIdle();
    if (maxCallTimer !== undefined) clearTimeout(maxCallTimer);
    currentTurn?.controller.abort(new Error(`call ended: ${reason}`));
    callController.abort(new Error(`call ended: ${reason}`));
    speech.close();
    record.endedAtMs = now();
    record.endReason = reason;
    await caller.close();
    if (reason !== 'caller_hung_up' && reason !== 'transport_closed') {
      await transport.hangup().catch((error: unknown) => report(error, 'hangup'));
    }
    // Tool work a barge-in left running still lands in the record before it is handed over.
    await pendingToolWork;
    emit({ type: 'call_ended', reason });
    resolveFinished(record);
  }

  return {
    record,
    finished,
    async start() {
      await caller.start();
      maxCallTimer = setTimeout(() => {
        void (async () => {
          bargeIn();
          await announce(phrases.timeLimit, 'prompt').played;
          await finish('max_duration');
        })();
      }, timing.maxCallMs);
      maxCallTimer.unref?.();
      const greeting = announce(phrases.greeting, 'greeting', options.greetingAudio);
      void greeting.played.then(() => {
        if (!ended && currentTurn === undefined && !speech.busy()) armIdle();
      });
    },
    handle(frame) {
      if (ended) return;
      switch (frame.kind) {
        case 'audio':
          caller.audio(frame.audio, frame.timestampMs);
          return;
        case 'mark':
          speech.onMark(frame.name);
          return;
        case 'text': {
          const text = frame.text.trim();
          if (text !== '') startUserTurn(text, 'text');
          return;
        }
        case 'dtmf':
          caller.dtmf(frame.digit);
          return;
        case 'stop':
          void end('caller_hung_up');
          return;
        case 'start':
          return;
      }
    },
    end,
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
