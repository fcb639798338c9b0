/**
 * Turn-taking bench: how fast real speech stops the agent, how often sounds that are not speech
 * do, what an "uh-huh" does, and what the VAD costs per call.
 *
 *   tsx bench/turn-taking.ts [--clips 32] [--noise-seeds 3] [--cpu-calls 6] [--min-interruption-ms 200] [--quick]
 *
 * 1-3 run on the real server (startApp in a child process, its real Silero VAD) against the vendor
 * emulators, through signed webhooks and Twilio media streams, with the agent in the middle of a
 * long reply played in real time. The caller's audio is sent in real time: espeak-ng speech
 * (voices, speeds, a quiet caller, speech over an engine and a street that run a second before
 * it; the Deepgram emulator hears from the speech's first frame) and synthesised garage,
 * car and street sounds (test/support/caller-sounds.ts). The Deepgram emulator finds speech by
 * energy and sends interim words 300 ms into it, so STT words alone would stop the agent ~300 ms
 * after onset; anything faster is the VAD. Backchannels run twice: with the STT's words for them,
 * and with none (the VAD alone ends the pause; a real STT may have its words only later).
 * 4 runs the VAD (VoiceActivity + Silero) in this process over simulated one-minute calls and
 * measures its CPU (process.cpuUsage, all threads, nothing else running).
 * 5 replays the speech clips in this process through VoiceActivity, Silero and turn-taking, at four
 * phases of the VAD's windows against the clip, with no STT: when the VAD alone would stop the
 * agent (a real STT's first words come later than the emulator's, so this is what a caller gets).
 * 6 replays voices far behind the caller (-42 to -54 dBFS) the same way, without and with their
 *   words from the STT (a real one transcribes voices this quiet): which of them stop it.
 *
 * Prints one JSON object on stdout; progress goes to stderr.
 */
import { PHONE_AUDIO } from '../src/core/frames.js';
import { DEFAULT_TURN_TAKING } from '../src/pipeline/turn-taking.js';
import { createVoiceActivity } from '../src/pipeline/voice-activity.js';
import { createSileroVad } from '../src/providers/silero/silero-vad.js';
import type { VadStream } from '../src/providers/vad.js';
import { DEFAULT_SPEECH_THRESHOLD } from '../test/emulators/deepgram.js';
import type { DeepgramConnectionRecord } from '../test/emulators/deepgram.js';
import type { TwilioCaller } from '../test/emulators/twilio.js';
import {
  concat,
  engineHum,
  espeakInstalled,
  mix,
  mulawFrames,
  noiseCorpus,
  noiseInstance,
  silence,
  speech,
  toMulaw,
} from '../test/support/caller-sounds.js';
import { utteranceFrames } from '../test/support/voice-stack.js';
import { baseEnv, placeCall } from './support/phone.js';
import { startServerChild } from './support/server.js';
import type { ServerChild } from './support/server.js';
import { argNumber, epochMs, log, machine, round, sleep, summarize, waitUntil } from './support/stats.js';
import { calibrateAndSay } from './support/calibrate.js';
import { BACKCHANNELS, onsetToPause, SENTENCES, speechClips, voicesBehind, VOICES, withReplay } from './support/turn-taking-clips.js';
import { startEmulators } from './support/voice-emulators.js';
import type { Emulators } from './support/voice-emulators.js';

const quick = process.argv.includes('--quick');
const CLIPS = argNumber('clips', quick ? 8 : 32);
const NOISE_SEEDS = argNumber('noise-seeds', quick ? 1 : 3);
const CPU_CALLS = argNumber('cpu-calls', quick ? 2 : 6);
const MIN_INTERRUPTION_MS = argNumber('min-interruption-ms', DEFAULT_TURN_TAKING.minInterruptionMs);
const LONG_REPLY = 'Our shop has been open since nineteen eighty, and we service every make and model. '.repeat(40);
const RATE = 8000;

/**
 * Sends `audio` in real time, 20 ms frames; returns when frame `mark` (default the first) was
 * sent, calling `atMark` just before it.
 */
async function sendRealTime(caller: TwilioCaller, audio: Uint8Array, options: { mark?: number; atMark?: () => void } = {}): Promise<number> {
  const frames = mulawFrames(audio);
  const mark = options.mark ?? 0;
  const start = performance.now();
  let markAt = 0;
  for (let i = 0; i < frames.length; i++) {
    const wait = start + i * 20 - performance.now();
    if (wait > 0) await sleep(wait);
    if (i === mark) options.atMark?.();
    caller.sendAudio(frames[i]!);
    if (i === mark) markAt = epochMs();
  }
  return markAt;
}

