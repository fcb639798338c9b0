/**
 * The call's listening path on real audio, in process and on a simulated clock (no real time, so
 * deterministic): espeak-ng speech and the synthesised noise corpus through VoiceActivity, the
 * real Silero model and turn-taking, with the agent talking and no STT words at all. What the
 * VAD alone decides: the phone test (turn-taking-phone.test.ts) covers the same path end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSileroVad } from '../src/providers/silero/silero-vad.js';
import type { VadStream } from '../src/providers/vad.js';
import { atLevel, espeakInstalled, noiseCorpus, noiseInstance, speech } from './support/caller-sounds.js';
import { replayThroughVad } from './support/vad-replay.js';
import { present } from './support/prerequisites.js';

const PHASES = [0, 64, 128, 192];
let model: VadStream;

beforeAll(async () => {
  model = await createSileroVad().open({ sampleRate: 8000, signal: new AbortController().signal });
});

afterAll(() => model?.close());

const durationMs = (clip: Int16Array): number => clip.length / 8;

describe.skipIf(!present(espeakInstalled(), 'espeak-ng'))('the VAD alone, on real audio', () => {
  it('stops the agent for a quiet caller (-35 dBFS) whose "Actually" has a silent closure, within 200 ms of VAD speech', async () => {
    // The "ct" closure is 20 dB under the vowels, below the foreground gate: before the model was
    // asked about it, the stretch broke and the agent stopped only at 520 ms.
    const clip = atLevel(speech('Actually can we do Tuesday instead', 8000, { voice: 'en-us+m7' }), -35);
    const replay = await replayThroughVad(clip, model, { phase: 64 });
    expect(replay.pausedAtMs).toBeLessThanOrEqual(220);
  });

  it('a quiet caller\'s "Actually" whose "ct" the model only leans to: stopped during the "A", at every phase', async () => {
    // en-us+f4's "ct" after a clear "A" scores 0.5 to 0.84, under the 0.85 a quiet window needs to
    // be speech: at two of the four phases the agent stopped only at the "tu" (300 ms).
    const clip = atLevel(speech('Actually can we do Tuesday instead', 8000, { voice: 'en-us+f4' }), -35);
    for (const phase of PHASES) {
      const replay = await replayThroughVad(clip, model, { phase });
      expect(replay.pausedAtMs).toBeLessThanOrEqual(220);
      expect(replay.actions.filter((a) => a.type === 'pause')).toHaveLength(1);
    }
  });

  it('"Stop", whose "s" the model does not call speech, stops the agent within 300 ms of the "s" at every phase, said normally and at -30 dBFS', async () => {
    // en-gb+f3's "s" is 120 ms of hiss before the vowel: counted from the vowel, 200 ms of speech
    // ended up to 320 ms after the caller began (before: 280, 300, 320, 260 ms normally, and 300,
    // 300, 300, 320 at -30 dBFS; now 220, 260, 220, 180 and 280, 260, 220, 260).
    const clip = speech('Stop I have a question', 8000, { voice: 'en-gb+f3', wordsPerMinute: 156 });
    for (const level of [undefined, -30]) {
      const delays: number[] = [];
      for (const phase of PHASES) {
        const replay = await replayThroughVad(level === undefined ? clip : atLevel(clip, level), model, { phase });
        expect(replay.pausedAtMs, `${level ?? 'normal'} at phase ${phase}`).toBeLessThanOrEqual(300);
        delays.push(replay.pausedAtMs!);
      }
      expect(delays.reduce((sum, d) => sum + d, 0) / delays.length).toBeLessThanOrEqual(260);
    }
  });

  it.each(['uh-huh', 'mm-hmm', 'yeah', 'okay', 'right', 'sure'])(
    '"%s" over the agent: the pause ends by itself soon after it, without waiting for the STT',
    async (word) => {
      const clip = speech(word, 8000);
      for (const phase of PHASES) {
        const replay = await replayThroughVad(clip, model, { phase });
        // (Before: 1.5 s after the pause when no words came.)
        expect(replay.actions.map((a) => a.type)).toEqual(['pause', 'resume']);
        expect(replay.resumedAtMs!).toBeLessThanOrEqual(durationMs(clip) + 300);
      }
    },
  );

  it('a sentence is not taken for feedback: the pause lasts until words or 1.5 s', async () => {
    const clip = speech('Hold on I need to change the day', 8000);
    const replay = await replayThroughVad(clip, model);
    expect(replay.pausedAtMs).toBeLessThanOrEqual(260);
    expect(replay.resumedAtMs).toBeGreaterThanOrEqual(replay.pausedAtMs! + 1_500);
  });

  it("takes a real STT's words for a voice far behind the caller (-54 dBFS, a radio across the shop) for nobody's, and the caller's for theirs", async () => {
    const text = 'Is the Camry ready yet';
    const words = { text, afterClipMs: 400 };
    for (const phase of PHASES) {
      const far = await replayThroughVad(atLevel(speech(text, 8000), -54), model, { phase, words, tailMs: 600 });
      expect(far.actions.map((a) => a.type)).toEqual(['background_words']);
      const near = await replayThroughVad(atLevel(speech(text, 8000), -26), model, { phase, words, tailMs: 600 });
      // (A sentence this short may resume like feedback until its words come: then they take the floor.)
      expect(near.actions.map((a) => a.type).filter((type) => type !== 'resume')).toEqual(['pause', 'interrupt']);
    }
  });

  it('never stops the agent for the noise corpus, at three levels and offsets', async () => {
    const stopped: string[] = [];
    const corpus = noiseCorpus(8000);
    for (let seed = 0; seed < 3; seed++) {
      for (const { name, audio } of corpus) {
        const instance = noiseInstance(name, audio, seed);
        for (const phase of PHASES) {
          const replay = await replayThroughVad(instance, model, { phase, tailMs: 300 });
          if (replay.pausedAtMs !== undefined) stopped.push(`${name} #${seed} @${phase}`);
        }
      }
    }
    expect(stopped).toEqual([]);
  });
});
