/**
 * WebRTC callers: `POST /webrtc/offer` takes a browser's (or an app's) SDP offer and answers it,
 * ICE gathered, with the call's id; the call then runs over the peer connection (Opus both ways,
 * see src/transports/webrtc/peer.ts) and its `events` data channel, which speaks the harness
 * protocol's text messages (src/transports/browser/serializer.ts): the server sends `started`,
 * `event` and `ended`; the client may send typed turns (`text`) and `stop`.
 *
 * Admission is the harness socket's (src/server/admission.ts), with the token sent as
 * `Authorization: Bearer <HARNESS_TOKEN>`. A bad offer is answered 400 with the reason and starts
 * nothing. The call starts once ICE and DTLS are up (so the greeting is not spoken into a
 * connection still being made), through the lifecycle every caller stream shares (call-stream.ts):
 * the same concurrent-call limit, drain, records and metrics (`transport="webrtc"`). A connection
 * that fails, or whose audio stops for 10 s, ends its call as a hang-up would.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { BROWSER_AUDIO } from '../core/frames.js';
import type { OutboundFrame } from '../core/frames.js';
import { normalizePhone } from '../core/phone.js';
import type { Logger } from '../observability/logger.js';
import type { CallManager } from '../pipeline/call-manager.js';
import type { SessionTransport } from '../pipeline/call-session.js';
import { claimedCallerNumber, decodeHarnessMessage, encodeHarnessFrame, encodeHarnessMessage } from '../transports/browser/serializer.js';
import type { HarnessServerMessage } from '../transports/browser/serializer.js';
import { peerConfig } from '../transports/webrtc/ice-settings.js';
import type { WebRtcIceSettings } from '../transports/webrtc/ice-settings.js';
import { answerOffer, OfferError } from '../transports/webrtc/peer.js';
import type { PeerGoneReason, WebRtcPeer } from '../transports/webrtc/peer.js';
import { bearerToken, createAdmission } from './admission.js';
import { CLOSE_NORMAL, CLOSE_TRY_LATER, createCallStream } from './call-stream.js';
import type { CallStreamLimits, StreamEndpoint } from './call-stream.js';
import { browserCallControls } from './harness-routes.js';

export interface WebRtcRoutesDeps {
  manager: CallManager;
  harnessToken: string | undefined;
  ice: WebRtcIceSettings;
  /** False when no STT is configured: a voice call would not be heard, so offers are refused. */
  voiceAvailable: boolean;
  /** False when no TTS is configured: the agent answers on the events channel only (default true). */
  agentAudio?: boolean;
  logger: Logger;
  now?: () => number;
  /** A connection not up by then is dropped and its call never starts (default 15 s). */
  connectTimeoutMs?: number;
  /** No caller audio this long ends the call (default 10 s). */
  silenceTimeoutMs?: number;
  /** Agent audio plus event bytes held for a peer before its call ends (default 8 MiB, minutes of audio). */
  maxBufferedBytes?: number;
  /** The TCP peer's address (default: the socket's); tests stand in a remote peer here. */
  peerAddress?: (request: FastifyRequest) => string | undefined;
}

/** SDP of a browser's audio+data offer is 3-6 KB; this leaves room for many candidates. */
const MAX_SDP_CHARS = 64 * 1024;
const MAX_EARLY_FRAMES = 200;
/** Events held for a data channel that is not open yet (the greeting's come before it opens). */
const MAX_OUTBOX = 200;
/** Malformed data-channel messages answered per call; the rest are dropped quietly. */
const MAX_REPORTED_ERRORS = 20;
/** Time for the `ended` message to leave before the connection is torn down. */
const CLOSE_GRACE_MS = 250;
/**
 * Answered offers whose connection is not up yet. Each holds UDP sockets and a DTLS context until
 * it connects or times out, and is not a call yet (the call limit does not see it): a client that
 * only posts offers must not pile them up.
 */
const MAX_PENDING_OFFERS = 20;

const offerBody = z.strictObject({
  sdp: z.string().min(1).max(MAX_SDP_CHARS),
  type: z.literal('offer'),
  callerNumber: claimedCallerNumber.optional(),
});

