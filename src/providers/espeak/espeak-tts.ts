/**
 * Offline speech: a TtsProvider that runs the local espeak-ng binary, one process per queued
 * chunk, in order. espeak-ng writes a streaming WAV (22050 Hz PCM16, header sizes left open) to
 * stdout; the header is read once per process, the samples are resampled to the requested rate
 * as they arrive and, for phone calls, encoded to mu-law. Robotic, but it needs no account and
 * no network. Closing the stream (barge-in) kills the running process.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { AudioFormat } from '../../core/frames.js';
import { createAsyncQueue } from '../../core/async-queue.js';
import { ProviderError } from '../../core/errors.js';
import { createFractionalResampler } from '../../audio/fractional-resample.js';
import type { FractionalResampler } from '../../audio/fractional-resample.js';
import { pcm16ToMulaw } from '../../audio/mulaw.js';
import { pcm16FromBytes, pcm16ToBytes } from '../../audio/pcm.js';
import { decodeWav } from '../../audio/wav.js';
import type { TtsOptions, TtsProvider, TtsStream } from '../tts.js';

export interface EspeakTtsOptions {
  /** Path of espeak-ng; by default /usr/bin/espeak-ng, else the first on `searchPath`. */
  binary?: string;
  /** An espeak-ng voice, e.g. 'en-us' (the default) or 'en-gb'. */
  voice?: string;
  /** Speaking rate; espeak-ng's default is 175. */
  wordsPerMinute?: number;
  /** Directories to look in when no binary is given and /usr/bin has none (default: the PATH). */
  searchPath?: readonly string[];
}

const DEFAULT_BINARY = '/usr/bin/espeak-ng';
const PROVIDER = 'espeak-ng';

/**
 * The espeak-ng executable to use, or undefined when there is none: `binary` when given, else
 * /usr/bin/espeak-ng, else one in `searchPath`, else whatever the PATH of the process finds
 * (asked of the operating system by running it, so nothing here reads the environment).
 */
export function findEspeak(binary?: string, searchPath?: readonly string[]): string | undefined {
  if (binary !== undefined) return isExecutable(binary) ? binary : undefined;
  if (isExecutable(DEFAULT_BINARY)) return DEFAULT_BINARY;
  if (searchPath !== undefined) return searchPath.map((dir) => join(dir, 'espeak-ng')).find(isExecutable);
  const probe = spawnSync('espeak-ng', ['--version'], { stdio: 'ignore', timeout: 3_000 });
  return probe.status === 0 ? 'espeak-ng' : undefined;
}

