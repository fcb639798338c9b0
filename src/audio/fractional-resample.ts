/**
 * Resampling PCM16 between any two rates (22050 Hz espeak-ng output to 8 or 16 kHz; the CLI
 * harness's WAV files of any rate to its 16 kHz).
 *
 * Going down, a windowed-sinc low-pass at the input rate first removes what lies above the new
 * Nyquist (it would fold back as aliasing); then every output sample is read off the line between
 * the two input samples around its position. Linear interpolation is a mild low-pass of its own,
 * which is fine for speech. Filter history and the fractional read position carry across chunks,
 * so a stream resampled chunk by chunk equals the whole buffer resampled at once.
 */

export interface FractionalResampler {
  readonly fromRate: number;
  readonly toRate: number;
  /** Resample the next chunk; returns a new array (possibly empty for a tiny chunk). */
  process(samples: Int16Array): Int16Array;
  /** Forget the history: the next chunk starts a new stream. */
  reset(): void;
}

/** Taps either side of the centre of the anti-alias filter: 97 taps, a transition band of ~1.5% of the input rate. */
const HALF_TAPS = 48;
/** Cut-off as a fraction of the new Nyquist, so the transition band ends near it. */
const CUTOFF_FRACTION = 0.9;

/** A Blackman-windowed sinc low-pass with `cutoff` in cycles per sample, unity gain at DC. */
export function designLowPass(cutoff: number, halfTaps: number = HALF_TAPS): Float64Array {
  if (!(cutoff > 0 && cutoff < 0.5)) throw new RangeError(`designLowPass: cutoff must be in (0, 0.5) cycles per sample, got ${cutoff}`);
  const length = 2 * halfTaps + 1;
  const taps = new Float64Array(length);
  let sum = 0;
  for (let n = 0; n < length; n++) {
    const t = n - halfTaps;
    const sinc = t === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * t) / (Math.PI * t);
    const x = (2 * Math.PI * n) / (length - 1);
    const window = 0.42 - 0.5 * Math.cos(x) + 0.08 * Math.cos(2 * x);
    taps[n] = sinc * window;
    sum += taps[n]!;
  }
  for (let n = 0; n < length; n++) taps[n] = taps[n]! / sum;
  return taps;
}

export function createFractionalResampler(fromRate: number, toRate: number): FractionalResampler {
  if (!(fromRate > 0) || !(toRate > 0) || !Number.isFinite(fromRate) || !Number.isFinite(toRate)) {
    throw new RangeError(`createFractionalResampler: rates must be positive, got ${fromRate} -> ${toRate}`);
  }
  const step = fromRate / toRate; // input samples per output sample
  const taps = toRate < fromRate ? designLowPass((CUTOFF_FRACTION * 0.5 * toRate) / fromRate) : undefined;
  const historyLength = taps === undefined ? 0 : taps.length - 1;
  let history = new Float64Array(historyLength);
  // The last filtered sample of the previous chunk, and where the next output falls, counted in
  // input samples from that sample (so 1 means "the first sample of the next chunk").
  let previous = 0;
  let position = 1;

  function filter(samples: Int16Array): Float64Array {
    if (taps === undefined) return Float64Array.from(samples);
    const n = samples.length;
    const work = new Float64Array(historyLength + n);
    work.set(history);
    for (let i = 0; i < n; i++) work[historyLength + i] = samples[i]!;
    const out = new Float64Array(n);
    // Causal: output i is centred HALF_TAPS samples back. The fixed delay (2 ms at 22 kHz) is harmless.
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let k = 0; k < taps.length; k++) acc += taps[k]! * work[i + k]!;
      out[i] = acc;
    }
    history = work.slice(n, n + historyLength);
    return out;
  }

  return {
    fromRate,
    toRate,
    process(samples) {
      if (fromRate === toRate) return Int16Array.from(samples);
      const x = filter(samples);
      const n = x.length;
      const out: number[] = [];
      // Extended index e: e[0] = previous, e[i] = x[i-1]; positions up to n are readable.
      while (position <= n) {
        const i = Math.floor(position);
        const frac = position - i;
        const a = i === 0 ? previous : x[i - 1]!;
        const b = frac === 0 ? a : x[i]!;
        const y = Math.round(a + (b - a) * frac);
        out.push(y > 32767 ? 32767 : y < -32768 ? -32768 : y);
        position += step;
      }
      if (n > 0) {
        previous = x[n - 1]!;
        position -= n;
      }
      return Int16Array.from(out);
    },
    reset() {
      history = new Float64Array(historyLength);
      previous = 0;
      position = 1;
    },
  };
}

/** One-shot: resample a whole buffer between any two rates. */
export function resampleAny(samples: Int16Array, fromRate: number, toRate: number): Int16Array {
  return createFractionalResampler(fromRate, toRate).process(samples);
}
