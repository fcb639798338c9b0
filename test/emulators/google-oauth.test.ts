/**
 * The Google emulator's OAuth endpoints for installed apps, driven by the real google-auth-library
 * (generateAuthUrl, generateCodeVerifierAsync, getToken), with the test in the browser's place.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CodeChallengeMethod, OAuth2Client } from 'google-auth-library';
import { startGoogleCalendarEmulator } from './google-calendar.js';
import type { GoogleCalendarEmulator } from './google-calendar.js';

const REDIRECT = 'http://127.0.0.1:4321/oauth2callback';
const SCOPE = 'https://www.googleapis.com/auth/calendar';

let google: GoogleCalendarEmulator;
beforeEach(async () => {
  google = await startGoogleCalendarEmulator();
});
afterEach(async () => {
  await google.close();
});

function client(overrides: { clientSecret?: string } = {}): OAuth2Client {
  return new OAuth2Client({
    clientId: google.clientId,
    clientSecret: overrides.clientSecret ?? google.clientSecret,
    redirectUri: REDIRECT,
    endpoints: { oauth2AuthBaseUrl: google.authUrl, oauth2TokenUrl: google.tokenUrl },
    transporterOptions: { retryConfig: { retry: 0, noResponseRetries: 0 } },
  });
}

/** Visits the consent screen as a browser would, without following the redirect to the app. */
async function consent(url: string): Promise<{ status: number; location: URL | undefined; body: string }> {
  const response = await fetch(url, { redirect: 'manual' });
  const location = response.headers.get('location');
  return { status: response.status, location: location === null ? undefined : new URL(location), body: await response.text() };
}

async function codeFor(oauth: OAuth2Client, extra: Record<string, string> = {}, challenge?: string): Promise<string> {
  const url = oauth.generateAuthUrl({
    scope: [SCOPE],
    access_type: 'offline',
    state: 'st4te',
    ...(challenge === undefined ? {} : { code_challenge: challenge, code_challenge_method: CodeChallengeMethod.S256 }),
    ...extra,
  });
  const { location } = await consent(url);
  expect(location?.searchParams.get('state')).toBe('st4te');
  return location?.searchParams.get('code') ?? '';
}

const grantError = (error: unknown) => (error as { response?: { status?: number; data?: unknown } }).response;

describe('Google OAuth for installed apps (emulated)', () => {
  it('redirects to the loopback URI with a code that, with the PKCE verifier, yields access and refresh tokens', async () => {
    const oauth = client();
    const { codeVerifier, codeChallenge } = await oauth.generateCodeVerifierAsync();
    const code = await codeFor(oauth, { prompt: 'consent' }, codeChallenge);
    const { tokens } = await oauth.getToken({ code, codeVerifier });
    expect(tokens).toMatchObject({ token_type: 'Bearer', scope: SCOPE, refresh_token: google.issuedRefreshTokens[0] });
    expect(google.issuedAccessTokens).toContain(tokens.access_token);
  });

  it('refuses a wrong or missing verifier, and a code used twice', async () => {
    const oauth = client();
    const { codeVerifier, codeChallenge } = await oauth.generateCodeVerifierAsync();
    const wrong = await codeFor(oauth, {}, codeChallenge);
    expect(grantError(await oauth.getToken({ code: wrong, codeVerifier: `${codeVerifier}x` }).catch((e: unknown) => e))).toMatchObject({
      status: 400,
      data: { error: 'invalid_grant', error_description: 'Invalid code verifier.' },
    });
    // A code is single-use even when its exchange failed.
    expect(grantError(await oauth.getToken({ code: wrong, codeVerifier }).catch((e: unknown) => e))?.data).toMatchObject({ error: 'invalid_grant' });

    const missing = await codeFor(oauth, {}, codeChallenge);
    expect(grantError(await oauth.getToken({ code: missing }).catch((e: unknown) => e))?.data).toMatchObject({
      error_description: 'Missing code verifier.',
    });
    const unneeded = await codeFor(oauth);
    expect(grantError(await oauth.getToken({ code: unneeded, codeVerifier }).catch((e: unknown) => e))?.data).toMatchObject({
      error_description: 'code_verifier or verifier is not needed.',
    });
  });

  it('wants the same redirect_uri at the exchange, and the right client secret', async () => {
    const oauth = client();
    const code = await codeFor(oauth);
    expect(grantError(await oauth.getToken({ code, redirect_uri: 'http://127.0.0.1:9/elsewhere' }).catch((e: unknown) => e))).toMatchObject({
      status: 400,
      data: { error: 'redirect_uri_mismatch' },
    });
    const other = await codeFor(oauth);
    expect(grantError(await client({ clientSecret: 'wrong' }).getToken({ code: other }).catch((e: unknown) => e))).toMatchObject({
      status: 401,
      data: { error: 'invalid_client' },
    });
  });

  it('issues a refresh token on the first consent, and later only when prompt=consent asks again', async () => {
    const oauth = client();
    expect((await oauth.getToken({ code: await codeFor(oauth) })).tokens.refresh_token).toBeDefined();
    expect((await oauth.getToken({ code: await codeFor(oauth) })).tokens.refresh_token).toBeUndefined();
    expect((await oauth.getToken({ code: await codeFor(oauth, { prompt: 'consent' }) })).tokens.refresh_token).toBeDefined();
    const online = await codeFor(oauth, { access_type: 'online', prompt: 'consent' });
    expect((await oauth.getToken({ code: online })).tokens.refresh_token).toBeUndefined();
  });

  it('sends a refusal back to the app, and shows Google\'s error page for a bad request', async () => {
    google.setConsent('deny');
    const denied = await consent(client().generateAuthUrl({ scope: [SCOPE], state: 's' }));
    expect(denied.status).toBe(302);
    expect(Object.fromEntries(denied.location?.searchParams ?? [])).toEqual({ error: 'access_denied', state: 's' });

    google.setConsent('approve');
    const notLoopback = await consent(client().generateAuthUrl({ scope: [SCOPE], redirect_uri: 'https://evil.example.com/cb' }));
    expect(notLoopback).toMatchObject({ status: 400, location: undefined });
    expect(notLoopback.body).toContain('redirect_uri_mismatch');
    const noCalendar = await consent(client().generateAuthUrl({ scope: ['email'] }));
    expect(noCalendar.body).toContain('invalid_scope');
    expect(google.authorizations.map((a) => a.outcome)).toEqual(['access_denied', 'error_page', 'error_page']);
  });

  it('refuses a revoked refresh token with Google\'s words, and keeps serving other ones', async () => {
    const oauth = client();
    const { tokens } = await oauth.getToken({ code: await codeFor(oauth) });
    google.revokeRefreshToken();
    const refresh = (refreshToken: string) =>
      fetch(google.tokenUrl, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: google.clientId, client_secret: google.clientSecret }),
      });
    const revoked = await refresh(google.refreshToken);
    expect(revoked.status).toBe(400);
    expect(await revoked.json()).toEqual({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
    expect((await refresh(tokens.refresh_token ?? '')).status).toBe(200);
  });
});
