/**
 * Twilio's edge: the incoming-call webhook and the media stream.
 *
 *   POST /twilio/voice   signature-checked; answers TwiML that connects the call to our stream,
 *                        with the caller's number and a per-call stream token as <Parameter>s
 *   GET  /twilio/stream  the bidirectional media stream (WebSocket): frames in and out through
 *                        the pure serializer, a call session per stream
 *
 * Nothing a client sends on the stream can end the server or another call: malformed messages are
 * logged (rate-limited, never their payloads) and dropped, and a stream that cannot show a token
 * minted for its own call, and not used before, is closed before any session starts. A stream that stops reading ends
 * its call once the bytes held for it pass a bound, and the server closes every stream it is done
 * with itself (after `stop` too), rather than wait for the other side.
 *
 * The stream's states, start timer, frames held while the call starts, byte bound and close codes
 * are the shared call-stream lifecycle's (call-stream.ts); this file keeps what is Twilio's: the
 * message format, the stream token, the drop log, and REST call control for hang-up and transfer.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { PHONE_AUDIO } from '../core/frames.js';
import type { InboundFrame } from '../core/frames.js';
import type { Logger } from '../observability/logger.js';
import type { CallManager } from '../pipeline/call-manager.js';
import type { SessionTransport } from '../pipeline/call-session.js';
import type { TwilioCallControl } from '../transports/twilio/call-control.js';
import { TWILIO_SID } from '../transports/twilio/rest.js';
import { decodeTwilioMessage, encodeTwilioFrame, MAX_TWILIO_MESSAGE_BYTES } from '../transports/twilio/serializer.js';
import type { TwilioStreamState } from '../transports/twilio/serializer.js';
import { validateTwilioSignature } from '../transports/twilio/signature.js';
import { deriveStreamTokenSecret, issueStreamToken, streamTokenUse, verifyStreamToken } from '../transports/twilio/stream-token.js';
import type { StreamTokenLedger } from '../transports/twilio/stream-token.js';
import { connectStreamTwiml, sayAndHangupTwiml } from '../transports/twilio/twiml.js';
import { CLOSE_INTERNAL, CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TRY_LATER, createCallStream } from './call-stream.js';
import type { CallStart, CallStreamLimits } from './call-stream.js';
import { socketEndpoint } from './socket-guards.js';

export const TWILIO_VOICE_PATH = '/twilio/voice';
export const TWILIO_STREAM_PATH = '/twilio/stream';

export const AT_CAPACITY_MESSAGE =
  'Thanks for calling. All of our lines are busy right now. Please call back in a few minutes. Goodbye.';
export const TRANSFER_MESSAGE = 'Transferring you to someone at the shop now.';
export const CALLBACK_MESSAGE = "I've asked someone from the shop to call you back at this number.";

export { CLOSE_INTERNAL, CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TRY_LATER } from './call-stream.js';

/**
 * Bytes held for a stream that is not reading before its call ends. A phone call takes ~11 KB/s
 * of media messages and Twilio reads as fast as we write, so this is over a minute of audio
 * ahead: only a stuck or hostile client reaches it.
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Frames held while a call starts (STT connecting): about ten seconds of 20 ms media messages. */
const MAX_EARLY_FRAMES = 500;

export interface TwilioRoutesDeps {
  manager: CallManager;
  /** https base Twilio reaches us at; the signature covers it, and the stream URL is built on it. */
  publicUrl: string | undefined;
  authToken: string | undefined;
  streamTokenTtlSeconds: number;
  /** Where used stream tokens are remembered; shared by every instance, so a token starts one stream. */
  tokenLedger: StreamTokenLedger;
  transferNumber: string | undefined;
  callControl: TwilioCallControl | undefined;
  logger: Logger;
  /** Epoch ms, for stream tokens. */
  now?: () => number;
  /** A stream that has not shown a valid `start` by then is closed. */
  startTimeoutMs?: number;
  /** Malformed messages tolerated before `start`; past it the socket is closed (nothing to protect yet). */
  maxMalformedBeforeStart?: number;
  /** Minimum gap between two "dropped a malformed message" log lines of one stream. */
  dropLogIntervalMs?: number;
  /** Bytes held for a stream that is not reading before its call ends (default 1 MiB). */
  maxBufferedBytes?: number;
}

