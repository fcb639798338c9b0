/**
 * Per-call stream tokens. The webhook (signature-checked, so it really came from Twilio) puts one
 * in the TwiML as a <Parameter>; Twilio presents it back in the media stream's `start` message.
 * A WebSocket that cannot show a token minted for its own CallSid is not Twilio's stream for
 * that call, so a stranger who finds the /twilio/stream URL cannot start a call on our bill.
 *
 * Token: `v1.<expiry, unix seconds>.<base64url HMAC-SHA256(secret, "v1|callSid|expiry")>`. The
 * CallSid is bound by the MAC rather than carried, so a token is useless for any other call.
 * Verification is stateless, so any instance behind the phone number can verify what another
 * issued; single use is the one piece of state, kept by a `StreamTokenLedger` that every instance
 * shares (the database), so a token replayed within its lifetime starts nothing.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const VERSION = 'v1';
const TOKEN_PATTERN = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

export type StreamTokenCheck = 'ok' | 'expired' | 'invalid';

/** Remembers which tokens have started a stream, across every instance sharing it. */
export interface StreamTokenLedger {
  /**
   * True the first time `id` is claimed, false for every later claim, whichever instance made the
   * first. Rejects when it cannot tell (the store is unreachable); its error carries no id.
   */
  claim(id: string, expiresAt: Date): Promise<boolean>;
}

/**
 * The key stream tokens are signed with, derived from the auth token so the auth token itself
 * never signs anything but what Twilio defined, and tokens die with a rotated auth token.
 */
export function deriveStreamTokenSecret(authToken: string): Buffer {
  return createHmac('sha256', authToken).update('service-desk/twilio-stream-token/v1').digest();
}

export function issueStreamToken(input: {
  secret: Buffer | string;
  callSid: string;
  ttlSeconds: number;
  /** Epoch ms. */
  now: number;
}): string {
  const expiry = Math.floor(input.now / 1000) + Math.max(1, Math.floor(input.ttlSeconds));
  return `${VERSION}.${expiry}.${mac(input.secret, input.callSid, expiry)}`;
}

export function verifyStreamToken(input: {
  secret: Buffer | string;
  token: string | undefined;
  callSid: string;
  /** Epoch ms. */
  now: number;
}): StreamTokenCheck {
  if (typeof input.token !== 'string') return 'invalid';
  const match = TOKEN_PATTERN.exec(input.token);
  if (match === null) return 'invalid';
  const expiry = Number(match[1]);
  const expected = Buffer.from(mac(input.secret, input.callSid, expiry), 'utf8');
  const given = Buffer.from(match[2] ?? '', 'utf8');
  // Authenticity before expiry: a forged token is 'invalid' whatever expiry it claims.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return input.now >= expiry * 1000 ? 'expired' : 'ok';
}

/**
 * What the ledger keeps of a verified token: a digest, so the store never holds a usable token,
 * and the token's expiry, after which the entry may go (an expired token is refused anyway).
 */
export function streamTokenUse(token: string): { id: string; expiresAt: Date } {
  const expiry = Number(TOKEN_PATTERN.exec(token)?.[1]);
  if (!Number.isFinite(expiry)) throw new Error('not a stream token');
  return { id: createHash('sha256').update(token).digest('base64url'), expiresAt: new Date(expiry * 1000) };
}

function mac(secret: Buffer | string, callSid: string, expiry: number): string {
  return createHmac('sha256', secret).update(`${VERSION}|${callSid}|${expiry}`).digest('base64url');
}
