/**
 * Records the inputs turn-taking gets on a call, for its table tests: caller audio (espeak-ng
 * speech, synthesised noise) played in real time into the real Silero VAD (through VoiceActivity)
 * and, through the real Deepgram adapter, into the Deepgram emulator. Every VAD window and STT
 * event is written with its time since the first frame.
 *
 *   npx tsx test/support/record-turn-events.ts     (writes src/pipeline/turn-taking.recordings.json)
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PHONE_AUDIO } from '../../src/core/frames.js';
import { createVoiceActivity } from '../../src/pipeline/voice-activity.js';
import type { TurnInput } from '../../src/pipeline/turn-taking.js';
import { createDeepgramStt } from '../../src/providers/deepgram/deepgram-stt.js';
import { createSileroVad } from '../../src/providers/silero/silero-vad.js';
import { startDeepgramEmulator } from '../emulators/deepgram.js';
import { atLevel, concat, cough, engineHum, mulawFrames, silence, speech, toMulaw } from './caller-sounds.js';

export interface TurnRecording {
  name: string;
  /** Whether the agent was talking while the caller's audio played (the VAD listens only then). */
  agentTalking: boolean;
  inputs: TurnInput[];
}

const RATE = 8000;
const OUT = fileURLToPath(new URL('../../src/pipeline/turn-taking.recordings.json', import.meta.url));

const scenarios: Array<{ name: string; agentTalking: boolean; audio: Int16Array; script: string[] }> = [
  { name: 'uh-huh over the agent', agentTalking: true, audio: speech('uh-huh', RATE), script: ['Uh-huh.'] },
  { name: 'okay over the agent', agentTalking: true, audio: speech('okay', RATE, { voice: 'en-gb+f3' }), script: ['Okay.'] },
  {
    name: 'a sentence over the agent',
    agentTalking: true,
    audio: speech('Hold on I need to change the day', RATE, { voice: 'en-us+m7' }),
    script: ['Hold on, I need to change the day.'],
  },
  {
    name: 'a quiet caller (-35 dBFS) saying "Actually..." over the agent',
    agentTalking: true,
    audio: atLevel(speech('Actually can we do Tuesday instead', RATE, { voice: 'en-us+m7' }), -35),
    script: ['Actually, can we do Tuesday instead?'],
  },
  { name: 'mm-hmm over the agent, the STT has no words for it', agentTalking: true, audio: speech('mm-hmm', RATE), script: [''] },
  { name: 'an engine over the agent', agentTalking: true, audio: engineHum(2_500, RATE), script: [''] },
  { name: 'coughs over the agent', agentTalking: true, audio: concat(cough(RATE, 12), cough(RATE, 13)), script: ['', ''] },
  {
    name: 'a phone number in three groups with 700 ms pauses',
    agentTalking: false,
    audio: concat(
      speech('My number is five five five', RATE),
      silence(700, RATE),
      speech('five five five', RATE),
      silence(700, RATE),
      speech('zero one two three', RATE),
    ),
    script: ['My number is 555', '555', '0123.'],
  },
];

async function record(scenario: (typeof scenarios)[number]): Promise<TurnRecording> {
  const deepgram = await startDeepgramEmulator({ finalDelayMs: 150 });
  const controller = new AbortController();
  const inputs: TurnInput[] = [];
  let t0 = 0;
  const at = (ms: number): number => Math.round((ms - t0) * 10) / 10;
  try {
    deepgram.script(scenario.script);
    const stt = createDeepgramStt({ apiKey: deepgram.apiKey, baseUrl: deepgram.url, model: 'nova-3' });
    const stream = await stt.connect({ format: PHONE_AUDIO, signal: controller.signal }, (event) => {
      if (event.type === 'speech_started' || event.type === 'utterance_end') inputs.push({ type: event.type, atMs: at(event.atMs) });
      else if (event.type === 'transcript') {
        inputs.push({ type: 'transcript', text: event.text, isFinal: event.isFinal, speechFinal: event.speechFinal, atMs: at(event.atMs) });
      }
    });
    const vad = await createSileroVad().open({ sampleRate: RATE, signal: controller.signal });
    const voice = createVoiceActivity({
      format: PHONE_AUDIO,
      vad,
      wanted: () => scenario.agentTalking,
      onWindow: (w) => {
        const probability = Math.round(w.probability * 1000) / 1000;
        inputs.push({ type: 'vad', atMs: at(w.atMs), speech: w.speech, probability, durationMs: w.durationMs, audible: w.audible });
      },
    });
    const frames = mulawFrames(toMulaw(concat(scenario.audio, silence(1_500, RATE))));
    t0 = performance.now();
    for (let i = 0; i < frames.length; i++) {
      const wait = t0 + i * 20 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      voice.push(frames[i]!, performance.now());
      stream.sendAudio(frames[i]!);
    }
    await new Promise((r) => setTimeout(r, 1_200));
    await stream.close();
  } finally {
    controller.abort();
    await deepgram.close();
  }
  return { name: scenario.name, agentTalking: scenario.agentTalking, inputs: inputs.sort((a, b) => a.atMs - b.atMs) };
}

const recordings: TurnRecording[] = [];
for (const scenario of scenarios) {
  recordings.push(await record(scenario));
  process.stderr.write(`recorded: ${scenario.name} (${recordings.at(-1)!.inputs.length} inputs)\n`);
}
writeFileSync(OUT, `${JSON.stringify(recordings, null, 1)}\n`);
process.stderr.write(`wrote ${OUT}\n`);
