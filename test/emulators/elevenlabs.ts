/**
 * A protocol-level emulator of ElevenLabs text-to-speech on 127.0.0.1: the stream-input WebSocket
 * (`/v1/text-to-speech/{voice_id}/stream-input`) and the HTTP streaming endpoint
 * (`POST /v1/text-to-speech/{voice_id}/stream`). It speaks the documented wire formats:
 *
 * - client -> server JSON: first `{ text: " ", voice_settings?, generation_config?, xi_api_key? }`
 *   (the key may come in the `xi-api-key` header instead), then `{ text, flush?, try_trigger_generation? }`,
 *   and `{ text: "" }` to end the input;
 * - server -> client JSON: `{ audio: <base64>, isFinal: null, normalizedAlignment, alignment }` per
 *   chunk, then `{ audio: null, isFinal: true }` once the input has ended and its audio is out, then
 *   a normal close;
 * - errors are closes with 1008 (policy violation) and a reason (a wrong key, the 20 s inactivity
 *   timeout); the HTTP endpoint answers a wrong key with 401 `{ detail: { status, message } }`.
 *
 * The "speech" is a quiet 440 Hz tone (so energy-based checks see it), `msPerChar` long per
 * character, in the requested output_format, cut into `chunkMs` chunks.
 *
 * The multi-context WebSocket (`/v1/text-to-speech/{voice_id}/multi-stream-input`) carries several
 * synthesis contexts on one socket, as documented:
 *
 * - client -> server JSON: `{ text, context_id, voice_settings?, generation_config?, xi_api_key? }`
 *   creates a context on its first message (a context_id not given means the default context), then
 *   `{ text, context_id, flush? }` appends (and with flush generates what is buffered),
 *   `{ text: "", context_id }` keeps a context alive (resets the inactivity timeout, says nothing),
 *   `{ context_id, close_context: true }` closes one (text it had already been asked to flush is still
 *   generated and sent, then `isFinal`), `{ close_socket: true }` closes them all and the socket;
 *   a context sent nothing (keep-alives included) for the inactivity timeout is closed by the
 *   server (what it had buffered dropped, no `isFinal`): messages to it then answer as to a context
 *   that does not exist;
 * - server -> client JSON: `{ audio, contextId, isFinal: false, alignment, normalizedAlignment }`, with
 *   alignment on every chunk when `sync_alignment=true` (the characters starting within that chunk,
 *   times relative to the chunk's start), then `{ contextId, isFinal: true }` once a closed context's
 *   audio is out; flushing or closing a context that does not exist answers
 *   `{ error: 'context_not_found', message, contextId }` and leaves the socket open; a sixth
 *   simultaneous context is refused with a 1008 close (`max_active_conversations`).
 *
 * For key checks, `GET /v1/voices/{voice_id}` answers the voice (`{ voice_id, name, category, ... }`)
 * when it is one of the account's `voices`, 404 `{ detail: { status: 'voice_not_found', message } }`
 * when not, and 401 `invalid_api_key` for a wrong `xi-api-key`.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { encodeMulawSample } from '../support/audio-fixtures.js';
import { listenOnLoopback } from './listen.js';

export interface ElevenLabsEmulatorOptions {
  apiKey?: string;
  /** Audio per character of text (whitespace runs count as one). */
  msPerChar?: number;
  /** Audio duration carried by one chunk. */
  chunkMs?: number;
  firstByteDelayMs?: number;
  interChunkDelayMs?: number;
  /** Delay before the WebSocket upgrade is answered (a slow TLS + HTTP handshake). */
  handshakeDelayMs?: number;
  /** Idle time after which the server closes a socket (ElevenLabs: 20 s, or `inactivity_timeout`). */
  idleTimeoutMs?: number;
  /** How a wrong `xi-api-key` header is refused: a 1008 close after the upgrade, or HTTP 401. */
  authFailure?: 'close' | 'http';
  /** Cut chunks one byte off the sample grid, as a vendor may: clients must re-align PCM. */
  misalignChunks?: boolean;
  /** The account's voices (GET /v1/voices/{id}), id -> name; default: the stock voice Rachel. */
  voices?: Readonly<Record<string, string>>;
}

