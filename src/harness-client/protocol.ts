/**
 * The harness WebSocket protocol as a client sees it (the server side is
 * src/transports/browser/serializer.ts). Kept separate from the server's module so the CLI reads
 * what actually arrives and rejects what it does not understand, instead of trusting shared types.
 *
 * Client -> server text JSON: start (first), text, mark (echo once the audio before it played), stop;
 * binary PCM16 LE 16 kHz mono. Server -> client text JSON: started, mark, clear, event, ended, error;
 * binary agent audio, PCM16 LE 16 kHz mono.
 */
import type { SessionEvent } from '../core/frames.js';

export const HARNESS_PATH = '/harness/ws';
export const HARNESS_SAMPLE_RATE = 16_000;
/** 20 ms of 16 kHz PCM16. */
export const HARNESS_FRAME_BYTES = 640;

// One definition of the protocol: the server's serializer owns it, the client reuses it.
export type {
  HarnessClientMessage as ClientMessage,
  HarnessMode,
  HarnessServerMessage as ServerMessage,
} from '../transports/browser/serializer.js';
import type { HarnessServerMessage as ServerMessage } from '../transports/browser/serializer.js';

/** A server text message, or an error string when it is not one of ours. */
export function parseServerMessage(text: string): ServerMessage | { invalid: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { invalid: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null) return { invalid: 'not an object' };
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'started':
      if (typeof m.callId !== 'string') return { invalid: 'started without callId' };
      return { type: 'started', callId: m.callId, mode: m.mode === 'voice' ? 'voice' : 'text', audio: m.audio === true };
    case 'mark':
      return typeof m.name === 'string' ? { type: 'mark', name: m.name } : { invalid: 'mark without name' };
    case 'clear':
      return { type: 'clear' };
    case 'event':
      return typeof m.event === 'object' && m.event !== null && typeof (m.event as { type?: unknown }).type === 'string'
        ? { type: 'event', event: m.event as SessionEvent }
        : { invalid: 'event without an event' };
    case 'ended':
      return { type: 'ended', reason: typeof m.reason === 'string' ? m.reason : 'unknown' };
    case 'error':
      return { type: 'error', message: typeof m.message === 'string' ? m.message : 'unknown error' };
    default:
      return { invalid: `unknown message type ${JSON.stringify(m.type)}` };
  }
}

/** ws://host:port/harness/ws, with the token as a query parameter when there is one. */
export function harnessUrl(base: string, token: string | undefined): string {
  const url = new URL(base);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.pathname === '/' || url.pathname === '') url.pathname = HARNESS_PATH;
  if (token !== undefined && token !== '') url.searchParams.set('token', token);
  return url.toString();
}
