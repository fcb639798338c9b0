/**
 * The browser test harness: a page where a developer calls the agent from the browser (microphone
 * or typed turns) and watches the transcript, tool calls and per-turn latencies; and its
 * WebSocket, one socket per call, speaking the protocol in src/transports/browser/serializer.ts
 * (the CLI harness speaks it too).
 *
 * Admission (src/server/admission.ts): a harness caller may claim any callerNumber, so the socket
 * is not open to the world. When `harnessToken` is set, a socket must present it, either as the
 * second WebSocket subprotocol (`Sec-WebSocket-Protocol: harness, <token>`; the page does this, so
 * the token never lands in a URL or an access log) or as `?token=<token>` (for CLI tools; the
 * logger scrubs the value). Unset: only clients on this machine get in. A browser page from
 * another origin never does. A refused socket is closed with 1008 (policy violation).
 * The page and its assets carry no secrets and are served to anyone.
 *
 * A call's states, start timer, byte bound and closing are the shared call-stream lifecycle's
 * (call-stream.ts); this file keeps the harness protocol: admission, the start message, typed or
 * voice calls, and the `started` / `error` / `ended` messages around them.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { WebSocket } from '@fastify/websocket';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { BROWSER_AUDIO } from '../core/frames.js';
import type { OutboundFrame } from '../core/frames.js';
import type { Logger } from '../observability/logger.js';
import type { CallManager, CallProviders } from '../pipeline/call-manager.js';
import type { SessionTransport } from '../pipeline/call-session.js';
import { normalizePhone } from '../core/phone.js';
import { decodeHarnessMessage, encodeHarnessFrame, encodeHarnessMessage } from '../transports/browser/serializer.js';
import type { HarnessMode, HarnessServerMessage, HarnessStart } from '../transports/browser/serializer.js';
import { createAdmission } from './admission.js';
import { CLOSE_INTERNAL, CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TRY_LATER, createCallStream } from './call-stream.js';
import type { CallStart, CallStream, CallStreamLimits } from './call-stream.js';
import { closeSocket, socketEndpoint } from './socket-guards.js';

/** The first subprotocol a client offers; the server selects it, the second one is the token. */
export const HARNESS_SUBPROTOCOL = 'harness';

export const HARNESS_TRANSFER_MESSAGE = "I've asked someone from the shop to call you back.";

/**
 * Hang-up and transfer for a call from a browser (this socket, or WebRTC): `stream()` is the call's
 * stream (created after its transport, hence a getter); `transportName` names it in the log.
 */
export function browserCallControls(stream: () => CallStream, log: Logger, transportName: string): Pick<SessionTransport, 'hangup' | 'transfer'> {
  return {
    async hangup() {
      const call = stream();
      // A call that fails while starting is closed by the start path, with its error first.
      if (call.state === 'starting') return;
      call.close(CLOSE_NORMAL, call.session?.record.endReason ?? 'agent_ended');
    },
    async transfer(reason) {
      // No phone network behind a browser call: say what a shop without a transfer line says.
      log.info({ reason }, `transfer requested on a ${transportName} call`);
      return { transferred: false, message: HARNESS_TRANSFER_MESSAGE };
    },
  };
}

export interface HarnessRoutesDeps {
  manager: CallManager;
  harnessToken: string | undefined;
  logger: Logger;
  /** Provider overrides for typed calls, e.g. `{ stt: undefined }`. */
  textModeProviders?: Partial<CallProviders>;
  /** False when no STT is configured: calls are typed only, whatever the client asks. */
  voiceAvailable: boolean;
  /** True when POST /webrtc/offer serves voice calls: the page's Voice mode uses it (default false). */
  webrtcAvailable?: boolean;
  /** False when no TTS is configured: no agent audio is sent (default true). */
  agentAudio?: boolean;
  /** Process clock stamping inbound audio (default performance.now). */
  now?: () => number;
  /** Where the page's files are (default: ./harness beside this module). */
  assetsDir?: URL;
  /** A socket that has not sent `start` by then is closed (default 10 s). */
  startTimeoutMs?: number;
  /** Bytes held for a client that is not reading before its call ends (default 8 MiB). */
  maxBufferedBytes?: number;
  /**
   * The TCP peer's address (default: the socket's). Tests stand in a remote peer here: this
   * sandbox may not dial any address but loopback.
   */
  peerAddress?: (request: FastifyRequest) => string | undefined;
}

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'audio.js': 'text/javascript; charset=utf-8',
  'waterfall.js': 'text/javascript; charset=utf-8',
  'webrtc.js': 'text/javascript; charset=utf-8',
  'mic-worklet.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

