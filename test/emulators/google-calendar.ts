/**
 * A protocol-level emulator of the Google Calendar API v3 (the parts we use) and Google's OAuth2
 * token endpoint, on 127.0.0.1. It speaks the documented wire formats so the real googleapis
 * client can be tested against it: error bodies `{ error: { code, message, errors: [...], status } }`,
 * token responses `{ access_token, expires_in, token_type, scope }`, client-supplied event ids.
 *
 * googleapis builds request URLs as rootUrl + '/calendar/v3/...', so the emulator serves the API at
 * its root and the token endpoint at /token.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Decoded path, without the query string. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON, or the form fields of a token request, or undefined. */
  body: unknown;
  headers: IncomingHttpHeaders;
}

export interface EventTime {
  dateTime?: string;
  date?: string;
  timeZone?: string;
}

/** An event as the emulator stores it (Google's Event resource, loosely typed). */
export interface StoredEvent {
  kind: 'calendar#event';
  id: string;
  status: 'confirmed' | 'tentative' | 'cancelled';
  summary?: string;
  description?: string;
  start?: EventTime;
  end?: EventTime;
  attendees?: Array<{ email: string; responseStatus?: string }>;
  transparency?: 'opaque' | 'transparent';
  sequence: number;
  created: string;
  updated: string;
  [field: string]: unknown;
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
}

export interface GoogleCalendarEmulator {
  /** Pass as googleapis' rootUrl, e.g. http://127.0.0.1:1234/ */
  readonly rootUrl: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  /** Events keyed by `${calendarId}/${eventId}`, deleted ones included (status 'cancelled'). */
  readonly events: ReadonlyMap<string, StoredEvent>;
  getEvent(calendarId: string, eventId: string): StoredEvent | undefined;
  /** Every request received, in order, token requests included. */
  readonly requests: RecordedRequest[];
  /** API requests only (paths under /calendar/v3). */
  apiRequests(): RecordedRequest[];
  /** Requests that reached the token endpoint. */
  tokenRequests(): RecordedRequest[];
  /** Every access token ever issued, so tests can check none leaks. */
  readonly issuedAccessTokens: readonly string[];
  /** A busy block that did not come through the API (a staff meeting added in the Google UI). */
  addBusy(calendarId: string, start: Date | string, end: Date | string): void;
  injectFaults(faults: FaultSpec[]): void;
  clearFaults(): void;
  /** 'reset' (default) drops connections, 'refuse' stops listening, '503' answers backendError. */
  setDown(down: boolean, mode?: DownMode): Promise<void>;
  setLatency(ms: number): void;
  /** Invalidates every access token issued so far: the next API call with one gets 401. */
  expireAccessTokens(): void;
  close(): Promise<void>;
}

const API_PREFIX = '/calendar/v3';
const TOKEN_PATH = '/token';
const EVENT_ID = /^[a-v0-9]{5,1024}$/;
const SCOPE = 'https://www.googleapis.com/auth/calendar';

const STATUS_TEXT: Record<number, { status: string; reason: string; message: string }> = {
  400: { status: 'INVALID_ARGUMENT', reason: 'badRequest', message: 'Bad Request' },
  401: { status: 'UNAUTHENTICATED', reason: 'authError', message: 'Invalid Credentials' },
  403: { status: 'PERMISSION_DENIED', reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' },
  404: { status: 'NOT_FOUND', reason: 'notFound', message: 'Not Found' },
  409: { status: 'ALREADY_EXISTS', reason: 'duplicate', message: 'The requested identifier already exists.' },
  410: { status: 'FAILED_PRECONDITION', reason: 'deleted', message: 'Resource has been deleted' },
  429: { status: 'RESOURCE_EXHAUSTED', reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' },
  500: { status: 'INTERNAL', reason: 'backendError', message: 'Backend Error' },
  503: { status: 'UNAVAILABLE', reason: 'backendError', message: 'Backend Error' },
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason?: string,
    message?: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message ?? STATUS_TEXT[status]?.message ?? 'Error');
  }
}

