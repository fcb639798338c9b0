/**
 * The turn-taking benches' caller audio: espeak-ng sentences said over the agent in four
 * conditions, and backchannels. Shared by the end-to-end bench (turn-taking.ts) and the in-process
 * sweep (turn-taking-sweep.ts), so both measure the same clips.
 */
import { atLevel, concat, engineHum, mix, seeded, silence, speech, street } from '../../test/support/caller-sounds.js';
import type { VadReplay } from '../../test/support/vad-replay.js';

const RATE = 8000;

export const SENTENCES = [
  'Hold on I need to change the day',
  'Actually can we do Tuesday instead',
  'No no the other car',
  'Sorry what was that price',
  'Can you repeat the time please',
  'I already have an appointment',
  'Stop I have a question',
  'Wait a moment please',
];
export const VOICES = ['en-us', 'en-gb+f3', 'en-us+m7', 'en-us+f4'];
export const BACKCHANNELS = ['uh-huh', 'mm-hmm', 'yeah', 'okay', 'right', 'sure'];

export interface SpeechClip {
  name: string;
  audio: Int16Array;
  /** Where the speech starts in `audio`: a background is heard for this long before it. */
  onsetMs: number;
}

/** A background runs this long before the caller speaks, as an engine or a street does. */
export const BACKGROUND_LEAD_MS = 1_000;

/**
 * A deterministic spread of voices, speeds, levels and backgrounds: every 8 clips say each
 * sentence once, and 32 say each in all four conditions (clean, quiet, over an engine, over a
 * street), so no sentence is heard in one condition only.
 */
export function speechClips(count: number): SpeechClip[] {
  const random = seeded(42);
  const clips: SpeechClip[] = [];
  for (let i = 0; i < count; i++) {
    const text = SENTENCES[i % SENTENCES.length]!;
    const voice = VOICES[Math.floor(random() * VOICES.length)]!;
    const wordsPerMinute = 150 + Math.floor(random() * 50);
    const clean = speech(text, RATE, { voice, wordsPerMinute });
    const condition = (i + Math.floor(i / SENTENCES.length)) % 4;
    // The background is already there when the caller speaks (one that starts with the speech
    // would be taken for its onset), and goes on a second after it.
    const backgroundMs = BACKGROUND_LEAD_MS + clean.length / (RATE / 1000) + 1_000;
    const overBackground = (background: Int16Array): Int16Array => mix(background, concat(silence(BACKGROUND_LEAD_MS, RATE), clean));
    if (condition === 0) clips.push({ name: `${voice} ${wordsPerMinute}wpm: ${text}`, audio: clean, onsetMs: 0 });
    else if (condition === 1) clips.push({ name: `quiet (-35 dBFS) ${voice}: ${text}`, audio: atLevel(clean, -35), onsetMs: 0 });
    else if (condition === 2) {
      clips.push({ name: `over an engine, ${voice}: ${text}`, audio: overBackground(engineHum(backgroundMs, RATE, i)), onsetMs: BACKGROUND_LEAD_MS });
    } else clips.push({ name: `over a street, ${voice}: ${text}`, audio: overBackground(street(backgroundMs, RATE, i)), onsetMs: BACKGROUND_LEAD_MS });
  }
  return clips;
}

/** When the replay paused the agent, from the clip's speech onset; a background that stopped it alone is no delay but a failure. */
export function sinceOnset(replay: VadReplay, clip: SpeechClip): number | undefined {
  if (replay.pausedAtMs === undefined) return undefined;
  if (replay.pausedAtMs < clip.onsetMs) throw new Error(`the background of "${clip.name}" stopped the agent before the speech`);
  return replay.pausedAtMs - clip.onsetMs;
}
