/** Places a phone call the way Twilio does: the signed webhook over HTTP, then the media stream. */
import { connectTwilioCaller, twilioSid } from '../../test/emulators/twilio.js';
import type { TwilioCaller } from '../../test/emulators/twilio.js';
import { postSignedWebhookOverHttp, streamParameters } from '../../test/support/twilio-webhook.js';
import { epochMs } from './stats.js';

export const AUTH_TOKEN = 'bench-twilio-auth-token-0123456789';
export const ACCOUNT_SID = `AC${'b2'.repeat(16)}`;
export const PUBLIC_URL = 'https://agent.bench.test';
export const CALLER = '+15558675309';

export interface PlacedCall {
  caller: TwilioCaller;
  /** Epoch ms just before the webhook was sent. */
  webhookAt: number;
  /** Epoch ms when the stream's `start` message was sent (right after the socket opened). */
  streamStartAt: number;
}

/**
 * Rings the server the way Twilio does (the signed incoming-call webhook) and returns the
 * <Parameter>s its TwiML hands the media stream (caller number, stream token).
 */
export async function ringWebhook(serverUrl: string, callSid: string, from: string, timeoutMs = 10_000): Promise<Record<string, string>> {
  const params = { CallSid: callSid, AccountSid: ACCOUNT_SID, From: from, To: '+15550000000', CallStatus: 'ringing' };
  const { statusCode, body: twiml } = await postSignedWebhookOverHttp(serverUrl, {
    authToken: AUTH_TOKEN,
    publicUrl: PUBLIC_URL,
    params,
    timeoutMs,
  });
  if (statusCode !== 200) throw new Error(`webhook answered ${statusCode}: ${twiml.slice(0, 200)}`);
  return streamParameters(twiml);
}

export async function placeCall(serverUrl: string, options: { speed?: number; from?: string } = {}): Promise<PlacedCall> {
  const callSid = twilioSid('CA');
  const webhookAt = epochMs();
  const parameters = await ringWebhook(serverUrl, callSid, options.from ?? CALLER);
  let streamStartAt = 0;
  const caller = await connectTwilioCaller({
    url: `${serverUrl.replace('http', 'ws')}/twilio/stream`,
    callSid,
    customParameters: parameters,
    speed: options.speed ?? 1,
    autoStart: false,
  });
  streamStartAt = epochMs();
  caller.sendStart();
  return { caller, webhookAt, streamStartAt };
}

/** The base env every bench gives startApp: loopback only, in-memory PGlite, quiet logs. */
export function baseEnv(): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: 'memory://',
    LOG_LEVEL: 'warn',
    PUBLIC_URL,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    IDLE_PROMPT_MS: '120000',
    SHUTDOWN_DRAIN_MS: '3000',
    CALENDAR_SYNC_INTERVAL_MS: '600000',
  };
}
