/**
 * Plays caller audio through the call's real listening path in process, on a simulated clock:
 * VoiceActivity (its gate and the Silero model) and turn-taking, with the agent talking and no STT.
 * Frame i of the clip is stamped i * 20 ms (when the server would have it); the VAD's windows
 * start `phase` samples before the clip (what earlier audio left in the window); turn-taking's
 * deadlines are ticked as the session's timer would. Deterministic: the model is, and no real
 * time passes. For the turn-taking bench (what the VAD alone does, at every phase) and tests.
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
  /** Every pause and resume, in order. */
  actions: Array<{ type: TurnAction['type']; atMs: number }>;
}

/** `clip` is PCM16 at 8 kHz; `model` an open 8 kHz VAD stream (reset here before use). */
export async function replayThroughVad(
  clip: Int16Array,
  model: VadStream,
  options: { phase?: number; minInterruptionMs?: number; tailMs?: number } = {},
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
      if (action.type !== 'pause' && action.type !== 'resume') continue;
      paused = action.type === 'pause';
      replay.actions.push({ type: action.type, atMs });
      if (paused) replay.pausedAtMs ??= atMs;
      else replay.resumedAtMs ??= atMs;
    }
  };
  let pending = 0;
  const voice = createVoiceActivity({
    format: PHONE_AUDIO,
    vad: model,
    onWindow: (w) => {
      pending -= 1;
      apply(taking.handle({ type: 'vad', atMs: w.atMs, speech: w.speech, probability: w.probability, durationMs: w.durationMs }), w.atMs);
    },
  });
  const windows = (samples: number): number => Math.floor(samples / model.windowSamples);
  // Silence before: the model starts afresh, and the window is `phase` samples in at the onset.
  let fed = model.windowSamples * 8 + (options.phase ?? 0);
  voice.push(toMulaw(new Int16Array(fed)), -1_000);
  pending += windows(fed);
  const frames = mulawFrames(toMulaw(concat(clip, silence(options.tailMs ?? 1_000, 8000))));
  for (let i = 0; i < frames.length; i++) {
    const atMs = i * 20;
    for (let due = taking.deadline(); due !== undefined && due <= atMs; due = taking.deadline()) {
      apply(taking.handle({ type: 'tick', atMs: due }), due);
    }
    const before = windows(fed);
    fed += frames[i]!.length;
    pending += windows(fed) - before;
    voice.push(frames[i]!, atMs);
    while (pending > 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return replay;
}
