/**
 * Twilio Media Streams <-> frames. Pure: no I/O, no clock, no logging. What it cannot make sense
 * of comes back as `{ error }` for the route to log and drop, so a bad message never ends a call.
 * https://www.twilio.com/docs/voice/media-streams/websocket-messages
 *
 * From Twilio: connected, start, media, mark (an echo of ours), dtmf, stop. To Twilio: media,
 * mark, clear. Numbers in Twilio's messages (sequenceNumber, chunk, timestamp) are strings; we do
 * not need them, since the socket delivers in order.
 */
import type { InboundFrame, OutboundFrame } from '../../core/frames.js';

/** Above any real message: Twilio sends 20 ms of audio (~250 characters) per media message. */
export const MAX_TWILIO_MESSAGE_BYTES = 64 * 1024;
const MAX_AUDIO_BYTES = 16 * 1024;
const MAX_PAYLOAD_CHARS = Math.ceil(MAX_AUDIO_BYTES / 3) * 4;
const MAX_MARK_NAME_CHARS = 256;
const MAX_CUSTOM_PARAMETERS = 32;
/** Twilio: a <Parameter>'s name and value together stay under 500 characters. */
const MAX_PARAMETER_CHARS = 500;
const DTMF_DIGIT = /^[0-9*#A-D]$/;

/** What the route knows about its stream; the serializer reads it and never changes it. */
export interface TwilioStreamState {
  /** Set from the `start` message; undefined until then. */
  streamSid: string | undefined;
}

export interface TwilioDecodeResult {
  frame?: InboundFrame;
  /** Present on a valid `start`: the route keeps it for encoding and later decoding. */
  streamSid?: string;
  error?: string;
}

type Json = Record<string, unknown>;

/**
 * Decodes one text message from Twilio. `arrivedAtMs` stamps audio frames (the caller passes
 * performance.now() at arrival); connected, and media on a track we do not listen to, decode to
 * nothing.
 */
export function decodeTwilioMessage(
  raw: string | Buffer,
  state: TwilioStreamState,
  arrivedAtMs = 0,
): TwilioDecodeResult {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw, 'utf8') : raw.length;
  if (size > MAX_TWILIO_MESSAGE_BYTES) return { error: `message too large (${size} bytes)` };
  let message: unknown;
  try {
    message = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return { error: 'not JSON' };
  }
  if (!isObject(message)) return { error: 'not a JSON object' };
  const event = message.event;
  if (typeof event !== 'string') return { error: 'missing event' };

  switch (event) {
    case 'connected':
      return {};
    case 'start':
      return decodeStart(message, state);
    case 'media':
    case 'mark':
    case 'dtmf': {
      if (state.streamSid === undefined) return { error: `${event} before start` };
      if (message.streamSid !== undefined && message.streamSid !== state.streamSid) {
        return { error: `${event} for another stream` };
      }
      if (event === 'media') return decodeMedia(message, arrivedAtMs);
      if (event === 'mark') return decodeMark(message);
      return decodeDtmf(message);
    }
    case 'stop':
      if (state.streamSid !== undefined && message.streamSid !== undefined && message.streamSid !== state.streamSid) {
        return { error: 'stop for another stream' };
      }
      return { frame: { kind: 'stop' } };
    default:
      return { error: `unknown event "${truncate(event, 32)}"` };
  }
}

function decodeStart(message: Json, state: TwilioStreamState): TwilioDecodeResult {
  if (state.streamSid !== undefined) return { error: 'second start on one stream' };
  const start = message.start;
  if (!isObject(start)) return { error: 'start without start object' };
  const { streamSid, callSid, mediaFormat, customParameters } = start;
  if (!isSid(streamSid)) return { error: 'start without a valid streamSid' };
  if (!isSid(callSid)) return { error: 'start without a valid callSid' };
  if (message.streamSid !== undefined && message.streamSid !== streamSid) return { error: 'start with mismatched streamSid' };
  if (!isObject(mediaFormat)) return { error: 'start without mediaFormat' };
  // We never transcode phone audio: anything but mu-law 8 kHz mono would be played as noise.
  if (mediaFormat.encoding !== 'audio/x-mulaw' || Number(mediaFormat.sampleRate) !== 8000 || Number(mediaFormat.channels ?? 1) !== 1) {
    return { error: 'unsupported media format (want audio/x-mulaw, 8000 Hz, mono)' };
  }
  const parameters: Record<string, string> = {};
  if (customParameters !== undefined) {
    if (!isObject(customParameters)) return { error: 'customParameters is not an object' };
    const entries = Object.entries(customParameters);
    if (entries.length > MAX_CUSTOM_PARAMETERS) return { error: 'too many customParameters' };
    for (const [name, value] of entries) {
      if (typeof value !== 'string') return { error: `customParameter "${truncate(name, 32)}" is not a string` };
      if (name.length + value.length >= MAX_PARAMETER_CHARS) return { error: `customParameter "${truncate(name, 32)}" is too long` };
      parameters[name] = value;
    }
  }
  const callerNumber = parameters.callerNumber;
  return {
    streamSid,
    frame: {
      kind: 'start',
      callId: callSid,
      streamId: streamSid,
      callerNumber: callerNumber === undefined || callerNumber === '' ? undefined : callerNumber,
      parameters,
    },
  };
}

