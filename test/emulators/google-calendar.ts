/**
 * A protocol-level emulator of the Google Calendar API v3 (the parts we use) and Google's OAuth2
 * endpoints (authorization with PKCE for installed apps, and the token endpoint: google/oauth.ts),
 * on 127.0.0.1. It speaks the documented wire formats so the real googleapis
 * client can be tested against it: error bodies `{ error: { code, message, errors: [...], status } }`,
 * token responses `{ access_token, expires_in, token_type, scope }`, client-supplied event ids.
 *
 * The account has a primary calendar (`primary` is its alias) and any calendars a test creates;
 * events live per calendar and an unknown calendar is 404 notFound. Served: calendarList.list/get,
 * events insert/get/patch/update/delete/move/list (with sync tokens, google/events-list.ts)/watch,
 * channels.stop (push notifications, google/push.ts) and freebusy.query (google/free-busy.ts).
 * Tests can also act as the shop's staff in the Google UI (google/staff.ts).
 *
 * googleapis builds request URLs as rootUrl + '/calendar/v3/...', so the emulator serves the API at
 * its root, the token endpoint at /token and the authorization endpoint at /o/oauth2/v2/auth.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { listEvents } from './google/events-list.js';
import { freeBusy } from './google/free-busy.js';
import type { Interval } from './google/free-busy.js';
import { AUTHORIZE_PATH, CALENDAR_SCOPE, createOAuthServer, OAuthError } from './google/oauth.js';
import type { AuthorizationRequest, ConsentDecision } from './google/oauth.js';
import { createPushHub } from './google/push.js';
import type { PushDelivery, PushOptions, WatchChannel } from './google/push.js';
import { createStaffActions } from './google/staff.js';
import type { StaffActions } from './google/staff.js';
import { createCalendarStore, hasRole, isAccessRole, requireRole } from './google/store.js';
import type { AccessRole, CalendarSpec, StoredCalendar, StoredEvent } from './google/store.js';
import { HttpError, asObject, methodNotAllowed, notFound, parseBody, readBody, sendGoogleError, sendJson } from './google/wire.js';

export { formatInZone } from './google/time.js';
export type { EventTime } from './google/time.js';
export type { AccessRole, CalendarSpec, PushDelivery, StaffActions, StoredCalendar, StoredEvent, WatchChannel };
export type { StaffEvent } from './google/staff.js';
export type { AuthorizationRequest, ConsentDecision };

export interface RecordedRequest {
  method: string;
  /** Decoded path, without the query string. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON, or the form fields of a token request, or undefined. */
  body: unknown;
  headers: IncomingHttpHeaders;
}

export interface FaultSpec {
  /** Which requests fail; default: every API request (not the token endpoint). */
  match?: (request: { method: string; path: string }) => boolean;
  status: number;
  /** Google's `errors[0].reason` (defaults by status: rateLimitExceeded, backendError...). */
  reason?: string;
  message?: string;
  retryAfterSeconds?: number;
  /** How many matching requests fail (default 1; Infinity for a lasting outage). */
  times?: number;
}

export type DownMode = 'reset' | 'refuse' | '503';

export interface GoogleCalendarEmulatorOptions {
  latencyMs?: number;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  accessTokenTtlSeconds?: number;
  /** The account's primary calendar; its id defaults to 'shop@example.com' (a primary calendar's id is the account's email). */
  primaryCalendar?: Omit<CalendarSpec, 'accessRole'>;
  /** How push notifications are retried and timed out. */
  push?: PushOptions;
}