const toEpoch = (at: number): number => performance.timeOrigin + at;

/** A call in which the agent has been talking (real time) for a moment. */
class TalkingCall {
  private constructor(
    readonly caller: TwilioCaller,
    private readonly emu: Emulators,
  ) {}

  static async open(server: ServerChild, emu: Emulators): Promise<TalkingCall> {
    const { caller } = await placeCall(server.url, { speed: 20 });
    await waitUntil(() => caller.marks.length > 2 && caller.echoedMarks.length === caller.marks.length, 15_000, 'the greeting');
    caller.setSpeed(1);
    const call = new TalkingCall(caller, emu);
    await call.startReply();
    return call;
  }

  /** Asks something (synthetic speech the STT hears as words) and waits until the long reply plays. */
  async startReply(): Promise<void> {
    const before = this.caller.audioBytes();
    await sendRealTime(this.caller, Buffer.concat(utteranceFrames(PHONE_AUDIO, 600, 700)));
    await this.replyPlaying(before);
  }

  /** Waits until a reply is playing: audio beyond `beforeBytes` has arrived, and plays on for a moment. */
  async replyPlaying(beforeBytes: number): Promise<void> {
    await waitUntil(() => this.caller.audioBytes() > beforeBytes + 8_000, 15_000, 'the reply to play', 5);
    await sleep(400);
  }

  /** Whether the caller has been sent a clear since `index` of its events, and how much audio it dropped. */
  clearSince(index: number): { at: number; leadMs: number } | undefined {
    const clear = this.caller.events.slice(index).find((e) => e.type === 'clear');
    return clear?.type !== 'clear' ? undefined : { at: toEpoch(clear.at), leadMs: clear.droppedBytes / 8 };
  }

  requests(): number {
    return this.emu.openai.completionRequests().length;
  }

  async close(): Promise<void> {
    this.caller.hangUp();
    await Promise.race([this.caller.closed, sleep(3_000)]);
  }
}

const wordTimesByConnection = new WeakMap<DeepgramConnectionRecord, number[]>();

/** Epoch ms at which the emulator sent each Results with words on `connection` (from now on). */
function wordTimes(connection: DeepgramConnectionRecord): number[] {
  let times = wordTimesByConnection.get(connection);
  if (times === undefined) {
    const list: number[] = [];
    times = list;
    wordTimesByConnection.set(connection, list);
    const push = connection.messagesSent.push.bind(connection.messagesSent);
    connection.messagesSent.push = (...messages) => {
      for (const m of messages) if (m.type === 'Results' && m.channel.alternatives[0]!.transcript !== '') list.push(epochMs());
      return push(...messages);
    };
  }
  return times;
}

interface ClipResult {
  name: string;
  delayMs: number | undefined;
  /** The clear reached the caller before the STT emulator had sent a word of this speech. */
  byVad: boolean;
  /** The background alone stopped the agent, before the caller spoke. */
  beforeSpeech: boolean;
  /** Reply audio Twilio held unplayed when the clear came: how far ahead of playback it is sent. */
  leadMs: number | undefined;
}

async function interruptionDelays(server: ServerChild, emu: Emulators): Promise<ClipResult[]> {
  const results: ClipResult[] = [];
  let call = await TalkingCall.open(server, emu);
  try {
    for (const clip of speechClips(CLIPS)) {
      const connection = emu.deepgram.connections.at(-1)!;
      const eventsBefore = call.caller.events.length;
      const wordsAt = wordTimes(connection);
      const wordsBefore = wordsAt.length;
      const cleared = (): boolean => call.clearSince(eventsBefore) !== undefined;
      // The caller says the whole sentence, as a real one would once the agent stops. The
      // emulator finds speech by energy: over a background it would hear words from the first
      // frame, where a real STT hears them only in the speech, so it listens from the onset on.
      if (clip.onsetMs > 0) emu.deepgram.setSpeechThreshold(Number.POSITIVE_INFINITY);
      const firstAt = await sendRealTime(call.caller, toMulaw(clip.audio), {
        mark: clip.onsetMs / 20,
        atMark: () => emu.deepgram.setSpeechThreshold(DEFAULT_SPEECH_THRESHOLD),
      });
      await waitUntil(cleared, 3_000, 'a clear').catch(() => undefined);
      const clear = call.clearSince(eventsBefore);
      const firstWords = wordsAt[wordsBefore];
      const byVad = clear !== undefined && (firstWords === undefined || clear.at < firstWords);
      const beforeSpeech = clear !== undefined && clear.at < firstAt;
      const delayMs = clear === undefined || beforeSpeech ? undefined : clear.at - firstAt;
      results.push({ name: clip.name, delayMs, byVad, beforeSpeech, leadMs: clear?.leadMs });
      log(
        `speech ${results.length}/${CLIPS}: ${clip.name}: ${beforeSpeech ? 'STOPPED BY THE BACKGROUND' : delayMs === undefined ? 'no clear' : `${delayMs.toFixed(1)} ms`}${byVad ? ' (VAD)' : ' (STT words)'}`,
      );
      // The caller stops talking: their turn ends and the agent answers with another long reply.
      const before = call.caller.audioBytes();
      await sendRealTime(call.caller, toMulaw(silence(900, RATE)));
      try {
        await call.replyPlaying(before);
      } catch {
        await call.close();
        call = await TalkingCall.open(server, emu);
      }
    }
  } finally {
    await call.close();
  }
  return results;
}

