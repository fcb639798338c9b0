/**
 * `npm run google:auth`: the OAuth 2.0 flow for installed apps, ending with the refresh token the
 * server needs and the list of calendars the account can use.
 * https://developers.google.com/identity/protocols/oauth2/native-app
 *
 * A one-shot HTTP server on a free loopback port (127.0.0.1) is the redirect URI; the consent URL
 * asks for the Calendar scope, offline access (a refresh token) and consent even when given before
 * (Google only returns a refresh token on consent), with PKCE (S256) and a random `state` that the
 * redirect must bring back. The code is exchanged at the token endpoint with the PKCE verifier.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CodeChallengeMethod, OAuth2Client } from 'google-auth-library';
import { describeGoogleError, googleCalendarApi } from '../calendar/google.js';
import type { GoogleOAuthClientConfig } from '../config.js';
import { SetupError } from './cli.js';
import { writeEnvValue } from './env-file.js';

export const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';
const CALLBACK_PATH = '/oauth2callback';
const DEFAULT_CONSENT_TIMEOUT_MS = 5 * 60_000;
const REQUEST_TIMEOUT_MS = 15_000;

export interface CalendarEntry {
  id: string;
  summary: string;
  accessRole: string;
  primary: boolean;
}

export interface GoogleAuthOptions {
  client: GoogleOAuthClientConfig;
  print: (line: string) => void;
  /** Tries to show the consent URL in a browser; resolves whether it could. */
  openBrowser?: (url: string) => Promise<boolean>;
  /** Set: the refresh token is written into this .env file instead of printed. */
  writeEnvFile?: string | undefined;
  /** How long the operator has to give consent. */
  consentTimeoutMs?: number;
}

export interface GoogleAuthResult {
  refreshToken: string;
  /** Undefined when the list could not be read (the token is still good). */
  calendars: CalendarEntry[] | undefined;
}

export async function runGoogleAuth(options: GoogleAuthOptions): Promise<GoogleAuthResult> {
  const { client: config, print } = options;
  const callback = await startCallbackServer();
  try {
    const redirectUri = `http://127.0.0.1:${callback.port}${CALLBACK_PATH}`;
    const oauth = new OAuth2Client({
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      redirectUri,
      endpoints: {
        ...(config.authUri === undefined ? {} : { oauth2AuthBaseUrl: config.authUri }),
        ...(config.tokenUri === undefined ? {} : { oauth2TokenUrl: config.tokenUri }),
      },
      transporterOptions: { retryConfig: { retry: 0, noResponseRetries: 0 }, timeout: REQUEST_TIMEOUT_MS },
    });
    const state = randomBytes(24).toString('base64url');
    const { codeVerifier, codeChallenge } = await oauth.generateCodeVerifierAsync();
    const consentUrl = oauth.generateAuthUrl({
      access_type: 'offline',
      prompt: 'consent',
      scope: [CALENDAR_SCOPE],
      state,
      code_challenge_method: CodeChallengeMethod.S256,
      code_challenge: codeChallenge,
    });

    print('Open this URL in a browser, sign in with the shop\'s Google account and allow calendar access:');
    print('');
    print(`  ${consentUrl}`);
    print('');
    const opened = (await options.openBrowser?.(consentUrl)) ?? false;
    print(opened ? 'Opened it in your browser. Waiting for Google to send you back here...' : 'Waiting for Google to send the browser back here...');

    const visit = await callback.nextRedirect(options.consentTimeoutMs ?? DEFAULT_CONSENT_TIMEOUT_MS);
    let refreshToken: string;
    try {
      const { code } = readRedirect(visit.url, state);
      refreshToken = await exchangeCode(oauth, code, codeVerifier, redirectUri);
      visit.answer(200, 'Google Calendar is authorised for the service desk. You can close this tab and go back to the terminal.');
    } catch (error) {
      visit.answer(400, `Authorisation failed: ${error instanceof SetupError ? error.message : 'see the terminal'}.`);
      throw error;
    }

    if (options.writeEnvFile === undefined) {
      print('');
      print('Authorised. Put this line in .env (or run again with --write-env to have it written):');
      print('');
      print(`  GOOGLE_REFRESH_TOKEN=${refreshToken}`);
    } else {
      let created: boolean;
      try {
        ({ created } = writeEnvValue(options.writeEnvFile, 'GOOGLE_REFRESH_TOKEN', refreshToken));
      } catch (error) {
        // The consent is spent: the token must not be lost with the file.
        print('');
        print(`Authorised, but ${options.writeEnvFile} could not be written. Put this line in it by hand:`);
        print('');
        print(`  GOOGLE_REFRESH_TOKEN=${refreshToken}`);
        const code = (error as { code?: unknown }).code;
        throw new SetupError(`could not write ${options.writeEnvFile} (${typeof code === 'string' ? code : 'error'}); the token is printed above`);
      }
      print('');
      print(`Authorised. GOOGLE_REFRESH_TOKEN ${created ? 'written to a new' : 'updated in'} ${options.writeEnvFile}.`);
    }

    print('');
    const calendars = await listCalendars(oauth, config.apiBaseUrl).catch((error: unknown) => {
      const why = describeGoogleError(error);
      print(`warn: could not list the account's calendars (${why.status === undefined ? (why.network ?? 'no answer') : `HTTP ${why.status}${why.reason ? ` ${why.reason}` : ''}`}); the token is saved all the same.`);
      return undefined;
    });
    if (calendars !== undefined) for (const line of formatCalendars(calendars)) print(line);
    return { refreshToken, calendars };
  } finally {
    await callback.close();
  }
}

