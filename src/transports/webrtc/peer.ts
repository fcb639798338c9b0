/**
 * The server's side of one WebRTC call (werift): answers a browser's offer with ICE gathered (no
 * trickle), decodes the caller's Opus to 16 kHz PCM16, paces the agent's audio out as Opus (see
 * audio-pacer.ts), and carries text on the `events` data channel. It knows frames of audio and
 * strings, nothing of calls: the route in src/server/webrtc-routes.ts maps them onto a call.
 *
 * A peer goes away (onGone) when ICE fails, when the caller's RTP stops for `silenceTimeoutMs`
 * (a closed laptop, a lost network: ICE may take far longer to notice), when the caller closes
 * the connection or the `events` channel, and when we close it.
 */
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket, useOPUS } from 'werift';
import type { PeerConfig, RTCDataChannel, RTCRtpTransceiver } from 'werift';
import { createOpusDecoder, createOpusEncoder, OPUS_PAYLOAD_TYPE } from '../../audio/opus.js';
import { createAudioPacer } from './audio-pacer.js';
import type { AudioPacer } from './audio-pacer.js';
import { advertisePublicIp } from './ice-settings.js';

export const EVENTS_CHANNEL = 'events';

/** Why an offer could not be answered; the route sends `reason` back with a 400. */
export class OfferError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'OfferError';
  }
}

export type PeerGoneReason = 'ice_failed' | 'rtp_timeout' | 'caller_closed' | 'closed';

export interface PeerHandlers {
  /** ICE and DTLS are up: media and the data channel can flow. */
  onConnected(): void;
  /** 16 kHz PCM16 LE, one decoded packet (20 ms from a browser); `atMs` is when it arrived. */
  onAudio(pcm: Uint8Array, atMs: number): void;
  /** The `events` channel is open: text can be sent. */
  onChannelOpen?(): void;
  /** A text message on the `events` channel. */
  onMessage(text: string): void;
  /** A binary message on the `events` channel (not part of the protocol; the route says so). */
  onBinaryMessage?(): void;
  /** Audio queued before a mark has been played (as far as the pacer can tell). */
  onMarkPlayed(name: string): void;
  /** Called once, whatever ended the connection. */
  onGone(reason: PeerGoneReason): void;
  /** A packet the decoder refused (counted, not fatal). */
  onBadPacket?(error: unknown): void;
}

export interface PeerOptions {
  config: Partial<PeerConfig>;
  publicIp?: string | undefined;
  /** No RTP from the caller for this long after connecting ends the call (default 10 s). */
  silenceTimeoutMs?: number;
  /** Gathering longer than this answers with what was gathered (default 5 s). */
  gatherTimeoutMs?: number;
  playoutAllowanceMs?: number;
  now?: () => number;
}

export interface WebRtcPeer {
  readonly answerSdp: string;
  /** Agent audio, 16 kHz PCM16 LE, any length: paced out in 20 ms packets. */
  sendAudio(pcm: Uint8Array): void;
  mark(name: string): void;
  /** Drops agent audio not sent yet (barge-in). */
  clear(): void;
  /** Sends on the `events` channel; false when it is not open (yet, or any more). */
  sendText(text: string): boolean;
  channelOpen(): boolean;
  /** Agent audio waiting to be paced out plus data-channel bytes not yet taken by SCTP. */
  bufferedAmount(): number;
  close(): void;
}

