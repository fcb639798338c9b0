/**
 * A protocol-level emulator of Deepgram's live transcription API (`/v1/listen` over WebSocket) on
 * 127.0.0.1, speaking the documented message shapes (Results, SpeechStarted, UtteranceEnd,
 * Metadata) and honouring the control messages (KeepAlive, Finalize, CloseStream), so the real
 * adapter can be tested without a network.
 *
 * It does not recognise words: it decodes the audio per `encoding` (mu-law or linear16), finds
 * speech by energy (RMS of 20 ms windows), and answers each utterance with the next text of a
 * script. Everything is timed on audio time (bytes received), never the wall clock, so tests may
 * send audio as fast as they like; only `finalDelayMs` and the idle timeout use the wall clock.
 *
 * For key checks it also serves the management API's `GET /v1/projects` (`Authorization: Token
 * <key>`): `{ projects: [{ project_id, name }] }`, or 401 `{ err_code: 'INVALID_AUTH', err_msg,
 * request_id }` for a wrong key.
 * https://developers.deepgram.com/reference/manage/projects/list
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { listenOnLoopback } from './listen.js';

export interface DeepgramWord {
  word: string;
  start: number;
  end: number;
  confidence: number;
  punctuated_word?: string;
}

export interface DeepgramResults {
  type: 'Results';
  channel_index: number[];
  /** Seconds of audio this result covers, from `start`. */
  duration: number;
  /** Seconds from the start of the stream. */
  start: number;
  is_final: boolean;
  speech_final: boolean;
  from_finalize?: boolean;
  channel: { alternatives: Array<{ transcript: string; confidence: number; words: DeepgramWord[] }> };
  metadata: { request_id: string; model_info: { name: string; version: string; arch: string }; model_uuid: string };
}

export interface DeepgramSpeechStarted {
  type: 'SpeechStarted';
  channel: number[];
  timestamp: number;
}

export interface DeepgramUtteranceEnd {
  type: 'UtteranceEnd';
  channel: number[];
  last_word_end: number;
}

export interface DeepgramMetadata {
  type: 'Metadata';
  transaction_key: string;
  request_id: string;
  sha256: string;
  created: string;
  duration: number;
  channels: number;
}

export type DeepgramServerMessage = DeepgramResults | DeepgramSpeechStarted | DeepgramUtteranceEnd | DeepgramMetadata;

export interface DeepgramConnectionRecord {
  readonly id: number;
  readonly requestId: string;
  /** The handshake's query string (`getAll('keyterm')` for repeated terms). */
  readonly query: URLSearchParams;
  /** How the key was presented: `Authorization: Token <key>` or the `token, <key>` subprotocol. */
  readonly auth: 'header' | 'subprotocol';
  keepAlives: number;
  finalizes: number;
  closeStreams: number;
  /** Types of the text messages received, in order. */
  controlMessages: string[];
  audioBytes: number;
  /** Binary (audio) messages received. */
  audioMessages: number;
  /** Audio time received, in ms, as decoded per the query's encoding and sample_rate. */
  audioMs: number;
  messagesSent: DeepgramServerMessage[];
  /** The client ended the stream (CloseStream or its own close frame), not a drop or a server close. */
  closedByClient: boolean;
  open: boolean;
  closeCode: number | undefined;
}

/** RMS (16-bit sample units) above which a 20 ms window is speech, unless `speechThreshold` says otherwise. */
export const DEFAULT_SPEECH_THRESHOLD = 500;

export interface DeepgramEmulatorOptions {
  apiKey?: string;
  /** RMS, in 16-bit sample units, above which a 20 ms window counts as speech. */
  speechThreshold?: number;
  /** Wall-clock wait before each final Results is sent (and everything queued after it). */
  finalDelayMs?: number;
  /** Deepgram closes a stream that sends neither audio nor a text message for 10 s (NET-0001). */
  idleTimeoutMs?: number;
  /** Audio time between interim results while speech goes on. */
  interimIntervalMs?: number;
  /** What an utterance transcribes to when the script is empty. */
  defaultText?: string;
}

export interface DeepgramEmulator {
  /** ws://127.0.0.1:PORT: the live API's base; the stream is at `${url}/v1/listen`. */
  readonly url: string;
  readonly apiKey: string;
  /** Accepted connections, in order. */
  readonly connections: readonly DeepgramConnectionRecord[];
  /** Handshakes refused (bad key, bad parameters, or `rejectNextConnections`). */
  readonly rejectedHandshakes: number;
  /** Queues utterance texts; each finished utterance consumes one (shared by all connections). */
  script(texts: readonly string[]): void;
  /** Drops the texts not consumed yet (after audio whose utterances could not be counted in advance). */
  clearScript(): void;
  /** Terminates every open socket without a close frame, as a network failure would. */
  dropConnections(): void;
  /** Refuses the next `count` handshakes with HTTP `status` (default 503). */
  rejectNextConnections(count: number, status?: number): void;
  setFinalDelay(ms: number): void;
  /** Changes `speechThreshold` (a real STT transcribes voices far quieter than the emulator's default finds). */
  setSpeechThreshold(rms: number): void;
  close(): Promise<void>;
}