interface NoiseResult {
  name: string;
  clears: number;
  newTurns: number;
}

async function falseInterruptions(server: ServerChild, emu: Emulators): Promise<NoiseResult[]> {
  const results: NoiseResult[] = [];
  const call = await TalkingCall.open(server, emu);
  // Whatever the emulator's energy detector takes for speech is a sound without words.
  emu.deepgram.script(Array.from({ length: 1_000 }, () => ''));
  try {
    const corpus = noiseCorpus(RATE);
    for (let seed = 0; seed < NOISE_SEEDS; seed++) {
      for (const { name, audio } of corpus) {
        const instance = noiseInstance(name, audio, seed);
        const eventsBefore = call.caller.events.length;
        const requestsBefore = call.requests();
        await sendRealTime(call.caller, toMulaw(concat(instance, silence(600, RATE))));
        await sleep(200);
        const clears = call.caller.events.slice(eventsBefore).filter((e) => e.type === 'clear').length;
        results.push({ name, clears, newTurns: call.requests() - requestsBefore });
        log(`noise ${results.length}/${NOISE_SEEDS * corpus.length}: ${name}: ${clears} clears`);
      }
    }
  } finally {
    emu.deepgram.clearScript();
    await call.close();
  }
  return results;
}

interface BackchannelResult {
  name: string;
  /** The STT had the word for it (the emulator sends interims 300 ms into a sound), or no words at all. */
  words: boolean;
  paused: boolean;
  resumed: boolean;
  /** From the clear to the first audio after it, at the caller. */
  silentMs: number | undefined;
  newTurn: boolean;
}

async function backchannels(server: ServerChild, emu: Emulators, words: boolean): Promise<BackchannelResult[]> {
  const results: BackchannelResult[] = [];
  const call = await TalkingCall.open(server, emu);
  try {
    for (const [i, word] of BACKCHANNELS.flatMap((w) => [w, w]).entries()) {
      const voice = VOICES[i % VOICES.length]!;
      emu.deepgram.script([words ? `${word[0]!.toUpperCase()}${word.slice(1)}.` : '']);
      const eventsBefore = call.caller.events.length;
      const requestsBefore = call.requests();
      await sendRealTime(call.caller, toMulaw(concat(speech(word, RATE, { voice }), silence(1_200, RATE))));
      await sleep(1_500);
      const events = call.caller.events.slice(eventsBefore);
      const clear = events.findIndex((e) => e.type === 'clear');
      const paused = clear >= 0;
      const media = paused ? events.slice(clear).find((e) => e.type === 'media') : undefined;
      const resumed = media !== undefined;
      const silentMs = media === undefined ? undefined : media.at - events[clear]!.at;
      results.push({ name: `${voice}: ${word}`, words, paused, resumed, silentMs, newTurn: call.requests() > requestsBefore });
      log(`backchannel ${word}${words ? '' : ' (no words)'}: ${paused ? (resumed ? 'paused, resumed' : 'paused') : 'not paused'}${call.requests() > requestsBefore ? ', NEW TURN' : ''}`);
    }
  } finally {
    emu.deepgram.clearScript();
    await call.close();
  }
  return results;
}

