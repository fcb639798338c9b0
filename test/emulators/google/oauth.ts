/**
 * Google's OAuth 2.0 endpoints for installed apps, as the Calendar emulator serves them: the
 * authorization (consent) endpoint and the token endpoint with its two grants.
 * https://developers.google.com/identity/protocols/oauth2/native-app
 *
 * - GET /o/oauth2/v2/auth?client_id&redirect_uri&response_type=code&scope&state&code_challenge
 *   &code_challenge_method&access_type&prompt: the browser's side of the consent screen. Problems
 *   Google shows as an error page (not a redirect) get an HTML page with the error: an unknown
 *   client (401 invalid_client), a redirect_uri that is not a loopback http URL (400
 *   redirect_uri_mismatch: Desktop clients may use http://127.0.0.1:<any port>/<any path>,
 *   http://[::1]:… or http://localhost:…), a malformed request (400 invalid_request) or a scope
 *   without the Calendar one (400 invalid_scope). Otherwise the "user" decides (`setConsent`):
 *   approve -> 302 to redirect_uri?code&scope&state; deny -> 302 to redirect_uri?error=access_denied&state.
 * - POST /token grant_type=authorization_code (client_id, client_secret, code, redirect_uri,
 *   code_verifier): a code is single-use and lives 10 minutes; redirect_uri must equal the one
 *   authorised (400 redirect_uri_mismatch); PKCE is checked as Google does (invalid_grant "Missing
 *   code verifier." / "Invalid code verifier." / "code_verifier or verifier is not needed.").
 *   A refresh token comes back only with access_type=offline, and then only on the first consent
 *   of this client, or when prompt=consent asked for it again.
 * - POST /token grant_type=refresh_token: any refresh token issued and not revoked; a revoked one
 *   is 400 invalid_grant "Token has been expired or revoked.".
 * Wrong client credentials are 401 invalid_client at the token endpoint.
 */
import { createHash, randomBytes } from 'node:crypto';

export const AUTHORIZE_PATH = '/o/oauth2/v2/auth';
export const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';
const CODE_TTL_MS = 10 * 60_000;

export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type ConsentDecision = 'approve' | 'deny';

/** What the consent screen was asked, as a test can check it. */
export interface AuthorizationRequest {
  params: Record<string, string>;
  /** What the emulator answered: a redirect to the app, or an error page. */
  outcome: 'code' | 'access_denied' | 'error_page';
}

export interface OAuthServerOptions {
  clientId: string;
  clientSecret: string;
  /** A refresh token valid from the start (the account was authorised earlier). */
  refreshToken: string;
  accessTokenTtlSeconds: number;
  /** Mints an access token the API will accept. */
  issueAccessToken(): string;
}

export interface OAuthServer {
  /** Answers the browser's GET of the authorization endpoint. */
  authorize(url: URL): { status: number; headers: Record<string, string>; body: string };
  /** Answers a token request (both grants); throws OAuthError. */
  token(form: Record<string, string>): Record<string, unknown>;
  setConsent(decision: ConsentDecision): void;
  revokeRefreshToken(token: string): void;
  readonly authorizations: readonly AuthorizationRequest[];
  readonly issuedRefreshTokens: readonly string[];
}

interface IssuedCode {
  redirectUri: string;
  challenge: string | undefined;
  method: 'S256' | 'plain';
  scope: string;
  refreshToken: boolean;
  expiresAt: number;
}