const LISTEN_PATH = '/v1/listen';
const ENCODINGS = new Set(['linear16', 'mulaw']);
const WINDOW_MS = 20;
const MODEL_UUID = '1dbdfb4d-85b2-4659-8a4e-6e2f3a1c2e51';

/** G.711 mu-law byte -> 16-bit sample, computed once. */
const MULAW_TABLE = Int16Array.from({ length: 256 }, (_, byte) => {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
});

export async function startDeepgramEmulator(options: DeepgramEmulatorOptions = {}): Promise<DeepgramEmulator> {
  const apiKey = options.apiKey ?? `dg-emulator-${randomBytes(12).toString('hex')}`;
  let speechThreshold = options.speechThreshold ?? DEFAULT_SPEECH_THRESHOLD;
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const interimIntervalMs = options.interimIntervalMs ?? 300;
  const defaultText = options.defaultText ?? 'Hello.';
  let finalDelayMs = options.finalDelayMs ?? 0;

  const script: string[] = [];
  const connections: DeepgramConnectionRecord[] = [];
  const sockets = new Set<WebSocket>();
  const rawSockets = new Set<Socket>();
  let rejectRemaining = 0;
  let rejectStatus = 503;
  let rejectedHandshakes = 0;

  const projectId = randomUUID();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (path !== '/v1/projects' || req.method !== 'GET') return json(404, { err_code: 'NOT_FOUND' });
    if (req.headers.authorization !== `Token ${apiKey}`) {
      return json(401, { err_code: 'INVALID_AUTH', err_msg: 'Invalid credentials.', request_id: randomUUID() });
    }
    json(200, { projects: [{ project_id: projectId, name: 'Service desk' }] });
  });
  server.on('connection', (socket) => {
    rawSockets.add(socket);
    socket.on('close', () => rawSockets.delete(socket));
  });
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    // A browser presents the key as the subprotocol pair `token, <key>`; Deepgram selects `token`.
    handleProtocols: (protocols) => (protocols.has('token') ? 'token' : false),
  });

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== LISTEN_PATH) return refuse(socket, 404, 'NOT_FOUND', 'Unknown path.');
    if (rejectRemaining > 0) {
      rejectRemaining--;
      return refuse(socket, rejectStatus, 'UNAVAILABLE', 'Service temporarily unavailable.');
    }
    const auth = authenticate(req);
    if (!auth) return refuse(socket, 401, 'INVALID_AUTH', 'Invalid credentials.');
    const problem = checkQuery(url.searchParams);
    if (problem) return refuse(socket, 400, 'INVALID_QUERY_PARAMETER', problem);
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, url.searchParams, auth));
  });

  const port = await listenOnLoopback(server);

  function authenticate(req: IncomingMessage): 'header' | 'subprotocol' | undefined {
    if (req.headers.authorization === `Token ${apiKey}`) return 'header';
    const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const at = protocols.indexOf('token');
    if (at >= 0 && protocols[at + 1] === apiKey) return 'subprotocol';
    return undefined;
  }

  function checkQuery(query: URLSearchParams): string | undefined {
    const encoding = query.get('encoding');
    if (encoding === null) return 'The emulator only takes raw audio: set encoding and sample_rate.';
    if (!ENCODINGS.has(encoding)) return `Unsupported encoding: ${encoding}.`;
    const sampleRate = Number(query.get('sample_rate'));
    if (!Number.isInteger(sampleRate) || sampleRate <= 0) return 'sample_rate is required with encoding.';
    if (query.getAll('keywords').length > 0 && query.get('model')?.startsWith('nova-3')) {
      return 'Keywords are not supported for Nova-3. Please use `keyterm` instead.';
    }
    return undefined;
  }

  /** Answers a handshake the way Deepgram does: an HTTP error with `dg-error` and a JSON body. */
  function refuse(socket: Socket, status: number, code: string, message: string): void {
    rejectedHandshakes++;
    const requestId = randomUUID();
    const body = JSON.stringify({ err_code: code, err_msg: message, request_id: requestId });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        'content-type: application/json\r\n' +
        `dg-error: ${message}\r\n` +
        `dg-request-id: ${requestId}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
  }

  function accept(ws: WebSocket, query: URLSearchParams, auth: 'header' | 'subprotocol'): void {
    sockets.add(ws);
    const record: DeepgramConnectionRecord = {
      id: connections.length + 1,
      requestId: randomUUID(),
      query,
      auth,
      keepAlives: 0,
      finalizes: 0,
      closeStreams: 0,
      controlMessages: [],
      audioBytes: 0,
      audioMessages: 0,
      audioMs: 0,
      messagesSent: [],
      closedByClient: false,
      open: true,
      closeCode: undefined,
    };
    connections.push(record);

    const flag = (name: string): boolean => query.get(name) === 'true';
    const encoding = query.get('encoding') as 'mulaw' | 'linear16';
    const sampleRate = Number(query.get('sample_rate'));
    const bytesPerSample = encoding === 'mulaw' ? 1 : 2;
    const windowSamples = Math.round((sampleRate * WINDOW_MS) / 1000);
    const windowBytes = windowSamples * bytesPerSample;
    const endpointing = query.get('endpointing') ?? '10';
    const endpointingMs = endpointing === 'false' ? undefined : Number(endpointing);
    const utteranceEndParam = query.get('utterance_end_ms');
    const utteranceEndMs = utteranceEndParam === null ? undefined : Number(utteranceEndParam);
    const formatted = flag('smart_format') || flag('punctuate');
    const model = query.get('model') ?? 'base';

    let pending: Buffer = Buffer.alloc(0);
    let samples = 0;
    let segmentStartMs = 0;
    let inSpeech = false;
    let speechStartMs = 0;
    let lastVoiceMs = 0;
    let lastInterimMs = 0;
    let utteranceEndDueMs: number | undefined;
    let lastWordEndMs = 0;
    let ending = false;
    let serverClosing = false;
    // Ordered output: a delayed final must not be overtaken by what follows it.
    let outbox = Promise.resolve();

    const nowMs = (): number => (samples * 1000) / sampleRate;

    const idle = setTimeout(() => {
      serverClosing = true;
      ws.close(1011, 'Deepgram did not receive audio data or a text message within the timeout window. (NET-0001)');
    }, idleTimeoutMs);

    function send(message: DeepgramServerMessage, delayMs = 0): void {
      outbox = outbox.then(async () => {
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        if (ws.readyState !== ws.OPEN) return;
        record.messagesSent.push(message);
        ws.send(JSON.stringify(message));
      });
    }

    function results(text: string, isFinal: boolean, speechFinal: boolean, fromFinalize = false): DeepgramResults {
      const end = nowMs();
      const words = text.split(/\s+/).filter(Boolean);
      const span = Math.max(lastVoiceMs - speechStartMs, 1);
      const transcript = formatted ? words.join(' ') : words.map(bare).join(' ');
      const message: DeepgramResults = {
        type: 'Results',
        channel_index: [0, 1],
        duration: round((end - segmentStartMs) / 1000),
        start: round(segmentStartMs / 1000),
        is_final: isFinal,
        speech_final: speechFinal,
        channel: {
          alternatives: [
            {
              transcript,
              confidence: words.length > 0 ? 0.98 : 0,
              words: words.map((w, i) => ({
                word: bare(w),
                start: round((speechStartMs + (span * i) / words.length) / 1000),
                end: round((speechStartMs + (span * (i + 1)) / words.length) / 1000),
                confidence: 0.98,
                ...(formatted ? { punctuated_word: w } : {}),
              })),
            },
          ],
        },
        metadata: {
          request_id: record.requestId,
          model_info: { name: `general-${model}`, version: '2025-01-01.0', arch: model },
          model_uuid: MODEL_UUID,
        },
      };
      if (fromFinalize) message.from_finalize = true;
      return message;
    }

    function endUtterance(speechFinal: boolean, fromFinalize: boolean): void {
      const text = script.shift() ?? defaultText;
      send(results(text, true, speechFinal, fromFinalize), finalDelayMs);
      segmentStartMs = nowMs();
      inSpeech = false;
      lastWordEndMs = lastVoiceMs;
      if (utteranceEndMs !== undefined) utteranceEndDueMs = lastVoiceMs + utteranceEndMs;
    }

    function processWindow(window: Buffer): void {
      const startMs = nowMs();
      samples += windowSamples;
      const endMs = nowMs();
      if (rms(window, encoding) >= speechThreshold) {
        if (!inSpeech) {
          inSpeech = true;
          speechStartMs = startMs;
          lastInterimMs = startMs;
          utteranceEndDueMs = undefined;
          if (flag('vad_events')) send({ type: 'SpeechStarted', channel: [0], timestamp: round(startMs / 1000) });
        }
        lastVoiceMs = endMs;
        if (flag('interim_results') && endMs - lastInterimMs >= interimIntervalMs) {
          lastInterimMs = endMs;
          // Peeked, not consumed: the text belongs to the utterance only once it is final.
          const words = (script[0] ?? defaultText).split(/\s+/).filter(Boolean);
          const heard = Math.min(words.length, 1 + Math.floor((endMs - speechStartMs) / 400));
          send(results(words.slice(0, heard).join(' '), false, false));
        }
        return;
      }
      if (inSpeech) {
        const quietMs = endMs - lastVoiceMs;
        if (endpointingMs !== undefined && quietMs >= endpointingMs) endUtterance(true, false);
        else if (endpointingMs === undefined && quietMs >= (utteranceEndMs ?? 1000)) endUtterance(false, false);
      }
      if (utteranceEndDueMs !== undefined && endMs >= utteranceEndDueMs) {
        utteranceEndDueMs = undefined;
        send({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: round(lastWordEndMs / 1000) });
      }
    }

    function onAudio(data: Buffer): void {
      record.audioBytes += data.length;
      record.audioMessages += 1;
      record.audioMs += (data.length / bytesPerSample / sampleRate) * 1000;
      if (ending) return;
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      let offset = 0;
      for (; offset + windowBytes <= pending.length; offset += windowBytes) {
        processWindow(pending.subarray(offset, offset + windowBytes));
      }
      pending = pending.subarray(offset);
    }

    function onControl(text: string): void {
      let type = 'invalid';
      try {
        const parsed = JSON.parse(text) as { type?: unknown };
        if (typeof parsed.type === 'string') type = parsed.type;
      } catch {
        // recorded as 'invalid' below; Deepgram ignores text it cannot parse
      }
      record.controlMessages.push(type);
      if (type === 'KeepAlive') {
        record.keepAlives++;
      } else if (type === 'Finalize') {
        record.finalizes++;
        if (inSpeech) endUtterance(false, true);
        else send(results('', true, false, true), finalDelayMs);
      } else if (type === 'CloseStream') {
        record.closeStreams++;
        if (ending) return;
        ending = true;
        record.closedByClient = true;
        if (inSpeech) endUtterance(false, false);
        send({
          type: 'Metadata',
          transaction_key: 'deprecated',
          request_id: record.requestId,
          sha256: randomBytes(32).toString('hex'),
          created: new Date().toISOString(),
          duration: round(record.audioMs / 1000),
          channels: 1,
        });
        void outbox.then(() => {
          serverClosing = true;
          if (ws.readyState === ws.OPEN) ws.close(1000);
        });
      }
    }

    ws.on('message', (data: RawData, isBinary: boolean) => {
      idle.refresh();
      const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (isBinary) onAudio(buffer);
      else onControl(buffer.toString('utf8'));
    });
    ws.on('close', (code) => {
      clearTimeout(idle);
      sockets.delete(ws);
      record.open = false;
      record.closeCode = code;
      // ws reports 1006 for a socket that vanished without a close frame: not the client's doing.
      if (!serverClosing && code !== 1006) record.closedByClient = true;
    });
    ws.on('error', () => undefined);
  }

  return {
    url: `ws://127.0.0.1:${port}`,
    apiKey,
    connections,
    get rejectedHandshakes() {
      return rejectedHandshakes;
    },
    script(texts) {
      script.push(...texts);
    },
    clearScript() {
      script.length = 0;
    },
    dropConnections() {
      for (const ws of sockets) ws.terminate();
    },
    rejectNextConnections(count, status = 503) {
      rejectRemaining = count;
      rejectStatus = status;
    },
    setSpeechThreshold(rms) {
      speechThreshold = rms;
    },
    setFinalDelay(ms) {
      finalDelayMs = ms;
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      for (const socket of rawSockets) socket.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function rms(window: Buffer, encoding: 'mulaw' | 'linear16'): number {
  let sum = 0;
  let n = 0;
  if (encoding === 'mulaw') {
    for (const byte of window) {
      const s = MULAW_TABLE[byte] ?? 0;
      sum += s * s;
      n++;
    }
  } else {
    for (let i = 0; i + 1 < window.length; i += 2) {
      const s = window.readInt16LE(i);
      sum += s * s;
      n++;
    }
  }
  return n === 0 ? 0 : Math.sqrt(sum / n);
}

/** A word as Deepgram spells it without formatting: lower case, no punctuation. */
function bare(word: string): string {
  return word.toLowerCase().replace(/[^\p{L}\p{N}'-]/gu, '');
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
