/**
 * PCM16 helpers: little-endian bytes <-> samples, loudness, and byte/duration arithmetic for the
 * two wire formats (mu-law: 1 byte a sample; linear16: 2 bytes a sample).
 */
import type { AudioFormat } from '../core/frames.js';

// Typed arrays use the host's byte order; on the (little-endian) hosts we run on, a byte copy is
// the whole conversion, and a big-endian host falls back to explicit byte assembly.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertEven(byteLength: number, fn: string): void {
  if ((byteLength & 1) !== 0) throw new RangeError(`${fn}: PCM16 needs an even byte count, got ${byteLength}`);
}

/**
 * PCM16 little-endian bytes -> samples written into `out` at `outOffset`; returns samples written.
 * Works for any `byteOffset` (odd offsets into a Node Buffer pool included).
 */
export function pcm16FromBytesInto(bytes: Uint8Array, out: Int16Array, outOffset = 0): number {
  assertEven(bytes.length, 'pcm16FromBytesInto');
  const n = bytes.length >> 1;
  if (outOffset < 0 || outOffset + n > out.length) {
    throw new RangeError(`pcm16FromBytesInto: need ${n} samples at offset ${outOffset}, output holds ${out.length}`);
  }
  if (HOST_IS_LITTLE_ENDIAN) {
    // A byte-wise copy through a Uint8Array view of the destination: a memcpy, and alignment-free.
    new Uint8Array(out.buffer, out.byteOffset + outOffset * 2, n * 2).set(bytes);
  } else {
    for (let i = 0, b = 0; i < n; i++, b += 2) out[outOffset + i] = bytes[b]! | (bytes[b + 1]! << 8);
  }
  return n;
}

/** PCM16 little-endian bytes -> a new Int16Array (a copy: safe to keep, aligned). */
export function pcm16FromBytes(bytes: Uint8Array): Int16Array {
  assertEven(bytes.length, 'pcm16FromBytes');
  const out = new Int16Array(bytes.length >> 1);
  pcm16FromBytesInto(bytes, out);
  return out;
}

/** Samples -> PCM16 little-endian bytes written into `out` at byte `outOffset`; returns bytes written. */
export function pcm16ToBytesInto(samples: Int16Array, out: Uint8Array, outOffset = 0): number {
  const byteCount = samples.length * 2;
  if (outOffset < 0 || outOffset + byteCount > out.length) {
    throw new RangeError(`pcm16ToBytesInto: need ${byteCount} bytes at offset ${outOffset}, output holds ${out.length}`);
  }
  if (HOST_IS_LITTLE_ENDIAN) {
    out.set(new Uint8Array(samples.buffer, samples.byteOffset, byteCount), outOffset);
  } else {
    for (let i = 0, o = outOffset; i < samples.length; i++, o += 2) {
      const s = samples[i]!;
      out[o] = s & 0xff;
      out[o + 1] = (s >> 8) & 0xff;
    }
  }
  return byteCount;
}

/** Samples -> a new buffer of PCM16 little-endian bytes. */
export function pcm16ToBytes(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  pcm16ToBytesInto(samples, out);
  return out;
}

/** Root mean square of the samples, in sample units (0..32768); 0 for no samples. */
export function rms(samples: Int16Array): number {
  const n = samples.length;
  if (n === 0) return 0;
  let sumSquares = 0;
  for (let i = 0; i < n; i++) {
    const s = samples[i]!;
    sumSquares += s * s;
  }
  return Math.sqrt(sumSquares / n);
}

/** RMS relative to full scale in dBFS (a full-scale square wave is 0; silence is -Infinity). */
export function rmsDbfs(samples: Int16Array): number {
  return 20 * Math.log10(rms(samples) / 32768);
}

/** Bytes one sample takes in this format: 1 for mu-law, 2 for linear16. */
export function bytesPerSample(format: AudioFormat): number {
  return format.encoding === 'mulaw' ? 1 : 2;
}

/** Bytes per millisecond of audio: 8 for mu-law 8 kHz, 32 for linear16 16 kHz. May be fractional (11025 Hz). */
export function bytesPerMs(format: AudioFormat): number {
  return (format.sampleRate * bytesPerSample(format)) / 1000;
}

/** Playing time of `bytes` (a buffer or a byte count) in this format, in ms. */
export function durationMs(bytes: Uint8Array | number, format: AudioFormat): number {
  const byteLength = typeof bytes === 'number' ? bytes : bytes.length;
  return byteLength / bytesPerMs(format);
}

/** Bytes holding `ms` of audio, rounded down to whole samples (20 ms: 160 mu-law 8k, 640 linear16 16k). */
export function bytesForMs(ms: number, format: AudioFormat): number {
  const samples = Math.floor((ms * format.sampleRate) / 1000 + 1e-9);
  return samples * bytesPerSample(format);
}

/** Joins byte chunks into one buffer. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Re-chunks a byte stream of 16-bit PCM so every piece holds whole samples, whatever the sender's
 * chunking: an odd trailing byte waits for the next chunk. `reset()` drops a held half sample
 * (at the end of a stream it is not audio).
 */
export function createSampleAligner(): { align(bytes: Uint8Array): Uint8Array; reset(): void } {
  let carry: Uint8Array | undefined;
  return {
    align(bytes) {
      let chunk = bytes;
      if (carry) {
        chunk = concatBytes([carry, chunk]);
        carry = undefined;
      }
      if (chunk.length % 2 === 1) {
        carry = chunk.slice(chunk.length - 1);
        chunk = chunk.subarray(0, chunk.length - 1);
      }
      return chunk;
    },
    reset() {
      carry = undefined;
    },
  };
}