export interface EmulatorLatency {
  firstByteDelayMs?: number;
  interChunkDelayMs?: number;
  handshakeDelayMs?: number;
}

export interface EmulatedConnection {
  id: number;
  voiceId: string;
  query: Record<string, string>;
  /** The `xi-api-key` header was present (its value is not recorded). */
  headerKey: boolean;
  /** Undefined until the key has been checked. */
  authorized: boolean | undefined;
  initMessage: Record<string, unknown> | undefined;
  /** Text messages after the initial one, in order (the final "" excluded). */
  texts: string[];
  /** Per entry of `texts`: whether it asked for flush. */
  flushes: boolean[];
  flushRequested: boolean;
  endReceived: boolean;
  finalSent: boolean;
  audioChunksSent: number;
  audioBytesSent: number;
  openedAt: number;
  closed: boolean;
  closedBy: 'client' | 'server' | undefined;
  closeCode: number | undefined;
  /** The client closed before the server sent isFinal (a barge-in, or an abandoned warm socket). */
  clientClosedEarly: boolean;
}

export interface EmulatedContext {
  contextId: string;
  /** Non-empty texts sent to it, in order, and whether each asked for flush. */
  texts: string[];
  flushes: boolean[];
  keepAlives: number;
  closeRequested: boolean;
  finalSent: boolean;
  audioChunksSent: number;
  /** Audio sent after close_context arrived (text flushed before the close is still generated). */
  audioChunksAfterClose: number;
  /** Closed by the server: nothing was sent to it for the inactivity timeout. */
  timedOut: boolean;
}

export interface EmulatedMultiConnection {
  id: number;
  voiceId: string;
  query: Record<string, string>;
  authorized: boolean | undefined;
  /** Every context created on this socket, in order of creation. */
  contexts: EmulatedContext[];
  /** Error messages sent (context_not_found ...). */
  errors: Array<Record<string, unknown>>;
  closeSocketReceived: boolean;
  closed: boolean;
  closedBy: 'client' | 'server' | undefined;
  closeCode: number | undefined;
}

export interface EmulatedHttpRequest {
  voiceId: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  audioBytes: number;
}

export interface ElevenLabsEmulator {
  /** http://127.0.0.1:PORT, the client's https base stand-in. */
  readonly baseUrl: string;
  /** ws://127.0.0.1:PORT */
  readonly wsBaseUrl: string;
  readonly apiKey: string;
  readonly connections: readonly EmulatedConnection[];
  /** multi-stream-input sockets. */
  readonly multiConnections: readonly EmulatedMultiConnection[];
  /** The text of every stream-input socket and every multi-stream-input context, in order. */
  spokenTexts(): string[];
  readonly httpRequests: readonly EmulatedHttpRequest[];
  /** WebSocket upgrade requests seen, refused ones included. */
  readonly handshakes: number;
  setLatency(latency: EmulatorLatency): void;
  /** The next `n` WebSocket connections fail: refused with HTTP 503, or accepted then cut. */
  failNextConnections(n: number, mode?: 'reject' | 'close'): void;
  /** The next `n` HTTP synthesis requests answer 503. */
  failNextHttpRequests(n: number): void;
  /** The next audio chunk sent on any connection (either endpoint) is the last: the socket is then cut (no close frame). */
  dropMidStream(): void;
  close(): Promise<void>;
}

const DEFAULT_SCHEDULE = [120, 160, 250, 290];
const MAX_CONTEXTS_PER_SOCKET = 5;
const DEFAULT_VOICES: Readonly<Record<string, string>> = { '21m00Tcm4TlvDq8ikWAM': 'Rachel' };
// Below this, try_trigger_generation keeps buffering (the documented "minimum threshold").
const TRIGGER_THRESHOLD_CHARS = 50;
const TONE_HZ = 440;
const TONE_AMPLITUDE = 3000; // about -21 dBFS: quiet, but far from silence


interface FormatSpec {
  kind: 'ulaw' | 'pcm' | 'mp3';
  sampleRate: number;
  bytesPerMs: number;
}