/** Whether espeak-ng can be run: a synchronous check, cheap enough for start-up wiring. */
export function espeakAvailable(binary?: string, searchPath?: readonly string[]): boolean {
  return findEspeak(binary, searchPath) !== undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function createEspeakTts(options: EspeakTtsOptions = {}): TtsProvider {
  const voice = options.voice ?? 'en-us';
  const wordsPerMinute = options.wordsPerMinute ?? 170;
  if (!/^[a-zA-Z0-9_+-]{1,40}$/.test(voice)) throw new RangeError(`espeak-ng voice "${voice}" is not a voice name`);
  if (!Number.isInteger(wordsPerMinute) || wordsPerMinute < 80 || wordsPerMinute > 450) {
    throw new RangeError(`espeak-ng wordsPerMinute must be an integer from 80 to 450, got ${wordsPerMinute}`);
  }
  let binary: string | undefined;
  return {
    name: 'espeak-ng',
    async open(tts) {
      if (tts.signal.aborted) throw tts.signal.reason;
      // Looked up on first use and kept: the check runs a process when it has to search the PATH.
      binary ??= findEspeak(options.binary, options.searchPath);
      if (binary === undefined) {
        throw new ProviderError(PROVIDER, `espeak-ng not found${options.binary ? ` at ${options.binary}` : ''}`, {
          retryable: false,
        });
      }
      return openStream(binary, ['-v', voice, '-s', String(wordsPerMinute)], tts);
    },
  };
}

type EspeakProcess = ChildProcessByStdio<Writable, Readable, Readable>;

function openStream(binary: string, args: readonly string[], { format, signal }: TtsOptions): TtsStream {
  assertFormat(format);
  const texts = createAsyncQueue<string>();
  // A consumer that stops early (barge-in) must not leave a process talking to nobody.
  const audio = createAsyncQueue<Uint8Array>({ name: 'TtsStream.audio', onReturn: () => close() });
  let ended = false;
  let closed = false;
  let current: EspeakProcess | undefined;

  const close = (): void => {
    if (closed) return;
    closed = true;
    texts.close();
    audio.close();
    current?.kill('SIGKILL');
    signal.removeEventListener('abort', close);
  };
  signal.addEventListener('abort', close, { once: true });

  void (async () => {
    try {
      for await (const text of texts) {
        await synthesize(binary, args, text, format, (chunk) => audio.push(chunk), (process) => {
          current = process;
          if (closed) process.kill('SIGKILL');
        });
        current = undefined;
      }
      audio.end();
    } catch (error) {
      audio.fail(error); // ignored once closed
    }
  })();

  return {
    sendText(text) {
      if (ended) throw new Error('TtsStream.sendText() after end()');
      if (closed) return;
      // Spoken words only: espeak-ng would read markup-ish characters out loud.
      const clean = text.replace(/[<>[\]{}*_#`|\\]/g, ' ').replace(/\s+/g, ' ').trim();
      if (clean === '') return;
      texts.push(clean);
    },
    end() {
      ended = true;
      texts.end();
    },
    audio,
    close,
  };
}

function assertFormat(format: AudioFormat): void {
  if (format.encoding !== 'linear16' && format.encoding !== 'mulaw') {
    throw new ProviderError(PROVIDER, `unsupported output encoding ${String(format.encoding)}`, { retryable: false });
  }
  if (!Number.isInteger(format.sampleRate) || format.sampleRate < 4000 || format.sampleRate > 96000) {
    throw new ProviderError(PROVIDER, `unsupported output sample rate ${format.sampleRate}`, { retryable: false });
  }
}

/** Runs espeak-ng on one text, handing over audio in `format` as it comes; resolves at exit. */
function synthesize(
  binary: string,
  args: readonly string[],
  text: string,
  format: AudioFormat,
  onAudio: (audio: Uint8Array) => void,
  onSpawn: (process: EspeakProcess) => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // The text goes in on stdin, never as an argument: a sentence starting with "-" is not an option.
    const child = spawn(binary, ['--stdout', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    onSpawn(child);
    let header: Buffer = Buffer.alloc(0);
    let resampler: FractionalResampler | undefined;
    let oddByte: number | undefined;
    let stderr = '';
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(error);
    };

    const emitPcm = (bytes: Uint8Array): void => {
      let data = bytes;
      if (oddByte !== undefined) {
        data = new Uint8Array(bytes.length + 1);
        data[0] = oddByte;
        data.set(bytes, 1);
        oddByte = undefined;
      }
      if (data.length % 2 === 1) {
        oddByte = data[data.length - 1];
        data = data.subarray(0, data.length - 1);
      }
      if (data.length === 0 || resampler === undefined) return;
      const samples = resampler.process(pcm16FromBytes(data));
      if (samples.length === 0) return;
      onAudio(format.encoding === 'mulaw' ? pcm16ToMulaw(samples) : pcm16ToBytes(samples));
    };

    child.stdout.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (resampler !== undefined) {
        emitPcm(chunk);
        return;
      }
      header = Buffer.concat([header, chunk]);
      const dataStart = findDataStart(header);
      if (dataStart === undefined) {
        if (header.length > 4096) fail(new ProviderError(PROVIDER, 'espeak-ng output has no WAV data chunk', { retryable: false }));
        return;
      }
      try {
        const wav = decodeWav(header.subarray(0, dataStart));
        if (wav.format.encoding !== 'linear16') throw new Error(`espeak-ng wrote ${wav.format.encoding}, expected PCM16`);
        resampler = createFractionalResampler(wav.sampleRate, format.sampleRate);
      } catch (error) {
        fail(new ProviderError(PROVIDER, `espeak-ng output is not readable WAV: ${(error as Error).message}`, { retryable: false, cause: error }));
        return;
      }
      emitPcm(header.subarray(dataStart));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 2000) stderr += chunk.toString('utf8');
    });
    child.on('error', (error) => fail(new ProviderError(PROVIDER, `espeak-ng could not be started: ${error.message}`, { retryable: false, cause: error })));
    child.on('close', (code, killedBy) => {
      if (settled) return;
      settled = true;
      if (killedBy === 'SIGKILL') resolve();
      else if (code !== 0) reject(new ProviderError(PROVIDER, `espeak-ng exited with ${code ?? killedBy}: ${stderr.trim().slice(0, 200)}`, { retryable: false }));
      else resolve();
    });
    child.stdin.on('error', () => {
      // EPIPE when the process was killed first: the close handler reports what matters.
    });
    child.stdin.end(`${text}\n`);
  });
}

/** Offset just past the 'data' chunk header, once the buffer holds it. */
function findDataStart(bytes: Buffer): number | undefined {
  if (bytes.length < 12) return undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    if (id === 'data') return offset + 8;
    offset += 8 + size + (size & 1);
  }
  return undefined;
}
