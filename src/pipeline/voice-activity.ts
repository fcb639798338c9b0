/**
 * The caller's voice, heard locally. Two things, both cheap:
 * - an energy detector over every inbound chunk, remembering when the caller's voice was last
 *   heard (the honest start of the voice-to-voice latency the caller experiences), and how long
 *   the line has been too quiet to carry the caller's voice (words an STT hears in that are not theirs);
 * - the VAD model (Silero) over fixed windows of the caller's audio, but only while `wanted()`
 *   (the agent is talking: that is when an interruption must be told from noise) and only for
 *   windows loud enough to be a caller talking into a phone. A quieter window counts as silence
 *   without running the model: line noise, and talkers in the background a few metres away
 *   (below FOREGROUND_RMS), cost nothing and are never taken for the caller. The exception is
 *   a quiet window right after the caller's loud ones: the closure of a "ct" or a "k" inside a
 *   word is 20 dB or more below its vowels, so the model judges it, and only a confident verdict
 *   (QUIET_SPEECH) carries the stretch on (far-off babble sits near the gate and scores lower).
 * What a run of speech windows means is turn-taking's decision (turn-taking.ts), not this module's.
 */
import type { AudioFormat } from '../core/frames.js';
import { encodedRms } from '../audio/loudness.js';
import { decodeMulawSample } from '../audio/mulaw.js';
import type { VadStream } from '../providers/vad.js';

/** One window of caller audio, as the model (or the loudness gate) judged it. */
export interface VadWindow {
  /** When the window's last chunk arrived (process clock). */
  atMs: number;
  durationMs: number;
  probability: number;
  speech: boolean;
  /**
   * The window carried sound above the line's silence (QUIET_FLOOR_RMS), speech or not: the
   * unvoiced consonant that starts a word ("s", "f", "h") is sound the model does not call speech.
   */
  audible: boolean;
}

export interface VoiceActivityOptions {
  format: AudioFormat;
  /** The call's VAD stream; without one only the energy detector runs. */
  vad?: VadStream | undefined;
  /** Whether windows should be analysed now; while false, audio costs only the energy detector. */
  wanted?: () => boolean;
  /** Every analysed window, in order (the model's verdicts arrive asynchronously). */
  onWindow?: (window: VadWindow) => void;
  /** The model failed: reported once, then only the energy detector runs. */
  onError?: (error: unknown) => void;
}

export interface VoiceActivity {
  /** `timestampMs`: when the chunk arrived (process clock). Returns the chunk's loudness (encodedRms), for others to reuse. */
  push(audio: Uint8Array, timestampMs: number): number;
  lastVoiceAtMs(): number | undefined;
  /**
   * How long, at `atMs`, the line has carried nothing loud enough to be the caller talking into
   * the phone (FOREGROUND_RMS): the lesser of the audio received and the time passed since the
   * last chunk that was, or since the first chunk. 0 before any audio.
   */
  quietForMs(atMs: number): number;
  /** Windows the model has been asked about (to measure what it costs). */
  inferences(): number;
}

/** RMS above this (of 32768) counts as voice for the latency timeline; phone line noise sits well below it. */
const VOICE_RMS = 500;
/**
 * Windows quieter than this RMS (-42 dBFS) are not the caller: someone on the phone speaks at
 * about -20 to -35 dBFS into it, people talking a few metres away reach it 20 dB or more lower.
 */
const FOREGROUND_RMS = 260;
/** Below this RMS (-60 dBFS) a window is silence even inside a word: no model, no speech. */
const QUIET_FLOOR_RMS = 33;
/**
 * A quiet window (between QUIET_FLOOR_RMS and FOREGROUND_RMS) right after loud speech windows is
 * speech only at this probability. The closures inside quiet callers' words on the bench's clips
 * score 0.85 to 0.98 when the model is sure of them; far-off babble near the gate mostly scores
 * 0.4 to 0.7, and at 0.8 a few of its windows were enough to stop the agent, at 0.85 none.
 */
const QUIET_SPEECH = 0.85;
/**
 * Silero's own rule (its VADIterator): speech starts at 0.5 and goes on while above 0.35, and a
 * stretch of speech ends only after about 100 ms below that (the closure of a "t" or a "k" is
 * silence inside a word, not the end of it).
 */
const SPEECH_START = 0.5;
const SPEECH_CONTINUE = 0.35;
const SEGMENT_END_WINDOWS = 3;
/** After this many windows without the model (quiet, or not wanted), its memory of the audio is stale. */
const STALE_AFTER_WINDOWS = 8;
/** Windows waiting for the model beyond this are judged silence: a saturated CPU must not queue audio without end. */
const MAX_BACKLOG = 16;

/** Each mu-law byte as a sample scaled to -1..1, the model's input. */
const MULAW_FLOAT = Float32Array.from({ length: 256 }, (_, code) => decodeMulawSample(code) / 32768);