export async function startGoogleCalendarEmulator(
  options: GoogleCalendarEmulatorOptions = {},
): Promise<GoogleCalendarEmulator> {
  const clientId = options.clientId ?? 'emulator-client.apps.googleusercontent.com';
  const clientSecret = options.clientSecret ?? 'emulator-client-secret';
  const refreshToken = options.refreshToken ?? 'emulator-refresh-token';
  const ttlSeconds = options.accessTokenTtlSeconds ?? 3599;
  let latencyMs = options.latencyMs ?? 0;

  const events = new Map<string, StoredEvent>();
  const extraBusy = new Map<string, Array<{ start: Date; end: Date }>>();
  const requests: RecordedRequest[] = [];
  const issuedAccessTokens: string[] = [];
  const validTokens = new Set<string>();
  let faults: Array<FaultSpec & { remaining: number }> = [];
  let down: DownMode | undefined;
  const sockets = new Set<Socket>();

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
    const body = parseBody(raw, req.headers['content-type'], isToken);
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

    const fault = faults.find((f) => f.remaining > 0 && (f.match ? f.match({ method, path }) : !isToken));
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
      if (isToken) {
        if (method !== 'POST') throw new HttpError(405, 'methodNotAllowed', 'Method Not Allowed');
        sendJson(res, 200, issueToken(body as Record<string, string>));
        return;
      }
      if (!path.startsWith(`${API_PREFIX}/`)) throw new HttpError(404, 'notFound', 'Not Found');
      authenticate(req.headers.authorization);
      const result = route(method, path.slice(API_PREFIX.length), body);
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

  function issueToken(form: Record<string, string>): Record<string, unknown> {
    if (form.grant_type !== 'refresh_token') {
      throw new OAuthError(400, 'unsupported_grant_type', 'Invalid grant_type: ' + (form.grant_type ?? ''));
    }
    // Google answers an unknown client or wrong secret with 401 invalid_client, a bad refresh token with 400 invalid_grant.
    if (form.client_id !== clientId || form.client_secret !== clientSecret) {
      throw new OAuthError(401, 'invalid_client', 'Unauthorized');
    }
    if (form.refresh_token !== refreshToken) throw new OAuthError(400, 'invalid_grant', 'Bad Request');
    const accessToken = `ya29.emu-${randomBytes(18).toString('base64url')}`;
    issuedAccessTokens.push(accessToken);
    validTokens.add(accessToken);
    return { access_token: accessToken, expires_in: ttlSeconds, token_type: 'Bearer', scope: SCOPE };
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

  function route(method: string, path: string, body: unknown): unknown {
    if (path === '/freeBusy') {
      if (method !== 'POST') throw new HttpError(405, 'methodNotAllowed', 'Method Not Allowed');
      return freeBusy(body);
    }
    const match = /^\/calendars\/([^/]+)\/events(?:\/([^/]+))?$/.exec(path);
    if (!match) throw new HttpError(404, 'notFound', 'Not Found');
    const calendarId = match[1] as string;
    const eventId = match[2];
    if (eventId === undefined) {
      if (method !== 'POST') throw new HttpError(405, 'methodNotAllowed', 'Method Not Allowed');
      return insertEvent(calendarId, body);
    }
    const key = `${calendarId}/${eventId}`;
    const existing = events.get(key);
    if (!existing) throw new HttpError(404, 'notFound', 'Not Found');
    switch (method) {
      case 'GET':
        return existing;
      case 'PATCH':
      case 'PUT': {
        const base = method === 'PUT' ? pickSystemFields(existing) : existing;
        const updated = mergePatch(base, asObject(body)) as StoredEvent;
        validateTimes(updated);
        updated.id = existing.id;
        updated.kind = 'calendar#event';
        updated.updated = new Date().toISOString();
        if (JSON.stringify([updated.start, updated.end]) !== JSON.stringify([existing.start, existing.end])) {
          updated.sequence = existing.sequence + 1;
        }
        events.set(key, updated);
        return updated;
      }
      case 'DELETE':
        if (existing.status === 'cancelled') throw new HttpError(410, 'deleted', 'Resource has been deleted');
        events.set(key, { ...existing, status: 'cancelled', updated: new Date().toISOString() });
        return undefined;
      default:
        throw new HttpError(405, 'methodNotAllowed', 'Method Not Allowed');
    }
  }

  function insertEvent(calendarId: string, body: unknown): StoredEvent {
    const resource = asObject(body);
    const id = typeof resource.id === 'string' ? resource.id : randomBytes(13).toString('hex');
    if (!EVENT_ID.test(id)) throw new HttpError(400, 'invalid', 'Invalid resource id value.');
    const key = `${calendarId}/${id}`;
    // Ids stay taken after a delete: the event lives on with status 'cancelled'.
    if (events.has(key)) throw new HttpError(409, 'duplicate', 'The requested identifier already exists.');
    const now = new Date().toISOString();
    const event: StoredEvent = {
      ...resource,
      kind: 'calendar#event',
      id,
      status: resource.status === 'tentative' ? 'tentative' : 'confirmed',
      htmlLink: `https://www.google.com/calendar/event?eid=${id}`,
      iCalUID: `${id}@google.com`,
      organizer: { email: calendarId, self: true },
      creator: { email: calendarId, self: true },
      sequence: 0,
      created: now,
      updated: now,
    };
    validateTimes(event);
    events.set(key, event);
    return event;
  }

  function freeBusy(body: unknown): unknown {
    const request = asObject(body);
    const timeMin = parseTime(request.timeMin, 'timeMin');
    const timeMax = parseTime(request.timeMax, 'timeMax');
    if (timeMax <= timeMin) throw new HttpError(400, 'timeRangeEmpty', 'The specified time range is empty.');
    const timeZone = typeof request.timeZone === 'string' ? request.timeZone : 'UTC';
    const items = Array.isArray(request.items) ? (request.items as Array<{ id?: unknown }>) : [];
    const calendars: Record<string, { busy: Array<{ start: string; end: string }> }> = {};
    for (const item of items) {
      const calendarId = String(item.id);
      const busy: Array<{ start: Date; end: Date }> = [];
      for (const [key, event] of events) {
        if (!key.startsWith(`${calendarId}/`) || event.status === 'cancelled' || event.transparency === 'transparent') continue;
        const start = eventInstant(event.start);
        const end = eventInstant(event.end);
        if (start && end && start < timeMax && end > timeMin) busy.push({ start, end });
      }
      for (const block of extraBusy.get(calendarId) ?? []) {
        if (block.start < timeMax && block.end > timeMin) busy.push(block);
      }
      busy.sort((a, b) => a.start.getTime() - b.start.getTime());
      calendars[calendarId] = {
        busy: busy.map((b) => ({ start: formatInZone(b.start, timeZone), end: formatInZone(b.end, timeZone) })),
      };
    }
    return {
      kind: 'calendar#freeBusy',
      timeMin: formatInZone(timeMin, 'UTC'),
      timeMax: formatInZone(timeMax, 'UTC'),
      calendars,
    };
  }

  return {
    rootUrl: `${origin}/`,
    tokenUrl: `${origin}${TOKEN_PATH}`,
    clientId,
    clientSecret,
    refreshToken,
    events,
    getEvent: (calendarId, eventId) => events.get(`${calendarId}/${eventId}`),
    requests,
    apiRequests: () => requests.filter((r) => r.path.startsWith(`${API_PREFIX}/`)),
    tokenRequests: () => requests.filter((r) => r.path === TOKEN_PATH),
    issuedAccessTokens,
    addBusy(calendarId, start, end) {
      const list = extraBusy.get(calendarId) ?? [];
      list.push({ start: new Date(start), end: new Date(end) });
      extraBusy.set(calendarId, list);
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
    async close() {
      for (const socket of sockets) socket.destroy();
      if (!server.listening) return;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendGoogleError(res: ServerResponse, error: HttpError): void {
  const defaults = STATUS_TEXT[error.status];
  const reason = error.reason ?? defaults?.reason ?? 'unknown';
  const domain = reason === 'rateLimitExceeded' || reason === 'userRateLimitExceeded' ? 'usageLimits' : reason === 'duplicate' || reason === 'timeRangeEmpty' ? 'calendar' : 'global';
  sendJson(
    res,
    error.status,
    {
      error: {
        code: error.status,
        message: error.message,
        errors: [{ domain, reason, message: error.message }],
        status: defaults?.status ?? 'UNKNOWN',
      },
    },
    error.extra,
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(raw: string, contentType: string | undefined, isToken: boolean): unknown {
  if (raw.length === 0) return undefined;
  if (isToken || contentType?.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new HttpError(400, 'parseError', 'Parse Error');
  }
}

function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'parseError', 'Parse Error');
  }
  return body as Record<string, unknown>;
}

/** Patch semantics: objects merge field by field, arrays and scalars replace, null clears. */
function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const current = result[key];
    if (value === null) {
      delete result[key];
    } else if (isPlainObject(value) && isPlainObject(current)) {
      result[key] = mergePatch(current, value);
    } else {
      result[key] = value;
    }
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pickSystemFields(event: StoredEvent): Record<string, unknown> {
  const { kind, id, htmlLink, iCalUID, organizer, creator, sequence, created, updated } = event;
  return { kind, id, status: 'confirmed', htmlLink, iCalUID, organizer, creator, sequence, created, updated };
}

function validateTimes(event: StoredEvent): void {
  if (!event.start || (!event.start.dateTime && !event.start.date)) throw new HttpError(400, 'required', 'Missing start time.');
  if (!event.end || (!event.end.dateTime && !event.end.date)) throw new HttpError(400, 'required', 'Missing end time.');
  const start = eventInstant(event.start);
  const end = eventInstant(event.end);
  if (!start || !end) throw new HttpError(400, 'invalid', 'Invalid start or end time.');
  if (end < start) throw new HttpError(400, 'timeRangeEmpty', 'The specified time range is empty.');
}

function eventInstant(time: EventTime | undefined): Date | undefined {
  // The emulator treats an all-day date as UTC midnight: enough for free/busy tests.
  const text = time?.dateTime ?? (time?.date ? `${time.date}T00:00:00Z` : undefined);
  if (text === undefined) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function parseTime(value: unknown, field: string): Date {
  if (typeof value !== 'string') throw new HttpError(400, 'required', `Missing ${field} parameter.`);
  // RFC 3339 requires an offset; Google rejects a bare local time.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value)) {
    throw new HttpError(400, 'badRequest', `Bad Request: invalid ${field}.`);
  }
  return new Date(value);
}

/** RFC 3339 with the zone's offset at that instant, as Google writes times in a requested zone. */
export function formatInZone(date: Date, timeZone: string): string {
  if (timeZone === 'UTC') return date.toISOString().replace('.000Z', 'Z');
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'longOffset',
  }).formatToParts(date);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  const offset = get('timeZoneName').replace('GMT', '') || '+00:00';
  return `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}${offset}`;
}
