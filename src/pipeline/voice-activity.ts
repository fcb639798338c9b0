/**
 * A cheap local energy detector over inbound audio. It does not decide turns (the STT vendor's
 * VAD and endpointing do); it only remembers when the caller's voice was last heard, which is the
 * honest start of the voice-to-voice latency the caller experiences.
 */
import type { AudioFormat } from '../core/frames.js';
import { decodeMulawSample } from '../audio/mulaw.js';

export interface VoiceActivity {
  /** `timestampMs`: when the chunk arrived (process clock). */
  push(audio: Uint8Array, timestampMs: number): void;
  lastVoiceAtMs(): number | undefined;
}

/** RMS above this (of 32768) counts as voice; phone line noise sits well below it. */
const DEFAULT_THRESHOLD = 500;

/** Energy (squared amplitude) of each mu-law byte, so a phone frame costs one lookup per sample. */
const MULAW_ENERGY = Float64Array.from({ length: 256 }, (_, code) => decodeMulawSample(code) ** 2);

export function createVoiceActivity(format: AudioFormat, threshold = DEFAULT_THRESHOLD): VoiceActivity {
  const bytesPerSample = format.encoding === 'mulaw' ? 1 : 2;
  const thresholdEnergy = threshold * threshold;
  let last: number | undefined;
  return {
    push(audio, timestampMs) {
      const samples = Math.floor(audio.length / bytesPerSample);
      if (samples === 0) return;
      let sum = 0;
      if (format.encoding === 'mulaw') {
        for (let i = 0; i < samples; i += 1) sum += MULAW_ENERGY[audio[i]!]!;
      } else {
        const view = new DataView(audio.buffer, audio.byteOffset, samples * 2);
        for (let i = 0; i < samples; i += 1) {
          const v = view.getInt16(i * 2, true);
          sum += v * v;
        }
      }
      // The chunk ends at its arrival time; voice in it ended no later than that.
      if (sum / samples >= thresholdEnergy) last = timestampMs;
    },
    lastVoiceAtMs: () => last,
  };
}
