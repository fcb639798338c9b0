/**
 * Everything one call hears from the caller, turned into turn-taking decisions: it owns the call's
 * STT stream, its VAD stream and the voice activity over the caller's audio, and the turn-taking
 * module with the timer it asks for. The session feeds it the caller's frames and what the agent
 * says, and carries out the actions that come back.
 */
import type { AudioFormat } from '../core/frames.js';
import type { SttEvent, SttProvider, SttStream } from '../providers/stt.js';
import type { VadProvider, VadStream } from '../providers/vad.js';
import { createTurnTaking } from './turn-taking.js';
import type { AgentFloor, TurnAction, TurnInput, TurnTakingOptions } from './turn-taking.js';
import { createVoiceActivity } from './voice-activity.js';
import type { VoiceActivity } from './voice-activity.js';

export interface CallerInputOptions {
  format: AudioFormat;
  stt: SttProvider | undefined;
  vad: VadProvider | undefined;
  keyterms: readonly string[];
  /** The call's signal: aborting it closes the streams. */
  signal: AbortSignal;
  turnTaking: Omit<TurnTakingOptions, 'agent'>;
  agent: AgentFloor;
  now(): number;
  /** What turn-taking decided, in order. */
  onAction(action: TurnAction): void;
  /** The STT's own news: a reconnection, a failure it could not recover from. */
  onSttNews(event: Extract<SttEvent, { type: 'reconnected' | 'error' }>): void;
  report(error: unknown, where: string): void;
}

export interface CallerInput {
  /** Connects the STT and opens the VAD (a VAD that fails is reported; the call goes on without it). */
  start(): Promise<void>;
  audio(audio: Uint8Array, timestampMs: number): void;
  dtmf(digit: string): void;
  /** A sentence of the agent's reply, as it is queued (turn-taking notes questions for a number). */
  agentSaid(text: string): void;
  /** When the caller's voice was last heard (energy), for the latency timeline. */
  lastVoiceAtMs(): number | undefined;
  close(): Promise<void>;
}

export function createCallerInput(options: CallerInputOptions): CallerInput {
  const { now } = options;
  const turnTaking = createTurnTaking({ ...options.turnTaking, agent: options.agent });
  let stt: SttStream | undefined;
  // Replaced in start() by one that also runs the VAD, once its stream is open.
  let voice: VoiceActivity = createVoiceActivity({ format: options.format });
  let timer: NodeJS.Timeout | undefined;
  let timerDueAtMs: number | undefined;
  let closed = false;

  /** Hands an input to turn-taking, passes on what it decides, and re-arms its timer. */
  function take(input: TurnInput): void {
    if (closed) return;
    for (const action of turnTaking.handle(input)) {
      options.onAction(action);
      if (closed) return;
    }
    // Inputs arrive every VAD window (32 ms): the timer is replaced only when the deadline moves.
    const due = turnTaking.deadline();
    if (due === timerDueAtMs) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    timerDueAtMs = due;
    if (due === undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      timerDueAtMs = undefined;
      take({ type: 'tick', atMs: now() });
    }, Math.max(0, due - now()));
    timer.unref?.();
  }

  function onSttEvent(event: SttEvent): void {
    if (closed) return;
    switch (event.type) {
      case 'speech_started':
      case 'utterance_end':
        take(event);
        return;
      case 'transcript':
        take({
          type: 'transcript',
          text: event.text,
          isFinal: event.isFinal,
          speechFinal: event.speechFinal,
          atMs: event.atMs,
          quietLineMs: voice.quietForMs(event.atMs),
        });
        return;
      case 'reconnected':
      case 'error':
        options.onSttNews(event);
        return;
    }
  }

  async function openVad(): Promise<VadStream | undefined> {
    if (options.vad === undefined) return undefined;
    try {
      return await options.vad.open({ sampleRate: options.format.sampleRate, signal: options.signal });
    } catch (error) {
      options.report(error, 'vad');
      return undefined;
    }
  }

  return {
    async start() {
      const [sttStream, vadStream] = await Promise.all([
        options.stt?.connect(
          // While the agent talks the caller's words may stop it: they are wanted without delay.
          { format: options.format, keyterms: options.keyterms, wordsWantedAtOnce: () => options.agent.talking(), signal: options.signal },
          onSttEvent,
        ),
        openVad(),
      ]);
      stt = sttStream;
      voice = createVoiceActivity({
        format: options.format,
        vad: vadStream,
        // Only while the agent talks: that is when an interruption must be told from noise.
        wanted: () => options.agent.talking(),
        onWindow: (window) => take({ type: 'vad', ...window }),
        // Windows still queued when the call ends fail with the closed stream: not worth a report.
        onError: (error) => {
          if (!closed && !options.signal.aborted) options.report(error, 'vad');
        },
      });
    },
    audio(audio, timestampMs) {
      const rms = voice.push(audio, timestampMs);
      stt?.sendAudio(audio, rms);
    },
    dtmf(digit) {
      take({ type: 'dtmf', digit, atMs: now() });
    },
    agentSaid(text) {
      // Noted only: it never produces an action (it is said from inside the agent's turn).
      turnTaking.handle({ type: 'agent_said', text, atMs: now() });
    },
    lastVoiceAtMs: () => voice.lastVoiceAtMs(),
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      try {
        await stt?.close();
      } catch (error) {
        options.report(error, 'stt close');
      }
    },
  };
}
