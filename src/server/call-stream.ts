/**
 * One lifecycle for every stream a caller reaches us on: the Twilio media stream, the harness
 * socket, and whatever carries a call next (a WebRTC data channel). A route owns its wire format
 * (decoding, admission, what it tells the client); this owns what every call stream goes through:
 *
 *   awaiting_start ──start requested──> starting ──call manager says yes──> live ──> closed
 *        │ start timer                     │ frames held (bounded), played in once live
 *        └──────────── refused, timed out, failed, endpoint gone ─────────────────> closed
 *
 * and the rules that hold in every state: a bound on the bytes held for a peer that is not reading
 * (past it the call ends), a session that ends closes its endpoint, and an endpoint that goes away
 * stops its session. The endpoint is anything that can send, close and say how much it holds
 * (src/server/socket-guards.ts adapts a ws socket), so nothing here knows about `ws`.
 */
import type { InboundFrame } from '../core/frames.js';
import type { Logger } from '../observability/logger.js';
import type { CallManager, StartCallRequest, StartCallResult } from '../pipeline/call-manager.js';
import type { CallSession, SessionTransport } from '../pipeline/call-session.js';

/** WebSocket close codes (RFC 6455); other endpoints map them onto their own way of ending. */
export const CLOSE_NORMAL = 1000;
export const CLOSE_POLICY = 1008;
export const CLOSE_INTERNAL = 1011;
export const CLOSE_TRY_LATER = 1013;

export type CallStreamState = 'awaiting_start' | 'starting' | 'live' | 'closed';

/** What a call stream writes to: a WebSocket, a data channel. */
export interface StreamEndpoint {
  /** True while the peer can be written to (not closing, not closed). */
  isOpen(): boolean;
  /** Bytes handed over for the peer that it has not taken yet. */
  bufferedAmount(): number;
  send(data: string | Uint8Array, binary: boolean): void;
  /** Ends the stream with a close code and reason; a no-op once it is closing. */
  close(code: number, reason: string): void;
}

/** The call a route asks for once its start message checks out. */
export type CallStart = Omit<StartCallRequest, 'transportName' | 'transport'>;

/** A route's bounds on one stream, the same for each of its streams. */
export interface CallStreamLimits {
  /** A stream that has not asked to start by then is closed. */
  startTimeoutMs: number;
  /** Frames held while the call starts; the rest are dropped (onFrame says so). */
  maxEarlyFrames: number;
  /** Bytes held for a peer that is not reading before its call ends. */
  maxBufferedBytes: number;
}

export interface CallStreamOptions {
  manager: Pick<CallManager, 'start'>;
  /** 'twilio', 'browser', ... for records and metrics. */
  transportName: string;
  /** The route's side of the session: its wire format, hang-up and transfer. */
  transport: SessionTransport;
  endpoint: StreamEndpoint;
  log: Logger;
  /** What the log lines call the peer: 'media stream', 'harness client'. */
  peerName: string;
  /** Why the start timer refuses the call, in the transport's terms (default: no start message). */
  noStartMessage?: string;
  limits: CallStreamLimits;
  /** Says to the client why its call did not start (the harness has an `error` message; Twilio has no channel for it). */
  tell?(message: string): void;
  /** Last words before the stream closes its endpoint (the harness sends `ended`). */
  beforeClose?(reason: string): void;
  /** The call is live; called before the frames held while it started reach the session. */
  onLive?(session: CallSession): void;
}

/** What became of an inbound frame. */
export type FrameOutcome = 'delivered' | 'held' | 'dropped' | 'not_started' | 'closed';

export interface CallStream {
  readonly state: CallStreamState;
  /** The call, once the call manager has started it. */
  readonly session: CallSession | undefined;
  /**
   * A start message arrived. False when one already did (the route says so in its own words).
   * `prepare` runs at once, in state `starting` (frames are held meanwhile): it checks the start
   * and returns the call to start, or closes the stream itself (see refuse) and returns undefined.
   */
  onStartRequested(prepare: () => CallStart | undefined | Promise<CallStart | undefined>): boolean;
  onFrame(frame: InboundFrame): FrameOutcome;
  /** The peer is gone (socket closed): a live call is stopped as if the caller hung up. */
  onEndpointClosed(): void;
  /** Sends within the bound on buffered bytes; false when not sent (closed, or past the bound). */
  send(data: string | Uint8Array, binary?: boolean): boolean;
  /** Refuses the call: one warn line, the client told why (when it can be), the endpoint closed. */
  refuse(code: number, reason: string, message: string): void;
  /** Closes the endpoint (once; later calls are no-ops) after the route's last words. */
  close(code: number, reason: string): void;
}

