/**
 * What a caller's microphone picks up, as PCM16 at 8 or 16 kHz, for turn-taking tests and the
 * turn-taking bench: speech from espeak-ng (a real voice the VAD must hear), and the non-speech
 * sounds of garages, cars and streets, synthesised here from a seeded generator (so a failing
 * test replays exactly and CI needs nothing but espeak-ng, which it installs anyway).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resampleAny } from '../../src/audio/fractional-resample.js';
import { pcm16ToMulaw } from '../../src/audio/mulaw.js';
import { decodeWav } from '../../src/audio/wav.js';

export const ESPEAK = '/usr/bin/espeak-ng';
export const espeakInstalled = (): boolean => existsSync(ESPEAK);

export type Rate = 8000 | 16000;

// ---- speech ----------------------------------------------------------------------------------------

const speechCache = new Map<string, Int16Array>();

/**
 * espeak-ng saying `text` at `rate`, leading and trailing silence trimmed (so the clip's first
 * sample is the onset of speech). `voice` is an espeak-ng voice ("en-us", "en-gb+f3"...).
 */
export function speech(text: string, rate: Rate, options: { voice?: string; wordsPerMinute?: number; gainDb?: number } = {}): Int16Array {
  const voice = options.voice ?? 'en-us';
  const wpm = options.wordsPerMinute ?? 170;
  const key = `${voice}|${wpm}|${rate}|${text}`;
  let clip = speechCache.get(key);
  if (clip === undefined) {
    const wav = execFileSync(ESPEAK, ['-v', voice, '-s', String(wpm), '--stdout', text], { timeout: 20_000, maxBuffer: 64 * 1024 * 1024 });
    const decoded = decodeWav(new Uint8Array(wav));
    const samples = new Int16Array(decoded.data.buffer.slice(decoded.data.byteOffset, decoded.data.byteOffset + decoded.data.length));
    clip = trimSilence(resampleAny(samples, decoded.sampleRate, rate));
    speechCache.set(key, clip);
  }
  return options.gainDb === undefined ? clip : gain(clip, options.gainDb);
}

/** Cuts leading and trailing stretches quieter than -50 dBFS (in 5 ms steps). */
export function trimSilence(samples: Int16Array): Int16Array {
  const step = 40;
  const loud = (at: number): boolean => {
    let sum = 0;
    const end = Math.min(samples.length, at + step);
    for (let i = at; i < end; i++) sum += samples[i]! * samples[i]!;
    return Math.sqrt(sum / Math.max(1, end - at)) > 100;
  };
  let start = 0;
  while (start < samples.length && !loud(start)) start += step;
  let end = samples.length;
  while (end > start && !loud(Math.max(start, end - step))) end -= step;
  return samples.slice(start, end);
}

// ---- building blocks -----------------------------------------------------------------------------

/** A seeded generator of uniform numbers in [0, 1). */
export function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

export function silence(ms: number, rate: Rate): Int16Array {
  return new Int16Array(Math.round((rate * ms) / 1000));
}

export function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** `overlay` added onto `base` from sample `at` on (the result is as long as the longer reach). */
export function mix(base: Int16Array, overlay: Int16Array, at = 0): Int16Array {
  const out = new Int16Array(Math.max(base.length, at + overlay.length));
  out.set(base);
  for (let i = 0; i < overlay.length; i++) out[at + i] = clip(out[at + i]! + overlay[i]!);
  return out;
}

export function gain(samples: Int16Array, db: number): Int16Array {
  const factor = 10 ** (db / 20);
  return Int16Array.from(samples, (s) => clip(s * factor));
}

/** Scales to an RMS level in dBFS. */
export function atLevel(samples: Int16Array, dbfs: number): Int16Array {
  let sum = 0;
  for (const s of samples) sum += s * s;
  const rms = Math.sqrt(sum / Math.max(1, samples.length));
  if (rms === 0) return samples.slice();
  return gain(samples, dbfs - 20 * Math.log10(rms / 32768));
}

function clip(value: number): number {
  return Math.max(-32768, Math.min(32767, Math.round(value)));
}

function fromFloat(values: Float64Array, dbfs: number): Int16Array {
  return atLevel(Int16Array.from(values, (v) => clip(v * 10_000)), dbfs);
}

/** A one-pole low-pass over white noise: brown-ish rumble or hiss depending on `alpha`. */
function filteredNoise(n: number, random: () => number, alpha: number): Float64Array {
  const out = new Float64Array(n);
  let y = 0;
  for (let i = 0; i < n; i++) {
    y += alpha * (random() * 2 - 1 - y);
    out[i] = y;
  }
  return out;
}

// ---- the non-speech corpus -----------------------------------------------------------------------