export interface GoogleCalendarEmulator {
  /** Pass as googleapis' rootUrl, e.g. http://127.0.0.1:1234/ */
  readonly rootUrl: string;
  readonly tokenUrl: string;
  /** The authorization (consent) endpoint, Google's https://accounts.google.com/o/oauth2/v2/auth. */
  readonly authUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  /** The real id behind the 'primary' alias. */
  readonly primaryCalendarId: string;
  /** Events keyed by `${calendarId}/${eventId}` with the real calendar id, deleted ones included (status 'cancelled'). */
  readonly events: ReadonlyMap<string, StoredEvent>;
  /** Accepts 'primary' as well as real calendar ids. */
  getEvent(calendarId: string, eventId: string): StoredEvent | undefined;
  /** Adds a calendar to the account (a service bay's calendar, say); it shows in calendarList. */
  createCalendar(spec?: CalendarSpec): StoredCalendar;
  calendars(): StoredCalendar[];
  /** Changes made by people in the Google Calendar UI: they bump sync tokens and notify watchers. */
  readonly staff: StaffActions;
  /** Every sync token issued so far for the calendar (default: all calendars) now answers 410 fullSyncRequired. */
  invalidateSyncTokens(calendarId?: string): void;
  /** Every attempt to deliver a push notification, retries included, in order. */
  readonly pushDeliveries: readonly PushDelivery[];
  /** Watch channels opened so far, stopped and expired ones included. */
  channels(): WatchChannel[];
  /** Resolves when no push notification is on its way (retries included). */
  pushesSettled(): Promise<void>;
  /** Every channel's time runs out now: it gets no more notifications. */
  expireChannels(): void;
  /** Every request received, in order, token requests included. */
  readonly requests: RecordedRequest[];
  /** API requests only (paths under /calendar/v3). */
  apiRequests(): RecordedRequest[];
  /** Requests that reached the token endpoint. */
  tokenRequests(): RecordedRequest[];
  /** Every access token ever issued, so tests can check none leaks. */
  readonly issuedAccessTokens: readonly string[];
  /** A busy block that is not an event (it shows only in free/busy, never in events.list or sync). */
  addBusy(calendarId: string, start: Date | string, end: Date | string): void;
  injectFaults(faults: FaultSpec[]): void;
  clearFaults(): void;
  /** 'reset' (default) drops connections, 'refuse' stops listening, '503' answers backendError. */
  setDown(down: boolean, mode?: DownMode): Promise<void>;
  setLatency(ms: number): void;
  /** Invalidates every access token issued so far: the next API call with one gets 401. */
  expireAccessTokens(): void;
  /** What the "user" answers on the consent screen from now on (default approve). */
  setConsent(decision: ConsentDecision): void;
  /** Every visit to the consent screen, in order. */
  readonly authorizations: readonly AuthorizationRequest[];
  /** Refresh tokens issued by code exchanges (the initial `refreshToken` is not among them). */
  readonly issuedRefreshTokens: readonly string[];
  /** The user removed the app's access (default: the initial refresh token): refreshing with it is invalid_grant. */
  revokeRefreshToken(token?: string): void;
  close(): Promise<void>;
}

const API_PREFIX = '/calendar/v3';
const TOKEN_PATH = '/token';
const DEFAULT_PRIMARY_ID = 'shop@example.com';

