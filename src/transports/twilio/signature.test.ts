import { describe, expect, it } from 'vitest';
import { twilioSignature, validateTwilioSignature } from './signature.js';

// Twilio's documented example (webhooks security page; the same vector is in twilio-node,
// twilio-php and twilio-csharp's RequestValidator tests).
const AUTH_TOKEN = '12345';
const URL = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const PARAMS = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675309',
  Digits: '1234',
  From: '+14158675309',
  To: '+18005551212',
};
const DOCUMENTED_SIGNATURE = 'RSOYDt4T1cUTdK1PDd93/VVr8B8=';

describe('Twilio request signature', () => {
  it("reproduces Twilio's documented example", () => {
    expect(twilioSignature({ authToken: AUTH_TOKEN, url: URL, params: PARAMS })).toBe(DOCUMENTED_SIGNATURE);
    expect(validateTwilioSignature({ authToken: AUTH_TOKEN, signature: DOCUMENTED_SIGNATURE, url: URL, params: PARAMS })).toBe(true);
  });

  it('sorts parameters by name, whatever order they came in', () => {
    const shuffled = { To: PARAMS.To, Digits: PARAMS.Digits, CallSid: PARAMS.CallSid, From: PARAMS.From, Caller: PARAMS.Caller };
    expect(validateTwilioSignature({ authToken: AUTH_TOKEN, signature: DOCUMENTED_SIGNATURE, url: URL, params: shuffled })).toBe(true);
  });

  it('signs a request without parameters over the URL alone', () => {
    const signature = twilioSignature({ authToken: 'secret-token', url: 'https://shop.example/twilio/voice', params: {} });
    expect(validateTwilioSignature({ authToken: 'secret-token', signature, url: 'https://shop.example/twilio/voice', params: {} })).toBe(true);
  });

  it.each([
    ['a tampered parameter', { signature: DOCUMENTED_SIGNATURE, url: URL, params: { ...PARAMS, Digits: '9999' } }],
    ['an extra parameter', { signature: DOCUMENTED_SIGNATURE, url: URL, params: { ...PARAMS, Extra: '1' } }],
    ['another URL', { signature: DOCUMENTED_SIGNATURE, url: 'https://mycompany.com/myapp.php?foo=1&bar=3', params: PARAMS }],
    ['http instead of https', { signature: DOCUMENTED_SIGNATURE, url: URL.replace('https:', 'http:'), params: PARAMS }],
    ['a forged signature', { signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8X', url: URL, params: PARAMS }],
    ['a signature of another length', { signature: 'abc=', url: URL, params: PARAMS }],
    ['a missing signature', { signature: undefined, url: URL, params: PARAMS }],
    ['an empty signature', { signature: '', url: URL, params: PARAMS }],
    ['non-ASCII garbage', { signature: 'invalid 王', url: URL, params: PARAMS }],
  ])('rejects %s', (_name, input) => {
    expect(validateTwilioSignature({ authToken: AUTH_TOKEN, ...input })).toBe(false);
  });

  it('rejects a signature made with another auth token, and never validates with an empty token', () => {
    const other = twilioSignature({ authToken: 'other', url: URL, params: PARAMS });
    expect(validateTwilioSignature({ authToken: AUTH_TOKEN, signature: other, url: URL, params: PARAMS })).toBe(false);
    const empty = twilioSignature({ authToken: '', url: URL, params: PARAMS });
    expect(validateTwilioSignature({ authToken: '', signature: empty, url: URL, params: PARAMS })).toBe(false);
  });
});