/** An idling engine: a firing-rate fundamental with harmonics, a slow wobble, and rumble. */
export function engineHum(ms: number, rate: Rate, seed = 1): Int16Array {
  const random = seeded(seed);
  const n = Math.round((rate * ms) / 1000);
  const rumble = filteredNoise(n, random, 0.02);
  const out = new Float64Array(n);
  const f0 = 28 + random() * 10;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const wobble = 1 + 0.03 * Math.sin(2 * Math.PI * 0.7 * t);
    let v = 0;
    for (let h = 1; h <= 12; h++) v += Math.sin(2 * Math.PI * f0 * h * wobble * t + h) / h;
    out[i] = v * (0.8 + 0.2 * Math.sin(2 * Math.PI * 3 * t)) + 4 * rumble[i]!;
  }
  return fromFloat(out, -22);
}

/** A cough: one to three sharp bursts of broadband noise with a fast attack and ~150 ms decay. */
export function cough(rate: Rate, seed = 2): Int16Array {
  const random = seeded(seed);
  const bursts = 1 + Math.floor(random() * 3);
  const parts: Int16Array[] = [];
  for (let b = 0; b < bursts; b++) {
    const n = Math.round(rate * (0.18 + random() * 0.12));
    const hiss = filteredNoise(n, random, 0.35);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const t = i / rate;
      const envelope = Math.min(1, t / 0.01) * Math.exp(-t / 0.06);
      out[i] = hiss[i]! * envelope;
    }
    parts.push(fromFloat(out, -14), silence(60 + random() * 120, rate));
  }
  return concat(...parts);
}

/** A door slamming: a thump (low decaying tone) under a crack of noise, then a rattle. */
export function doorSlam(rate: Rate, seed = 3): Int16Array {
  const random = seeded(seed);
  const n = Math.round(rate * 0.6);
  const crack = filteredNoise(n, random, 0.6);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const thump = Math.sin(2 * Math.PI * 70 * t) * Math.exp(-t / 0.12) * 3;
    const hit = crack[i]! * Math.exp(-t / 0.015) * 6;
    const rattle = crack[i]! * Math.exp(-t / 0.2) * (0.5 + 0.5 * Math.sin(2 * Math.PI * 25 * t));
    out[i] = thump + hit + rattle;
  }
  return fromFloat(out, -12);
}

/** Clicks: a turn signal, a keyboard, a pen: short impulses at a steady or ragged pace. */
export function clicks(ms: number, rate: Rate, seed = 4): Int16Array {
  const random = seeded(seed);
  const n = Math.round((rate * ms) / 1000);
  const out = new Float64Array(n);
  for (let at = 0; at < n; at += Math.round(rate * (0.08 + random() * 0.4))) {
    const length = Math.round(rate * 0.004);
    for (let i = 0; i < length && at + i < n; i++) out[at + i] = (random() * 2 - 1) * Math.exp(-i / (length / 4)) * 8;
  }
  return fromFloat(out, -20);
}

/** Music on a radio: a chord progression of triads with harmonics and a plucked envelope per beat. */
export function musicChords(ms: number, rate: Rate, seed = 5): Int16Array {
  const random = seeded(seed);
  const n = Math.round((rate * ms) / 1000);
  const progression = [
    [261.63, 329.63, 392.0],
    [220.0, 261.63, 329.63],
    [174.61, 220.0, 261.63],
    [196.0, 246.94, 293.66],
  ];
  const beat = 0.5;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const chord = progression[Math.floor(t / (beat * 4)) % progression.length]!;
    const sinceBeat = t % beat;
    const envelope = 0.4 + 0.6 * Math.exp(-sinceBeat / 0.2);
    let v = 0;
    for (const f of chord) for (let h = 1; h <= 4; h++) v += Math.sin(2 * Math.PI * f * h * t) / (h * h);
    const bass = Math.sin(2 * Math.PI * (chord[0]! / 2) * t);
    out[i] = (v + bass) * envelope + (random() - 0.5) * 0.02;
  }
  return fromFloat(out, -20);
}

/** Street noise: pink-ish hiss with a car passing (a swell of rumble and tyre noise). */
export function street(ms: number, rate: Rate, seed = 6): Int16Array {
  const random = seeded(seed);
  const n = Math.round((rate * ms) / 1000);
  const hiss = filteredNoise(n, random, 0.15);
  const rumble = filteredNoise(n, random, 0.01);
  const out = new Float64Array(n);
  const passAt = (ms / 1000) * (0.3 + random() * 0.4);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const swell = Math.exp(-((t - passAt) ** 2) / 0.5);
    out[i] = hiss[i]! * (0.5 + swell) + rumble[i]! * 6 * swell;
  }
  return fromFloat(out, -24);
}

