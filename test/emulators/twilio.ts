/**
 * Protocol-level emulators of Twilio, on 127.0.0.1 only.
 *
 * (a) The REST Calls update endpoint (POST /2010-04-01/Accounts/{sid}/Calls/{callSid}.json):
 *     checks Basic auth, records each form-encoded update, and can be told to fail. The Account
 *     and its IncomingPhoneNumbers (fetch, read, update) are served too (twilio-account.ts).
 * (b) A media-stream caller: a WebSocket client that behaves like Twilio's side of a bidirectional
 *     <Connect><Stream>. It sends `connected` and `start`, then whatever audio the test gives it as
 *     20 ms `media` messages, and it plays what it receives the way Twilio does
 *     (https://www.twilio.com/docs/voice/media-streams/websocket-messages):
 *       - `media` is queued and played in the order received, at 8 kHz (times `speed`);
 *       - a `mark` is echoed back with the same name once the audio queued before it has played;
 *       - `clear` empties the queued audio, and every mark still pending is echoed back at once.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { resumeReading, stopReading } from '../support/stuck-client.js';
import { listenOnLoopback } from './listen.js';
import { createTwilioAccountState } from './twilio-account.js';
import type { EmulatedIncomingNumber, IncomingNumberSpec, TwilioAccountRequest } from './twilio-account.js';

export type { EmulatedIncomingNumber, IncomingNumberSpec, TwilioAccountRequest };

// ---- (a) REST ---------------------------------------------------------------------------------

export interface TwilioRestRequest {
  accountSid: string;
  callSid: string;
  /** The form fields of the update (Status, Twiml, Url...). */
  params: Record<string, string>;
  authorized: boolean;
}

export interface TwilioRestEmulator {
  /** Pass as the call control's apiBaseUrl. */
  readonly baseUrl: string;
  readonly requests: TwilioRestRequest[];
  /** The next `times` authorized updates answer `status` (a Twilio-shaped error body). */
  failNext(status: number, times?: number): void;
  /** Called for each update that succeeded, e.g. to end the emulated call's media stream. */
  onUpdate(handler: (request: TwilioRestRequest) => void): void;
  /** Requests to the Account and its IncomingPhoneNumbers, in order (Calls updates are in `requests`). */
  readonly accountRequests: TwilioAccountRequest[];
  /** Provisions a number on the account. */
  addIncomingNumber(spec: IncomingNumberSpec): EmulatedIncomingNumber;
  /** The number as stored now (a copy), by E.164 number. */
  incomingNumber(phoneNumber: string): EmulatedIncomingNumber | undefined;
  close(): Promise<void>;
}

const CALL_PATH = /^\/2010-04-01\/Accounts\/([A-Za-z0-9]+)\/Calls\/([A-Za-z0-9]+)\.json$/;

export async function startTwilioRestEmulator(options: {
  accountSid: string;
  authToken: string;
  /** Numbers provisioned on the account from the start. */
  incomingNumbers?: readonly IncomingNumberSpec[];
}): Promise<TwilioRestEmulator> {
  const requests: TwilioRestRequest[] = [];
  const account = createTwilioAccountState({ ...options, numbers: options.incomingNumbers ?? [] });
  const failures: number[] = [];
  const handlers: Array<(request: TwilioRestRequest) => void> = [];
  const expectedAuth = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const answer = account.handle({
        method: req.method ?? 'GET',
        url,
        params: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
        authorized: req.headers.authorization === expectedAuth,
      });
      if (answer !== undefined) return reply(res, answer.status, answer.body);
      const match = CALL_PATH.exec(req.url ?? '');
      if (req.method !== 'POST' || match === null) {
        return reply(res, 404, { code: 20404, message: 'The requested resource was not found', status: 404 });
      }
      const authorized = req.headers.authorization === expectedAuth && match[1] === options.accountSid;
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const record: TwilioRestRequest = { accountSid: match[1] ?? '', callSid: match[2] ?? '', params, authorized };
      requests.push(record);
      if (!authorized) return reply(res, 401, { code: 20003, message: 'Authenticate', status: 401 });
      const failure = failures.shift();
      if (failure !== undefined) return reply(res, failure, { code: 20500, message: 'Internal Server Error', status: failure });
      if (params.Status === undefined && params.Twiml === undefined && params.Url === undefined) {
        return reply(res, 400, { code: 21201, message: 'No valid update parameters', status: 400 });
      }
      reply(res, 200, {
        sid: record.callSid,
        account_sid: record.accountSid,
        status: params.Status ?? 'in-progress',
        api_version: '2010-04-01',
      });
      for (const handler of handlers) handler(record);
    });
  });
  const port = await listenOnLoopback(server);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    failNext(status, times = 1) {
      for (let i = 0; i < times; i++) failures.push(status);
    },
    onUpdate(handler) {
      handlers.push(handler);
    },
    accountRequests: account.requests,
    addIncomingNumber: (spec) => account.addIncomingNumber(spec),
    incomingNumber: (phoneNumber) => account.incomingNumber(phoneNumber),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