export async function answerOffer(offerSdp: string, options: PeerOptions, handlers: PeerHandlers): Promise<WebRtcPeer> {
  checkOffer(offerSdp);
  const now = options.now ?? (() => performance.now());
  const silenceTimeoutMs = options.silenceTimeoutMs ?? 10_000;
  const pc = new RTCPeerConnection({ ...options.config, codecs: { audio: [useOPUS()] } });
  const decoder = createOpusDecoder();
  const encoder = createOpusEncoder();
  let channel: RTCDataChannel | undefined;
  let gone = false;
  let lastRtpAt = 0;
  let lastSeq: number | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let pacer: AudioPacer | undefined;

  function goneWith(reason: PeerGoneReason): void {
    if (gone) return;
    gone = true;
    clearInterval(watchdog);
    pacer?.close();
    decoder.close();
    encoder.close();
    void pc.close().catch(() => undefined);
    handlers.onGone(reason);
  }

  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp) => {
      if (gone) return;
      lastRtpAt = now();
      // Late (reordered) packets are dropped: their moment has passed for a live STT stream.
      const seq = rtp.header.sequenceNumber;
      if (lastSeq !== undefined && ((seq - lastSeq) & 0xffff) > 0x8000) return;
      lastSeq = seq;
      if (rtp.payload.length === 0) return;
      let pcm: Uint8Array;
      try {
        pcm = decoder.decode(rtp.payload);
      } catch (error) {
        handlers.onBadPacket?.(error);
        return;
      }
      handlers.onAudio(pcm, lastRtpAt);
    });
  });

  pc.onDataChannel.subscribe((dc) => {
    if (dc.label !== EVENTS_CHANNEL || channel !== undefined) return;
    channel = dc;
    dc.onMessage.subscribe((data) => {
      if (gone) return;
      if (typeof data === 'string') handlers.onMessage(data);
      else handlers.onBinaryMessage?.();
    });
    dc.stateChanged.subscribe((state) => {
      if (state === 'open' && !gone) handlers.onChannelOpen?.();
      if (state === 'closed') goneWith('caller_closed');
    });
    if (dc.readyState === 'open') queueMicrotask(() => handlers.onChannelOpen?.());
  });

  pc.connectionStateChange.subscribe((state) => {
    if (state === 'connected' && watchdog === undefined && !gone) {
      lastRtpAt = now();
      watchdog = setInterval(() => {
        if (now() - lastRtpAt > silenceTimeoutMs) goneWith('rtp_timeout');
      }, Math.min(1_000, silenceTimeoutMs));
      watchdog.unref();
      handlers.onConnected();
    } else if (state === 'failed') {
      goneWith('ice_failed');
    } else if (state === 'closed') {
      goneWith('caller_closed');
    }
  });

  let transceiver: RTCRtpTransceiver;
  try {
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    const audio = pc.getTransceivers().find((t) => t.kind === 'audio');
    if (audio === undefined) throw new OfferError('the offer has no audio section');
    transceiver = audio;
    transceiver.setDirection('sendrecv');
    await transceiver.sender.replaceTrack(new MediaStreamTrack({ kind: 'audio' }));
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc, options.gatherTimeoutMs ?? 5_000);
  } catch (error) {
    gone = true;
    decoder.close();
    encoder.close();
    await pc.close().catch(() => undefined);
    if (error instanceof OfferError) throw error;
    throw new OfferError(`the offer could not be accepted: ${error instanceof Error ? error.message : String(error)}`);
  }
  const local = pc.localDescription;
  if (!local) {
    goneWith('closed');
    throw new OfferError('no answer could be made for the offer');
  }
  if (!/a=rtpmap:\d+ opus\/48000/i.test(local.sdp) || /m=audio 0 /.test(local.sdp)) {
    goneWith('closed');
    throw new OfferError('the offer does not offer Opus audio');
  }

  const sender = transceiver.sender;
  let sequenceNumber = Math.floor(Math.random() * 0xffff);
  pacer = createAudioPacer({
    encode: (frame) => encoder.encode(frame),
    sendPacket(payload, timestamp, marker) {
      if (gone) return;
      const header = new RtpHeader({ sequenceNumber, timestamp, marker, payloadType: OPUS_PAYLOAD_TYPE });
      sequenceNumber = (sequenceNumber + 1) & 0xffff;
      void sender.sendRtp(new RtpPacket(header, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength))).catch(() => undefined);
    },
    onMarkPlayed: (name) => handlers.onMarkPlayed(name),
    ...(options.playoutAllowanceMs === undefined ? {} : { playoutAllowanceMs: options.playoutAllowanceMs }),
  });
  const activePacer = pacer;

  return {
    answerSdp: options.publicIp === undefined ? local.sdp : advertisePublicIp(local.sdp, options.publicIp),
    sendAudio: (pcm) => {
      if (!gone) activePacer.push(pcm);
    },
    mark: (name) => {
      if (!gone) activePacer.mark(name);
    },
    clear: () => activePacer.clear(),
    sendText(text) {
      if (gone || channel === undefined || channel.readyState !== 'open') return false;
      channel.send(text);
      return true;
    },
    channelOpen: () => !gone && channel?.readyState === 'open',
    bufferedAmount: () => activePacer.queuedBytes() + (channel?.bufferedAmount ?? 0),
    close: () => goneWith('closed'),
  };
}

/** A cheap look before werift parses anything: a bad offer gets a reason a developer can act on. */
function checkOffer(sdp: string): void {
  if (!sdp.startsWith('v=0')) throw new OfferError('sdp is not a session description (it must start with "v=0")');
  if (!/^m=audio /m.test(sdp)) throw new OfferError('the offer has no audio section (add an audio track or transceiver)');
  if (!/^a=rtpmap:\d+ opus\/48000/im.test(sdp)) throw new OfferError('the offer does not offer Opus audio');
  if (!/^a=fingerprint:/m.test(sdp)) throw new OfferError('the offer has no DTLS fingerprint');
  if (!/^a=ice-ufrag:/m.test(sdp)) throw new OfferError('the offer has no ICE credentials (a=ice-ufrag)');
}

function gathered(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      subscription.unSubscribe();
      resolve();
    }, timeoutMs);
    const subscription = pc.iceGatheringStateChange.subscribe((state) => {
      if (state !== 'complete') return;
      clearTimeout(timer);
      subscription.unSubscribe();
      resolve();
    });
  });
}