export function createVoiceActivity(options: VoiceActivityOptions): VoiceActivity {
  const format = options.format;
  const mulaw = format.encoding === 'mulaw';
  const bytesPerSample = mulaw ? 1 : 2;
  let vad = options.vad;
  const windowSamples = vad?.windowSamples ?? 0;
  const windowMs = (windowSamples * 1000) / format.sampleRate;
  const foregroundEnergy = (FOREGROUND_RMS / 32768) ** 2;
  const quietFloorEnergy = (QUIET_FLOOR_RMS / 32768) ** 2;

  let last: number | undefined;
  /** When the line's current quiet began (its last foreground chunk, or its first chunk), and how much audio it has carried since. */
  let quietSinceMs: number | undefined;
  let quietAudioMs = 0;
  // The window is kept as it arrives (bytes): most windows are too quiet for the model, and only
  // the ones it is given are converted to its float samples.
  const windowBytes = windowSamples * bytesPerSample;
  const window = new Uint8Array(windowBytes);
  let filled = 0;
  let windowsWithoutModel = STALE_AFTER_WINDOWS;
  let backlog = 0;
  let inferences = 0;
  /** Windows since the last speech window: the stretch of speech goes on while few. */
  let sinceSpeech = SEGMENT_END_WINDOWS + 1;
  /**
   * Windows since the last one loud enough for the model (at push time: its verdict may still be
   * on its way, so this, not `sinceSpeech`, says whether a quiet window may be inside a word).
   */
  let sinceLoud = SEGMENT_END_WINDOWS + 1;
  // Verdicts go out in window order, whether the model was asked or the window was too quiet.
  let verdicts: Promise<void> = Promise.resolve();

  function emit(atMs: number, probability: number, quiet: boolean, audible: boolean): void {
    const inSpeech = sinceSpeech <= SEGMENT_END_WINDOWS;
    const speech = quiet ? inSpeech && probability >= QUIET_SPEECH : probability >= (inSpeech ? SPEECH_CONTINUE : SPEECH_START);
    sinceSpeech = speech ? 0 : sinceSpeech + 1;
    options.onWindow?.({ atMs, durationMs: windowMs, probability, speech, audible });
  }

  /** Judges a full window (the model, when asked, gets its own copy as floats). */
  function judge(atMs: number): void {
    const model = vad;
    if (model === undefined) return;
    const meanEnergy = (encodedRms(window, format.encoding) / 32768) ** 2;
    const quiet = meanEnergy < foregroundEnergy;
    sinceLoud = quiet ? sinceLoud + 1 : 0;
    const audible = meanEnergy >= quietFloorEnergy;
    const insideWord = quiet && sinceLoud <= SEGMENT_END_WINDOWS && audible;
    if ((quiet && !insideWord) || backlog >= MAX_BACKLOG) {
      windowsWithoutModel += 1;
      // With no verdict outstanding, nothing can come before this one: no promise for most windows.
      if (backlog === 0) emit(atMs, 0, quiet, audible);
      else verdicts = verdicts.then(() => emit(atMs, 0, quiet, audible));
      return;
    }
    if (windowsWithoutModel >= STALE_AFTER_WINDOWS) model.reset();
    windowsWithoutModel = 0;
    backlog += 1;
    inferences += 1;
    const verdict = model.probability(toFloats(window));
    verdicts = verdicts.then(async () => {
      let probability = 0;
      try {
        probability = await verdict;
      } catch (error) {
        if (vad !== undefined) {
          vad = undefined;
          options.onError?.(error);
        }
      } finally {
        backlog -= 1;
      }
      emit(atMs, probability, quiet, audible);
    });
  }

  function toFloats(bytes: Uint8Array): Float32Array {
    const samples = new Float32Array(windowSamples);
    if (mulaw) for (let i = 0; i < windowSamples; i++) samples[i] = MULAW_FLOAT[bytes[i]!]!;
    else for (let i = 0, b = 0; i < windowSamples; i++, b += 2) samples[i] = (((bytes[b]! | (bytes[b + 1]! << 8)) << 16) >> 16) / 32768;
    return samples;
  }

  function analyse(audio: Uint8Array, timestampMs: number): void {
    if (vad === undefined) return;
    if (options.wanted?.() === false) {
      // Not listening: the next window starts afresh, with a model that has forgotten this gap.
      filled = 0;
      windowsWithoutModel = STALE_AFTER_WINDOWS;
      sinceSpeech = SEGMENT_END_WINDOWS + 1;
      sinceLoud = SEGMENT_END_WINDOWS + 1;
      return;
    }
    for (let offset = 0; offset < audio.length; ) {
      const taken = Math.min(windowBytes - filled, audio.length - offset);
      window.set(audio.subarray(offset, offset + taken), filled);
      filled += taken;
      offset += taken;
      if (filled === windowBytes) {
        judge(timestampMs);
        filled = 0;
      }
    }
  }

  return {
    push(audio, timestampMs) {
      const samples = Math.floor(audio.length / bytesPerSample);
      if (samples === 0) return 0;
      // The chunk ends at its arrival time; voice in it ended no later than that.
      const rms = encodedRms(audio, format.encoding);
      if (rms >= VOICE_RMS) last = timestampMs;
      if (rms >= FOREGROUND_RMS) {
        quietSinceMs = timestampMs;
        quietAudioMs = 0;
      } else {
        const chunkMs = (samples * 1000) / format.sampleRate;
        quietSinceMs ??= timestampMs - chunkMs;
        quietAudioMs += chunkMs;
      }
      analyse(samples * bytesPerSample === audio.length ? audio : audio.subarray(0, samples * bytesPerSample), timestampMs);
      return rms;
    },
    lastVoiceAtMs: () => last,
    // Both clocks: audio that arrives in a burst after a stall is quiet for as long as it lasts, no longer.
    quietForMs: (atMs) => (quietSinceMs === undefined ? 0 : Math.min(quietAudioMs, atMs - quietSinceMs)),
    inferences: () => inferences,
  };
}
