/**
 * ElevenLabs TTS spoken directly on `ws` (the maintained SDK has no helper for these sockets).
 *
 * - openSession(): the call's multi-stream-input socket, opened as the call starts; each stream
 *   opened from it is one context (a reply, a filler), see multi-context.ts. This is what calls use.
 * - open(): one stream-input socket per stream: the initial `{ text: " " }` message opens the input,
 *   every speakable chunk goes with `flush: true`, `{ text: "" }` ends it, and the server answers
 *   base64 audio chunks, then `isFinal`, then a normal close.
 * - synthesizeOnce(): a whole phrase over the HTTP streaming endpoint (greeting, apology).
 */
import WebSocket from 'ws';
import type { AudioFormat } from '../../core/frames.js';
import { createAsyncQueue } from '../../core/async-queue.js';
import { createSampleAligner } from '../../audio/pcm.js';
import { ProviderError, isAbortError } from '../../core/errors.js';
import { retry } from '../../core/retry.js';
import type { TtsOptions, TtsProvider, TtsSession, TtsStream } from '../tts.js';
import { openContextSession } from './multi-context.js';

const PROVIDER = 'elevenlabs';
const DEFAULT_BASE_URL = 'https://api.elevenlabs.io';
/** ElevenLabs' stock "Rachel" voice, used until the shop picks one. */
export const DEFAULT_VOICE_ID = '21m00Tcm4TlvDq8ikWAM';

/** The configured base (or ElevenLabs') over http(s), whichever scheme it was written with. */
export function elevenLabsHttpBase(baseUrl: string | undefined): string {
  return (baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '').replace(/^ws/, 'http');
}

/** ElevenLabs' auth header. The key goes in a header, never in the URL, so it cannot end up in a logged URL. */
export function elevenLabsAuthHeaders(apiKey: string): Record<string, string> {
  return { 'xi-api-key': apiKey };
}
// ElevenLabs' documented default for `inactivity_timeout`.
const VENDOR_IDLE_TIMEOUT_MS = 20_000;

export interface ElevenLabsVoiceSettings {
  stability: number;
  similarityBoost: number;
  style?: number;
  useSpeakerBoost?: boolean;
  speed?: number;
}

export interface ElevenLabsTtsOptions {
  apiKey: string;
  /** https base of the API (a proxy or an emulator may stand in); the WebSocket base is derived. */
  baseUrl?: string;
  voiceId: string;
  /** e.g. eleven_flash_v2_5 */
  modelId: string;
  /** One connection attempt (handshake + upgrade). */
  connectTimeoutMs?: number;
  /** All of open()'s attempts together. */
  connectBudgetMs?: number;
  /** Text sent (or the input ended) and no audio for this long: the stream fails. */
  audioTimeoutMs?: number;
  /** Sent as `inactivity_timeout` when set; a session keeps its contexts alive well within it. */
  inactivityTimeoutMs?: number;
  voiceSettings?: ElevenLabsVoiceSettings;
  /** generation_config.chunk_length_schedule; rarely matters since every chunk is flushed. */
  chunkLengthSchedule?: number[];
}

export interface ElevenLabsTts extends TtsProvider {
  /** One call's multi-stream-input socket: each stream opened from it is a context (see multi-context.ts). */
  openSession(options: TtsOptions): Promise<TtsSession>;
  /** Whole-phrase synthesis over the HTTP streaming endpoint (greeting, apology, fillers at start-up). */
  synthesizeOnce(text: string, format: AudioFormat, signal: AbortSignal): Promise<Uint8Array>;
  /** Refuses new streams and sessions; those already open are not touched. */
  close(): void;
}

/** The vendor's output_format for one of our AudioFormats, or a clear non-retryable error. */
export function toOutputFormat(format: AudioFormat): string {
  if (format.encoding === 'mulaw' && format.sampleRate === 8000) return 'ulaw_8000';
  if (format.encoding === 'linear16' && [16000, 22050, 24000, 44100].includes(format.sampleRate)) {
    return `pcm_${format.sampleRate}`;
  }
  throw new ProviderError(
    PROVIDER,
    `unsupported audio format ${format.encoding}/${format.sampleRate} Hz (ElevenLabs streams mulaw 8000 or linear16 16000/22050/24000/44100)`,
    { retryable: false },
  );
}

