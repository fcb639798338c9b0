/**
 * Turn-taking sweep: the VAD and turn-taking alone, in process, over more alignments and levels
 * than the end-to-end bench can afford. It takes about ten seconds and is deterministic (the model
 * is, and no real time passes), so it serves as an A/B check for a turn-taking change.
 *
 *   tsx bench/turn-taking-sweep.ts [--out bench/results/turn-taking-sweep.json]
 *
 * 1. The end-to-end bench's 32 speech clips (turn-taking-clips.ts; backgrounds run a second
 *    before the speech) at 8 phases of the VAD's 32 ms windows: speech onset -> pause.
 * 2. The noise corpus at five levels (its far-off babble at its own -45 dBFS), three offsets into
 *    each sound and four phases, played twice with 200 ms between (a sound that comes back), plus
 *    garbled babble at -40 and -43 dBFS (a voice at a caller's level): which of them pause the agent.
 * 3. Voices behind the caller: 8 sentences x 4 voices x 2 phases at each average level, through
 *    the VAD alone.
 * Frame i is stamped i * 20 ms, as in vad-replay.ts. Prints one JSON object on stdout and writes it
 * to --out; progress goes to stderr.
 */
import { writeFileSync } from 'node:fs';
import { DEFAULT_TURN_TAKING } from '../src/pipeline/turn-taking.js';
import { atLevel, babble, concat, espeakInstalled, noiseCorpus, silence } from '../test/support/caller-sounds.js';
import { argValue, log, machine, summarize } from './support/stats.js';
import { onsetToPause, speechClips, voicesBehind, VOICES, withReplay } from './support/turn-taking-clips.js';

const RATE = 8000;
const OUT = argValue('out') ?? 'bench/results/turn-taking-sweep.json';
const SPEECH_PHASES = [0, 32, 64, 96, 128, 160, 192, 224];
const NOISE_LEVELS = [-20, -28, -36, -44, -50];
const NOISE_OFFSETS = [0, 0.2, 0.4];
const PHASES = [0, 64, 128, 192];

async function main(): Promise<void> {
  if (!espeakInstalled()) throw new Error('espeak-ng is needed for the speech clips (apt-get install espeak-ng)');
  const started = performance.now();
  const out = await withReplay(DEFAULT_TURN_TAKING.minInterruptionMs, async (replay) => {
    const onsets = await onsetToPause(replay, speechClips(32), SPEECH_PHASES);
    const stopped = onsets.flatMap((r) => (r.delayMs === undefined ? [] : [{ ...r, delayMs: r.delayMs }]));
    const delays = stopped.map((r) => r.delayMs);
    log(`speech: ${stopped.length} stopped, ${onsets.length - stopped.length} not`);

    const from = (audio: Int16Array, offset: number): Int16Array => audio.subarray(Math.floor(audio.length * offset));
    const sounds = [
      ...noiseCorpus(RATE).flatMap(({ name, audio }) =>
        // Babble is a voice: its level is what it is (-45 dBFS, far off), not swept.
        (name.includes('babble') ? [undefined] : NOISE_LEVELS).flatMap((level) =>
          NOISE_OFFSETS.map((offset) => ({ name, audio: level === undefined ? from(audio, offset) : atLevel(from(audio, offset), level) })),
        ),
      ),
      ...[-40, -43].flatMap((level, i) => NOISE_OFFSETS.map((offset) => ({ name: `garbled babble at ${level} dBFS`, audio: from(babble(3_000, RATE, 21 + i, level), offset) }))),
    ];
    const noiseStops: Record<string, number> = {};
    let noiseRuns = 0;
    for (const { name, audio } of sounds) {
      for (const phase of PHASES) {
        noiseRuns += 1;
        const replayed = await replay(concat(audio, silence(200, RATE), audio), phase, { tailMs: 300 });
        noiseStops[name] = (noiseStops[name] ?? 0) + (replayed.pausedAtMs === undefined ? 0 : 1);
      }
    }
    log(`noise: ${Object.values(noiseStops).reduce((a, b) => a + b, 0)} of ${noiseRuns} runs pause the agent`);

    // Every voice says every sentence.
    const voices = await voicesBehind(replay, { voices: () => VOICES, phases: [0, 128], withWords: false });
    return {
      bench: 'turn-taking-sweep',
      speechOnsetToPause: {
        runs: onsets.length,
        notStopped: onsets.length - stopped.length,
        delayMs: summarize(delays, 1),
        within300ms: delays.filter((d) => d <= 300).length,
        slowest: stopped.sort((a, b) => b.delayMs - a.delayMs).slice(0, 6),
        note: "the end-to-end bench's 32 clips at 8 phases of the VAD's windows; speech onset -> pause decided (frame i stamped i * 20 ms)",
      },
      noise: {
        runs: noiseRuns,
        pauses: Object.values(noiseStops).reduce((a, b) => a + b, 0),
        byKind: noiseStops,
        note: `the noise corpus at ${NOISE_LEVELS.join(', ')} dBFS (its far-off babble at its own -45), ${NOISE_OFFSETS.length} offsets, ${PHASES.length} phases, each sound twice with 200 ms between; babble at -40 and -43 dBFS is a voice at a caller's level`,
      },
      voicesBehindTheCaller: { ...voices, note: '8 sentences x 4 voices x 2 phases at each average level, through the VAD alone' },
    };
  });
  const json = JSON.stringify({ ...out, runtimeMs: Math.round(performance.now() - started), machine: machine() }, null, 2);
  writeFileSync(OUT, `${json}\n`);
  process.stdout.write(`${json}\n`);
}

await main();
