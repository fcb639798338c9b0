/**
 * Plays caller audio through the call's real listening path in process, on a simulated clock:
 * VoiceActivity (its gate and the Silero model) and turn-taking, with the agent talking and no STT
 * (or only the words given, as a final transcript at a set time). Frame i of the clip is stamped
 * i * 20 ms (when the server would have it), after a quiet line the VAD has listened to for
 * LEAD_IN_WINDOWS; its windows start `phase` samples before the clip (what earlier audio left in
 * the window); turn-taking's deadlines are ticked as the session's timer would. Deterministic: the
 * model is, and no real time passes. For the turn-taking bench (what the VAD alone does, at every
 * phase) and tests.
 */
import { PHONE_AUDIO } from '../../src/core/frames.js';
import { createTurnTaking, DEFAULT_TURN_TAKING } from '../../src/pipeline/turn-taking.js';
import type { TurnAction } from '../../src/pipeline/turn-taking.js';
import { createVoiceActivity } from '../../src/pipeline/voice-activity.js';
import type { VadStream } from '../../src/providers/vad.js';
import { concat, mulawFrames, silence, toMulaw } from './caller-sounds.js';

export interface VadReplay {
  /** When the agent was paused (ms after the clip's first frame), if it was. */
  pausedAtMs: number | undefined;
  resumedAtMs: number | undefined;
  /** Every pause, resume, interrupt and words not taken for the caller's, in order. */
  actions: Array<{ type: TurnAction['type']; atMs: number }>;
}

/** The quiet line before the clip, in VAD windows: longer than turn-taking looks back for the caller's voice. */
const LEAD_IN_WINDOWS = 80;
const RECORDED_TYPES = new Set<TurnAction['type']>(['pause', 'resume', 'interrupt', 'background_words']);

/** `clip` is PCM16 at 8 kHz; `model` an open 8 kHz VAD stream (reset here before use). */
export async function replayThroughVad(
  clip: Int16Array,
  model: VadStream,
  options: {
    phase?: number;
    minInterruptionMs?: number;
    tailMs?: number;
    /** What a real STT would send for the clip, as a final transcript this long after its end (within `tailMs`). */
    words?: { text: string; afterClipMs: number };
  } = {},
): Promise<VadReplay> {
  model.reset();
  let paused = false;
  const taking = createTurnTaking({
    ...DEFAULT_TURN_TAKING,
    minInterruptionMs: options.minInterruptionMs ?? DEFAULT_TURN_TAKING.minInterruptionMs,
    agent: { talking: () => true, paused: () => paused },
  });
  const replay: VadReplay = { pausedAtMs: undefined, resumedAtMs: undefined, actions: [] };
  const apply = (actions: TurnAction[], atMs: number): void => {
    for (const action of actions) {
      if (!RECORDED_TYPES.has(action.type)) continue;
      replay.actions.push({ type: action.type, atMs });
      if (action.type === 'pause') {
        paused = true;
        replay.pausedAtMs ??= atMs;
      } else if (action.type === 'resume') {
        paused = false;
        replay.resumedAtMs ??= atMs;
      }
    }
  };
  let pending = 0;
  const voice = createVoiceActivity({
    format: PHONE_AUDIO,
    vad: model,
    onWindow: (w) => {
      pending -= 1;
      apply(taking.handle({ type: 'vad', ...w }), w.atMs);
    },
  });
  const windows = (samples: number): number => Math.floor(samples / model.windowSamples);
  let fed = 0;
  const feed = (frame: Uint8Array, atMs: number): void => {
    const before = windows(fed);
    fed += frame.length;
    pending += windows(fed) - before;
    voice.push(frame, atMs);
  };
  // A quiet line before: the model starts afresh, and the window is `phase` samples in at the onset.
  const leadIn = mulawFrames(toMulaw(new Int16Array(model.windowSamples * LEAD_IN_WINDOWS + (options.phase ?? 0))));
  leadIn.forEach((frame, i) => feed(frame, (i - leadIn.length) * 20));
  const frames = mulawFrames(toMulaw(concat(clip, silence(options.tailMs ?? 1_000, 8000))));
  const wordsAtMs = options.words === undefined ? undefined : (clip.length / 8000) * 1000 + options.words.afterClipMs;
  let wordsSent = false;
  for (let i = 0; i < frames.length; i++) {
    const atMs = i * 20;
    for (let due = taking.deadline(); due !== undefined && due <= atMs; due = taking.deadline()) {
      apply(taking.handle({ type: 'tick', atMs: due }), due);
    }
    if (wordsAtMs !== undefined && !wordsSent && atMs >= wordsAtMs) {
      wordsSent = true;
      const words = { type: 'transcript', text: options.words!.text, isFinal: true, speechFinal: true, atMs, quietLineMs: voice.quietForMs(atMs) } as const;
      apply(taking.handle(words), atMs);
    }
    feed(frames[i]!, atMs);
    while (pending > 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return replay;
}
