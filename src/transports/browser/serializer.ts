/**
 * The browser (and CLI) harness wire format, pure: no socket, no clock, no I/O. The route owns the
 * socket; this only turns messages into frames and frames into messages.
 *
 * Client -> server: text JSON `start` (first), `text` (a typed turn), `mark` (played up to here),
 * `stop`; binary PCM16 little-endian 16 kHz mono microphone audio.
 * Server -> client: text JSON `started`, `mark`, `clear`, `event`, `ended`, `error`; binary PCM16
 * LE 16 kHz mono agent audio.
 */
import { z } from 'zod';
import type { InboundFrame, OutboundFrame, SessionEvent } from '../../core/frames.js';

/** A JSON message longer than this is not one we sent a client or expect from one. */
export const MAX_TEXT_MESSAGE_BYTES = 16 * 1024;
/** Two seconds of 16 kHz PCM16: clients send 20-100 ms chunks, so more is a broken client. */
export const MAX_AUDIO_MESSAGE_BYTES = 64 * 1024;
/** A typed turn; longer is pasted text, not something a caller would say. */
export const MAX_TYPED_TEXT_CHARS = 2_000;

export type HarnessMode = 'voice' | 'text';

export interface HarnessStart {
  type: 'start';
  callerNumber?: string | undefined;
  mode?: HarnessMode | undefined;
}

/** Every message a client may send as text. */
export type HarnessClientMessage =
  | HarnessStart
  | { type: 'text'; text: string }
  | { type: 'mark'; name: string }
  | { type: 'stop' };

/** Every message the server sends as text (agent audio goes as binary). */
export type HarnessServerMessage =
  | { type: 'started'; callId: string; mode: HarnessMode; audio: boolean }
  | { type: 'mark'; name: string }
  | { type: 'clear' }
  | { type: 'event'; event: SessionEvent }
  | { type: 'ended'; reason: string }
  | { type: 'error'; message: string };

export interface DecodedHarnessMessage {
  frame?: InboundFrame;
  control?: HarnessStart;
  error?: string;
}

/** A caller number as a client may claim it: only the characters people write numbers with; routes normalise it to E.164. */
export const claimedCallerNumber = z
  .string()
  .max(32)
  .regex(/^\+?[0-9\s().-]*$/, 'callerNumber may hold only digits, spaces, + ( ) . -');

const clientMessage = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('start'),
    callerNumber: claimedCallerNumber.optional(),
    mode: z.enum(['voice', 'text']).optional(),
  }),
  z.strictObject({ type: z.literal('text'), text: z.string().min(1).max(MAX_TYPED_TEXT_CHARS) }),
  z.strictObject({ type: z.literal('mark'), name: z.string().min(1).max(200) }),
  z.strictObject({ type: z.literal('stop') }),
]);

export type HarnessRawData = string | Uint8Array | ArrayBuffer | readonly Uint8Array[];

/**
 * One client message. `receivedAtMs` (process clock) stamps audio frames: the voice-to-voice
 * latency starts from when the caller's audio arrived, and a pure decoder cannot read a clock.
 */
export function decodeHarnessMessage(data: HarnessRawData, isBinary: boolean, receivedAtMs: number): DecodedHarnessMessage {
  if (isBinary) {
    const bytes = toBytes(data);
    if (bytes.length === 0) return { error: 'empty audio message' };
    if (bytes.length > MAX_AUDIO_MESSAGE_BYTES) {
      return { error: `audio message of ${bytes.length} bytes exceeds ${MAX_AUDIO_MESSAGE_BYTES}` };
    }
    if (bytes.length % 2 !== 0) return { error: `audio message of ${bytes.length} bytes is not whole PCM16 samples` };
    // A copy: the socket's buffer is not ours to keep, and the STT may hold on to the audio.
    return { frame: { kind: 'audio', audio: new Uint8Array(bytes), timestampMs: receivedAtMs } };
  }

  const size = typeof data === 'string' ? Buffer.byteLength(data) : byteLength(data);
  if (size > MAX_TEXT_MESSAGE_BYTES) return { error: `text message of ${size} bytes exceeds ${MAX_TEXT_MESSAGE_BYTES}` };
  const text = typeof data === 'string' ? data : Buffer.from(toBytes(data)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: 'text message is not JSON' };
  }
  const parsed = clientMessage.safeParse(json);
  if (!parsed.success) return { error: `invalid message: ${describeIssues(parsed.error)}` };

  const message = parsed.data;
  switch (message.type) {
    case 'start':
      return { control: { type: 'start', callerNumber: message.callerNumber, mode: message.mode } };
    case 'text':
      return { frame: { kind: 'text', text: message.text } };
    case 'mark':
      return { frame: { kind: 'mark', name: message.name } };
    case 'stop':
      return { frame: { kind: 'stop' } };
  }
}

/** One outbound frame as a client message; null when there is nothing to send for it. */
export function encodeHarnessFrame(frame: OutboundFrame): { text?: string; binary?: Uint8Array } | null {
  switch (frame.kind) {
    case 'audio':
      return frame.audio.length === 0 ? null : { binary: frame.audio };
    case 'mark':
      return { text: encodeHarnessMessage({ type: 'mark', name: frame.name }) };
    case 'clear':
      return { text: encodeHarnessMessage({ type: 'clear' }) };
    case 'event': {
      // Tool results are `unknown`: one that cannot be serialised is skipped, not a crashed call.
      try {
        return { text: encodeHarnessMessage({ type: 'event', event: frame.event }) };
      } catch {
        return null;
      }
    }
  }
}

export function encodeHarnessMessage(message: HarnessServerMessage): string {
  return JSON.stringify(message);
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

function byteLength(data: Exclude<HarnessRawData, string>): number {
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (data instanceof Uint8Array) return data.byteLength;
  return data.reduce((n, part) => n + part.byteLength, 0);
}

function toBytes(data: HarnessRawData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (data instanceof Uint8Array) return data;
  // ws hands over fragmented messages as a list of buffers.
  return Buffer.concat(data);
}