/** One simulated minute: the agent talks half the time (5 s on, 5 s off); `background` throughout, speech now and then. */
type CpuScenario = 'quiet line, agent talks half the call' | 'engine throughout, agent talks half the call' | 'engine throughout, VAD on all call (bound)';

async function vadCpuPerCall(scenario: CpuScenario): Promise<{ cpuMs: number; callMs: number; inferences: number }> {
  const callMs = 60_000;
  const bed =
    scenario.startsWith('engine')
      ? engineHum(callMs, RATE, 3)
      : // A quiet line: low hiss (about -60 dBFS), below the VAD gate.
        Int16Array.from({ length: (RATE * callMs) / 1000 }, (_, i) => Math.round(Math.sin(i * 12.9898) * 40));
  let audio = bed;
  for (let at = 2_000; at + 3_000 < callMs; at += 9_000) {
    audio = mix(audio, speech(SENTENCES[Math.floor(at / 9_000) % SENTENCES.length]!, RATE), (at * RATE) / 1000);
  }
  const mulaw = toMulaw(audio);
  const model = await createSileroVad().open({ sampleRate: RATE, signal: new AbortController().signal });
  // Counts windows in flight, so the simulated call never outruns the model (a live call cannot:
  // its audio arrives in real time) and no window is skipped as a backlog.
  let inFlight = 0;
  const stream: VadStream = {
    windowSamples: model.windowSamples,
    async probability(window) {
      inFlight += 1;
      try {
        return await model.probability(window);
      } finally {
        inFlight -= 1;
      }
    },
    reset: () => model.reset(),
    close: () => model.close(),
  };
  let timeMs = 0;
  const voice = createVoiceActivity({
    format: PHONE_AUDIO,
    vad: stream,
    wanted: () => scenario.endsWith('(bound)') || Math.floor(timeMs / 5_000) % 2 === 0,
  });
  const frames = mulawFrames(mulaw);
  const before = process.cpuUsage();
  for (const frame of frames) {
    voice.push(frame, timeMs);
    timeMs += 20;
    while (inFlight > 1) await new Promise((r) => setImmediate(r));
  }
  await sleep(50);
  const used = process.cpuUsage(before);
  stream.close();
  return { cpuMs: (used.user + used.system) / 1000, callMs, inferences: voice.inferences() };
}

async function vadCpu(): Promise<Record<string, unknown>> {
  await createSileroVad().ready();
  const out: Record<string, unknown> = {};
  const scenarios: CpuScenario[] = [
    'quiet line, agent talks half the call',
    'engine throughout, agent talks half the call',
    'engine throughout, VAD on all call (bound)',
  ];
  for (const scenario of scenarios) {
    const runs: Array<{ cpuMs: number; callMs: number; inferences: number }> = [];
    for (let i = 0; i < CPU_CALLS; i++) runs.push(await vadCpuPerCall(scenario));
    const percent = runs.map((r) => (r.cpuMs / r.callMs) * 100);
    out[scenario] = {
      percentOfOneCorePerCall: summarize(percent, 3),
      inferencesPerCallSecond: round(runs.reduce((n, r) => n + r.inferences, 0) / runs.reduce((n, r) => n + r.callMs / 1000, 0), 1),
    };
    log(`VAD CPU, ${scenario}: ${percent.map((p) => p.toFixed(3)).join(', ')} % of a core`);
  }
  return out;
}

function backchannelSummary(results: BackchannelResult[]): Record<string, unknown> {
  return {
    clips: results.length,
    paused: results.filter((r) => r.paused).length,
    resumed: results.filter((r) => r.resumed).length,
    silentMs: summarize(results.flatMap((r) => (r.silentMs === undefined ? [] : [r.silentMs])), 1),
    // What every caller hears: no gap when the agent was not paused.
    silenceHeardMs: summarize(results.flatMap((r) => (r.paused ? (r.silentMs === undefined ? [] : [r.silentMs]) : [0])), 1),
    newTurns: results.filter((r) => r.newTurn).length,
    each: results,
  };
}