// connect-src 'self' covers ws:/wss: to the same host (CSP Level 3).
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Frames the client has not read yet beyond this: it is gone or stuck, so the call ends. About
 * four minutes of 16 kHz PCM: a browser on a slow link still gets a long reply in one go.
 */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** Malformed messages logged (and answered) per socket; the rest are dropped quietly. */
const MAX_REPORTED_ERRORS = 20;
/** Frames that arrive while the call is starting, kept for it. */
const MAX_EARLY_FRAMES = 200;

export function harnessRoutes(deps: HarnessRoutesDeps): FastifyPluginAsync {
  const now = deps.now ?? (() => performance.now());
  const agentAudio = deps.agentAudio ?? true;
  const limits: CallStreamLimits = {
    startTimeoutMs: deps.startTimeoutMs ?? 10_000,
    maxEarlyFrames: MAX_EARLY_FRAMES,
    maxBufferedBytes: deps.maxBufferedBytes ?? MAX_BUFFERED_BYTES,
  };
  const admission = createAdmission({ token: deps.harnessToken });
  const peerAddress = deps.peerAddress ?? ((request: FastifyRequest) => request.socket.remoteAddress);

  return async (app) => {
    const dir = deps.assetsDir ?? new URL('./harness/', import.meta.url);
    const page = (await readFile(new URL('index.html', dir), 'utf8'))
      .replaceAll('__VOICE_AVAILABLE__', String(deps.voiceAvailable))
      .replaceAll('__TOKEN_REQUIRED__', String(admission.tokenRequired))
      .replaceAll('__WEBRTC_AVAILABLE__', String(deps.webrtcAvailable ?? false));
    const assets = new Map<string, { body: string; type: string }>();
    for (const [name, type] of Object.entries(ASSETS)) {
      assets.set(name, { body: await readFile(new URL(name, dir), 'utf8'), type });
    }

    app.get('/', async (_request, reply) =>
      reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', PAGE_CSP)
        .header('x-content-type-options', 'nosniff')
        .send(page),
    );

    app.get<{ Params: { name: string } }>('/harness/:name', async (request, reply) => {
      const asset = assets.get(request.params.name);
      if (asset === undefined) return reply.code(404).send({ error: 'not_found' });
      return reply
        .header('content-type', asset.type)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .send(asset.body);
    });

    app.get('/harness/ws', { websocket: true }, (socket, request) => {
      try {
        const remote = peerAddress(request);
        const admitted = admission.check({
          remoteAddress: remote,
          headers: request.headers,
          presentedToken: presentedToken(request),
        });
        if (!admitted.ok) {
          deps.logger.warn({ remote, reason: admitted.reason }, `harness socket refused: ${admitted.message}`);
          socket.send(encodeHarnessMessage({ type: 'error', message: admitted.message }));
          closeSocket(socket, CLOSE_POLICY, admitted.reason);
          return;
        }
        serveCall(socket, request);
      } catch (error) {
        deps.logger.error({ err: error }, 'harness socket setup failed');
        closeSocket(socket, CLOSE_INTERNAL, 'internal error');
      }
    });
  };

  /** One socket, one call: waits for `start`, starts the call, then relays frames both ways. */
  function serveCall(socket: WebSocket, request: FastifyRequest): void {
    let log = deps.logger.child({ transport: 'browser', remote: request.ip });
    let mode: HarnessMode = 'text';
    let audio = agentAudio;
    // The session speaks (greeting events) while it starts; the client must see `started` first.
    let outbox: OutboundFrame[] | undefined = [];
    let reportedErrors = 0;

    function sendMessage(message: HarnessServerMessage): void {
      stream.send(encodeHarnessMessage(message));
    }

    function deliver(frame: OutboundFrame): void {
      const encoded = encodeHarnessFrame(frame);
      if (encoded === null) {
        if (frame.kind === 'event') log.warn({ event: frame.event.type }, 'harness event could not be serialised');
        return;
      }
      if (encoded.binary !== undefined) stream.send(encoded.binary, true);
      else if (encoded.text !== undefined) stream.send(encoded.text);
    }

    const transport: SessionTransport = {
      format: BROWSER_AUDIO,
      send(frame) {
        try {
          if (outbox !== undefined) outbox.push(frame);
          else deliver(frame);
        } catch (error) {
          log.warn({ err: error }, 'harness send failed');
        }
      },
      ...browserCallControls(() => stream, log, 'harness'),
    };

    const stream = createCallStream({
      manager: deps.manager,
      transportName: 'browser',
      transport,
      endpoint: socketEndpoint(socket),
      log,
      peerName: 'harness client',
      limits,
      tell: (message) => sendMessage({ type: 'error', message }),
      beforeClose: (reason) => sendMessage({ type: 'ended', reason }),
      onLive(session) {
        log.info({ mode, audio, callerNumber: session.record.callerNumber !== undefined }, 'harness call started');
        sendMessage({ type: 'started', callId: session.record.callId, mode, audio });
        const queued = outbox ?? [];
        outbox = undefined;
        for (const frame of queued) deliver(frame);
      },
    });

    /** The call a `start` asks for; undefined (and refused) when it cannot be had. */
    function admit(start: HarnessStart): CallStart | undefined {
      mode = start.mode === 'text' || !deps.voiceAvailable ? 'text' : 'voice';
      let callerNumber: string | undefined;
      if (start.callerNumber !== undefined && start.callerNumber.trim() !== '') {
        callerNumber = normalizePhone(start.callerNumber);
        if (callerNumber === undefined) {
          stream.refuse(CLOSE_NORMAL, 'invalid_start', `callerNumber "${start.callerNumber}" is not a phone number (try +15550102000)`);
          return undefined;
        }
      }
      if (!deps.manager.accepting()) {
        stream.refuse(CLOSE_TRY_LATER, 'not_accepting', 'the agent is not taking calls right now; try again shortly');
        return undefined;
      }
      const callId = `web-${randomBytes(8).toString('hex')}`;
      log = log.child({ callId });
      const textOnly = mode === 'text';
      audio = textOnly && deps.textModeProviders !== undefined && 'tts' in deps.textModeProviders
        ? deps.textModeProviders.tts !== undefined && agentAudio
        : agentAudio;
      return {
        callId,
        callerNumber,
        ...(textOnly && deps.textModeProviders !== undefined ? { providers: deps.textModeProviders } : {}),
      };
    }

    function onMessage(data: Parameters<typeof decodeHarnessMessage>[0], isBinary: boolean): void {
      if (stream.state === 'closed') return;
      const decoded = decodeHarnessMessage(data, isBinary, now());
      if (decoded.error !== undefined) {
        reportedErrors += 1;
        if (reportedErrors <= MAX_REPORTED_ERRORS) {
          log.warn({ error: decoded.error }, 'dropped a malformed harness message');
          sendMessage({ type: 'error', message: decoded.error });
        }
        return;
      }
      if (decoded.control !== undefined) {
        const start = decoded.control;
        if (!stream.onStartRequested(() => admit(start))) sendMessage({ type: 'error', message: 'the call has already started' });
        return;
      }
      const frame = decoded.frame;
      if (frame === undefined) return;
      if (stream.state === 'awaiting_start') {
        if (frame.kind === 'stop') stream.close(CLOSE_NORMAL, 'caller_hung_up');
        else sendMessage({ type: 'error', message: 'send {"type":"start"} first' });
        return;
      }
      // Microphone audio of a typed call has nowhere to go.
      if (frame.kind === 'audio' && mode === 'text') return;
      stream.onFrame(frame);
    }

    socket.on('message', (data, isBinary) => {
      try {
        onMessage(data, isBinary);
      } catch (error) {
        log.error({ err: error }, 'harness message handling failed');
      }
    });
    // Socket errors are logged once, for every route, by the plugin's handler (socket-guards.ts).
    socket.on('close', () => stream.onEndpointClosed());
  }
}

function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers['sec-websocket-protocol'];
  if (typeof header === 'string') {
    const [first, second] = header.split(',').map((part) => part.trim());
    if (first === HARNESS_SUBPROTOCOL && second !== undefined && second !== '') return second;
  }
  const query = request.query as Record<string, unknown> | undefined;
  const token = query?.token;
  return typeof token === 'string' && token !== '' ? token : undefined;
}
