/**
 * A WebRTC caller in Node (werift, as a browser would behave): offers audio and the `events` data
 * channel, POSTs the offer, and then talks (Opus, paced in real time, silence between utterances
 * as a live microphone sends) and listens (decodes the agent's Opus, records when it arrived).
 */
import http from 'node:http';
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket, useOPUS } from 'werift';
import type { RTCDataChannel } from 'werift';
import { createFrameSplitter, createOpusDecoder, createOpusEncoder, OPUS_FRAME_BYTES, OPUS_FRAME_TICKS } from '../../src/audio/opus.js';
import { pcm16FromBytes, rms } from '../../src/audio/pcm.js';
import type { SessionEvent } from '../../src/core/frames.js';
import type { HarnessServerMessage } from '../../src/transports/browser/serializer.js';

export interface OfferResponse {
  status: number;
  body: Record<string, unknown>;
}

export interface WebRtcCaller {
  callId: string;
  /** Messages received on `events`, parsed. */
  messages: HarnessServerMessage[];
  /** The session events among them (transcripts, agent text, interruptions...), in order. */
  events(): SessionEvent[];
  /** Agent audio as it arrived: decoded 20 ms frames with their arrival time (performance.now). */
  received: Array<{ atMs: number; pcm: Uint8Array; rms: number }>;
  /** Queues 16 kHz PCM16 to be spoken (paced at 20 ms a frame); resolves when all of it has gone. */
  say(pcm: Uint8Array): Promise<void>;
  /** When each queued utterance's first frame went out (performance.now). */
  spokeAt: number[];
  sendText(message: unknown): void;
  connectionState(): string;
  /** The `events` channel's readyState. */
  channelState(): string;
  /** Received frames louder than `threshold` RMS. */
  loudFrames(threshold?: number): number;
  /** Stops sending RTP (a frozen tab, a lost network) without closing anything. */
  goSilent(): void;
  hangUp(): Promise<void>;
}

export interface DialOptions {
  callerNumber?: string;
  headers?: Record<string, string>;
  /** A TURN server the caller relays through, and nothing else (a network that lets no UDP out but to it). */
  relayOnly?: { urls: string; username: string; credential: string };
}

/**
 * POSTs an offer body as-is (for bad-offer tests), each on a connection of its own, as a browser
 * tab's first request is: behind a cluster, offers then go round the workers.
 */
export async function postOffer(base: string, body: unknown, headers: Record<string, string> = {}): Promise<OfferResponse> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise<OfferResponse>((resolve, reject) => {
    const request = http.request(
      `${base}/webrtc/offer`,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          try {
            resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

export async function dialWebRtc(base: string, options: DialOptions = {}): Promise<WebRtcCaller> {
  // max-bundle: werift as the offerer otherwise gathers a transport per m-line and never closes the
  // one BUNDLE drops (two UDP sockets per call left open in the test process; the server, the
  // answerer, keeps one transport and closes it).
  const pc = new RTCPeerConnection({
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
    codecs: { audio: [useOPUS()] },
    ...(options.relayOnly === undefined ? {} : { iceServers: [options.relayOnly], iceTransportPolicy: 'relay' as const }),
  });
  const transceiver = pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendrecv' });
  const channel: RTCDataChannel = pc.createDataChannel('events');
  const messages: HarnessServerMessage[] = [];
  const received: WebRtcCaller['received'] = [];
  const decoder = createOpusDecoder();
  const encoder = createOpusEncoder();
  channel.onMessage.subscribe((data) => messages.push(JSON.parse(String(data)) as HarnessServerMessage));
  transceiver.onTrack.subscribe((track) =>
    track.onReceiveRtp.subscribe((rtp) => {
      try {
        const pcm = decoder.decode(rtp.payload);
        received.push({ atMs: performance.now(), pcm, rms: rms(pcm16FromBytes(pcm)) });
      } catch {
        // A packet the decoder refuses is a lost frame here, as in a browser.
      }
    }),
  );

  await pc.setLocalDescription(await pc.createOffer());
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.iceGatheringStateChange.subscribe((state) => state === 'complete' && resolve());
  });
  const { status, body } = await postOffer(
    base,
    { sdp: pc.localDescription!.sdp, type: 'offer', ...(options.callerNumber === undefined ? {} : { callerNumber: options.callerNumber }) },
    options.headers,
  );
  if (status !== 200) {
    await pc.close();
    throw new Error(`offer refused: ${status} ${JSON.stringify(body)}`);
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: String(body.sdp) });

  // A live microphone: a frame every 20 ms, silence when there is nothing to say.
  const splitter = createFrameSplitter();
  const queue: Array<Uint8Array | (() => void)> = [];
  const spokeAt: number[] = [];
  const silent = new Uint8Array(OPUS_FRAME_BYTES);
  let seq = 0;
  let timestamp = 0;
  let muted = false;
  let next = performance.now();
  const pump = setInterval(() => {
    if (muted) return;
    const now = performance.now();
    while (next <= now) {
      next += 20;
      while (typeof queue[0] === 'function') (queue.shift() as () => void)();
      const frame = (queue.shift() as Uint8Array | undefined) ?? silent;
      const header = new RtpHeader({ sequenceNumber: seq, timestamp, payloadType: 111, marker: seq === 0 });
      seq = (seq + 1) & 0xffff;
      timestamp = (timestamp + OPUS_FRAME_TICKS) >>> 0;
      void transceiver.sender.sendRtp(new RtpPacket(header, Buffer.from(encoder.encode(frame)))).catch(() => undefined);
      // An utterance's end is noted as its last frame leaves, not at the next tick.
      while (typeof queue[0] === 'function') (queue.shift() as () => void)();
    }
  }, 5);

  return {
    callId: String(body.callId),
    messages,
    events: () => messages.flatMap((m) => (m.type === 'event' ? [m.event] : [])),
    received,
    spokeAt,
    say(pcm) {
      return new Promise<void>((resolve) => {
        queue.push(() => spokeAt.push(performance.now()));
        queue.push(...splitter.push(pcm));
        const tail = splitter.flush();
        if (tail !== undefined) queue.push(tail);
        queue.push(resolve);
      });
    },
    sendText(message) {
      channel.send(JSON.stringify(message));
    },
    connectionState: () => pc.connectionState,
    channelState: () => channel.readyState,
    loudFrames: (threshold = 300) => received.filter((f) => f.rms > threshold).length,
    goSilent() {
      muted = true;
    },
    async hangUp() {
      clearInterval(pump);
      await pc.close();
      decoder.close();
      encoder.close();
    },
  };
}
