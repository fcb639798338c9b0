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
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { WebSocket } from '@fastify/websocket';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { BROWSER_AUDIO } from '../core/frames.js';
import type { InboundFrame, OutboundFrame } from '../core/frames.js';
import type { Logger } from '../observability/logger.js';
import type { CallManager, CallProviders } from '../pipeline/call-manager.js';
import type { CallSession, SessionTransport } from '../pipeline/call-session.js';
import { normalizePhone } from '../core/phone.js';
import { decodeHarnessMessage, encodeHarnessFrame, encodeHarnessMessage } from '../transports/browser/serializer.js';
import type { HarnessMode, HarnessServerMessage, HarnessStart } from '../transports/browser/serializer.js';
import { createAdmission } from './admission.js';
import { closeSocket, createBoundedSender } from './socket-guards.js';

/** The first subprotocol a client offers; the server selects it, the second one is the token. */
export const HARNESS_SUBPROTOCOL = 'harness';

export const HARNESS_TRANSFER_MESSAGE = "I've asked someone from the shop to call you back.";

export interface HarnessRoutesDeps {
  manager: CallManager;
  harnessToken: string | undefined;
  logger: Logger;
  /** Provider overrides for typed calls, e.g. `{ stt: undefined }`. */
  textModeProviders?: Partial<CallProviders>;
  /** False when no STT is configured: calls are typed only, whatever the client asks. */
  voiceAvailable: boolean;
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

const WS_NORMAL = 1000;
const WS_POLICY_VIOLATION = 1008;
const WS_INTERNAL_ERROR = 1011;
const WS_TRY_AGAIN_LATER = 1013;

export function harnessRoutes(deps: HarnessRoutesDeps): FastifyPluginAsync {
  const now = deps.now ?? (() => performance.now());
  const startTimeoutMs = deps.startTimeoutMs ?? 10_000;
  const agentAudio = deps.agentAudio ?? true;
  const maxBufferedBytes = deps.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  const admission = createAdmission({ token: deps.harnessToken });
  const peerAddress = deps.peerAddress ?? ((request: FastifyRequest) => request.socket.remoteAddress);

  return async (app) => {
    const dir = deps.assetsDir ?? new URL('./harness/', import.meta.url);
    const page = (await readFile(new URL('index.html', dir), 'utf8'))
      .replaceAll('__VOICE_AVAILABLE__', String(deps.voiceAvailable))
      .replaceAll('__TOKEN_REQUIRED__', String(admission.tokenRequired));
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
          closeSocket(socket, WS_POLICY_VIOLATION, admitted.reason);
          return;
        }
        serveCall(socket, request);
      } catch (error) {
        deps.logger.error({ err: error }, 'harness socket setup failed');
        closeSocket(socket, WS_INTERNAL_ERROR, 'internal error');
      }
    });
  };

  /** One socket, one call: waits for `start`, starts the call, then relays frames both ways. */
  function serveCall(socket: WebSocket, request: FastifyRequest): void {
    let log = deps.logger.child({ transport: 'browser', remote: request.ip });
    let state: 'waiting' | 'starting' | 'live' | 'closed' = 'waiting';
    let mode: HarnessMode = 'text';
    let session: CallSession | undefined;
    // The session speaks (greeting events) while it starts; the client must see `started` first.
    let outbox: OutboundFrame[] | undefined = [];
    const early: InboundFrame[] = [];
    let reportedErrors = 0;

    const startTimer = setTimeout(() => {
      if (state === 'waiting') fail('no start message received', 'no_start', WS_POLICY_VIOLATION);
    }, startTimeoutMs);
    startTimer.unref?.();

    const sender = createBoundedSender(socket, {
      maxBufferedBytes,
      onOverflow(buffered) {
        log.warn({ buffered }, 'harness client is not reading; ending the call');
        closeWith('client_not_reading', WS_TRY_AGAIN_LATER);
        // Closed first: the session must not wait on a socket that is not being read.
        void session?.end('client_not_reading');
      },
    });

    function sendMessage(message: HarnessServerMessage): void {
      sender.send(encodeHarnessMessage(message));
    }

    function deliver(frame: OutboundFrame): void {
      if (socket.readyState !== socket.OPEN) return;
      const encoded = encodeHarnessFrame(frame);
      if (encoded === null) {
        if (frame.kind === 'event') log.warn({ event: frame.event.type }, 'harness event could not be serialised');
        return;
      }
      if (encoded.binary !== undefined) sender.send(encoded.binary, { binary: true });
      else if (encoded.text !== undefined) sender.send(encoded.text);
    }

    /** Sends `ended` (when it can) and closes; idempotent, and a no-op once the client is gone. */
    function closeWith(reason: string, code = WS_NORMAL): void {
      if (state === 'closed') return;
      state = 'closed';
      clearTimeout(startTimer);
      if (socket.readyState === socket.OPEN) {
        sendMessage({ type: 'ended', reason });
        closeSocket(socket, code, reason);
      }
    }

    // A function, not an inline test: the state changes while the call starts (awaits).
    function clientGone(): boolean {
      return state === 'closed';
    }

    function fail(message: string, reason: string, code: number): void {
      log.info({ reason }, `harness call refused: ${message}`);
      sendMessage({ type: 'error', message });
      closeWith(reason, code);
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
      async hangup() {
        // A call that fails while starting is closed by the start path, with its error first.
        if (state === 'starting') return;
        closeWith(session?.record.endReason ?? 'agent_ended');
      },
      async transfer(reason) {
        // No phone network behind a browser call: say what a shop without a transfer line says.
        log.info({ reason }, 'transfer requested on a harness call');
        return { transferred: false, message: HARNESS_TRANSFER_MESSAGE };
      },
    };

    async function startCall(start: HarnessStart): Promise<void> {
      state = 'starting';
      clearTimeout(startTimer);
      mode = start.mode === 'text' || !deps.voiceAvailable ? 'text' : 'voice';
      let callerNumber: string | undefined;
      if (start.callerNumber !== undefined && start.callerNumber.trim() !== '') {
        callerNumber = normalizePhone(start.callerNumber);
        if (callerNumber === undefined) {
          fail(`callerNumber "${start.callerNumber}" is not a phone number (try +15550102000)`, 'invalid_start', WS_NORMAL);
          return;
        }
      }
      if (!deps.manager.accepting()) {
        fail('the agent is not taking calls right now; try again shortly', 'not_accepting', WS_TRY_AGAIN_LATER);
        return;
      }
      const callId = `web-${randomBytes(8).toString('hex')}`;
      log = log.child({ callId });
      const textOnly = mode === 'text';
      const audio = textOnly && deps.textModeProviders !== undefined && 'tts' in deps.textModeProviders
        ? deps.textModeProviders.tts !== undefined && agentAudio
        : agentAudio;

      let result: Awaited<ReturnType<CallManager['start']>>;
      try {
        result = await deps.manager.start({
          callId,
          callerNumber,
          transportName: 'browser',
          transport,
          ...(textOnly && deps.textModeProviders !== undefined ? { providers: deps.textModeProviders } : {}),
        });
      } catch (error) {
        log.error({ err: error }, 'harness call failed to start');
        fail('the call could not be started', 'start_failed', WS_INTERNAL_ERROR);
        return;
      }
      if (!result.ok) {
        fail(`the agent is not taking calls right now (${result.reason})`, result.reason, WS_TRY_AGAIN_LATER);
        return;
      }
      session = result.session;
      const live = session;
      void live.finished.then(
        (record) => closeWith(record.endReason ?? 'ended'),
        (error: unknown) => log.error({ err: error }, 'harness call did not finish cleanly'),
      );
      if (clientGone()) {
        // The client left while the call was starting.
        live.handle({ kind: 'stop' });
        return;
      }
      state = 'live';
      log.info({ mode, audio, callerNumber: callerNumber !== undefined }, 'harness call started');
      sendMessage({ type: 'started', callId, mode, audio });
      const queued = outbox ?? [];
      outbox = undefined;
      for (const frame of queued) deliver(frame);
      for (const frame of early.splice(0)) live.handle(frame);
    }

    function onMessage(data: Parameters<typeof decodeHarnessMessage>[0], isBinary: boolean): void {
      if (state === 'closed') return;
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
        if (state !== 'waiting') {
          sendMessage({ type: 'error', message: 'the call has already started' });
          return;
        }
        void startCall(decoded.control).catch((error: unknown) => {
          log.error({ err: error }, 'harness call start crashed');
          closeWith('start_failed', WS_INTERNAL_ERROR);
        });
        return;
      }
      const frame = decoded.frame;
      if (frame === undefined) return;
      if (state === 'waiting') {
        if (frame.kind === 'stop') closeWith('caller_hung_up');
        else sendMessage({ type: 'error', message: 'send {"type":"start"} first' });
        return;
      }
      // Microphone audio of a typed call has nowhere to go.
      if (frame.kind === 'audio' && mode === 'text') return;
      if (state === 'starting') {
        if (early.length < MAX_EARLY_FRAMES) early.push(frame);
        return;
      }
      session?.handle(frame);
    }

    socket.on('message', (data, isBinary) => {
      try {
        onMessage(data, isBinary);
      } catch (error) {
        log.error({ err: error }, 'harness message handling failed');
      }
    });
    // Socket errors are logged once, for every route, by the plugin's handler (socket-guards.ts).
    socket.on('close', () => {
      const wasLive = state === 'live';
      state = 'closed';
      clearTimeout(startTimer);
      try {
        // A call still starting is stopped by the start path once it has a session.
        if (wasLive) session?.handle({ kind: 'stop' });
      } catch (error) {
        log.error({ err: error }, 'harness call stop failed');
      }
    });
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
