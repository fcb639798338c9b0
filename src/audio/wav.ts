/**
 * WAV (RIFF/WAVE) in and out, for fixtures, recordings and REST TTS responses. Mono PCM16
 * (format code 1) and mu-law (format code 7, 8 bits) are read and written; WAVE_FORMAT_EXTENSIBLE
 * wrapping either is read. Files with several channels are downmixed to mono by averaging the
 * channels (mu-law through PCM16), and `channels` reports how many the file had.
 */
import type { AudioFormat } from '../core/frames.js';
import { decodeMulawSample, encodeMulawSample } from './mulaw.js';

const FORMAT_PCM = 1;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

const FORMAT_NAMES: Record<number, string> = {
  1: 'PCM',
  2: 'Microsoft ADPCM',
  3: 'IEEE float',
  6: 'A-law',
  7: 'mu-law',
  0x11: 'IMA ADPCM',
  0x55: 'MP3',
};

export type WavErrorCode = 'not_wav' | 'malformed' | 'unsupported_format';

export class WavError extends Error {
  readonly code: WavErrorCode;
  constructor(code: WavErrorCode, message: string) {
    super(message);
    this.name = 'WavError';
    this.code = code;
  }
}

export interface DecodedWav {
  /** Encoding and rate of `data`. */
  format: AudioFormat;
  sampleRate: number;
  /** Channels in the file; `data` is always mono (downmixed when this is above 1). */
  channels: number;
  /** Mono audio bytes in `format.encoding`: PCM16 little-endian or mu-law. A copy, safe to keep. */
  data: Uint8Array;
}

function writeAscii(view: DataView, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) view.setUint8(offset + i, text.charCodeAt(i));
}

function readAscii(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!);
}

/**
 * A mono WAV file of `audio`: an Int16Array (only with linear16) or bytes already in
 * `format.encoding` (PCM16 little-endian, or mu-law).
 */
export function encodeWav(audio: Int16Array | Uint8Array, format: AudioFormat): Uint8Array {
  if (!Number.isInteger(format.sampleRate) || format.sampleRate <= 0) {
    throw new RangeError(`encodeWav: sample rate must be a positive integer, got ${format.sampleRate}`);
  }
  let data: Uint8Array;
  if (audio instanceof Int16Array) {
    if (format.encoding !== 'linear16') {
      throw new TypeError(`encodeWav: got Int16Array samples but format.encoding is ${format.encoding}; encode them to mu-law first`);
    }
    data = new Uint8Array(audio.length * 2);
    const dataView = new DataView(data.buffer);
    for (let i = 0; i < audio.length; i++) dataView.setInt16(i * 2, audio[i]!, true);
  } else {
    if (format.encoding === 'linear16' && (audio.length & 1) !== 0) {
      throw new RangeError(`encodeWav: PCM16 data needs an even byte count, got ${audio.length}`);
    }
    data = audio;
  }

  const mulaw = format.encoding === 'mulaw';
  const bitsPerSample = mulaw ? 8 : 16;
  const blockAlign = bitsPerSample / 8;
  // Non-PCM formats carry cbSize (fmt of 18 bytes) and a fact chunk with the sample count, as the
  // spec asks and as sox writes them; some readers reject mu-law files without them.
  const fmtSize = mulaw ? 18 : 16;
  const factSize = mulaw ? 8 + 4 : 0;
  const pad = data.length & 1; // RIFF chunks are word aligned
  const headerSize = 12 + 8 + fmtSize + factSize + 8;
  const out = new Uint8Array(headerSize + data.length + pad);
  const view = new DataView(out.buffer);

  writeAscii(view, 0, 'RIFF');
  view.setUint32(4, out.length - 8, true);
  writeAscii(view, 8, 'WAVE');
  writeAscii(view, 12, 'fmt ');
  view.setUint32(16, fmtSize, true);
  view.setUint16(20, mulaw ? FORMAT_MULAW : FORMAT_PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, format.sampleRate, true);
  view.setUint32(28, format.sampleRate * blockAlign, true);
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, bitsPerSample, true);
  let offset = 36;
  if (mulaw) {
    view.setUint16(offset, 0, true);
    offset += 2;
    writeAscii(view, offset, 'fact');
    view.setUint32(offset + 4, 4, true);
    view.setUint32(offset + 8, data.length, true);
    offset += 12;
  }
  writeAscii(view, offset, 'data');
  view.setUint32(offset + 4, data.length, true);
  out.set(data, offset + 8);
  return out;
}