/** Wind on the microphone: strong, slowly gusting low-frequency noise. */
export function wind(ms: number, rate: Rate, seed = 7): Int16Array {
  const random = seeded(seed);
  const n = Math.round((rate * ms) / 1000);
  const gusts = filteredNoise(n, random, 0.004);
  const body = filteredNoise(n, random, 0.05);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = body[i]! * (0.3 + Math.abs(gusts[i]!) * 40);
  return fromFloat(out, -18);
}

/** A car horn: two detuned square-ish tones, on for a moment. */
export function horn(rate: Rate): Int16Array {
  const n = Math.round(rate * 0.7);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    let v = 0;
    for (const f of [410, 500]) for (let h = 1; h <= 7; h += 2) v += Math.sin(2 * Math.PI * f * h * t) / h;
    out[i] = v * Math.min(1, t / 0.02, (0.7 - t) / 0.02);
  }
  return fromFloat(out, -16);
}

/** An impact wrench in the garage: bursts of a rattling buzz. */
export function impactWrench(ms: number, rate: Rate, seed = 8): Int16Array {
  const random = seeded(seed);
  const n = Math.round((rate * ms) / 1000);
  const grit = filteredNoise(n, random, 0.5);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const on = Math.floor(t / 0.4) % 2 === 0 ? 1 : 0;
    const rattle = Math.sign(Math.sin(2 * Math.PI * 18 * t)) * 0.5 + 0.5;
    out[i] = on * (grit[i]! * rattle + 0.5 * Math.sin(2 * Math.PI * 140 * t));
  }
  return fromFloat(out, -16);
}

/**
 * Babble that carries no words: several espeak-ng voices, each clip time-reversed and cut into
 * shuffled 60 ms pieces, overlapped, at `dbfs` (default -45: people talking a few metres from a
 * caller's phone; the caller's own voice reaches it 20 dB or more louder).
 */
export function babble(ms: number, rate: Rate, seed = 9, dbfs = -45): Int16Array {
  const random = seeded(seed);
  const lines = [
    ['en-us', 'We can have the car ready by four if the part arrives this morning'],
    ['en-gb+f3', 'The invoice is on the counter next to the keys for the blue truck'],
    ['en-us+m7', 'Somebody left the compressor running in the second bay again today'],
    ['en-us+f4', 'Did you call the customer about the brake pads and the rotors yet'],
  ] as const;
  let out = silence(ms, rate);
  for (const [voice, text] of lines) {
    const reversed = speech(text, rate, { voice }).slice().reverse();
    const piece = Math.round(rate * 0.06);
    const pieces: Int16Array[] = [];
    for (let at = 0; at + piece <= reversed.length; at += piece) pieces.push(reversed.subarray(at, at + piece));
    for (let i = pieces.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
    }
    let garbled = concat(...pieces);
    while (garbled.length < out.length) garbled = concat(garbled, garbled);
    out = mix(out, garbled.subarray(0, out.length), 0);
  }
  return atLevel(out, dbfs);
}

/** The non-speech corpus: name -> sound (about 1-3 s each), none of which may stop the agent. */
export function noiseCorpus(rate: Rate): Array<{ name: string; audio: Int16Array }> {
  return [
    { name: 'engine hum', audio: engineHum(3_000, rate) },
    { name: 'engine hum (diesel)', audio: engineHum(3_000, rate, 11) },
    { name: 'cough', audio: cough(rate) },
    { name: 'cough fit', audio: concat(cough(rate, 12), cough(rate, 13), cough(rate, 14)) },
    { name: 'door slam', audio: doorSlam(rate) },
    { name: 'clicks', audio: clicks(2_000, rate) },
    { name: 'music chords', audio: musicChords(3_000, rate) },
    { name: 'street with a passing car', audio: street(3_000, rate) },
    { name: 'wind gusts', audio: wind(3_000, rate) },
    { name: 'car horn', audio: horn(rate) },
    { name: 'impact wrench', audio: impactWrench(2_000, rate) },
    ...(espeakInstalled() ? [{ name: 'garbled babble', audio: babble(3_000, rate) }] : []),
  ];
}

/**
 * Instance `seed` of a corpus sound: the corpus is deterministic, so each seed starts later in it
 * and is 4 dB quieter (-20, -24, -28 dBFS...). Babble is played as it is, at its own level.
 */
export function noiseInstance(name: string, audio: Int16Array, seed: number): Int16Array {
  if (name.includes('babble')) return audio;
  return atLevel(audio.subarray(Math.floor(audio.length * 0.1 * seed)), -20 - 4 * seed);
}

// ---- the wire ------------------------------------------------------------------------------------

/** PCM16 at 8 kHz as Twilio carries it. */
export function toMulaw(samples: Int16Array): Uint8Array {
  return pcm16ToMulaw(samples);
}

/** Splits a mu-law clip into 20 ms (160-byte) pieces, as Twilio sends media. */
export function mulawFrames(audio: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let at = 0; at < audio.length; at += 160) frames.push(audio.subarray(at, at + 160));
  return frames;
}