export function twilioRoutes(deps: TwilioRoutesDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'twilio' });
  const tokenSecret = deps.authToken === undefined || deps.authToken === '' ? undefined : deriveStreamTokenSecret(deps.authToken);
  const publicBase = parsePublicUrl(deps.publicUrl);
  const maxMalformedBeforeStart = deps.maxMalformedBeforeStart ?? 100;
  const dropLogIntervalMs = deps.dropLogIntervalMs ?? 5_000;
  const limits: CallStreamLimits = {
    startTimeoutMs: deps.startTimeoutMs ?? 10_000,
    maxEarlyFrames: MAX_EARLY_FRAMES,
    maxBufferedBytes: deps.maxBufferedBytes ?? MAX_BUFFERED_BYTES,
  };

  async function voiceWebhook(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (deps.authToken === undefined || deps.authToken === '' || tokenSecret === undefined) {
      log.error('Twilio webhook refused: TWILIO_AUTH_TOKEN is not set, so its signature cannot be checked (unsigned webhooks are never accepted)');
      return reply.code(503).type('text/plain').send('Service Unavailable');
    }
    if (publicBase === undefined) {
      log.error('Twilio webhook refused: PUBLIC_URL is not set (or not a URL), so the signed URL and the stream URL are unknown');
      return reply.code(503).type('text/plain').send('Service Unavailable');
    }
    const params = formParams(request.body);
    const queryAt = request.url.indexOf('?');
    const signedUrl = `${publicBase.href}${TWILIO_VOICE_PATH}${queryAt === -1 ? '' : request.url.slice(queryAt)}`;
    const header = request.headers['x-twilio-signature'];
    const signature = typeof header === 'string' ? header : undefined;
    const authToken = deps.authToken;
    if (
      params === undefined ||
      !signedUrlVariants(signedUrl).some((url) => validateTwilioSignature({ authToken, signature, url, params }))
    ) {
      log.warn({ signed: signature !== undefined, ip: request.ip }, 'Twilio webhook refused: invalid or missing X-Twilio-Signature');
      return reply.code(403).type('text/plain').send('Forbidden');
    }
    const callSid = params.CallSid;
    if (callSid === undefined || !TWILIO_SID.test(callSid)) {
      return reply.code(400).type('text/plain').send('Bad Request');
    }
    if (!deps.manager.accepting()) {
      log.warn({ callId: callSid }, 'incoming call turned away: at capacity or draining');
      return reply.type('text/xml').send(sayAndHangupTwiml(AT_CAPACITY_MESSAGE));
    }
    const parameters: Record<string, string> = {};
    const from = params.From?.trim();
    if (from !== undefined && from !== '' && from.length < 100) parameters.callerNumber = from;
    parameters.token = issueStreamToken({ secret: tokenSecret, callSid, ttlSeconds: deps.streamTokenTtlSeconds, now: now() });
    log.info({ callId: callSid }, 'incoming call: connecting the media stream');
    return reply.type('text/xml').send(connectStreamTwiml({ streamUrl: `${publicBase.wss}${TWILIO_STREAM_PATH}`, parameters }));
  }

  function mediaStream(socket: WebSocket, request: FastifyRequest): void {
    const state: TwilioStreamState = { streamSid: undefined };
    let callSid: string | undefined;
    const streamLog = log.child({ ip: request.ip });
    const drops = createDropLog(streamLog, dropLogIntervalMs);

    const transport: SessionTransport = {
      format: PHONE_AUDIO,
      send(frame) {
        const streamSid = state.streamSid;
        if (streamSid === undefined) return;
        const message = encodeTwilioFrame(frame, streamSid);
        if (message === null) return;
        try {
          stream.send(message);
        } catch (error) {
          streamLog.warn({ callId: callSid, err: error }, 'sending to the media stream failed');
        }
      },
      async hangup() {
        if (deps.callControl !== undefined && callSid !== undefined) {
          try {
            await deps.callControl.hangup(callSid);
          } catch (error) {
            streamLog.warn({ callId: callSid, err: error }, 'REST hang-up failed: closing the stream ends the call instead');
          }
        }
        // With nothing after </Connect> in our TwiML, a closed stream ends the call.
        stream.close(CLOSE_NORMAL, 'call ended');
      },
      async transfer(reason) {
        streamLog.info({ callId: callSid, reason }, 'caller asked for a person');
        if (deps.transferNumber !== undefined && deps.callControl !== undefined && callSid !== undefined) {
          try {
            await deps.callControl.redirectToDial(callSid, deps.transferNumber);
            streamLog.info({ callId: callSid }, 'call transferred to the shop');
            return { transferred: true, message: TRANSFER_MESSAGE };
          } catch (error) {
            streamLog.error({ callId: callSid, reason, err: error }, 'transfer failed: a call-back is needed');
          }
        } else {
          streamLog.warn({ callId: callSid, reason }, 'call-back needed: no transfer number or call control configured');
        }
        return { transferred: false, message: CALLBACK_MESSAGE };
      },
    };

    const stream = createCallStream({
      manager: deps.manager,
      transportName: 'twilio',
      transport,
      endpoint: socketEndpoint(socket, request.socket),
      log: streamLog,
      peerName: 'media stream',
      limits,
    });

    /**
     * A token starts one stream, ever: a second use is a replay (or a copy) and is refused. When
     * the ledger cannot answer (database down) the stream is refused too, fail closed: a check
     * that lapses whenever the database does protects nothing, and a call could neither look the
     * caller up nor book then. The caller hears Twilio's own error; calling back gets a new token.
     */
    async function claimToken(token: string, id: string): Promise<boolean> {
      const use = streamTokenUse(token);
      try {
        if (await deps.tokenLedger.claim(use.id, use.expiresAt)) return true;
        streamLog.warn({ callId: id }, 'media stream refused: its stream token was already used');
        stream.close(CLOSE_POLICY, 'stream token used');
      } catch (error) {
        streamLog.warn({ callId: id, err: error }, 'media stream refused: cannot check that its stream token is unused');
        stream.close(CLOSE_TRY_LATER, 'token check unavailable');
      }
      return false;
    }

    /** The call a `start` asks for, once its token checks out; undefined (and closed) when not. */
    async function admit(frame: Extract<InboundFrame, { kind: 'start' }>, streamSid: string): Promise<CallStart | undefined> {
      state.streamSid = streamSid;
      const id = frame.callId;
      callSid = id;
      if (tokenSecret === undefined) {
        streamLog.error({ callId: id }, 'media stream refused: TWILIO_AUTH_TOKEN is not set, so stream tokens cannot be checked');
        stream.close(CLOSE_INTERNAL, 'not configured');
        return undefined;
      }
      const check = verifyStreamToken({ secret: tokenSecret, token: frame.parameters.token, callSid: id, now: now() });
      if (check !== 'ok') {
        const why = frame.parameters.token === undefined ? 'missing' : check;
        streamLog.warn({ callId: id, tokenCheck: why }, 'media stream refused: stream token is not valid for this call');
        stream.close(CLOSE_POLICY, `stream token ${why}`);
        return undefined;
      }
      if (!(await claimToken(frame.parameters.token ?? '', id))) return undefined;
      return { callId: id, callerNumber: frame.callerNumber };
    }

    function onMessage(data: RawData, isBinary: boolean): void {
      if (stream.state === 'closed') return;
      const raw = toBuffer(data);
      let error: string | undefined;
      let frame: InboundFrame | undefined;
      let streamSid: string | undefined;
      if (isBinary) error = 'binary message';
      else if (raw.length > MAX_TWILIO_MESSAGE_BYTES) error = `message too large (${raw.length} bytes)`;
      else ({ error, frame, streamSid } = decodeTwilioMessage(raw, state, performance.now()));

      if (error !== undefined) {
        drops.drop(error, callSid);
        if (stream.state === 'awaiting_start' && drops.total() > maxMalformedBeforeStart) {
          streamLog.warn({ malformed: drops.total() }, 'media stream closed: too many malformed messages before start');
          stream.close(CLOSE_POLICY, 'malformed');
        }
        return;
      }
      if (frame === undefined) return;
      if (frame.kind === 'start') {
        const start = frame;
        if (streamSid === undefined || !stream.onStartRequested(() => admit(start, streamSid))) {
          drops.drop('second start on one stream', callSid);
        }
        return;
      }
      if (stream.onFrame(frame) === 'dropped') drops.drop('backlog full while the call starts', callSid);
      // The stream is over: close it now rather than hold it until the other side does.
      if (frame.kind === 'stop') stream.close(CLOSE_NORMAL, 'stopped');
    }

    socket.on('message', (data: RawData, isBinary: boolean) => {
      try {
        onMessage(data, isBinary);
      } catch (error) {
        streamLog.error({ callId: callSid, err: error }, 'media stream message handling failed');
      }
    });
    // Socket errors are logged once, for every route, by the plugin's handler (socket-guards.ts).
    socket.on('close', (code: number) => {
      stream.onEndpointClosed();
      streamLog.info({ callId: callSid, code, malformed: drops.total() }, 'media stream closed');
    });
  }

  return async (app) => {
    app.post(TWILIO_VOICE_PATH, voiceWebhook);
    app.get(TWILIO_STREAM_PATH, { websocket: true }, (socket, request) => {
      try {
        mediaStream(socket, request);
      } catch (error) {
        log.error({ err: error }, 'media stream setup failed');
        socket.terminate();
      }
    });
  };
}