/**
 * The code from Google's redirect to the loopback URI, after checking it is the answer to this
 * run's request (`state`) and not a refusal.
 */
export function readRedirect(url: URL, expectedState: string): { code: string } {
  const error = url.searchParams.get('error');
  const state = url.searchParams.get('state');
  if (state !== expectedState) {
    throw new SetupError(
      'the redirect does not carry this run\'s state (an old browser tab, or another program on this port?); nothing was saved: run the command again',
    );
  }
  if (error === 'access_denied') {
    throw new SetupError('access was denied on Google\'s consent screen; nothing was saved: run again and choose Allow');
  }
  if (error !== null) throw new SetupError(`Google answered the consent request with error=${oneWord(error)}; nothing was saved`);
  const code = url.searchParams.get('code');
  if (code === null || code === '') throw new SetupError('Google\'s redirect carries no authorization code; nothing was saved');
  return { code };
}

/** The calendar list as lines for the terminal, with what to do next. */
export function formatCalendars(calendars: readonly CalendarEntry[]): string[] {
  if (calendars.length === 0) return ['This account has no calendars in its list: create one (or have one shared with it) and run `npm run doctor`.'];
  const idWidth = Math.max(2, ...calendars.map((c) => c.id.length));
  const roleWidth = Math.max(6, ...calendars.map((c) => c.accessRole.length));
  const usable = (c: CalendarEntry): boolean => c.accessRole === 'owner' || c.accessRole === 'writer';
  return [
    'Calendars this account can see:',
    '',
    `  ${'id'.padEnd(idWidth)}  ${'access'.padEnd(roleWidth)}  name`,
    ...calendars.map(
      (c) =>
        `  ${c.id.padEnd(idWidth)}  ${c.accessRole.padEnd(roleWidth)}  ${c.summary}${c.primary ? ' (primary)' : ''}${usable(c) ? '' : '  <- read-only: the agent cannot book here'}`,
    ),
    '',
    'Next: set GOOGLE_CALENDAR_ID to the shop-wide calendar (default: primary) and, with one calendar',
    'per service bay, GOOGLE_BAY_CALENDAR_IDS to their ids, comma-separated. Each needs writer or owner',
    'access. Then run `npm run doctor`.',
  ];
}

async function exchangeCode(oauth: OAuth2Client, code: string, codeVerifier: string, redirectUri: string): Promise<string> {
  let refreshToken: string | null | undefined;
  try {
    const { tokens } = await oauth.getToken({ code, codeVerifier, redirect_uri: redirectUri });
    oauth.setCredentials(tokens);
    refreshToken = tokens.refresh_token;
  } catch (error) {
    const why = describeGoogleError(error);
    if (why.status === undefined) {
      throw new SetupError(`the token endpoint did not answer (${why.timedOut ? 'timed out' : (why.network ?? 'network error')}); nothing was saved`);
    }
    const reason = why.reason ?? 'error';
    throw new SetupError(
      `Google refused the authorization code: HTTP ${why.status} ${reason}${why.detail ? ` (${why.detail})` : ''}` +
        `${reason === 'invalid_client' ? ': check GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET' : ''}; nothing was saved`,
    );
  }
  if (!refreshToken) {
    throw new SetupError('Google granted access but sent no refresh token; remove the app at https://myaccount.google.com/permissions and run again');
  }
  return refreshToken;
}

async function listCalendars(oauth: OAuth2Client, apiBaseUrl: string | undefined): Promise<CalendarEntry[]> {
  const api = googleCalendarApi(oauth, apiBaseUrl);
  const entries: CalendarEntry[] = [];
  let pageToken: string | undefined;
  do {
    const { data } = await api.calendarList.list({ maxResults: 250, ...(pageToken === undefined ? {} : { pageToken }) }, { retry: false });
    for (const item of data.items ?? []) {
      if (typeof item.id !== 'string') continue;
      entries.push({ id: item.id, summary: item.summary ?? '', accessRole: item.accessRole ?? 'unknown', primary: item.primary === true });
    }
    pageToken = data.nextPageToken ?? undefined;
  } while (pageToken !== undefined && entries.length < 1000);
  return entries;
}

interface RedirectVisit {
  url: URL;
  /** Answers the browser with a short page. */
  answer(status: number, message: string): void;
}

interface CallbackServer {
  port: number;
  /** The first request to CALLBACK_PATH (other paths, like /favicon.ico, get 404). */
  nextRedirect(timeoutMs: number): Promise<RedirectVisit>;
  close(): Promise<void>;
}

/** Loopback only: the code must never be reachable from another machine. */
async function startCallbackServer(): Promise<CallbackServer> {
  let deliver: ((visit: RedirectVisit) => void) | undefined;
  const early: RedirectVisit[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found');
      return;
    }
    const visit: RedirectVisit = {
      url,
      answer(status, message) {
        // One page and done: the connection closes with it, so closing the server never cuts it short.
        res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
        res.end(`<!doctype html><meta charset="utf-8"><title>Service desk</title><p>${escapeHtml(message)}</p>`);
      },
    };
    if (deliver === undefined) early.push(visit);
    else deliver(visit);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    nextRedirect(timeoutMs) {
      const waiting = early.shift();
      if (waiting !== undefined) return Promise.resolve(waiting);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          deliver = undefined;
          reject(new SetupError(`no answer from the browser within ${Math.round(timeoutMs / 1000)} s; nothing was saved: run again`));
        }, timeoutMs);
        deliver = (visit) => {
          clearTimeout(timer);
          deliver = undefined;
          resolve(visit);
        };
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A browser may hold a spare connection open; it has nothing coming.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      }),
  };
}

function oneWord(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 64);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}
