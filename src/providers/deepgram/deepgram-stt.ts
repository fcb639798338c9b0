/**
 * Deepgram live transcription (`/v1/listen`) behind SttProvider, spoken directly over `ws`.
 *
 * Why not @deepgram/sdk: its socket reconnects on its own schedule (a random 1-5 s first delay that
 * listen.v1.connect cannot tune), throws on sendMedia while reconnecting, reports a refused handshake
 * as a close with code 1000 plus an error carrying only a message (no status, so a bad key cannot be
 * told from an outage), and offers no way to turn off permessage-deflate. With its reconnects off,
 * all it would add is URL building and one header, so the documented protocol is cheaper to own.
 *
 * Nothing is lost across a reconnect: audio sent on a connection is retained until a final result
 * covers it (finals carry `start + duration` in stream seconds), and on a drop the uncovered audio
 * plus whatever arrived during the gap is replayed on the new connection, bounded by maxBufferMs.
 *
 * Fewer messages, nothing later: one WebSocket message per 20 ms frame is most of what a call
 * costs the server (a write each, TLS on the way out). Frames go out in chunks of a kind:
 *   - a quiet line, once it has been quiet for longer than Deepgram's own silence decisions
 *     (endpointing, UtteranceEnd) reach back, in chunks of up to QUIET_CHUNK_MS (Deepgram
 *     recommends 20-250 ms per message), or as soon as a speech_final has covered the last sound
 *     (the turn is decided; the UtteranceEnd still to come changes nothing);
 *   - the caller's voice in chunks of SPEECH_CHUNK_MS: its words arrive at most one frame later;
 *     but frame by frame while `wordsWantedAtOnce()` (the agent talks, and words over it decide
 *     whether it stops: the frame could be the one they wait for; this is seldom for long);
 *   - the quiet right after the voice, on which Deepgram decides that the caller has stopped, one
 *     frame at a time, as it comes: speech_final and UtteranceEnd come no later than they would.
 * A frame of another kind sends what is pending first.
 */
import WebSocket from 'ws';
import type { RawData } from 'ws';
import type { AudioFormat } from '../../core/frames.js';
import { ProviderError, isAbortError } from '../../core/errors.js';
import { retry } from '../../core/retry.js';
import { encodedRms } from '../../audio/loudness.js';
import type { SttEvent, SttOptions, SttProvider, SttStream } from '../stt.js';

export interface DeepgramReconnectOptions {
  /** Connection attempts per outage (and for the first connection), the first one immediate. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Wall-clock limit for one outage, waits and attempts included. */
  budgetMs?: number;
}

export interface DeepgramSttOptions {
  apiKey: string;
  /** ws(s) base of the live API (default wss://api.deepgram.com); the stream is at /v1/listen. */
  baseUrl?: string;
  /** e.g. nova-3 */
  model: string;
  /** BCP-47 tag; Deepgram's default (en) when unset. */
  language?: string;
  /** Silence after speech before `speech_final`; false leaves endpointing to UtteranceEnd. */
  endpointingMs?: number | false;
  /** Gap in words after which Deepgram sends UtteranceEnd (it asks for >= 1000). */
  utteranceEndMs?: number;
  /** Deepgram closes a stream after 10 s with neither audio nor a text message (NET-0001). */
  keepAliveIntervalMs?: number;
  connectTimeoutMs?: number;
  /** How long close() waits for the last results and the server's own close after CloseStream. */
  closeTimeoutMs?: number;
  reconnect?: DeepgramReconnectOptions;
  /** Most audio held for replay (unacknowledged plus sent during a gap); the oldest goes first. */
  maxBufferMs?: number;
}

const DEFAULT_BASE_URL = 'wss://api.deepgram.com';