// ---- (b) media stream caller --------------------------------------------------------------------

export interface TwilioCallerOptions {
  /** ws://127.0.0.1:port/twilio/stream */
  url: string;
  callSid: string;
  streamSid?: string;
  accountSid?: string;
  customParameters: Record<string, string>;
  /** Playback speed (1 = real time); marks come back sooner at higher speeds. */
  speed?: number;
  /** False: connect and send `connected` only; the test calls sendStart() (or sends raw messages). */
  autoStart?: boolean;
}

export type CallerEvent =
  | { type: 'media'; bytes: number; at: number }
  | { type: 'mark'; name: string; at: number }
  | { type: 'clear'; at: number; droppedBytes: number }
  | { type: 'mark_echoed'; name: string; at: number; cleared: boolean };

export interface TwilioCaller {
  readonly callSid: string;
  readonly streamSid: string;
  /** Outbound audio chunks received (decoded from base64), in order. */
  readonly audio: Uint8Array[];
  /** Names of the marks received, in order. */
  readonly marks: string[];
  /** Marks echoed back, in order, and whether a clear (rather than playback) released them. */
  readonly echoedMarks: Array<{ name: string; cleared: boolean }>;
  readonly clears: number;
  /** Every message received and what happened, in order. */
  readonly events: CallerEvent[];
  /** Messages from the server that Twilio would not accept (bad JSON, unknown event, wrong streamSid). */
  readonly protocolErrors: string[];
  readonly closeCode: number | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;
  audioBytes(): number;
  setSpeed(speed: number): void;
  sendStart(overrides?: { customParameters?: Record<string, string>; mediaFormat?: Record<string, unknown> }): void;
  /** Sends caller audio as 20 ms (160-byte) media messages with sequenceNumber, chunk and timestamp. */
  sendAudio(bytes: Uint8Array): void;
  sendDtmf(digit: string): void;
  /** Sends anything as is, for malformed-input tests. */
  sendRaw(data: string | Buffer, options?: { binary?: boolean }): void;
  /** The caller hangs up: Twilio sends `stop` and closes the socket. */
  hangUp(): void;
  /** Sends `stop` and leaves the socket open, to see the server close it. */
  sendStop(): void;
  /** A stuck client: stops reading its TCP socket (writes still go out) until resumeReading(). */
  stopReading(): void;
  resumeReading(): void;
  close(code?: number): void;
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
}

const BYTES_PER_MS = 8;
const CHUNK_BYTES = 160;

