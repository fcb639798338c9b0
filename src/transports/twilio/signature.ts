/**
 * Twilio's webhook signature (X-Twilio-Signature): base64 of HMAC-SHA1, keyed by the account's
 * auth token, over the full URL Twilio requested followed by every POST parameter, sorted by name,
 * as name then value with no separators.
 * https://www.twilio.com/docs/usage/webhooks/webhooks-security
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TwilioSignatureInput {
  authToken: string;
  /** The full URL as Twilio requested it: scheme, host, path and query string. */
  url: string;
  /** The form-encoded POST parameters (none for a GET). */
  params: Readonly<Record<string, string>>;
}

export function twilioSignature({ authToken, url, params }: TwilioSignatureInput): string {
  const hmac = createHmac('sha1', authToken);
  hmac.update(url, 'utf8');
  // Code-unit order, as Twilio's own libraries sort (Object.keys().sort()).
  for (const key of Object.keys(params).sort()) {
    hmac.update(key, 'utf8');
    hmac.update(params[key] ?? '', 'utf8');
  }
  return hmac.digest('base64');
}

export function validateTwilioSignature(
  input: TwilioSignatureInput & { signature: string | undefined },
): boolean {
  const { signature } = input;
  if (typeof signature !== 'string' || signature === '' || input.authToken === '') return false;
  const expected = Buffer.from(twilioSignature(input), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  // timingSafeEqual needs equal lengths; a length mismatch says nothing about the expected value.
  if (given.length !== expected.length) return false;
  return timingSafeEqual(given, expected);
}
