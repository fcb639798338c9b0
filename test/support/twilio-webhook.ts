/**
 * The incoming-call webhook the way Twilio sends it: form-encoded, signed with the account's auth
 * token over the public URL, injected into the app; and the <Parameter>s its TwiML hands the stream.
 */
import type { FastifyInstance } from 'fastify';
import { twilioSignature } from '../../src/transports/twilio/signature.js';

export async function postSignedWebhook(
  app: FastifyInstance,
  options: { authToken: string; publicUrl: string; params: Record<string, string> },
): Promise<{ statusCode: number; body: string }> {
  const { authToken, publicUrl, params } = options;
  const response = await app.inject({
    method: 'POST',
    url: '/twilio/voice',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSignature({ authToken, url: `${publicUrl}/twilio/voice`, params }),
    },
    payload: new URLSearchParams(params).toString(),
  });
  return { statusCode: response.statusCode, body: response.body };
}

/** The same webhook POSTed over HTTP to a listening server (a spawned process, a bench target). */
export async function postSignedWebhookOverHttp(
  serverUrl: string,
  options: { authToken: string; publicUrl: string; params: Record<string, string>; timeoutMs?: number },
): Promise<{ statusCode: number; body: string }> {
  const { authToken, publicUrl, params, timeoutMs } = options;
  const response = await fetch(`${serverUrl}/twilio/voice`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSignature({ authToken, url: `${publicUrl}/twilio/voice`, params }),
    },
    body: new URLSearchParams(params).toString(),
    ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
  });
  return { statusCode: response.status, body: await response.text() };
}

/** The <Parameter name value/> pairs of a TwiML <Stream>: what Twilio presents on the media stream. */
export function streamParameters(twiml: string): Record<string, string> {
  return Object.fromEntries([...twiml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\s*\/>/g)].map((m) => [m[1]!, m[2]!]));
}