export function createElevenLabsTts(options: ElevenLabsTtsOptions): ElevenLabsTts {
  const httpBase = elevenLabsHttpBase(options.baseUrl);
  const wsBase = httpBase.replace(/^http/, 'ws');
  const connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
  const connectBudgetMs = options.connectBudgetMs ?? Math.max(connectTimeoutMs * 2, 3_000);
  const audioTimeoutMs = options.audioTimeoutMs ?? 5_000;
  const idleTimeoutMs = options.inactivityTimeoutMs ?? VENDOR_IDLE_TIMEOUT_MS;
  const { apiKey } = options;
  let providerClosed = false;

  /** Vendor text may echo what we sent; make sure the key never leaves in an error. */
  const scrub = (text: string): string => (apiKey.length > 0 ? text.split(apiKey).join('[redacted]') : text);
  const providerError = (
    message: string,
    retryable: boolean,
    extra: { status?: number; cause?: unknown } = {},
  ): ProviderError => new ProviderError(PROVIDER, scrub(message), { retryable, ...extra });

  function streamUrl(outputFormat: string, endpoint: 'stream-input' | 'multi-stream-input' = 'stream-input'): string {
    const params = new URLSearchParams({ model_id: options.modelId, output_format: outputFormat });
    if (options.inactivityTimeoutMs !== undefined) {
      params.set('inactivity_timeout', String(Math.round(options.inactivityTimeoutMs / 1000)));
    }
    if (endpoint === 'multi-stream-input') params.set('sync_alignment', 'true');
    return `${wsBase}/v1/text-to-speech/${encodeURIComponent(options.voiceId)}/${endpoint}?${params}`;
  }

  /** What the first message of a stream (or of a context) carries besides its text. */
  function initFields(): Record<string, unknown> {
    const message: Record<string, unknown> = {};
    if (options.voiceSettings) message.voice_settings = voiceSettingsOnTheWire(options.voiceSettings);
    if (options.chunkLengthSchedule) {
      message.generation_config = { chunk_length_schedule: options.chunkLengthSchedule };
    }
    return message;
  }

  function initMessage(): string {
    return JSON.stringify({ text: ' ', ...initFields() });
  }

  /** One connection attempt: resolves with an open socket, its initial message (if any) sent. */
  function connect(outputFormat: string, signal: AbortSignal): Promise<WebSocket> {
    return connectTo(streamUrl(outputFormat), initMessage(), signal);
  }

  function connectTo(url: string, init: string | undefined, signal: AbortSignal): Promise<WebSocket> {
    return new Promise<WebSocket>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const ws = new WebSocket(url, {
        headers: elevenLabsAuthHeaders(apiKey),
        perMessageDeflate: false,
      });
      let settled = false;
      const settle = (error: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        ws.removeAllListeners();
        // A stray late 'error' from a socket we gave up on must not crash the process.
        ws.on('error', () => undefined);
        if (error === undefined) {
          resolve(ws);
        } else {
          ws.terminate();
          reject(error);
        }
      };
      const onAbort = (): void => settle(signal.reason);
      const timer = setTimeout(
        () => settle(providerError(`connection not established within ${connectTimeoutMs} ms`, true)),
        connectTimeoutMs,
      );
      signal.addEventListener('abort', onAbort, { once: true });
      ws.once('unexpected-response', (_request, response) => {
        const status = response.statusCode ?? 0;
        response.resume();
        settle(handshakeError(status));
      });
      ws.once('error', (error) => settle(providerError(`connection failed: ${error.message}`, true, { cause: error })));
      ws.once('close', (code, reason) => settle(closeError(code, reason.toString())));
      ws.once('open', () => {
        if (init !== undefined) {
          ws.send(init, (error) => {
            if (error) settle(providerError(`initial message not sent: ${error.message}`, true));
          });
        }
        settle(undefined);
      });
    });
  }

  function handshakeError(status: number): ProviderError {
    if (status === 401 || status === 403) {
      return providerError(`the API key was refused (HTTP ${status})`, false, { status });
    }
    const retryable = status === 408 || status === 429 || status >= 500;
    return providerError(`WebSocket upgrade refused (HTTP ${status})`, retryable, { status });
  }

  async function connectWithRetry(
    outputFormat: string,
    signal: AbortSignal,
    attempt: (signal: AbortSignal) => Promise<WebSocket> = (attemptSignal) => connect(outputFormat, attemptSignal),
  ): Promise<WebSocket> {
    try {
      return await retry((_attempt, attemptSignal) => attempt(attemptSignal), {
        budgetMs: connectBudgetMs,
        baseDelayMs: 100,
        maxAttempts: 3,
        isRetryable: (error) => error instanceof ProviderError && error.retryable,
        signal,
      });
    } catch (error) {
      if (signal.aborted || error instanceof ProviderError) throw error;
      // The retry budget ran out mid-attempt.
      throw providerError(`could not connect within ${connectBudgetMs} ms`, true, { cause: error });
    }
  }

  // ---- the stream ----

  function createStream(ws: WebSocket, format: AudioFormat, signal: AbortSignal): TtsStream {
    // A consumer that stops reading (break) wants no more audio: that closes the socket too.
    const audio = createAsyncQueue<Uint8Array>({ name: 'TtsStream.audio', onReturn: () => close() });
    let ended = false; // end() called
    let watchdog: NodeJS.Timeout | undefined;
    const aligner = format.encoding === 'linear16' ? createSampleAligner() : undefined;

    /** All audio received, failed, or closed by us: the queue's state is the stream's. */
    const settled = (): boolean => audio.state !== 'open';

    const cleanup = (): void => {
      clearTimeout(watchdog);
      watchdog = undefined;
      signal.removeEventListener('abort', onAbort);
    };

    const fail = (error: ProviderError): void => {
      if (settled()) return;
      audio.fail(error);
      cleanup();
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    };

    const finish = (): void => {
      if (settled()) return;
      audio.end();
      aligner?.reset(); // half a sample is not audio
      cleanup();
      // The server closes after isFinal; closing too means a misbehaving server cannot leak the socket.
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    };

    const armWatchdog = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(
        () => fail(providerError(`no audio within ${audioTimeoutMs} ms`, true)),
        audioTimeoutMs,
      );
    };

    const push = (bytes: Uint8Array): void => {
      // 16-bit PCM must reach consumers whole-sample aligned, whatever the vendor's chunking.
      const chunk = aligner === undefined ? bytes : aligner.align(bytes);
      if (chunk.length > 0) audio.push(chunk);
    };

    ws.on('message', (data, isBinary) => {
      if (settled()) return;
      if (isBinary) return; // the protocol is JSON text frames
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(data.toString()) as Record<string, unknown>;
      } catch {
        fail(providerError('malformed message from the server', true));
        return;
      }
      if (typeof message.audio === 'string' && message.audio.length > 0) {
        push(new Uint8Array(Buffer.from(message.audio, 'base64')));
        // Before end() a quiet spell is the LLM thinking, not a stall; after end() audio must keep coming.
        if (ended) armWatchdog();
        else {
          clearTimeout(watchdog);
          watchdog = undefined;
        }
      }
      if (message.isFinal === true) {
        finish();
        return;
      }
      if (message.audio === undefined && (typeof message.error === 'string' || typeof message.message === 'string')) {
        const text = String(message.message ?? message.error);
        fail(providerError(`server error: ${text}`, !isPermanent(text)));
      }
    });
    ws.on('error', () => undefined); // the close that follows carries the outcome
    ws.on('close', (code, reason) => {
      if (settled()) return;
      if (ended && code === 1000) finish();
      else fail(closeError(code, reason.toString()));
    });

    const close = (): void => {
      if (settled()) return;
      audio.close();
      aligner?.reset();
      cleanup();
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      else ws.terminate();
    };
    const onAbort = (): void => close();
    signal.addEventListener('abort', onAbort, { once: true });

    const send = (payload: Record<string, unknown>): void => {
      if (ws.readyState !== WebSocket.OPEN) return; // the close handler reports why
      ws.send(JSON.stringify(payload));
    };

    if (signal.aborted) close();

    return {
      sendText(text) {
        if (ended) throw new Error('TtsStream.sendText() after end()');
        if (settled() || text.trim().length === 0) return; // "" would end the input
        // ElevenLabs wants each chunk to end with a space, or words run together across chunks.
        const chunk = /\s$/.test(text) ? text : `${text} `;
        send({ text: chunk, flush: true });
        if (!watchdog) armWatchdog();
      },
      end() {
        if (ended) return;
        ended = true;
        if (settled()) return;
        send({ text: '' });
        armWatchdog();
      },
      audio,
      close,
    };
  }

  const provider: ElevenLabsTts = {
    name: PROVIDER,

    async open({ format, signal }: TtsOptions): Promise<TtsStream> {
      if (providerClosed) throw new Error('ElevenLabs TTS provider is closed');
      const outputFormat = toOutputFormat(format);
      if (signal.aborted) throw signal.reason;
      const ws = await connectWithRetry(outputFormat, signal);
      return createStream(ws, format, signal);
    },

    openSession({ format, signal }: TtsOptions) {
      if (providerClosed) return Promise.reject(new Error('ElevenLabs TTS provider is closed'));
      const outputFormat = toOutputFormat(format);
      const url = streamUrl(outputFormat, 'multi-stream-input');
      return openContextSession(
        {
          format,
          connect: (connectSignal) =>
            connectWithRetry(outputFormat, connectSignal, (attemptSignal) => connectTo(url, undefined, attemptSignal)),
          contextInit: initFields(),
          audioTimeoutMs,
          // Twice per inactivity timeout: one late keep-alive still leaves the context open.
          keepAliveMs: idleTimeoutMs / 2,
          error: (message, retryable) => providerError(message, retryable),
          closeError,
        },
        signal,
      );
    },

    async synthesizeOnce(text, format, signal) {
      const outputFormat = toOutputFormat(format);
      const url = `${httpBase}/v1/text-to-speech/${encodeURIComponent(options.voiceId)}/stream?output_format=${outputFormat}`;
      const body: Record<string, unknown> = { text, model_id: options.modelId };
      if (options.voiceSettings) body.voice_settings = voiceSettingsOnTheWire(options.voiceSettings);
      try {
        return await retry(
          async (_attempt, attemptSignal) => {
            let response: Response;
            try {
              response = await fetch(url, {
                method: 'POST',
                headers: { ...elevenLabsAuthHeaders(apiKey), 'content-type': 'application/json', accept: 'audio/*' },
                body: JSON.stringify(body),
                signal: attemptSignal,
              });
            } catch (error) {
              if (isAbortError(error)) throw error;
              throw providerError('synthesis request failed', true, { cause: error });
            }
            if (!response.ok) {
              const detail = await response.text().catch(() => '');
              const status = response.status;
              const retryable = status === 408 || status === 429 || status >= 500;
              const what = status === 401 || status === 403 ? 'the API key was refused' : 'synthesis refused';
              throw providerError(`${what} (HTTP ${status}): ${detail.slice(0, 200)}`, retryable, { status });
            }
            return new Uint8Array(await response.arrayBuffer());
          },
          {
            budgetMs: 15_000,
            maxAttempts: 3,
            baseDelayMs: 200,
            isRetryable: (error) => error instanceof ProviderError && error.retryable,
            signal,
          },
        );
      } catch (error) {
        if (signal.aborted || error instanceof ProviderError) throw error;
        throw providerError('synthesis did not complete in time', true, { cause: error });
      }
    },

    close() {
      providerClosed = true;
    },
  };
  return provider;

  function closeError(code: number, reason: string): ProviderError {
    const detail = reason.length > 0 ? `${code} ${reason}` : String(code);
    if (code === 1006) return providerError(`connection dropped (${detail})`, true);
    if (code === 1008) return providerError(`closed by the server: ${detail}`, !isPermanent(reason));
    return providerError(`closed by the server before the reply was complete (${detail})`, code !== 1003);
  }
}

/** Errors no retry can fix: credentials, quota, a voice or settings the account cannot use. */
function isPermanent(reason: string): boolean {
  return /api[ _-]?key|unauthori[sz]ed|authenticat|permission|forbidden|quota|credits|voice|output format|model/i.test(
    reason,
  );
}

/** Voice settings as both ElevenLabs APIs (stream-input and HTTP stream) spell them. */
function voiceSettingsOnTheWire(vs: ElevenLabsVoiceSettings): Record<string, unknown> {
  return {
    stability: vs.stability,
    similarity_boost: vs.similarityBoost,
    ...(vs.style === undefined ? {} : { style: vs.style }),
    ...(vs.useSpeakerBoost === undefined ? {} : { use_speaker_boost: vs.useSpeakerBoost }),
    ...(vs.speed === undefined ? {} : { speed: vs.speed }),
  };
}