/** `https://host/prefix` -> the base href (no trailing slash) and the same place over wss. */
function parsePublicUrl(value: string | undefined): { href: string; wss: string } | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  try {
    const url = new URL(value.trim());
    const path = url.pathname.replace(/\/+$/, '');
    return { href: `${url.protocol}//${url.host}${path}`, wss: `wss://${url.host}${path}` };
  } catch {
    return undefined;
  }
}

/**
 * The URL as configured, and with the scheme's default port spelled out: Twilio's own validators
 * accept both, because Twilio has signed with either form.
 */
function signedUrlVariants(url: string): string[] {
  try {
    const parsed = new URL(url);
    if (parsed.port !== '') return [url];
    const port = parsed.protocol === 'https:' ? '443' : parsed.protocol === 'http:' ? '80' : undefined;
    if (port === undefined) return [url];
    return [url, url.replace(`//${parsed.host}`, `//${parsed.host}:${port}`)];
  } catch {
    return [url];
  }
}

/** The form body as Twilio signed it: a flat record of strings, or undefined when it is not one. */
function formParams(body: unknown): Record<string, string> | undefined {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) return undefined;
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    if (typeof value !== 'string') return undefined;
    params[key] = value;
  }
  return params;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Logs dropped messages at most once per interval per stream, counting what it held back. */
function createDropLog(log: Logger, intervalMs: number): { drop(reason: string, callSid: string | undefined): void; total(): number } {
  let total = 0;
  let suppressed = 0;
  let lastLoggedAt = Number.NEGATIVE_INFINITY;
  return {
    drop(reason, callSid) {
      total += 1;
      const at = performance.now();
      if (at - lastLoggedAt < intervalMs) {
        suppressed += 1;
        return;
      }
      log.warn({ callId: callSid, reason, suppressedSinceLast: suppressed, malformedTotal: total }, 'dropped a malformed media stream message');
      lastLoggedAt = at;
      suppressed = 0;
    },
    total: () => total,
  };
}