interface FmtChunk {
  formatCode: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
}

function parseFmt(bytes: Uint8Array, view: DataView, offset: number, size: number): FmtChunk {
  if (size < 16) throw new WavError('malformed', `WAV fmt chunk is ${size} bytes, expected at least 16`);
  if (bytes.length < offset + size) throw new WavError('malformed', 'WAV fmt chunk runs past the end of the file');
  let formatCode = view.getUint16(offset, true);
  const channels = view.getUint16(offset + 2, true);
  const sampleRate = view.getUint32(offset + 4, true);
  const blockAlign = view.getUint16(offset + 12, true);
  const bitsPerSample = view.getUint16(offset + 14, true);
  if (formatCode === FORMAT_EXTENSIBLE) {
    // The real format code is the first two bytes of the SubFormat GUID, at byte 24 of the chunk.
    if (size < 40) throw new WavError('malformed', `WAV extensible fmt chunk is ${size} bytes, expected 40`);
    formatCode = view.getUint16(offset + 24, true);
  }
  return { formatCode, channels, sampleRate, bitsPerSample, blockAlign };
}

/**
 * Read a WAV file. Throws a `WavError`: `not_wav` (no RIFF/WAVE header), `malformed` (missing or
 * broken chunks) or `unsupported_format` (anything but 16-bit PCM or 8-bit mu-law).
 * A data chunk whose declared size runs past the end of the file (a streamed recording that never
 * patched its header) is read up to the end of the file.
 */
export function decodeWav(bytes: Uint8Array): DecodedWav {
  if (bytes.length < 12 || readAscii(bytes, 0) !== 'RIFF' || readAscii(bytes, 8) !== 'WAVE') {
    const what = bytes.length >= 4 && readAscii(bytes, 0) === 'RIFX' ? 'a big-endian RIFX file' : 'no RIFF/WAVE header';
    throw new WavError('not_wav', `not a WAV file: ${what}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: FmtChunk | undefined;
  let dataStart = -1;
  let dataLength = 0;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = readAscii(bytes, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      fmt = parseFmt(bytes, view, body, size);
    } else if (id === 'data') {
      dataStart = body;
      dataLength = Math.min(size, bytes.length - body);
      break;
    }
    offset = body + size + (size & 1);
  }
  if (fmt === undefined) throw new WavError('malformed', 'WAV file has no fmt chunk before its data');
  if (dataStart < 0) throw new WavError('malformed', 'WAV file has no data chunk');

  const { formatCode, channels, sampleRate, bitsPerSample } = fmt;
  const isPcm16 = formatCode === FORMAT_PCM && bitsPerSample === 16;
  const isMulaw = formatCode === FORMAT_MULAW && bitsPerSample === 8;
  if (!isPcm16 && !isMulaw) {
    const name = FORMAT_NAMES[formatCode] ?? `format code ${formatCode}`;
    throw new WavError(
      'unsupported_format',
      `unsupported WAV encoding: ${name}, ${bitsPerSample}-bit; supported are 16-bit PCM and 8-bit mu-law`,
    );
  }
  if (channels < 1) throw new WavError('malformed', `WAV file declares ${channels} channels`);
  if (sampleRate < 1) throw new WavError('malformed', `WAV file declares a sample rate of ${sampleRate}`);

  const bytesPerSample = isPcm16 ? 2 : 1;
  const frameBytes = bytesPerSample * channels;
  // A trailing partial sample frame (a truncated file) is dropped rather than misread.
  const frames = Math.floor(dataLength / frameBytes);
  const format: AudioFormat = { encoding: isPcm16 ? 'linear16' : 'mulaw', sampleRate };

  let data: Uint8Array;
  if (channels === 1) {
    data = bytes.slice(dataStart, dataStart + frames * frameBytes);
  } else {
    data = new Uint8Array(frames * bytesPerSample);
    const out = new DataView(data.buffer);
    for (let f = 0; f < frames; f++) {
      const base = dataStart + f * frameBytes;
      let sum = 0;
      for (let c = 0; c < channels; c++) {
        sum += isPcm16 ? view.getInt16(base + c * 2, true) : decodeMulawSample(bytes[base + c]!);
      }
      const mean = Math.round(sum / channels);
      if (isPcm16) out.setInt16(f * 2, mean, true);
      else data[f] = encodeMulawSample(mean);
    }
  }
  return { format, sampleRate, channels, data };
}