async function main(): Promise<void> {
  if (!espeakInstalled()) throw new Error('espeak-ng is needed for the speech clips (apt-get install espeak-ng)');
  // Before anything of the bench runs: its figures move with the machine's speed.
  const calibration = await calibrateAndSay();
  const cpu = await vadCpu();
  const [vadAlone, farOff] = await withReplay(MIN_INTERRUPTION_MS, async (replay) => [
    await onsetToPause(replay, speechClips(CLIPS), [0, 64, 128, 192]),
    // One voice per sentence, with and without its words.
    await voicesBehind(replay, { voices: (i) => [VOICES[i % VOICES.length]!], phases: [0, 128], withWords: true }),
  ]);
  log(`VAD alone: ${vadAlone.map((r) => r.delayMs ?? 'none').join(', ')}`);
  const emu = await startEmulators({ sttFinalDelayMs: 150, ttsFirstByteDelayMs: 150 });
  emu.openai.setDefault({ text: LONG_REPLY });
  let server: ServerChild | undefined;
  let speechResults: ClipResult[] = [];
  let noiseResults: NoiseResult[] = [];
  let backchannelResults: BackchannelResult[] = [];
  try {
    server = await startServerChild({ ...baseEnv(), ...emu.env(), MAX_CONCURRENT_CALLS: '4', MIN_INTERRUPTION_MS: String(MIN_INTERRUPTION_MS) });
    log(`server at ${server.url}`);
    speechResults = await interruptionDelays(server, emu);
    noiseResults = await falseInterruptions(server, emu);
    backchannelResults = [...(await backchannels(server, emu, true)), ...(await backchannels(server, emu, false))];
  } finally {
    await server?.stop();
    await emu.close();
  }

  const delays = speechResults.flatMap((r) => (r.delayMs === undefined ? [] : [r.delayMs]));
  const byKind = new Map<string, number>();
  for (const r of noiseResults) byKind.set(r.name, (byKind.get(r.name) ?? 0) + r.clears);
  const out = {
    bench: 'turn-taking',
    interruption: {
      clips: speechResults.length,
      stopped: delays.length,
      delayMs: summarize(delays, 1),
      within300ms: delays.filter((d) => d <= 300).length,
      stoppedByVadBeforeAnyWord: speechResults.filter((r) => r.byVad).length,
      stoppedByTheBackgroundBeforeSpeech: speechResults.filter((r) => r.beforeSpeech).length,
      // Only `clear` stops what Twilio holds: holding back new audio would not stop the caller hearing this much.
      replyAudioBufferedAtClearMs: summarize(speechResults.flatMap((r) => (r.leadMs === undefined ? [] : [r.leadMs])), 0),
      minInterruptionMs: MIN_INTERRUPTION_MS,
      note: "caller's first speech frame sent (real time) -> clear received by the caller; an engine or a street runs 1 s before the speech; the Deepgram emulator's first words come 300 ms into speech",
      slowest: [...speechResults].sort((a, b) => (b.delayMs ?? Infinity) - (a.delayMs ?? Infinity)).slice(0, 3),
    },
    interruptionByVadAlone: {
      runs: vadAlone.length,
      delayMs: summarize(vadAlone.flatMap((r) => (r.delayMs === undefined ? [] : [r.delayMs])), 1),
      notStopped: vadAlone.filter((r) => r.delayMs === undefined).length,
      within300ms: vadAlone.filter((r) => r.delayMs !== undefined && r.delayMs <= 300).length,
      note: 'in process, no STT: the same clips (a background 1 s before the speech) at 4 phases of the 32 ms windows; first speech frame -> pause decided (frame i stamped i * 20 ms)',
      slowest: [...vadAlone].sort((a, b) => (b.delayMs ?? Infinity) - (a.delayMs ?? Infinity)).slice(0, 4),
    },
    farOffVoices: {
      ...farOff,
      note: "espeak-ng sentences at these average levels (the caller speaks at -20 to -35), 8 sentences x 2 window phases, through the VAD and turn-taking in process: stops with the VAD alone, stopsWithWords with the sentence as the STT's final 400 ms after it",
    },
    falseInterruptions: {
      noiseClips: noiseResults.length,
      clears: noiseResults.reduce((n, r) => n + r.clears, 0),
      newTurns: noiseResults.reduce((n, r) => n + r.newTurns, 0),
      byKind: Object.fromEntries(byKind),
    },
    backchannels: {
      withWords: backchannelSummary(backchannelResults.filter((r) => r.words)),
      withoutWords: backchannelSummary(backchannelResults.filter((r) => !r.words)),
      note: "with words: the STT's interim comes 300 ms into the sound (the emulator's), a final after it ends; without: the STT has no words for it, the VAD alone ends the pause",
    },
    vadCpu: {
      ...cpu,
      method: 'VoiceActivity + Silero over simulated 60 s calls with speech every 9 s (agent talking 5 s of every 10), process CPU of all threads',
    },
    machine: machine(),
    calibration,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
