/**
 * One agent turn's latency timeline: named moments on the process clock, reported as ms since the
 * caller stopped speaking (or since the turn began for typed turns). Voice-to-voice is the gap
 * the caller experiences: end of their speech to the first audio of the agent's answer.
 */
import type { TimelineMark, TurnLatency } from '../core/call-record.js';

export interface TurnTimeline {
  readonly turn: number;
  /** Records the moment unless already recorded (first occurrence wins). */
  mark(name: TimelineMark, atMs?: number): void;
  has(name: TimelineMark): boolean;
  toJSON(): TurnLatency;
}

export function createTurnTimeline(turn: number, now: () => number): TurnTimeline {
  const started = now();
  const moments = new Map<TimelineMark, number>();
  return {
    turn,
    mark(name, atMs) {
      if (!moments.has(name)) moments.set(name, atMs ?? now());
    },
    has(name) {
      return moments.has(name);
    },
    toJSON() {
      const origin = moments.get('user_speech_end') ?? moments.get('stt_final') ?? started;
      const marks: Partial<Record<TimelineMark, number>> = {};
      for (const [name, at] of moments) marks[name] = Math.round(at - origin);
      const firstAudio = moments.get('first_audio_out');
      return {
        turn,
        originMs: origin,
        marks,
        voiceToVoiceMs: firstAudio === undefined ? undefined : Math.round(firstAudio - origin),
      };
    },
  };
}