export async function startGoogleCalendarEmulator(
  options: GoogleCalendarEmulatorOptions = {},
): Promise<GoogleCalendarEmulator> {
  const clientId = options.clientId ?? 'emulator-client.apps.googleusercontent.com';
  const clientSecret = options.clientSecret ?? 'emulator-client-secret';
  const refreshToken = options.refreshToken ?? 'emulator-refresh-token';
  const ttlSeconds = options.accessTokenTtlSeconds ?? 3599;
  let latencyMs = options.latencyMs ?? 0;

  const primaryId = options.primaryCalendar?.id ?? DEFAULT_PRIMARY_ID;
  const store = createCalendarStore({ summary: primaryId, ...options.primaryCalendar, id: primaryId, accessRole: 'owner' });
  const push = createPushHub(options.push);
  store.onEventChange((calendarId) => push.notify(calendarId));
  const extraBusy = new Map<string, Interval[]>();
  const requests: RecordedRequest[] = [];
  const issuedAccessTokens: string[] = [];
  const validTokens = new Set<string>();
  let faults: Array<FaultSpec & { remaining: number }> = [];
  let down: DownMode | undefined;
  const sockets = new Set<Socket>();
  const oauth = createOAuthServer({
    clientId,
    clientSecret,
    refreshToken,
    accessTokenTtlSeconds: ttlSeconds,
    issueAccessToken() {
      const accessToken = `ya29.emu-${randomBytes(18).toString('base64url')}`;
      issuedAccessTokens.push(accessToken);
      validTokens.add(accessToken);
      return accessToken;
    },
  });

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendGoogleError(res, new HttpError(500, 'backendError', String(error)));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  function listen(onPort: number): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(onPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const raw = await readBody(req);
    const method = req.method ?? 'GET';
    const path = decodeURIComponent(url.pathname);
    const isToken = path === TOKEN_PATH;
    const isAuthorize = path === AUTHORIZE_PATH;
    let body: unknown;
    let bodyError: HttpError | undefined;
    try {
      body = parseBody(raw, req.headers['content-type'], isToken);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      bodyError = error;
    }
    requests.push({ method, path, query: Object.fromEntries(url.searchParams), body, headers: req.headers });

    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    if (down === 'reset' || down === 'refuse') {
      req.socket.destroy();
      return;
    }
    if (down === '503') {
      sendGoogleError(res, new HttpError(503));
      return;
    }

    const fault = faults.find((f) => f.remaining > 0 && (f.match ? f.match({ method, path }) : !isToken && !isAuthorize));
    if (fault) {
      fault.remaining--;
      const extra: Record<string, string> =
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      if (isToken) {
        sendJson(res, fault.status, { error: fault.reason ?? 'internal_failure', error_description: fault.message ?? 'Backend Error' }, extra);
      } else {
        sendGoogleError(res, new HttpError(fault.status, fault.reason, fault.message, extra));
      }
      return;
    }

    try {
      if (bodyError) throw bodyError;
      if (isToken) {
        if (method !== 'POST') throw methodNotAllowed();
        sendJson(res, 200, oauth.token((body ?? {}) as Record<string, string>));
        return;
      }
      if (isAuthorize) {
        if (method !== 'GET') throw methodNotAllowed();
        const answer = oauth.authorize(url);
        res.writeHead(answer.status, answer.headers).end(answer.body);
        return;
      }
      if (!path.startsWith(`${API_PREFIX}/`)) throw notFound();
      authenticate(req.headers.authorization);
      const result = route(method, path.slice(API_PREFIX.length), body, url.searchParams);
      if (result === undefined) {
        res.writeHead(204).end();
      } else {
        sendJson(res, 200, result);
      }
    } catch (error) {
      if (error instanceof OAuthError) {
        sendJson(res, error.status, { error: error.code, error_description: error.message });
      } else if (error instanceof HttpError) {
        sendGoogleError(res, error);
      } else {
        throw error;
      }
    }
  }

  function authenticate(header: string | undefined): void {
    const token = /^Bearer (\S+)$/i.exec(header ?? '')?.[1];
    if (token === undefined) {
      throw new HttpError(
        401,
        'required',
        'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' },
      );
    }
    if (!validTokens.has(token)) {
      throw new HttpError(401, 'authError', 'Invalid Credentials', {
        'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
      });
    }
  }

  function route(method: string, path: string, body: unknown, params: URLSearchParams): unknown {
    const only = (allowed: string): void => {
      if (method !== allowed) throw methodNotAllowed();
    };
    if (path === '/freeBusy') {
      only('POST');
      return freeBusy(store, extraBusy, body);
    }
    if (path === '/users/me/calendarList') {
      only('GET');
      return calendarList(params.get('minAccessRole'));
    }
    const listEntry = /^\/users\/me\/calendarList\/([^/]+)$/.exec(path);
    if (listEntry) {
      only('GET');
      return calendarListEntry(store.get(listEntry[1] as string));
    }
    if (path === '/channels/stop') {
      only('POST');
      push.stop(body);
      return undefined;
    }
    const match = /^\/calendars\/([^/]+)\/events(?:\/([^/]+)(\/move)?)?$/.exec(path);
    if (!match) throw notFound();
    const requestedId = match[1] as string;
    const calendar = store.get(requestedId);
    const eventId = match[2];
    if (eventId !== undefined && match[3] !== undefined) {
      only('POST');
      return moveEvent(calendar, eventId, params.get('destination'));
    }
    if (eventId === 'watch') {
      only('POST');
      return push.watch(calendar, requestedId, body, `${origin}/`);
    }
    if (eventId === undefined) {
      if (method === 'GET') return listEvents(store, calendar, params);
      only('POST');
      requireRole(calendar, 'writer');
      return store.insertEvent(calendar, asObject(body));
    }
    switch (method) {
      case 'GET': {
        const event = store.getEvent(calendar.id, eventId);
        if (!event) throw notFound();
        return event;
      }
      case 'PATCH':
      case 'PUT':
        requireRole(calendar, 'writer');
        return store.updateEvent(calendar, eventId, asObject(body), method === 'PUT' ? 'put' : 'patch');
      case 'DELETE':
        requireRole(calendar, 'writer');
        store.cancelEvent(calendar, eventId);
        return undefined;
      default:
        throw methodNotAllowed();
    }
  }

  /** events.move: `destination` is required; the account must be able to write both calendars. */
  function moveEvent(from: StoredCalendar, eventId: string, destination: string | null): StoredEvent {
    if (destination === null || destination === '') {
      throw new HttpError(400, 'required', 'Required parameter: destination', {}, 'destination');
    }
    const to = store.get(destination);
    requireRole(from, 'writer');
    requireRole(to, 'writer');
    return store.moveEvent(from, eventId, to);
  }

  function calendarList(minAccessRole: string | null): unknown {
    if (minAccessRole !== null && !isAccessRole(minAccessRole)) {
      throw new HttpError(400, 'invalid', `Invalid value for minAccessRole: ${minAccessRole}`, {}, 'minAccessRole');
    }
    const entries = [...store.calendars.values()].filter((c) => minAccessRole === null || hasRole(c, minAccessRole));
    return {
      kind: 'calendar#calendarList',
      etag: `"${store.latestChange()}"`,
      items: entries.map(calendarListEntry),
      // No nextSyncToken: the emulator does not sync the calendar list, and a token it would not honour would mislead.
    };
  }

  function calendarListEntry(c: StoredCalendar): Record<string, unknown> {
    return {
      kind: 'calendar#calendarListEntry',
      etag: `"${c.id}"`,
      id: c.id,
      summary: c.summary,
      timeZone: c.timeZone,
      accessRole: c.accessRole,
      defaultReminders: [],
      // Google sends `primary` only on the primary calendar's entry (its default is false).
      ...(c.primary ? { primary: true } : {}),
    };
  }

  return {
    rootUrl: `${origin}/`,
    tokenUrl: `${origin}${TOKEN_PATH}`,
    authUrl: `${origin}${AUTHORIZE_PATH}`,
    clientId,
    clientSecret,
    refreshToken,
    primaryCalendarId: primaryId,
    events: store.events,
    getEvent: (calendarId, eventId) => store.getEvent(calendarId, eventId),
    createCalendar: (spec = {}) => store.addCalendar(spec),
    calendars: () => [...store.calendars.values()],
    staff: createStaffActions(store),
    invalidateSyncTokens: (calendarId) => store.invalidateSyncTokens(calendarId),
    pushDeliveries: push.deliveries,
    channels: () => push.channels(),
    pushesSettled: () => push.settled(),
    expireChannels: () => push.expireAll(),
    requests,
    apiRequests: () => requests.filter((r) => r.path.startsWith(`${API_PREFIX}/`)),
    tokenRequests: () => requests.filter((r) => r.path === TOKEN_PATH),
    issuedAccessTokens,
    addBusy(calendarId, start, end) {
      const id = store.find(calendarId)?.id;
      if (id === undefined) throw new Error(`addBusy: the account has no calendar ${calendarId}`);
      const list = extraBusy.get(id) ?? [];
      list.push({ start: new Date(start), end: new Date(end) });
      extraBusy.set(id, list);
    },
    injectFaults(list) {
      faults.push(...list.map((f) => ({ ...f, remaining: f.times ?? 1 })));
    },
    clearFaults() {
      faults = [];
    },
    async setDown(isDown, mode = 'reset') {
      const wasRefusing = down === 'refuse';
      down = isDown ? mode : undefined;
      if (isDown && mode === 'refuse' && !wasRefusing) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await closed;
      } else if (!isDown && wasRefusing) {
        await listen(port);
      } else if (isDown && mode === 'reset') {
        // Kept-alive sockets would otherwise keep serving from before the outage.
        for (const socket of sockets) socket.destroy();
      }
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    expireAccessTokens() {
      validTokens.clear();
    },
    setConsent: (decision) => oauth.setConsent(decision),
    authorizations: oauth.authorizations,
    issuedRefreshTokens: oauth.issuedRefreshTokens,
    revokeRefreshToken: (token = refreshToken) => oauth.revokeRefreshToken(token),
    async close() {
      await push.close();
      for (const socket of sockets) socket.destroy();
      if (!server.listening) return;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The scope the emulated account grants: Calendar read/write. */
export { CALENDAR_SCOPE };