/** Creating a call stream starts its start timer: call it when the endpoint opens. */
export function createCallStream(options: CallStreamOptions): CallStream {
  const { startTimeoutMs, maxEarlyFrames, maxBufferedBytes } = options.limits;
  let state: CallStreamState = 'awaiting_start';
  let session: CallSession | undefined;
  let log = options.log;
  let overflowed = false;
  /** Frames that arrive while the call is being set up (STT connecting), played in after. */
  const early: InboundFrame[] = [];

  const startTimer = setTimeout(() => {
    if (state === 'awaiting_start') refuse(CLOSE_POLICY, 'no_start', options.noStartMessage ?? 'no valid start message in time');
  }, startTimeoutMs);
  startTimer.unref?.();

  function close(code: number, reason: string): void {
    clearTimeout(startTimer);
    if (state === 'closed') return;
    state = 'closed';
    if (options.endpoint.isOpen()) options.beforeClose?.(reason);
    options.endpoint.close(code, reason);
  }

  function closeRefused(code: number, reason: string, message: string): void {
    if (state !== 'closed' && options.endpoint.isOpen()) options.tell?.(message);
    close(code, reason);
  }

  function refuse(code: number, reason: string, message: string): void {
    log.warn({ reason }, `${options.peerName} refused: ${message}`);
    closeRefused(code, reason, message);
  }

  function send(data: string | Uint8Array, binary = typeof data !== 'string'): boolean {
    if (overflowed || !options.endpoint.isOpen()) return false;
    const buffered = options.endpoint.bufferedAmount();
    if (buffered > maxBufferedBytes) {
      overflowed = true;
      log.warn({ buffered }, `${options.peerName} is not reading: ending the call`);
      // Closed first: the session must not wait on an endpoint that is not being read.
      close(CLOSE_TRY_LATER, 'client_not_reading');
      void session?.end('client_not_reading');
      return false;
    }
    options.endpoint.send(data, binary);
    return true;
  }

  function deliver(frame: InboundFrame): void {
    if (session === undefined) return;
    try {
      session.handle(frame);
    } catch (error) {
      log.error({ err: error }, 'the call session failed to handle a frame');
    }
  }

  async function start(prepare: () => CallStart | undefined | Promise<CallStart | undefined>): Promise<void> {
    const call = await prepare();
    if (call === undefined) return;
    log = options.log.child({ callId: call.callId });
    // Started even when the peer left meanwhile: the call manager decides, and the call is
    // stopped below, so what happened is on record.
    const result: StartCallResult = await options.manager.start({
      ...call,
      transportName: options.transportName,
      transport: options.transport,
    });
    if (!result.ok) {
      refuse(result.reason === 'duplicate_call' ? CLOSE_POLICY : CLOSE_TRY_LATER, result.reason, `the agent is not taking calls right now (${result.reason})`);
      return;
    }
    const live = result.session;
    session = live;
    void live.finished.then(
      (record) => close(CLOSE_NORMAL, record.endReason ?? 'ended'),
      (error: unknown) => log.error({ err: error }, 'the call did not finish cleanly'),
    );
    if (state === 'closed') {
      // The peer left (or was let go) while the call was being set up.
      deliver({ kind: 'stop' });
      return;
    }
    state = 'live';
    options.onLive?.(live);
    for (const frame of early.splice(0)) deliver(frame);
  }

  return {
    get state() {
      return state;
    },
    get session() {
      return session;
    },
    onStartRequested(prepare) {
      if (state !== 'awaiting_start') return false;
      state = 'starting';
      clearTimeout(startTimer);
      start(prepare).catch((error: unknown) => {
        log.error({ err: error }, 'call failed to start');
        // A call that could not be brought live is not left running without its peer.
        void session?.end('start_failed');
        closeRefused(CLOSE_INTERNAL, 'start_failed', 'the call could not be started');
      });
      return true;
    },
    onFrame(frame) {
      switch (state) {
        case 'closed':
          return 'closed';
        case 'awaiting_start':
          return 'not_started';
        case 'starting':
          // Bounded: a call that takes long to start must not let a stream fill memory.
          if (early.length >= maxEarlyFrames) return 'dropped';
          early.push(frame);
          return 'held';
        case 'live':
          deliver(frame);
          return 'delivered';
      }
    },
    onEndpointClosed() {
      clearTimeout(startTimer);
      const wasLive = state === 'live';
      state = 'closed';
      // A call still starting is stopped by the start path once it has a session.
      if (wasLive) deliver({ kind: 'stop' });
    },
    send,
    refuse,
    close,
  };
}
