/**
 * A fade-in on audio as it travels (mu-law bytes or PCM16 little-endian bytes). Speech that starts
 * again mid-word (a paused reply resuming) jumps from silence to the middle of a waveform, which
 * the caller hears as a click; a few milliseconds of ramp hide the edge without hiding the word.
 */
import type { AudioFormat } from '../core/frames.js';
import { mulawToPcm16, pcm16ToMulawInto } from './mulaw.js';
import { bytesPerSample, pcm16FromBytes, pcm16ToBytesInto } from './pcm.js';

/** A copy of `audio` whose first `ms` rise from silence to full level (raised cosine); the rest as it was. */
export function fadedIn(audio: Uint8Array, format: AudioFormat, ms: number): Uint8Array {
  const mulaw = format.encoding === 'mulaw';
  const sampleBytes = bytesPerSample(format);
  const rampSamples = Math.round((format.sampleRate * ms) / 1000);
  const head = audio.subarray(0, Math.min(rampSamples, Math.floor(audio.length / sampleBytes)) * sampleBytes);
  const samples = mulaw ? mulawToPcm16(head) : pcm16FromBytes(head);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(samples[i]! * (0.5 - 0.5 * Math.cos((Math.PI * i) / rampSamples)));
  const out = Uint8Array.from(audio);
  if (mulaw) pcm16ToMulawInto(samples, out);
  else pcm16ToBytesInto(samples, out);
  return out;
}
