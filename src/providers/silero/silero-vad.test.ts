/**
 * The real Silero model on onnxruntime-node: espeak-ng speech is speech and an engine is not, at
 * both rates, through mu-law for the phone; streams keep separate state over one shared session.
 */
import { describe, expect, it } from 'vitest';
import { mulawToPcm16 } from '../../audio/mulaw.js';
import { engineHum, espeakInstalled, speech, toMulaw } from '../../../test/support/caller-sounds.js';
import type { VadStream } from '../vad.js';
import { createSileroVad } from './silero-vad.js';
import { present } from '../../../test/support/prerequisites.js';

const vad = createSileroVad();

async function probabilities(stream: VadStream, pcm: Int16Array): Promise<number[]> {
  const out: number[] = [];
  for (let at = 0; at + stream.windowSamples <= pcm.length; at += stream.windowSamples) {
    out.push(await stream.probability(Float32Array.from(pcm.subarray(at, at + stream.windowSamples), (s) => s / 32768)));
  }
  return out;
}

const share = (values: number[], test: (p: number) => boolean): number => values.filter(test).length / values.length;

describe('Silero VAD', () => {
  it.each([
    [8000, 256],
    [16000, 512],
  ] as const)('takes %i Hz audio in windows of %i samples', async (sampleRate, windowSamples) => {
    const stream = await vad.open({ sampleRate, signal: new AbortController().signal });
    expect(stream.windowSamples).toBe(windowSamples);
    await expect(stream.probability(new Float32Array(windowSamples + 1))).rejects.toThrow(RangeError);
    stream.close();
  });

  it('refuses a rate the model does not take, and a closed stream', async () => {
    await expect(vad.open({ sampleRate: 48000, signal: new AbortController().signal })).rejects.toThrow(/8000 or 16000/);
    const stream = await vad.open({ sampleRate: 8000, signal: new AbortController().signal });
    stream.close();
    await expect(stream.probability(new Float32Array(256))).rejects.toThrow(/closed/);
    const controller = new AbortController();
    const aborted = await vad.open({ sampleRate: 8000, signal: controller.signal });
    controller.abort();
    await expect(aborted.probability(new Float32Array(256))).rejects.toThrow(/closed/);
  });

  it.skipIf(!present(espeakInstalled(), 'espeak-ng'))('hears espeak-ng speech as speech and an engine as not, on phone and browser audio', async () => {
    for (const rate of [8000, 16000] as const) {
      const said = speech('Hold on, I need to check something about the car', rate);
      const engine = engineHum(2_000, rate);
      const asHeard = (pcm: Int16Array) => (rate === 8000 ? mulawToPcm16(toMulaw(pcm)) : pcm);
      const stream = await vad.open({ sampleRate: rate, signal: new AbortController().signal });
      expect(share(await probabilities(stream, asHeard(said)), (p) => p >= 0.5)).toBeGreaterThan(0.7);
      stream.reset();
      expect(share(await probabilities(stream, asHeard(engine)), (p) => p < 0.5)).toBe(1);
      stream.close();
    }
  });

  it.skipIf(!present(espeakInstalled(), 'espeak-ng'))('keeps each stream its own state: interleaved calls get what each would alone', async () => {
    const said = mulawToPcm16(toMulaw(speech('Yes, Tuesday at ten works for me', 8000)));
    const quiet = new Int16Array(said.length);
    const alone = await vad.open({ sampleRate: 8000, signal: new AbortController().signal });
    const expected = await probabilities(alone, said);
    const a = await vad.open({ sampleRate: 8000, signal: new AbortController().signal });
    const b = await vad.open({ sampleRate: 8000, signal: new AbortController().signal });
    const got: number[] = [];
    for (let at = 0; at + 256 <= said.length; at += 256) {
      const [pa] = await Promise.all([
        a.probability(Float32Array.from(said.subarray(at, at + 256), (s) => s / 32768)),
        b.probability(Float32Array.from(quiet.subarray(at, at + 256), (s) => s / 32768)),
      ]);
      got.push(pa);
    }
    expect(got).toEqual(expected);
    await vad.ready();
  });
});