export async function connectTwilioCaller(options: TwilioCallerOptions): Promise<TwilioCaller> {
  const socket = new WebSocket(options.url);
  const streamSid = options.streamSid ?? `MZ${randomHex(32)}`;
  const accountSid = options.accountSid ?? `AC${randomHex(32)}`;
  let speed = options.speed ?? 20;
  let sequence = 0;
  let chunk = 0;
  let playheadMs = performance.now();
  /** Marks waiting for their audio to play, in order. */
  let pending: Array<{ name: string; timer: NodeJS.Timeout }> = [];
  let closeCode: number | undefined;

  const audio: Uint8Array[] = [];
  const marks: string[] = [];
  const echoedMarks: Array<{ name: string; cleared: boolean }> = [];
  const events: CallerEvent[] = [];
  const protocolErrors: string[] = [];
  let clears = 0;

  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => {
      closeCode = code;
      for (const entry of pending) clearTimeout(entry.timer);
      pending = [];
      resolve({ code, reason: reason.toString('utf8') });
    });
  });
  socket.on('error', () => undefined);

  function send(message: Record<string, unknown>): void {
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify(message));
  }
  const nextSequence = (): string => String(++sequence);

  function echo(name: string, cleared: boolean): void {
    echoedMarks.push({ name, cleared });
    events.push({ type: 'mark_echoed', name, at: performance.now(), cleared });
    send({ event: 'mark', sequenceNumber: nextSequence(), streamSid, mark: { name } });
  }

  function onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      protocolErrors.push('binary message');
      return;
    }
    let message: { event?: unknown; streamSid?: unknown; media?: { payload?: unknown }; mark?: { name?: unknown } };
    try {
      message = JSON.parse(data.toString()) as typeof message;
    } catch {
      protocolErrors.push('not JSON');
      return;
    }
    if (message.streamSid !== streamSid) protocolErrors.push(`${String(message.event)} with streamSid ${String(message.streamSid)}`);
    const at = performance.now();
    switch (message.event) {
      case 'media': {
        const payload = message.media?.payload;
        if (typeof payload !== 'string') {
          protocolErrors.push('media without payload');
          return;
        }
        const bytes = new Uint8Array(Buffer.from(payload, 'base64'));
        audio.push(bytes);
        events.push({ type: 'media', bytes: bytes.length, at });
        playheadMs = Math.max(playheadMs, at) + bytes.length / BYTES_PER_MS / speed;
        return;
      }
      case 'mark': {
        const name = message.mark?.name;
        if (typeof name !== 'string') {
          protocolErrors.push('mark without name');
          return;
        }
        marks.push(name);
        events.push({ type: 'mark', name, at });
        const entry = {
          name,
          timer: setTimeout(() => {
            pending = pending.filter((p) => p !== entry);
            echo(name, false);
          }, Math.max(0, playheadMs - at)),
        };
        pending.push(entry);
        return;
      }
      case 'clear': {
        clears += 1;
        const droppedBytes = Math.max(0, Math.round((playheadMs - at) * speed * BYTES_PER_MS));
        events.push({ type: 'clear', at, droppedBytes });
        playheadMs = at;
        const released = pending;
        pending = [];
        for (const entry of released) {
          clearTimeout(entry.timer);
          echo(entry.name, true);
        }
        return;
      }
      default:
        protocolErrors.push(`unknown event ${String(message.event)}`);
    }
  }
  socket.on('message', onMessage);

  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`stream handshake answered HTTP ${res.statusCode}`)));
  });

  const caller: TwilioCaller = {
    callSid: options.callSid,
    streamSid,
    audio,
    marks,
    echoedMarks,
    get clears() {
      return clears;
    },
    events,
    protocolErrors,
    get closeCode() {
      return closeCode;
    },
    closed,
    audioBytes: () => audio.reduce((n, a) => n + a.length, 0),
    setSpeed(value) {
      speed = value;
    },
    sendStart(overrides = {}) {
      send({
        event: 'start',
        sequenceNumber: nextSequence(),
        start: {
          accountSid,
          streamSid,
          callSid: options.callSid,
          tracks: ['inbound'],
          mediaFormat: overrides.mediaFormat ?? { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
          customParameters: overrides.customParameters ?? options.customParameters,
        },
        streamSid,
      });
    },
    sendAudio(bytes) {
      for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
        const piece = bytes.subarray(offset, offset + CHUNK_BYTES);
        chunk += 1;
        send({
          event: 'media',
          sequenceNumber: nextSequence(),
          media: {
            track: 'inbound',
            chunk: String(chunk),
            timestamp: String((chunk - 1) * 20),
            payload: Buffer.from(piece).toString('base64'),
          },
          streamSid,
        });
      }
    },
    sendDtmf(digit) {
      send({ event: 'dtmf', streamSid, sequenceNumber: nextSequence(), dtmf: { track: 'inbound_track', digit } });
    },
    sendRaw(data, rawOptions = {}) {
      if (socket.readyState !== WebSocket.OPEN) return;
      socket.send(data, { binary: rawOptions.binary ?? false });
    },
    hangUp() {
      caller.sendStop();
      socket.close(1000);
    },
    sendStop() {
      send({ event: 'stop', sequenceNumber: nextSequence(), streamSid, stop: { accountSid, callSid: options.callSid } });
    },
    stopReading() {
      stopReading(socket);
    },
    resumeReading() {
      resumeReading(socket);
    },
    close(code = 1000) {
      socket.close(code);
    },
    async waitFor(predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error('twilio caller: condition not met in time');
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };

  send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
  if (options.autoStart ?? true) caller.sendStart();
  return caller;
}

/** A Twilio-looking SID: two letters and 32 hex digits. */
export function twilioSid(prefix: 'CA' | 'MZ' | 'AC'): string {
  return `${prefix}${randomHex(32)}`;
}

function randomHex(length: number): string {
  let out = '';
  while (out.length < length) out += Math.floor(Math.random() * 16).toString(16);
  return out;
}