export function webrtcRoutes(deps: WebRtcRoutesDeps): FastifyPluginAsync {
  const now = deps.now ?? (() => performance.now());
  const admission = createAdmission({ token: deps.harnessToken });
  const peerAddress = deps.peerAddress ?? ((request: FastifyRequest) => request.socket.remoteAddress);
  const config = peerConfig(deps.ice);
  const limits: CallStreamLimits = {
    startTimeoutMs: deps.connectTimeoutMs ?? 15_000,
    maxEarlyFrames: MAX_EARLY_FRAMES,
    maxBufferedBytes: deps.maxBufferedBytes ?? 8 * 1024 * 1024,
  };

  /** Every peer this route holds, so a closing server lets none outlive it. */
  const peers = new Set<WebRtcPeer>();
  let pendingOffers = 0;

  return async (app) => {
    app.addHook('onClose', async () => {
      for (const peer of peers) peer.close();
    });

    app.post('/webrtc/offer', async (request, reply) => {
      const remote = peerAddress(request);
      const admitted = admission.check({ remoteAddress: remote, headers: request.headers, presentedToken: bearerToken(request.headers) });
      if (!admitted.ok) {
        deps.logger.warn({ remote, reason: admitted.reason }, `webrtc offer refused: ${admitted.message}`);
        return reply.code(admitted.reason === 'invalid_token' ? 401 : 403).send({ error: admitted.reason, message: admitted.message });
      }
      if (!deps.voiceAvailable) {
        return reply.code(503).send({ error: 'voice_unavailable', message: 'no speech-to-text is configured (DEEPGRAM_API_KEY): WebRTC calls need it' });
      }
      const parsed = offerBody.safeParse(request.body);
      if (!parsed.success) {
        const reason = parsed.error.issues
          .slice(0, 3)
          .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
          .join('; ');
        deps.logger.warn({ remote, reason }, 'webrtc offer refused: bad request');
        return reply.code(400).send({ error: 'bad_offer', message: `invalid offer: ${reason}` });
      }
      let callerNumber: string | undefined;
      const claimed = parsed.data.callerNumber;
      if (claimed !== undefined && claimed.trim() !== '') {
        callerNumber = normalizePhone(claimed);
        if (callerNumber === undefined) {
          return reply.code(400).send({ error: 'bad_offer', message: `callerNumber "${claimed}" is not a phone number (try +15550102000)` });
        }
      }
      if (pendingOffers >= MAX_PENDING_OFFERS) {
        deps.logger.warn({ remote, pendingOffers }, 'webrtc offer refused: too many offers waiting to connect');
        return reply.code(503).header('retry-after', '5').send({ error: 'too_many_pending', message: 'too many calls are connecting; try again shortly' });
      }
      if (!deps.manager.accepting()) {
        return reply.code(503).header('retry-after', '5').send({ error: 'not_accepting', message: 'the agent is not taking calls right now; try again shortly' });
      }
      const callId = `webrtc-${randomBytes(8).toString('hex')}`;
      try {
        const answerSdp = await serveCall(callId, callerNumber, parsed.data.sdp, request);
        return reply.send({ sdp: answerSdp, type: 'answer', callId });
      } catch (error) {
        if (error instanceof OfferError) {
          deps.logger.warn({ remote, reason: error.reason }, 'webrtc offer refused: bad offer');
          return reply.code(400).send({ error: 'bad_offer', message: error.reason });
        }
        throw error;
      }
    });
  };

  /** Answers the offer and runs its call; resolves with the answer SDP once ICE is gathered. */
  async function serveCall(callId: string, callerNumber: string | undefined, offerSdp: string, request: FastifyRequest): Promise<string> {
    const log = deps.logger.child({ transport: 'webrtc', remote: request.ip, callId });
    let peer: WebRtcPeer | undefined;
    let closed = false;
    let reportedErrors = 0;
    // Events (the greeting's) can come before the data channel opens; they wait for it, bounded.
    const outbox: string[] = [];
    let goneBeforeAnswer: PeerGoneReason | undefined;
    let pending = true;
    pendingOffers += 1;
    const settle = (): void => {
      if (!pending) return;
      pending = false;
      pendingOffers -= 1;
    };

    const endpoint: StreamEndpoint = {
      isOpen: () => !closed,
      bufferedAmount: () => (peer?.bufferedAmount() ?? 0) + outbox.reduce((n, text) => n + text.length, 0),
      send(data, binary) {
        if (closed || peer === undefined) return;
        if (binary) {
          peer.sendAudio(typeof data === 'string' ? Buffer.from(data) : data);
          return;
        }
        const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
        if (!flushOutbox() || !peer.sendText(text)) {
          if (outbox.length < MAX_OUTBOX) outbox.push(text);
        }
      },
      close(_code, reason) {
        if (closed) return;
        closed = true;
        log.info({ reason }, 'webrtc call closing');
        const current = peer;
        // The last words (`ended`) leave before the connection goes.
        setTimeout(() => current?.close(), CLOSE_GRACE_MS).unref();
      },
    };

    function flushOutbox(): boolean {
      if (peer === undefined || !peer.channelOpen()) return false;
      while (outbox.length > 0) {
        if (!peer.sendText(outbox[0]!)) return false;
        outbox.shift();
      }
      return true;
    }

    function sendMessage(message: HarnessServerMessage): void {
      stream.send(encodeHarnessMessage(message), false);
    }

    const transport: SessionTransport = {
      format: BROWSER_AUDIO,
      send(frame: OutboundFrame) {
        try {
          switch (frame.kind) {
            case 'audio':
              if (frame.audio.length > 0) stream.send(frame.audio, true);
              return;
            case 'mark':
              peer?.mark(frame.name);
              return;
            case 'clear':
              peer?.clear();
              return;
            case 'event': {
              const encoded = encodeHarnessFrame(frame);
              if (encoded?.text !== undefined) stream.send(encoded.text, false);
              else log.warn({ event: frame.event.type }, 'webrtc event could not be serialised');
              return;
            }
          }
        } catch (error) {
          log.warn({ err: error }, 'webrtc send failed');
        }
      },
      ...browserCallControls(() => stream, log, 'webrtc'),
    };

    const stream = createCallStream({
      manager: deps.manager,
      transportName: 'webrtc',
      transport,
      endpoint,
      log,
      peerName: 'webrtc caller',
      noStartMessage: 'the peer connection did not come up in time',
      limits,
      tell: (message) => sendMessage({ type: 'error', message }),
      beforeClose: (reason) => sendMessage({ type: 'ended', reason }),
      onLive(session) {
        log.info({ callerNumber: session.record.callerNumber !== undefined }, 'webrtc call started');
        sendMessage({ type: 'started', callId, mode: 'voice', audio: deps.agentAudio ?? true });
      },
    });

    function onMessage(text: string): void {
      if (stream.state === 'closed') return;
      const decoded = decodeHarnessMessage(text, false, now());
      const problem =
        decoded.error ??
        (decoded.control !== undefined ? 'the call started with the offer; send "text" or "stop"' : undefined) ??
        (decoded.frame?.kind === 'mark' ? 'marks are not sent by WebRTC clients' : undefined);
      if (problem !== undefined) {
        reportedErrors += 1;
        if (reportedErrors <= MAX_REPORTED_ERRORS) {
          log.warn({ error: problem }, 'dropped a malformed webrtc data-channel message');
          sendMessage({ type: 'error', message: problem });
        }
        return;
      }
      if (decoded.frame === undefined) return;
      if (decoded.frame.kind === 'stop' && stream.state !== 'live') {
        stream.close(CLOSE_NORMAL, 'caller_hung_up');
        return;
      }
      stream.onFrame(decoded.frame);
    }

    try {
      peer = await answerOffer(
        offerSdp,
        {
          config,
          publicIp: deps.ice.publicIp,
          ...(deps.silenceTimeoutMs === undefined ? {} : { silenceTimeoutMs: deps.silenceTimeoutMs }),
          now,
        },
        {
          onConnected() {
            settle();
            flushOutbox();
            stream.onStartRequested(() => {
              if (!deps.manager.accepting()) {
                stream.refuse(CLOSE_TRY_LATER, 'not_accepting', 'the agent is not taking calls right now; try again shortly');
                return undefined;
              }
              return { callId, callerNumber };
            });
          },
          onAudio(pcm, atMs) {
            stream.onFrame({ kind: 'audio', audio: pcm, timestampMs: atMs });
          },
          onChannelOpen() {
            flushOutbox();
          },
          onMessage(text) {
            try {
              onMessage(text);
            } catch (error) {
              log.error({ err: error }, 'webrtc message handling failed');
            }
          },
          onBinaryMessage() {
            reportedErrors += 1;
            if (reportedErrors <= MAX_REPORTED_ERRORS) sendMessage({ type: 'error', message: 'the events channel carries JSON text only' });
          },
          onMarkPlayed(name) {
            stream.onFrame({ kind: 'mark', name });
          },
          onGone(reason) {
            settle();
            if (peer !== undefined) peers.delete(peer);
            if (peer === undefined) {
              goneBeforeAnswer = reason;
              return;
            }
            if (!closed) log.info({ reason }, 'webrtc peer gone: ending the call as a hang-up');
            closed = true;
            stream.onEndpointClosed();
          },
          onBadPacket() {
            // A corrupt packet is a lost 20 ms, not a failed call.
          },
        },
      );
    } catch (error) {
      settle();
      // Nothing was started: the stream is closed without a word to a caller that has no channel yet.
      closed = true;
      stream.onEndpointClosed();
      throw error;
    }
    if (goneBeforeAnswer !== undefined) {
      closed = true;
      stream.onEndpointClosed();
    } else {
      peers.add(peer);
    }
    // Kept reachable for the data channel's open: events sent before it wait in the outbox.
    return peer.answerSdp;
  }
}