/** The configured base (or Deepgram's) over `scheme`: the live API is ws(s), its REST API http(s) on the same host. */
export function deepgramBaseUrl(baseUrl: string | undefined, scheme: 'ws' | 'http'): string {
  const base = (baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  return scheme === 'ws' ? base.replace(/^http/, 'ws') : base.replace(/^ws/, 'http');
}

/** Deepgram's auth header: `Token`, not `Bearer`. */
export function deepgramAuthHeaders(apiKey: string): Record<string, string> {
  return { Authorization: `Token ${apiKey}` };
}
const PROVIDER = 'deepgram';
/**
 * A quiet line's audio goes out in chunks of up to this much: the top of the 20-250 ms Deepgram
 * recommends per message, since nothing waits on it (any sound flushes at once).
 */
const QUIET_CHUNK_MS = 250;
/** The caller's voice goes out 40 ms at a time: half the messages of 20 ms frames, words at most 20 ms later. */
const SPEECH_CHUNK_MS = 40;
/** What a chunk holds: a quiet line, the caller's voice, or the quiet Deepgram is deciding on (sent frame by frame). */
type ChunkKind = 'quiet' | 'voice' | 'live';
const CHUNK_MS: Record<ChunkKind, number> = { quiet: QUIET_CHUNK_MS, voice: SPEECH_CHUNK_MS, live: 0 };
/**
 * Below this RMS (of 32768, about -50 dBFS) a frame is a quiet line: far under speech into a phone
 * (-20 to -35 dBFS) and under the quietest background talkers the VAD listens for (-42 dBFS).
 */
const QUIET_RMS = 100;
/** Quiet this long past Deepgram's longest silence decision before frames are held at all. */
const QUIET_MARGIN_MS = 200;
/** Deepgram closes with 1008 when the payload is not decodable audio: reconnecting cannot help. */
const CLOSE_BAD_DATA = 1008;

interface Chunk {
  audio: Uint8Array;
  /** Position in the current connection's audio stream (ms); unused for gap audio. */
  startMs: number;
  durationMs: number;
}

interface WireResults {
  type: 'Results';
  start?: number;
  duration?: number;
  is_final?: boolean;
  speech_final?: boolean;
  from_finalize?: boolean;
  channel?: { alternatives?: Array<{ transcript?: string }> };
}

type WireMessage = WireResults | { type: 'SpeechStarted' | 'UtteranceEnd' | 'Metadata' | string };

export function createDeepgramStt(options: DeepgramSttOptions): SttProvider {
  const baseUrl = deepgramBaseUrl(options.baseUrl, 'ws');
  const endpointing = options.endpointingMs ?? 300;
  const utteranceEndMs = options.utteranceEndMs ?? 1000;
  const keepAliveIntervalMs = options.keepAliveIntervalMs ?? 4000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 2000;
  const maxBufferMs = options.maxBufferMs ?? 10_000;
  const maxAttempts = options.reconnect?.maxAttempts ?? 5;
  const baseDelayMs = options.reconnect?.baseDelayMs ?? 200;
  const maxDelayMs = options.reconnect?.maxDelayMs ?? 2000;
  const budgetMs = options.reconnect?.budgetMs ?? 15_000;
  const apiKey = options.apiKey;

  // The key only travels in a header, but a message from a proxy or the OS could still echo it.
  const scrub = (text: string): string => (apiKey ? text.split(apiKey).join('[redacted]') : text);

  function listenUrl(format: AudioFormat, keyterms: readonly string[] | undefined): string {
    const query = new URLSearchParams({
      model: options.model,
      encoding: format.encoding,
      sample_rate: String(format.sampleRate),
      channels: '1',
      interim_results: 'true',
      endpointing: endpointing === false ? 'false' : String(endpointing),
      utterance_end_ms: String(utteranceEndMs),
      vad_events: 'true',
      smart_format: 'true',
      punctuate: 'true',
    });
    if (options.language) query.set('language', options.language);
    // Nova-3 takes keyterm prompting and refuses the older keywords boosting; older models the reverse.
    const termParam = options.model.startsWith('nova-3') ? 'keyterm' : 'keywords';
    for (const term of new Set((keyterms ?? []).map((t) => t.trim()).filter(Boolean))) query.append(termParam, term);
    return `${baseUrl}/v1/listen?${query.toString()}`;
  }

  /** Opens one socket; settles when it is open, refused, timed out or `signal` aborts. */
  function openSocket(url: string, signal: AbortSignal): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        headers: deepgramAuthHeaders(apiKey),
        perMessageDeflate: false,
        handshakeTimeout: connectTimeoutMs,
      });
      let settled = false;
      const settle = (error: Error | undefined): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (error === undefined) {
          resolve(ws);
          return;
        }
        ws.removeAllListeners('open');
        ws.on('error', () => undefined);
        if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
        reject(error);
      };
      const onAbort = (): void => settle(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      ws.once('open', () => settle(undefined));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        const detail = res.headers['dg-error'];
        const reason = typeof detail === 'string' && detail ? ` (${scrub(detail)})` : '';
        settle(
          new ProviderError(PROVIDER, `Deepgram refused the stream: HTTP ${status}${reason}`, {
            status,
            // 401/403: bad key; 400: bad parameters. Only overload and outages pass with time.
            retryable: status === 408 || status === 429 || status >= 500,
          }),
        );
      });
      ws.on('error', (error: Error & { code?: string }) => {
        const what = error.code ?? scrub(error.message);
        settle(new ProviderError(PROVIDER, `Could not reach Deepgram: ${what}`, { retryable: true }));
      });
      ws.once('close', () => settle(new ProviderError(PROVIDER, 'Deepgram closed the stream while opening', { retryable: true })));
    });
  }

  async function connect(sttOptions: SttOptions, onEvent: (event: SttEvent) => void): Promise<SttStream> {
    const { format, signal } = sttOptions;
    if (signal.aborted) throw signal.reason;
    const url = listenUrl(format, sttOptions.keyterms);
    const bytesPerMs = (format.sampleRate * (format.encoding === 'mulaw' ? 1 : 2)) / 1000;
    const lifetime = new AbortController();
    const lifetimeSignal = AbortSignal.any([signal, lifetime.signal]);

    let phase: 'open' | 'reconnecting' | 'closing' | 'closed' = 'open';
    let ws: WebSocket | undefined;
    /** Audio sent on the current connection that no final result has covered yet. */
    let retained: Chunk[] = [];
    /** Audio that arrived while there was no connection. */
    let backlog: Chunk[] = [];
    let bufferedMs = 0;
    let sentMs = 0;
    let pendingFinalize = false;
    let closing: Promise<void> | undefined;
    let closedBySocket: (() => void) | undefined;
    // Quiet-line coalescing, on the audio clock (ms of audio given to sendAudio).
    const holdAfterQuietMs = Math.max(endpointing === false ? 0 : endpointing, utteranceEndMs) + QUIET_MARGIN_MS;
    let audioClockMs = 0;
    let lastSoundAtMs = 0;
    /** Frames of one kind waiting to go out together, copied into the array that will be sent (and maybe replayed). */
    let pending: { audio: Uint8Array; bytes: number; kind: ChunkKind } | undefined;
    /** Where the last sound sent ends in this connection's stream (ms); Infinity when not known there. */
    let lastSoundEndMs = Number.POSITIVE_INFINITY;
    /** A speech_final has covered the last sound: Deepgram has decided the turn, the line may be held. */
    let endpointed = false;

    const emit = (event: SttEvent): void => {
      if (phase !== 'closed') onEvent(event);
    };

    const keepAlive = setTimeout(function tick() {
      if (phase === 'open') sendText({ type: 'KeepAlive' });
      keepAlive.refresh();
    }, keepAliveIntervalMs);
    keepAlive.unref();

    function sendText(message: { type: string }): void {
      if (ws?.readyState !== WebSocket.OPEN) return;
      ws.send(JSON.stringify(message));
      keepAlive.refresh();
    }

    /** Hands what is pending to the connection (or its backlog) as one chunk. */
    function flush(): void {
      if (pending === undefined) return;
      const { audio, bytes, kind } = pending;
      pending = undefined;
      send({ audio: audio.subarray(0, bytes), startMs: 0, durationMs: bytes / bytesPerMs });
      if (kind === 'voice') lastSoundEndMs = ws?.readyState === WebSocket.OPEN ? sentMs : Number.POSITIVE_INFINITY;
    }

    /** Adds a frame to the pending chunk, which leaves once a frame like this one would take it over `limitMs`. */
    function add(audio: Uint8Array, kind: ChunkKind, limitMs = CHUNK_MS[kind]): void {
      if (pending !== undefined && (pending.kind !== kind || pending.bytes + audio.length > pending.audio.length)) flush();
      // One array per chunk, not a copy per frame: the caller may reuse its buffer, and the chunk may be replayed.
      pending ??= { audio: new Uint8Array(Math.max(audio.length, Math.floor(limitMs * bytesPerMs))), bytes: 0, kind };
      pending.audio.set(audio, pending.bytes);
      pending.bytes += audio.length;
      if ((pending.bytes + audio.length) / bytesPerMs > limitMs) flush();
    }

    /** New audio: counted against maxBufferMs, then sent (or kept for the next connection). */
    function send(chunk: Chunk): void {
      bufferedMs += chunk.durationMs;
      transmit(chunk);
      bound();
    }

    function transmit(chunk: Chunk): void {
      if (ws?.readyState !== WebSocket.OPEN) {
        backlog.push(chunk);
        return;
      }
      ws.send(chunk.audio);
      keepAlive.refresh();
      retained.push({ ...chunk, startMs: sentMs });
      sentMs += chunk.durationMs;
    }

    /** Keeps the replayable audio within maxBufferMs, dropping the oldest (retained before backlog). */
    function bound(): void {
      while (bufferedMs > maxBufferMs) {
        const dropped = retained.shift() ?? backlog.shift();
        if (!dropped) break;
        bufferedMs -= dropped.durationMs;
      }
    }

    /** A final result settles the audio up to its end: nothing before it needs replaying. */
    function acknowledge(untilMs: number): void {
      while (retained.length > 0) {
        const first = retained[0] as Chunk;
        if (first.startMs + first.durationMs > untilMs + 1) break;
        retained.shift();
        bufferedMs -= first.durationMs;
      }
    }

    function onMessage(data: RawData, isBinary: boolean): void {
      if (isBinary || phase === 'closed') return;
      let message: WireMessage;
      try {
        message = JSON.parse(data.toString()) as WireMessage;
      } catch {
        return;
      }
      const atMs = performance.now();
      if (message.type === 'Results') {
        const results = message as WireResults;
        const text = results.channel?.alternatives?.[0]?.transcript ?? '';
        const isFinal = results.is_final === true;
        const speechFinal = results.speech_final === true;
        if (isFinal) {
          const endMs = ((results.start ?? 0) + (results.duration ?? 0)) * 1000;
          acknowledge(endMs);
          if (speechFinal && endMs + 1 >= lastSoundEndMs) endpointed = true;
        }
        // Empty interims are noise; an empty final still matters when it ends the turn or answers Finalize.
        if (text === '' && !(isFinal && (speechFinal || results.from_finalize === true))) return;
        emit({ type: 'transcript', text, isFinal, speechFinal, atMs });
      } else if (message.type === 'SpeechStarted') {
        emit({ type: 'speech_started', atMs });
      } else if (message.type === 'UtteranceEnd') {
        emit({ type: 'utterance_end', atMs });
      }
    }

    function attach(socket: WebSocket): void {
      ws = socket;
      sentMs = 0;
      // Positions in the old stream mean nothing in this one: the timer decides until the next sound.
      lastSoundEndMs = Number.POSITIVE_INFINITY;
      endpointed = false;
      socket.on('message', onMessage);
      socket.on('error', () => undefined);
      socket.once('close', (code: number, reason: Buffer) => {
        if (socket !== ws) return;
        ws = undefined;
        if (phase === 'closing' || phase === 'closed') {
          closedBySocket?.();
          return;
        }
        if (code === CLOSE_BAD_DATA) {
          const why = scrub(reason.toString()) || 'the audio could not be decoded';
          fail(new ProviderError(PROVIDER, `Deepgram closed the stream: ${why}`, { retryable: false }));
          return;
        }
        void reconnect();
      });
    }

    async function reconnect(): Promise<void> {
      phase = 'reconnecting';
      // Unacknowledged audio goes back in front of what arrives during the gap.
      backlog = [...retained, ...backlog];
      retained = [];
      let attempts = 0;
      let socket: WebSocket;
      try {
        socket = await retry(
          (attempt, attemptSignal) => {
            attempts = attempt;
            return openSocket(url, attemptSignal);
          },
          {
            budgetMs,
            baseDelayMs,
            maxDelayMs,
            maxAttempts,
            isRetryable: (error) => !(error instanceof ProviderError) || error.retryable,
            signal: lifetimeSignal,
          },
        );
      } catch (error) {
        if (phase !== 'reconnecting') return;
        const why = isAbortError(error) ? 'timed out' : scrub(error instanceof Error ? error.message : String(error));
        const status = error instanceof ProviderError ? error.status : undefined;
        fail(
          new ProviderError(PROVIDER, `Lost the Deepgram stream and could not reconnect (${attempts} attempts): ${why}`, {
            retryable: false,
            ...(status === undefined ? {} : { status }),
          }),
        );
        return;
      }
      if (phase !== 'reconnecting') {
        socket.terminate();
        return;
      }
      phase = 'open';
      attach(socket);
      const replay = backlog;
      backlog = [];
      for (const chunk of replay) transmit(chunk);
      if (pendingFinalize) {
        pendingFinalize = false;
        sendText({ type: 'Finalize' });
      }
      emit({ type: 'reconnected', attempt: attempts, atMs: performance.now() });
    }

    function fail(error: Error): void {
      emit({ type: 'error', error, atMs: performance.now() });
      shutdown();
    }

    /** Stops everything at once; no event is emitted afterwards. */
    function shutdown(): void {
      if (phase === 'closed') return;
      phase = 'closed';
      clearTimeout(keepAlive);
      signal.removeEventListener('abort', shutdown);
      lifetime.abort();
      retained = [];
      backlog = [];
      pending = undefined;
      bufferedMs = 0;
      const socket = ws;
      ws = undefined;
      if (socket && socket.readyState === WebSocket.OPEN) socket.close(1000);
      else socket?.terminate();
    }

    try {
      const first = await retry((_attempt, attemptSignal) => openSocket(url, attemptSignal), {
        budgetMs,
        baseDelayMs,
        maxDelayMs,
        maxAttempts,
        isRetryable: (error) => !(error instanceof ProviderError) || error.retryable,
        signal,
      });
      attach(first);
    } catch (error) {
      clearTimeout(keepAlive);
      if (signal.aborted) throw signal.reason;
      if (isAbortError(error)) throw new ProviderError(PROVIDER, 'Timed out connecting to Deepgram', { retryable: true });
      throw error;
    }
    signal.addEventListener('abort', shutdown, { once: true });

    return {
      sendAudio(audio, rms) {
        if (phase === 'closing' || phase === 'closed' || audio.length === 0) return;
        const durationMs = audio.length / bytesPerMs;
        audioClockMs += durationMs;
        const sound = (rms ?? encodedRms(audio, format.encoding)) >= QUIET_RMS;
        if (sound) {
          lastSoundAtMs = audioClockMs;
          endpointed = false;
          // Not in the stream until it is sent (flush() says where it ends).
          lastSoundEndMs = Number.POSITIVE_INFINITY;
        }
        if (sound) add(audio, 'voice', sttOptions.wordsWantedAtOnce?.() === true ? 0 : SPEECH_CHUNK_MS);
        // After the voice, Deepgram decides on the quiet whether the caller has stopped: that goes as it comes.
        else add(audio, endpointed || audioClockMs - lastSoundAtMs > holdAfterQuietMs ? 'quiet' : 'live');
      },
      finalize() {
        // Deepgram finalises what it has been sent: what is pending goes first.
        flush();
        if (phase === 'open') sendText({ type: 'Finalize' });
        else if (phase === 'reconnecting') pendingFinalize = true;
      },
      close() {
        closing ??= (async () => {
          const socket = ws;
          if (phase === 'open' && socket?.readyState === WebSocket.OPEN) {
            flush();
            phase = 'closing';
            const closed = new Promise<void>((resolve) => {
              closedBySocket = resolve;
              setTimeout(resolve, closeTimeoutMs).unref();
            });
            // Deepgram answers with the last results and Metadata, then closes the socket itself.
            socket.send(JSON.stringify({ type: 'CloseStream' }));
            await closed;
          }
          shutdown();
        })();
        return closing;
      },
    };
  }

  return { name: PROVIDER, connect };
}