function decodeMedia(message: Json, arrivedAtMs: number): TwilioDecodeResult {
  const media = message.media;
  if (!isObject(media)) return { error: 'media without media object' };
  // A bidirectional stream only carries the caller (inbound); anything else is not for STT.
  if (media.track !== undefined) {
    if (typeof media.track !== 'string') return { error: 'media track is not a string' };
    if (media.track !== 'inbound' && media.track !== 'inbound_track') return {};
  }
  const payload = media.payload;
  if (typeof payload !== 'string') return { error: 'media payload is not a string' };
  if (payload === '') return { error: 'empty media payload' };
  if (payload.length > MAX_PAYLOAD_CHARS) return { error: 'media payload too large' };
  const audio = decodeBase64(payload);
  if (audio === undefined) return { error: 'media payload is not base64' };
  return { frame: { kind: 'audio', audio, timestampMs: arrivedAtMs } };
}

/**
 * Padded base64 (either alphabet) to bytes; undefined when it is not base64. Node's decoder skips
 * what it cannot read, so text with anything else in it decodes to fewer bytes than its length
 * says: one pass, no regular expression over every 20 ms frame.
 *
 * The bytes are a view into Buffer's shared pool, not an array of their own: a copy costs more
 * than the decoding (bench/hot-path.ts), and a frame is passed on and dropped within the event
 * loop's turn (the STT and the VAD copy what they keep). A view that is kept longer holds its
 * pool slab (8 KB) in memory, never wrong bytes: Node does not reuse a slab.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const size = (text.length / 4) * 3 - padding;
  const decoded = Buffer.from(text, 'base64');
  return decoded.length === size ? new Uint8Array(decoded.buffer, decoded.byteOffset, size) : undefined;
}

function decodeMark(message: Json): TwilioDecodeResult {
  const mark = message.mark;
  if (!isObject(mark)) return { error: 'mark without mark object' };
  const name = mark.name;
  if (typeof name !== 'string' || name === '') return { error: 'mark without a name' };
  if (name.length > MAX_MARK_NAME_CHARS) return { error: 'mark name too long' };
  return { frame: { kind: 'mark', name } };
}

function decodeDtmf(message: Json): TwilioDecodeResult {
  const dtmf = message.dtmf;
  if (!isObject(dtmf)) return { error: 'dtmf without dtmf object' };
  const digit = dtmf.digit;
  if (typeof digit !== 'string' || !DTMF_DIGIT.test(digit)) return { error: 'dtmf without a valid digit' };
  return { frame: { kind: 'dtmf', digit } };
}

/**
 * Encodes one frame for Twilio; null for frames Twilio has no message for (harness events).
 * A `clear` drops Twilio's queued audio, and Twilio then echoes every mark still pending.
 */
export function encodeTwilioFrame(frame: OutboundFrame, streamSid: string): string | null {
  switch (frame.kind) {
    case 'audio':
      return JSON.stringify({
        event: 'media',
        streamSid,
        media: { payload: Buffer.from(frame.audio.buffer, frame.audio.byteOffset, frame.audio.byteLength).toString('base64') },
      });
    case 'mark':
      return JSON.stringify({ event: 'mark', streamSid, mark: { name: frame.name } });
    case 'clear':
      return JSON.stringify({ event: 'clear', streamSid });
    case 'event':
      return null;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSid(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value);
}

function truncate(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max)}...`;
}
