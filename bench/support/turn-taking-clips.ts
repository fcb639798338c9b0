/**
 * The turn-taking benches' caller audio (espeak-ng sentences said over the agent in four
 * conditions, backchannels) and the in-process replays of it through the VAD and turn-taking.
 * Shared by the end-to-end bench (turn-taking.ts) and the sweep (turn-taking-sweep.ts), so both
 * measure the same clips the same way.
 */
import { createSileroVad } from '../../src/providers/silero/silero-vad.js';
import { atLevel, concat, engineHum, mix, seeded, silence, speech, street } from '../../test/support/caller-sounds.js';
import { replayThroughVad } from '../../test/support/vad-replay.js';
import type { VadReplay } from '../../test/support/vad-replay.js';
import { log } from './stats.js';

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
function sinceOnset(replay: VadReplay, clip: SpeechClip): number | undefined {
  if (replay.pausedAtMs === undefined) return undefined;
  if (replay.pausedAtMs < clip.onsetMs) throw new Error(`the background of "${clip.name}" stopped the agent before the speech`);
  return replay.pausedAtMs - clip.onsetMs;
}

/**
 * Plays `clip` through the VAD and turn-taking in process, the agent talking, from `phase` samples
 * into the VAD's window: with no STT, or with `words` as a real STT's final 400 ms after the clip.
 * `tailMs`: quiet after the clip (default none; 600 with words).
 */
export type Replay = (clip: Int16Array, phase: number, options?: { words?: string; tailMs?: number }) => Promise<VadReplay>;

/** Runs `work` with one in-process Silero stream behind `replay`, turn-taking at `minInterruptionMs`. */
export async function withReplay<T>(minInterruptionMs: number, work: (replay: Replay) => Promise<T>): Promise<T> {
  const model = await createSileroVad().open({ sampleRate: RATE, signal: new AbortController().signal });
  try {
    return await work((clip, phase, { words, tailMs } = {}) =>
      replayThroughVad(clip, model, {
        phase,
        minInterruptionMs,
        tailMs: tailMs ?? (words === undefined ? 0 : 600),
        ...(words === undefined ? {} : { words: { text: words, afterClipMs: 400 } }),
      }),
    );
  } finally {
    model.close();
  }
}

/** When the VAD alone (no STT) pauses the agent, per clip and phase of its windows, from the speech's onset. */
export async function onsetToPause(replay: Replay, clips: readonly SpeechClip[], phases: readonly number[]): Promise<Array<{ name: string; phase: number; delayMs: number | undefined }>> {
  const out: Array<{ name: string; phase: number; delayMs: number | undefined }> = [];
  for (const clip of clips) {
    for (const phase of phases) out.push({ name: clip.name, phase, delayMs: sinceOnset(await replay(clip.audio, phase), clip) });
  }
  return out;
}

/**
 * Voices behind the caller (a radio, people talking in the shop) at each average level from -42 to
 * -54 dBFS (the caller speaks at -20 to -35): each sentence in `voices(i)`, at `phases`, through the
 * VAD alone and, `withWords`, again with the sentence as the STT's final (a real STT transcribes a
 * voice this quiet), where any pause or interruption counts.
 */
export async function voicesBehind(
  replay: Replay,
  options: { voices: (sentence: number) => readonly string[]; phases: readonly number[]; withWords: boolean },
): Promise<Record<string, { runs: number; stops: number; stopsWithWords?: number }>> {
  const out: Record<string, { runs: number; stops: number; stopsWithWords?: number }> = {};
  for (const level of [-42, -44, -46, -48, -50, -52, -54]) {
    let runs = 0;
    let stops = 0;
    let stopsWithWords = 0;
    for (const [i, text] of SENTENCES.entries()) {
      for (const voice of options.voices(i)) {
        const clip = atLevel(speech(text, RATE, { voice }), level);
        for (const phase of options.phases) {
          runs += 1;
          if ((await replay(clip, phase)).pausedAtMs !== undefined) stops += 1;
          if (!options.withWords) continue;
          const withWords = await replay(clip, phase, { words: text });
          if (withWords.actions.some((a) => a.type === 'pause' || a.type === 'interrupt')) stopsWithWords += 1;
        }
      }
    }
    out[`${level} dBFS`] = options.withWords ? { runs, stops, stopsWithWords } : { runs, stops };
    log(`voice behind the caller at ${level} dBFS: ${stops} of ${runs} stop the agent${options.withWords ? `, ${stopsWithWords} with the STT's words` : ''}`);
  }
  return out;
}