function parseOutputFormat(value: string | undefined): FormatSpec | undefined {
  const name = value ?? 'mp3_44100';
  if (name === 'ulaw_8000') return { kind: 'ulaw', sampleRate: 8000, bytesPerMs: 8 };
  const pcm = /^pcm_(8000|16000|22050|24000|44100)$/.exec(name);
  if (pcm?.[1]) {
    const rate = Number(pcm[1]);
    return { kind: 'pcm', sampleRate: rate, bytesPerMs: (rate * 2) / 1000 };
  }
  // mp3 is not synthesised: 128 kbit/s of filler lets a test notice a client that forgot output_format.
  if (/^mp3_\d+(_\d+)?$/.test(name)) return { kind: 'mp3', sampleRate: 44100, bytesPerMs: 16 };
  return undefined;
}

/**
 * A continuous tone generator (position carried across calls so chunks join without clicks). The
 * tone repeats exactly every sampleRate / gcd(sampleRate, TONE_HZ) samples, so that stretch is
 * encoded once and copied from: hundreds of emulated calls must not cost a sine per sample.
 */
function createTone(spec: FormatSpec): (ms: number) => Uint8Array {
  if (spec.kind === 'mp3') return (ms) => new Uint8Array(Math.round(ms * spec.bytesPerMs)).fill(0xff);
  const width = spec.kind === 'ulaw' ? 1 : 2;
  const period = spec.sampleRate / gcd(spec.sampleRate, TONE_HZ);
  const table = new Uint8Array(period * width);
  const view = new DataView(table.buffer);
  for (let i = 0; i < period; i++) {
    const value = Math.round(Math.sin((2 * Math.PI * TONE_HZ * i) / spec.sampleRate) * TONE_AMPLITUDE);
    if (width === 1) table[i] = encodeMulawSample(value);
    else view.setInt16(i * 2, value, true);
  }
  let at = 0;
  return (ms) => {
    const out = new Uint8Array(Math.round((spec.sampleRate * ms) / 1000) * width);
    for (let filled = 0; filled < out.length; ) {
      const take = Math.min(out.length - filled, table.length - at);
      out.set(table.subarray(at, at + take), filled);
      filled += take;
      at = (at + take) % table.length;
    }
    return out;
  };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function spokenLength(text: string): number {
  return text.replace(/\s+/g, ' ').trim().length;
}

function alignmentFor(text: string, msPerChar: number): Record<string, unknown> {
  const chars = [...text.replace(/\s+/g, ' ').trim()];
  return {
    chars,
    charStartTimesMs: chars.map((_, i) => i * msPerChar),
    charsDurationsMs: chars.map(() => msPerChar),
  };
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

function queryOf(url: URL): Record<string, string> {
  return Object.fromEntries(url.searchParams.entries());
}

/**
 * What both socket kinds share: ElevenLabs' inactivity timeout (the query's inactivity_timeout,
 * in seconds, else the emulator's default), a server-side close that happens once, and the
 * close bookkeeping on `record` (registered first, so later 'close' listeners see it).
 */
function socketLife(
  ws: WebSocket,
  record: { closed: boolean; closedBy: 'server' | 'client' | undefined; closeCode: number | undefined },
  query: Record<string, string>,
  defaultIdleMs: number,
) {
  const idleMs = inactivityMs(query, defaultIdleMs);
  let serverClosing = false;
  let idleTimer: NodeJS.Timeout | undefined;
  const stopIdle = (): void => clearTimeout(idleTimer);
  const serverClose = (code: number, reason: string): void => {
    if (serverClosing || record.closed) return;
    serverClosing = true;
    stopIdle();
    ws.close(code, reason);
  };
  const alive = (): boolean => !serverClosing && !record.closed && ws.readyState === ws.OPEN;
  const resetIdle = (): void => {
    stopIdle();
    idleTimer = setTimeout(
      () =>
        serverClose(
          1008,
          `Have not received a new text input within the timeout of ${Math.round(idleMs / 1000)} seconds. Streaming input terminated.`,
        ),
      idleMs,
    );
  };
  ws.on('close', (code) => {
    stopIdle();
    record.closed = true;
    record.closeCode = code;
    record.closedBy = serverClosing ? 'server' : 'client';
  });
  /** A client message as a JSON object; anything else closes the socket as ElevenLabs does (undefined). */
  const readObject = (data: RawData): Record<string, unknown> | undefined => {
    try {
      const parsed: unknown = JSON.parse(data.toString());
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // not JSON: closed below
    }
    serverClose(1008, 'Invalid message: expected a JSON object.');
    return undefined;
  };
  return { serverClose, alive, resetIdle, stopIdle, readObject };
}

/** The query's inactivity_timeout (seconds), else the emulator's default, in ms. */
function inactivityMs(query: Record<string, string>, defaultIdleMs: number): number {
  const inactivity = query.inactivity_timeout === undefined ? undefined : Number(query.inactivity_timeout);
  return inactivity !== undefined && Number.isFinite(inactivity) ? inactivity * 1000 : defaultIdleMs;
}

export async function startElevenLabsEmulator(options: ElevenLabsEmulatorOptions = {}): Promise<ElevenLabsEmulator> {
  const apiKey = options.apiKey ?? 'sk_emulated_elevenlabs_key';
  const msPerChar = options.msPerChar ?? 60;
  const chunkMs = options.chunkMs ?? 100;
  const defaultIdleMs = options.idleTimeoutMs ?? 20_000;
  const authFailure = options.authFailure ?? 'close';
  const latency = {
    firstByteDelayMs: options.firstByteDelayMs ?? 0,
    interChunkDelayMs: options.interChunkDelayMs ?? 0,
    handshakeDelayMs: options.handshakeDelayMs ?? 0,
  };
  const connections: EmulatedConnection[] = [];
  const multiConnections: EmulatedMultiConnection[] = [];
  const httpRequests: EmulatedHttpRequest[] = [];
  const sockets = new Set<Socket>();
  let handshakes = 0;
  let failWs: Array<'reject' | 'close'> = [];
  let failHttp = 0;
  let dropArmed = false;

  /** Splits `audio` into chunks of `chunkMs`, misaligned by a byte if asked. */
  function chunksOf(audio: Uint8Array, spec: FormatSpec): Uint8Array[] {
    const size = Math.max(1, Math.round(chunkMs * spec.bytesPerMs) + (options.misalignChunks ? 1 : 0));
    const out: Uint8Array[] = [];
    for (let at = 0; at < audio.length; at += size) out.push(audio.subarray(at, at + size));
    return out;
  }

  /**
   * Sends one generation's audio chunk by chunk, paced as configured, while the socket lives; `send`
   * writes a chunk's message. An armed dropMidStream() cuts the socket after that chunk.
   */
  async function sendPaced(
    ws: WebSocket,
    audio: Uint8Array,
    spec: FormatSpec,
    alive: () => boolean,
    send: (chunk: Uint8Array, first: boolean) => void,
  ): Promise<void> {
    let first = true;
    for (const chunk of chunksOf(audio, spec)) {
      if (!alive()) return;
      if (!first) await sleep(latency.interChunkDelayMs);
      if (!alive()) return;
      send(chunk, first);
      first = false;
      if (dropArmed) {
        dropArmed = false;
        ws.terminate();
        return;
      }
    }
  }

  function handleSocket(ws: WebSocket, request: IncomingMessage, url: URL, voiceId: string): void {
    const headerValue = request.headers['xi-api-key'];
    const headerKey = typeof headerValue === 'string' ? headerValue : undefined;
    const query = queryOf(url);
    const record: EmulatedConnection = {
      id: connections.length + 1,
      voiceId,
      query,
      headerKey: headerKey !== undefined,
      authorized: undefined,
      initMessage: undefined,
      texts: [],
      flushes: [],
      flushRequested: false,
      endReceived: false,
      finalSent: false,
      audioChunksSent: 0,
      audioBytesSent: 0,
      openedAt: Date.now(),
      closed: false,
      closedBy: undefined,
      closeCode: undefined,
      clientClosedEarly: false,
    };
    connections.push(record);

    const spec = parseOutputFormat(query.output_format);
    const tone = spec ? createTone(spec) : undefined;
    let schedule = DEFAULT_SCHEDULE;
    let scheduleIndex = 0;
    let buffer = '';
    let chain: Promise<void> = Promise.resolve();
    const { serverClose, alive, resetIdle, stopIdle, readObject } = socketLife(ws, record, query, defaultIdleMs);

    const generate = (text: string): void => {
      if (spokenLength(text) === 0 || !spec || !tone) return;
      chain = chain.then(async () => {
        await sleep(latency.firstByteDelayMs);
        const audio = tone(spokenLength(text) * msPerChar);
        await sendPaced(ws, audio, spec, alive, (chunk, first) => {
          const alignment = first ? alignmentFor(text, msPerChar) : null;
          ws.send(
            JSON.stringify({
              audio: Buffer.from(chunk).toString('base64'),
              isFinal: null,
              normalizedAlignment: alignment,
              alignment,
            }),
          );
          record.audioChunksSent++;
          record.audioBytesSent += chunk.length;
        });
      });
    };
    const generateBuffered = (): void => {
      const text = buffer;
      buffer = '';
      generate(text);
    };

    const onMessage = (data: RawData): void => {
      const message = readObject(data);
      if (message === undefined) return;
      if (typeof message.text !== 'string') {
        serverClose(1008, 'Invalid message: text is required.');
        return;
      }
      if (record.endReceived) return;
      resetIdle();

      if (record.initMessage === undefined) {
        record.initMessage = message;
        const bodyKey = typeof message.xi_api_key === 'string' ? message.xi_api_key : message['xi-api-key'];
        const presented = headerKey ?? (typeof bodyKey === 'string' ? bodyKey : undefined);
        record.authorized = presented === apiKey;
        if (!record.authorized) {
          serverClose(1008, presented === undefined ? 'Missing API key.' : 'Invalid API key.');
          return;
        }
        if (!spec) {
          serverClose(1008, `Invalid output format: ${String(query.output_format)}.`);
          return;
        }
        const config = message.generation_config as { chunk_length_schedule?: unknown } | undefined;
        if (Array.isArray(config?.chunk_length_schedule) && config.chunk_length_schedule.length > 0) {
          schedule = config.chunk_length_schedule.map(Number);
        }
        if (message.text !== ' ') buffer += message.text;
        return;
      }

      if (message.text === '') {
        record.endReceived = true;
        stopIdle();
        generateBuffered();
        chain = chain.then(() => {
          if (!alive()) return;
          ws.send(JSON.stringify({ audio: null, isFinal: true, normalizedAlignment: null, alignment: null }));
          record.finalSent = true;
          serverClose(1000, '');
        });
        return;
      }

      const flush = message.flush === true;
      record.texts.push(message.text);
      record.flushes.push(flush);
      if (flush) record.flushRequested = true;
      buffer += message.text;
      const threshold = schedule[Math.min(scheduleIndex, schedule.length - 1)] ?? DEFAULT_SCHEDULE[0] ?? 120;
      if (flush || (message.try_trigger_generation === true && buffer.length >= TRIGGER_THRESHOLD_CHARS)) {
        generateBuffered();
      } else if (buffer.length >= threshold) {
        scheduleIndex++;
        generateBuffered();
      }
    };

    ws.on('message', onMessage);
    ws.on('close', () => {
      record.clientClosedEarly = record.closedBy === 'client' && !record.finalSent;
    });
    ws.on('error', () => undefined);

    if (headerKey !== undefined && headerKey !== apiKey) {
      record.authorized = false;
      serverClose(1008, 'Invalid API key.');
      return;
    }
    resetIdle();
  }

  function handleMultiSocket(ws: WebSocket, request: IncomingMessage, url: URL, voiceId: string): void {
    const headerValue = request.headers['xi-api-key'];
    const headerKey = typeof headerValue === 'string' ? headerValue : undefined;
    const query = queryOf(url);
    const record: EmulatedMultiConnection = {
      id: multiConnections.length + 1,
      voiceId,
      query,
      authorized: headerKey === undefined ? undefined : headerKey === apiKey,
      contexts: [],
      errors: [],
      closeSocketReceived: false,
      closed: false,
      closedBy: undefined,
      closeCode: undefined,
    };
    multiConnections.push(record);
    const spec = parseOutputFormat(query.output_format);
    const syncAlignment = query.sync_alignment === 'true';
    interface Live {
      record: EmulatedContext;
      buffer: string;
      schedule: number[];
      scheduleIndex: number;
      tone: (ms: number) => Uint8Array;
      idleTimer: NodeJS.Timeout | undefined;
    }
    const live = new Map<string, Live>();
    const contextIdleMs = inactivityMs(query, defaultIdleMs);
    /** Each message to a context restarts its inactivity timeout. */
    const touch = (context: Live): void => {
      clearTimeout(context.idleTimer);
      context.idleTimer = setTimeout(() => {
        if (live.get(context.record.contextId) !== context) return;
        live.delete(context.record.contextId);
        context.buffer = '';
        context.record.timedOut = true;
      }, contextIdleMs);
    };
    ws.on('close', () => {
      for (const context of live.values()) clearTimeout(context.idleTimer);
    });
    // One model per socket: generations go out one after another, whatever their context.
    let chain: Promise<void> = Promise.resolve();
    const { serverClose, alive, resetIdle, stopIdle, readObject } = socketLife(ws, record, query, defaultIdleMs);
    const sendError = (contextId: string, error: string, message: string): void => {
      const body = { error, message, contextId };
      record.errors.push(body);
      if (alive()) ws.send(JSON.stringify(body));
    };

    const generate = (context: Live): void => {
      const text = context.buffer;
      context.buffer = '';
      if (spokenLength(text) === 0 || !spec) return;
      chain = chain.then(async () => {
        await sleep(latency.firstByteDelayMs);
        const audio = context.tone(spokenLength(text) * msPerChar);
        // Characters as sent (a trailing space kept, at the end of the audio with no duration).
        const chars = [...text.replace(/\s+/g, ' ').replace(/^ /, '')];
        const spoken = spokenLength(text);
        const total = audio.length;
        let at = 0;
        await sendPaced(ws, audio, spec, alive, (chunk, first) => {
          const chunkStartMs = at / spec.bytesPerMs;
          const chunkEndMs = (at + chunk.length) / spec.bytesPerMs;
          at += chunk.length;
          let alignment: Record<string, unknown> | null = null;
          if (syncAlignment) {
            const startOf = (i: number): number => Math.min(i, spoken) * msPerChar;
            const last = at >= total;
            const indexes = chars
              .map((_, i) => i)
              .filter((i) => startOf(i) >= chunkStartMs && (last || startOf(i) < chunkEndMs));
            alignment = {
              chars: indexes.map((i) => chars[i]),
              charStartTimesMs: indexes.map((i) => startOf(i) - chunkStartMs),
              charDurationsMs: indexes.map((i) => (i < spoken ? msPerChar : 0)),
            };
          } else if (first) {
            alignment = alignmentFor(text, msPerChar);
          }
          ws.send(
            JSON.stringify({
              audio: Buffer.from(chunk).toString('base64'),
              contextId: context.record.contextId,
              isFinal: false,
              normalizedAlignment: alignment,
              alignment,
            }),
          );
          context.record.audioChunksSent++;
          if (context.record.closeRequested) context.record.audioChunksAfterClose++;
        });
      });
    };

    const finalise = (context: Live): void => {
      chain = chain.then(() => {
        if (!alive()) return;
        ws.send(JSON.stringify({ contextId: context.record.contextId, isFinal: true }));
        context.record.finalSent = true;
      });
    };

    const onMessage = (data: RawData): void => {
      const message = readObject(data);
      if (message === undefined) return;
      if (record.closeSocketReceived) return;
      resetIdle();
      if (record.authorized === undefined) {
        const bodyKey = message.xi_api_key;
        record.authorized = bodyKey === apiKey;
        if (!record.authorized) {
          serverClose(1008, bodyKey === undefined ? 'Missing API key.' : 'Invalid API key.');
          return;
        }
      }
      if (!spec) {
        serverClose(1008, `Invalid output format: ${String(query.output_format)}.`);
        return;
      }
      if (message.close_socket === true) {
        record.closeSocketReceived = true;
        stopIdle();
        for (const context of live.values()) {
          clearTimeout(context.idleTimer);
          context.record.closeRequested = true;
          context.buffer = '';
          finalise(context);
        }
        live.clear();
        chain = chain.then(() => serverClose(1000, ''));
        return;
      }
      const contextId = typeof message.context_id === 'string' ? message.context_id : 'default';
      let context = live.get(contextId);
      if (message.close_context === true) {
        if (!context) return sendError(contextId, 'context_not_found', `Context ${contextId} does not exist.`);
        // Text already flushed is still generated; what was only buffered is dropped.
        clearTimeout(context.idleTimer);
        context.record.closeRequested = true;
        context.buffer = '';
        live.delete(contextId);
        finalise(context);
        return;
      }
      if (typeof message.text !== 'string') {
        if (message.flush === true && !context) {
          return sendError(contextId, 'context_not_found', `Context ${contextId} does not exist.`);
        }
        if (message.flush === true && context) {
          touch(context);
          generate(context);
        } else serverClose(1008, 'Invalid message: text is required.');
        return;
      }
      if (!context) {
        if (message.text === '' ) {
          return sendError(contextId, 'context_not_found', `Context ${contextId} does not exist.`);
        }
        if (live.size >= MAX_CONTEXTS_PER_SOCKET) {
          serverClose(
            1008,
            `Maximum simultaneous contexts per WebSocket connection exceeded (${MAX_CONTEXTS_PER_SOCKET}). Please close an existing context before opening a new one.`,
          );
          return;
        }
        const config = message.generation_config as { chunk_length_schedule?: unknown } | undefined;
        const schedule =
          Array.isArray(config?.chunk_length_schedule) && config.chunk_length_schedule.length > 0
            ? config.chunk_length_schedule.map(Number)
            : DEFAULT_SCHEDULE;
        context = {
          record: {
            contextId,
            texts: [],
            flushes: [],
            keepAlives: 0,
            closeRequested: false,
            finalSent: false,
            audioChunksSent: 0,
            audioChunksAfterClose: 0,
            timedOut: false,
          },
          buffer: '',
          schedule,
          scheduleIndex: 0,
          tone: createTone(spec),
          idleTimer: undefined,
        };
        live.set(contextId, context);
        record.contexts.push(context.record);
        touch(context);
        if (message.text.trim() === '') return; // the initialising " "
      }
      touch(context);
      const flush = message.flush === true;
      if (message.text === '' && !flush) {
        context.record.keepAlives++;
        return;
      }
      if (message.text !== '') {
        context.record.texts.push(message.text);
        context.record.flushes.push(flush);
        context.buffer += message.text;
      }
      const threshold = context.schedule[Math.min(context.scheduleIndex, context.schedule.length - 1)] ?? 120;
      if (flush) generate(context);
      else if (context.buffer.length >= threshold) {
        context.scheduleIndex++;
        generate(context);
      }
    };

    ws.on('message', onMessage);
    ws.on('error', () => undefined);
    if (record.authorized === false) {
      serverClose(1008, 'Invalid API key.');
      return;
    }
    resetIdle();
  }

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  const server = createServer((req, res) => {
    void handleHttp(req, res);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    handshakes++;
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const match = /^\/v1\/text-to-speech\/([^/]+)\/(stream-input|multi-stream-input)$/.exec(url.pathname);
    const refuse = (status: number, text: string): void => {
      socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    const failure = failWs.shift();
    setTimeout(() => {
      if (socket.destroyed) return;
      if (!match?.[1]) return refuse(404, 'Not Found');
      if (failure === 'reject') return refuse(503, 'Service Unavailable');
      const headerKey = request.headers['xi-api-key'];
      if (authFailure === 'http' && typeof headerKey === 'string' && headerKey !== apiKey) {
        return refuse(401, 'Unauthorized');
      }
      const voiceId = decodeURIComponent(match[1]);
      wss.handleUpgrade(request, socket, head, (ws) => {
        if (failure === 'close') {
          ws.terminate();
          return;
        }
        if (match[2] === 'multi-stream-input') handleMultiSocket(ws, request, url, voiceId);
        else handleSocket(ws, request, url, voiceId);
      });
    }, latency.handshakeDelayMs);
  });

  /** GET /v1/voices/{voice_id}. */
  function serveVoice(req: IncomingMessage, res: ServerResponse, voiceId: string): void {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers['xi-api-key'] !== apiKey) return send(401, { detail: { status: 'invalid_api_key', message: 'Invalid API key' } });
    const name = (options.voices ?? DEFAULT_VOICES)[voiceId];
    if (name === undefined) {
      return send(404, { detail: { status: 'voice_not_found', message: `A voice with the voice_id ${voiceId} was not found.` } });
    }
    send(200, { voice_id: voiceId, name, category: 'premade', labels: {}, settings: null, available_for_tiers: [] });
  }

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const voice = /^\/v1\/voices\/([^/]+)$/.exec(url.pathname);
    if (voice?.[1] !== undefined && req.method === 'GET') return serveVoice(req, res, decodeURIComponent(voice[1]));
    const match = /^\/v1\/text-to-speech\/([^/]+)(\/stream)?$/.exec(url.pathname);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: unknown;
    try {
      body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
    } catch {
      body = undefined;
    }
    const record: EmulatedHttpRequest = {
      voiceId: match?.[1] ? decodeURIComponent(match[1]) : '',
      query: queryOf(url),
      body,
      status: 200,
      audioBytes: 0,
    };
    const fail = (status: number, detail: unknown): void => {
      record.status = status;
      httpRequests.push(record);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail }));
    };
    if (req.method !== 'POST' || !match) return fail(404, { status: 'not_found', message: 'Not found' });
    if (req.headers['xi-api-key'] !== apiKey) {
      return fail(401, { status: 'invalid_api_key', message: 'Invalid API key' });
    }
    if (failHttp > 0) {
      failHttp--;
      return fail(503, { status: 'service_unavailable', message: 'Service temporarily unavailable' });
    }
    const text = (body as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string' || text.length === 0) {
      return fail(422, [{ loc: ['body', 'text'], msg: 'field required', type: 'value_error.missing' }]);
    }
    const spec = parseOutputFormat(record.query.output_format);
    if (!spec) return fail(422, { status: 'invalid_output_format', message: 'Invalid output format' });
    httpRequests.push(record);
    const audio = createTone(spec)(spokenLength(text) * msPerChar);
    res.writeHead(200, {
      'content-type': spec.kind === 'mp3' ? 'audio/mpeg' : 'application/octet-stream',
      'transfer-encoding': 'chunked',
    });
    await sleep(latency.firstByteDelayMs);
    let first = true;
    for (const chunk of chunksOf(audio, spec)) {
      if (res.destroyed) return;
      if (!first) await sleep(latency.interChunkDelayMs);
      first = false;
      res.write(chunk);
      record.audioBytes += chunk.length;
    }
    res.end();
  }

  const port = await listenOnLoopback(server);

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    wsBaseUrl: `ws://127.0.0.1:${port}`,
    apiKey,
    connections,
    multiConnections,
    httpRequests,
    spokenTexts() {
      return [
        ...connections.map((c) => c.texts.join('')),
        ...multiConnections.flatMap((m) => m.contexts.map((c) => c.texts.join(''))),
      ];
    },
    get handshakes() {
      return handshakes;
    },
    setLatency(next) {
      Object.assign(
        latency,
        Object.fromEntries(Object.entries(next).filter(([, value]) => value !== undefined)),
      );
    },
    failNextConnections(n, mode = 'reject') {
      failWs = Array.from({ length: n }, () => mode);
    },
    failNextHttpRequests(n) {
      failHttp = n;
    },
    dropMidStream() {
      dropArmed = true;
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