export function createOAuthServer(options: OAuthServerOptions): OAuthServer {
  let consent: ConsentDecision = 'approve';
  let consentedBefore = false;
  const codes = new Map<string, IssuedCode>();
  const validRefreshTokens = new Set([options.refreshToken]);
  const revoked = new Set<string>();
  const authorizations: AuthorizationRequest[] = [];
  const issuedRefreshTokens: string[] = [];

  function errorPage(status: number, error: string, detail: string) {
    // Google shows "Error 400: redirect_uri_mismatch" and the like to the user; the app hears nothing.
    const body = `<!doctype html><title>Error ${status}: ${error}</title><h1>Error ${status}: ${error}</h1><p>${escapeHtml(detail)}</p>`;
    return { status, headers: { 'content-type': 'text/html; charset=utf-8' }, body };
  }

  function redirect(redirectUri: string, params: Record<string, string>) {
    const target = new URL(redirectUri);
    for (const [name, value] of Object.entries(params)) target.searchParams.set(name, value);
    return { status: 302, headers: { location: target.toString() }, body: '' };
  }

  function authorize(url: URL) {
    const params = Object.fromEntries(url.searchParams);
    const record: AuthorizationRequest = { params, outcome: 'error_page' };
    authorizations.push(record);
    if (params.client_id !== options.clientId) return errorPage(401, 'invalid_client', 'The OAuth client was not found.');
    const redirectUri = params.redirect_uri;
    if (redirectUri === undefined || !isLoopbackRedirect(redirectUri)) {
      return errorPage(400, 'redirect_uri_mismatch', `redirect_uri ${redirectUri ?? '(none)'} is not allowed for a Desktop client.`);
    }
    if (params.response_type !== 'code') return errorPage(400, 'invalid_request', 'response_type must be code.');
    const scopes = (params.scope ?? '').split(' ').filter((s) => s !== '');
    if (!scopes.includes(CALENDAR_SCOPE)) return errorPage(400, 'invalid_scope', `Some requested scopes were invalid: ${params.scope ?? ''}`);
    const method = params.code_challenge_method ?? (params.code_challenge === undefined ? undefined : 'plain');
    if (method !== undefined && method !== 'S256' && method !== 'plain') {
      return errorPage(400, 'invalid_request', 'Invalid code_challenge_method.');
    }
    if (method !== undefined && (params.code_challenge === undefined || !/^[A-Za-z0-9._~-]{43,128}$/.test(params.code_challenge))) {
      return errorPage(400, 'invalid_request', 'Invalid code_challenge.');
    }
    const state: Record<string, string> = params.state === undefined ? {} : { state: params.state };
    if (consent === 'deny') {
      record.outcome = 'access_denied';
      return redirect(redirectUri, { error: 'access_denied', ...state });
    }
    const prompts = (params.prompt ?? '').split(' ');
    const code = `4/0A${randomBytes(24).toString('base64url')}`;
    codes.set(code, {
      redirectUri,
      challenge: params.code_challenge,
      method: method === 'plain' ? 'plain' : 'S256',
      scope: scopes.join(' '),
      refreshToken: params.access_type === 'offline' && (!consentedBefore || prompts.includes('consent')),
      expiresAt: Date.now() + CODE_TTL_MS,
    });
    consentedBefore = true;
    record.outcome = 'code';
    return redirect(redirectUri, { ...state, code, scope: scopes.join(' ') });
  }

  function exchangeCode(form: Record<string, string>): Record<string, unknown> {
    const issued = form.code === undefined ? undefined : codes.get(form.code);
    if (issued === undefined || issued.expiresAt < Date.now()) throw new OAuthError(400, 'invalid_grant', 'Malformed auth code.');
    // Single use, even when this exchange fails further down.
    codes.delete(form.code as string);
    if (form.redirect_uri !== issued.redirectUri) throw new OAuthError(400, 'redirect_uri_mismatch', 'Bad Request');
    const verifier = form.code_verifier;
    if (issued.challenge === undefined) {
      if (verifier !== undefined) throw new OAuthError(400, 'invalid_grant', 'code_verifier or verifier is not needed.');
    } else if (verifier === undefined) {
      throw new OAuthError(400, 'invalid_grant', 'Missing code verifier.');
    } else {
      const derived = issued.method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
      if (derived !== issued.challenge) throw new OAuthError(400, 'invalid_grant', 'Invalid code verifier.');
    }
    const response: Record<string, unknown> = {
      access_token: options.issueAccessToken(),
      expires_in: options.accessTokenTtlSeconds,
      scope: issued.scope,
      token_type: 'Bearer',
    };
    if (issued.refreshToken) {
      const refreshToken = `1//0${randomBytes(30).toString('base64url')}`;
      validRefreshTokens.add(refreshToken);
      issuedRefreshTokens.push(refreshToken);
      response.refresh_token = refreshToken;
    }
    return response;
  }

  function refresh(form: Record<string, string>): Record<string, unknown> {
    const token = form.refresh_token ?? '';
    if (revoked.has(token)) throw new OAuthError(400, 'invalid_grant', 'Token has been expired or revoked.');
    if (!validRefreshTokens.has(token)) throw new OAuthError(400, 'invalid_grant', 'Bad Request');
    return {
      access_token: options.issueAccessToken(),
      expires_in: options.accessTokenTtlSeconds,
      token_type: 'Bearer',
      scope: CALENDAR_SCOPE,
    };
  }

  return {
    authorize,
    token(form) {
      if (form.grant_type !== 'refresh_token' && form.grant_type !== 'authorization_code') {
        throw new OAuthError(400, 'unsupported_grant_type', 'Invalid grant_type: ' + (form.grant_type ?? ''));
      }
      // Google answers an unknown client or wrong secret with 401 invalid_client, a bad grant with 400 invalid_grant.
      if (form.client_id !== options.clientId || form.client_secret !== options.clientSecret) {
        throw new OAuthError(401, 'invalid_client', 'Unauthorized');
      }
      return form.grant_type === 'refresh_token' ? refresh(form) : exchangeCode(form);
    },
    setConsent(decision) {
      consent = decision;
    },
    revokeRefreshToken(token) {
      validRefreshTokens.delete(token);
      revoked.add(token);
    },
    authorizations,
    issuedRefreshTokens,
  };
}

/** Loopback redirect URIs a Desktop client may use (RFC 8252 §7.3): any port, any path, plain http. */
function isLoopbackRedirect(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  } catch {
    return false;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}
