import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../core/errors.js';
import { startTwilioRestEmulator } from '../../../test/emulators/twilio.js';
import type { TwilioRestEmulator } from '../../../test/emulators/twilio.js';
import { createTwilioCallControl } from './call-control.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'rest-auth-token-secret';
const CALL = 'CA2a6e1b0b36bc4e54bb1d5d8a2b1a0e77';

describe('Twilio call control', () => {
  let rest: TwilioRestEmulator;
  beforeEach(async () => {
    rest = await startTwilioRestEmulator({ accountSid: ACCOUNT, authToken: TOKEN });
  });
  afterEach(async () => {
    await rest.close();
  });

  const control = (overrides: { authToken?: string; timeoutMs?: number; apiBaseUrl?: string } = {}) =>
    createTwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, apiBaseUrl: rest.baseUrl, timeoutMs: 3_000, ...overrides });

  it('hangs up with Status=completed on the Calls resource, with Basic auth', async () => {
    await control().hangup(CALL);
    expect(rest.requests).toEqual([{ accountSid: ACCOUNT, callSid: CALL, params: { Status: 'completed' }, authorized: true }]);
  });

  it('transfers by replacing the call TwiML with a Dial', async () => {
    await control().redirectToDial(CALL, '+15550001111');
    expect(rest.requests[0]?.params).toEqual({
      Twiml: '<?xml version="1.0" encoding="UTF-8"?><Response><Dial>+15550001111</Dial></Response>',
    });
  });

  it('retries a 5xx and succeeds', async () => {
    rest.failNext(503);
    await control().hangup(CALL);
    expect(rest.requests).toHaveLength(2);
  });

  it('gives up after a few 5xx with a ProviderError that holds no secret', async () => {
    rest.failNext(500, 10);
    const error = await control().hangup(CALL).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ provider: 'twilio', status: 500, retryable: true });
    expect(rest.requests.length).toBeGreaterThanOrEqual(2);
    expect(rest.requests.length).toBeLessThanOrEqual(3);
    expect(JSON.stringify({ message: (error as Error).message, safe: (error as ProviderError).safeMessage })).not.toContain(TOKEN);
  });

  it('does not retry a rejected credential, and says so without the token', async () => {
    const error = await control({ authToken: 'wrong-token-value' }).hangup(CALL).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 401, retryable: false });
    expect((error as Error).message).toContain('20003');
    expect((error as Error).message).not.toContain('wrong-token-value');
    expect(rest.requests).toHaveLength(1);
  });

  it('reports an unreachable API as a network error', async () => {
    const error = await control({ apiBaseUrl: 'http://127.0.0.1:1', timeoutMs: 1_000 }).hangup(CALL).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as Error).message).toMatch(/network error|no answer/);
  });

  it('refuses malformed call SIDs before any request', async () => {
    await expect(control().hangup('../../Accounts/x')).rejects.toMatchObject({ retryable: false });
    expect(rest.requests).toHaveLength(0);
  });
});
