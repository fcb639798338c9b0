/**
 * CalendarProvider over the Google Calendar API v3 (googleapis client, OAuth2 refresh token).
 * gaxios' own retries are switched off: every call runs under src/core/retry.ts with one time
 * budget, because a caller is waiting on the phone and gaxios' schedule (0.1 s, 0.5 s, 1.5 s per
 * request, token refreshes included) would overrun it.
 */
import { calendar as calendarApi } from '@googleapis/calendar';
import type { calendar_v3 } from '@googleapis/calendar';
import { OAuth2Client } from 'google-auth-library';
import { ProviderError, isAbortError } from '../core/errors.js';
import { retry } from '../core/retry.js';
import { SyncTokenExpiredError } from './calendar.js';
import type {
  CalendarCallOptions,
  CalendarChangeFeed,
  CalendarEvent,
  CalendarProvider,
  ChangePage,
  FreeBusy,
  ListedEvent,
  TimeRange,
  WatchChannel,
  WatchRequest,
} from './calendar.js';

const PROVIDER = 'google_calendar';
const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);

export interface GoogleCalendarRetryInfo {
  operation: string;
  attempt: number;
  delayMs: number;
  /** Already stripped of request config, headers and secrets: safe to log. */
  error: ProviderError;
}

export interface GoogleCalendarOptions {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** The shop-wide calendar, whose busy time blocks every bay. Default 'primary'. */
  calendarId?: string;
  /**
   * One calendar per service bay (bay n is the nth); their number is the number of bays. Unset:
   * `bays` bays whose events all go to the shop calendar.
   */
  bayCalendarIds?: readonly string[] | undefined;
  /** Number of bays when they have no calendars of their own; default 1. */
  bays?: number;
  /** googleapis' rootUrl (the API root, e.g. https://www.googleapis.com/). */
  apiBaseUrl?: string;
  /** OAuth2 token endpoint; default Google's. */
  tokenUri?: string;
  /** The shop's IANA zone: events are shown in it and free/busy is asked in it. */
  timeZone: string;
  /** Budget for calls that do not pass one; ~2 s because a caller is waiting. */
  defaultBudgetMs?: number;
  /** Cap on one token request, which cannot take a caller's signal (concurrent calls share it). */
  tokenTimeoutMs?: number;
  onRetry?: (info: GoogleCalendarRetryInfo) => void;
}

/** Google Calendar: a CalendarProvider that also feeds staff edits back (CalendarChangeFeed). */
export type GoogleCalendar = CalendarProvider & CalendarChangeFeed;

/** The OAuth client the server calls Google with: the refresh token as credentials, no library retries. */
export function googleOAuthClient(options: { clientId: string; clientSecret: string; refreshToken: string; tokenUri?: string | undefined }): OAuth2Client {
  const auth = new OAuth2Client({
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    // Tokens carry an expiry, so without this a 401 (token revoked or expired early) is not retried.
    forceRefreshOnFailure: true,
    endpoints: { oauth2TokenUrl: options.tokenUri ?? GOOGLE_TOKEN_URI },
    // Deep-merged into every request, token refreshes included: their own retry:true then counts 0 retries.
    // Node's own fetch, not gaxios' node-fetch: a request that starts with its signal already aborted
    // (a caller hung up during the shared token refresh) made node-fetch destroy the unsent body with
    // no listener on it, an uncaught AbortError that takes the process down.
    transporterOptions: { retryConfig: { retry: 0, noResponseRetries: 0 }, fetchImplementation: fetch },
  });
  auth.setCredentials({ refresh_token: options.refreshToken });
  return auth;
}

/** Calendar v3 over `auth`, at `apiBaseUrl` (googleapis' rootUrl) when one is configured. */
export function googleCalendarApi(auth: OAuth2Client, apiBaseUrl: string | undefined): calendar_v3.Calendar {
  return calendarApi({ version: 'v3', auth, ...(apiBaseUrl === undefined ? {} : { rootUrl: apiBaseUrl }) });
}

export function createGoogleCalendar(options: GoogleCalendarOptions): GoogleCalendar {
  const calendarId = options.calendarId ?? 'primary';
  const bayCalendarIds = options.bayCalendarIds ?? [];
  const bays = bayCalendarIds.length > 0 ? bayCalendarIds.length : (options.bays ?? 1);
  const tokenUrl = options.tokenUri ?? GOOGLE_TOKEN_URI;
  const defaultBudgetMs = options.defaultBudgetMs ?? 2000;
  const tokenTimeoutMs = options.tokenTimeoutMs ?? 5000;
  const secrets = [options.clientSecret, options.refreshToken];

  const auth = googleOAuthClient({ ...options, tokenUri: tokenUrl });
  auth.transporter.interceptors.request.add({
    resolved: async (config) => {
      if (config.signal === undefined && String(config.url).startsWith(tokenUrl)) {
        config.signal = AbortSignal.timeout(tokenTimeoutMs);
      }
      return config;
    },
  });

  const api = googleCalendarApi(auth, options.apiBaseUrl);

  const redact = (text: string): string => {
    let result = text;
    for (const secret of [...secrets, auth.credentials.access_token]) {
      if (secret) result = result.split(secret).join('[redacted]');
    }
    return result;
  };

  async function run<T>(
    operation: string,
    callOptions: CalendarCallOptions | undefined,
    attempt: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const signal = callOptions?.signal;
    const budgetMs = callOptions?.budgetMs ?? defaultBudgetMs;
    try {
      return await retry((_n, attemptSignal) => attempt(attemptSignal), {
        budgetMs,
        baseDelayMs: 100,
        maxDelayMs: 1000,
        isRetryable: isRetryableGoogleError,
        retryAfterMs: retryAfterMsOf,
        ...(signal === undefined ? {} : { signal }),
        onRetry: ({ attempt: n, delayMs, error }) =>
          options.onRetry?.({ operation, attempt: n, delayMs, error: toProviderError(error, operation, budgetMs, redact) }),
      });
    } catch (error) {
      // An abort is the caller's decision, not a calendar failure: hand back their reason untouched.
      if (signal?.aborted) throw signal.reason;
      throw toProviderError(error, operation, budgetMs, redact);
    }
  }

  const requestOptions = (signal: AbortSignal) => ({ signal, retry: false });

  /**
   * The shop calendar's busy time blocks every bay, so the agent's own events there are written
   * "show as available": otherwise, with bays sharing that calendar, one booking would block them
   * all (the database already counts it against its bay). In a bay's own calendar they show busy.
   */
  const transparencyIn = (targetId: string): 'transparent' | 'opaque' =>
    targetId === calendarId ? 'transparent' : 'opaque';

  return {
    kind: 'google',
    bays,
    shopCalendarId: calendarId,
    calendarIdFor: (bay: number) => bayCalendarIds[bay - 1] ?? calendarId,

    async freeBusy(range: TimeRange, callOptions?: CalendarCallOptions): Promise<FreeBusy> {
      return run('freeBusy', callOptions, async (signal) => {
        const response = await api.freebusy.query(
          {
            requestBody: {
              timeMin: range.start.toISOString(),
              timeMax: range.end.toISOString(),
              timeZone: options.timeZone,
              items: [calendarId, ...bayCalendarIds].map((id) => ({ id })),
            },
          },
          requestOptions(signal),
        );
        const busyOf = (id: string, what: string): TimeRange[] => {
          const entry = response.data.calendars?.[id];
          const problem = entry?.errors?.[0] ?? (entry === undefined ? { reason: 'missing' } : undefined);
          if (problem) {
            // A per-calendar error comes back inside a 200; backendError is transient, the rest is configuration.
            throw new ProviderError(PROVIDER, `freeBusy: ${what} ${id} reported ${problem.reason ?? 'an error'}`, {
              retryable: problem.reason === 'backendError',
            });
          }
          return (entry?.busy ?? []).flatMap((period) =>
            period.start && period.end ? [{ start: new Date(period.start), end: new Date(period.end) }] : [],
          );
        };
        return {
          shop: busyOf(calendarId, 'calendar'),
          bays: new Map(bayCalendarIds.map((id, index) => [index + 1, busyOf(id, `bay ${index + 1} calendar`)])),
        };
      });
    },

    async createEvent(
      targetId: string,
      event: CalendarEvent,
      callOptions?: CalendarCallOptions,
    ): Promise<{ created: boolean }> {
      const body = { ...eventBody(event, options.timeZone), transparency: transparencyIn(targetId) };
      return run('events.insert', callOptions, async (signal) => {
        try {
          await api.events.insert(
            { calendarId: targetId, sendUpdates: 'all', requestBody: { id: event.eventId, ...body } },
            requestOptions(signal),
          );
          return { created: true };
        } catch (error) {
          // The id is taken, so the event exists (an earlier attempt landed). A deleted event keeps
          // its id too, and is deliberately NOT brought back here: a stale projection racing a
          // cancellation would otherwise resurrect a cancelled appointment's event.
          if (statusOf(error) === 409) return { created: false };
          throw error;
        }
      });
    },

    async updateEvent(
      targetId: string,
      eventId: string,
      patch: Partial<Omit<CalendarEvent, 'eventId'>>,
      callOptions?: CalendarCallOptions,
    ): Promise<void> {
      const body = { ...patchBody(patch, options.timeZone), transparency: transparencyIn(targetId) };
      await run('events.patch', callOptions, async (signal) => {
        await api.events.patch(
          { calendarId: targetId, eventId, sendUpdates: 'all', requestBody: body },
          requestOptions(signal),
        );
      });
    },

    async deleteEvent(targetId: string, eventId: string, callOptions?: CalendarCallOptions): Promise<void> {
      await run('events.delete', callOptions, async (signal) => {
        try {
          await api.events.delete({ calendarId: targetId, eventId, sendUpdates: 'all' }, requestOptions(signal));
        } catch (error) {
          // 404: never existed (or another calendar); 410: already deleted. Either way it is gone.
          const status = statusOf(error);
          if (status !== 404 && status !== 410) throw error;
        }
      });
    },

    async moveEvent(eventId: string, from: string, to: string, callOptions?: CalendarCallOptions): Promise<{ moved: boolean }> {
      if (from === to) return { moved: true };
      return run('events.move', callOptions, async (signal) => {
        try {
          await api.events.move({ calendarId: from, eventId, destination: to, sendUpdates: 'all' }, requestOptions(signal));
          return { moved: true };
        } catch (error) {
          // Not in `from`: never written there, or an earlier attempt already moved it.
          const status = statusOf(error);
          if (status === 404 || status === 410) return { moved: false };
          throw error;
        }
      });
    },

    // --- CalendarChangeFeed: staff edits coming back (events.list with sync tokens, events.watch) ---

    async listChanges(
      listedCalendarId: string,
      page: { syncToken?: string | undefined; pageToken?: string | undefined; pageSize?: number | undefined },
      callOptions?: CalendarCallOptions,
    ): Promise<ChangePage> {
      return run('events.list', callOptions, async (signal) => {
        try {
          const { data } = await api.events.list(
            {
              calendarId: listedCalendarId,
              // Full details of deleted events too; incremental listings carry deletions either way.
              showDeleted: true,
              ...(page.syncToken === undefined ? {} : { syncToken: page.syncToken }),
              ...(page.pageToken === undefined ? {} : { pageToken: page.pageToken }),
              ...(page.pageSize === undefined ? {} : { maxResults: page.pageSize }),
            },
            requestOptions(signal),
          );
          return {
            events: (data.items ?? []).flatMap((item) => listedEvent(item)),
            nextPageToken: data.nextPageToken ?? undefined,
            nextSyncToken: data.nextSyncToken ?? undefined,
          };
        } catch (error) {
          if (statusOf(error) === 410) throw new SyncTokenExpiredError(PROVIDER, listedCalendarId);
          throw error;
        }
      });
    },

    async getEvent(eventCalendarId: string, eventId: string, callOptions?: CalendarCallOptions): Promise<ListedEvent | undefined> {
      return run('events.get', callOptions, async (signal) => {
        try {
          const { data } = await api.events.get({ calendarId: eventCalendarId, eventId }, requestOptions(signal));
          return listedEvent(data)[0];
        } catch (error) {
          const status = statusOf(error);
          if (status === 404 || status === 410) return undefined;
          throw error;
        }
      });
    },

    async watch(watchedCalendarId: string, request: WatchRequest, callOptions?: CalendarCallOptions): Promise<WatchChannel> {
      return run('events.watch', callOptions, async (signal) => {
        const { data } = await api.events.watch(
          {
            calendarId: watchedCalendarId,
            requestBody: {
              id: request.channelId,
              type: 'web_hook',
              address: request.address,
              token: request.token,
              ...(request.ttlMs === undefined ? {} : { params: { ttl: String(Math.ceil(request.ttlMs / 1000)) } }),
            },
          },
          requestOptions(signal),
        );
        if (!data.resourceId) throw new ProviderError(PROVIDER, 'events.watch: the answer has no resourceId', { retryable: false });
        // int64 travels as a string; without one, Google's documented default for Calendar is a week.
        const expiration = Number(data.expiration);
        return { resourceId: data.resourceId, expiresAt: new Date(Number.isFinite(expiration) && expiration > 0 ? expiration : Date.now() + 7 * 86_400_000) };
      });
    },

    async stopChannel(channel: { channelId: string; resourceId: string }, callOptions?: CalendarCallOptions): Promise<void> {
      await run('channels.stop', callOptions, async (signal) => {
        try {
          await api.channels.stop({ requestBody: { id: channel.channelId, resourceId: channel.resourceId } }, requestOptions(signal));
        } catch (error) {
          // Already stopped, or expired: either way it sends nothing more.
          if (statusOf(error) !== 404) throw error;
        }
      });
    },
  };
}

/** A listed Google event in our terms; an item without an id (never seen in practice) is skipped. */
function listedEvent(item: calendar_v3.Schema$Event): ListedEvent[] {
  if (!item.id) return [];
  const status = item.status === 'cancelled' ? 'cancelled' : item.status === 'tentative' ? 'tentative' : 'confirmed';
  const start = item.start?.dateTime ? new Date(item.start.dateTime) : undefined;
  const end = item.end?.dateTime ? new Date(item.end.dateTime) : undefined;
  return [{ eventId: item.id, status, start, end, allDay: Boolean(item.start?.date && !item.start.dateTime) }];
}

function eventBody(event: CalendarEvent, shopZone: string): calendar_v3.Schema$Event {
  const timeZone = event.timeZone || shopZone;
  return {
    summary: event.summary,
    description: event.description,
    start: { dateTime: event.start.toISOString(), timeZone },
    end: { dateTime: event.end.toISOString(), timeZone },
    ...(event.attendeeEmail ? { attendees: [{ email: event.attendeeEmail }] } : {}),
  };
}

function patchBody(patch: Partial<Omit<CalendarEvent, 'eventId'>>, shopZone: string): calendar_v3.Schema$Event {
  const timeZone = patch.timeZone || shopZone;
  const body: calendar_v3.Schema$Event = {};
  if (patch.summary !== undefined) body.summary = patch.summary;
  if (patch.description !== undefined) body.description = patch.description;
  // A zone alone is not sent: Google wants it beside a dateTime, and the shop zone never changes per event.
  if (patch.start !== undefined) body.start = { dateTime: patch.start.toISOString(), timeZone };
  if (patch.end !== undefined) body.end = { dateTime: patch.end.toISOString(), timeZone };
  if (patch.attendeeEmail) body.attendees = [{ email: patch.attendeeEmail }];
  return body;
}

// --- error classification -------------------------------------------------------------------
// gaxios errors (GaxiosError) carry `config` (URL, headers with `Authorization: Bearer ...`, and
// for token requests a body with the refresh token) and `response` (with `config` again). None of
// that may travel: we read status, reason and message out of them and build a fresh error.

interface GaxiosLikeError {
  status?: number;
  code?: string | number;
  message?: string;
  config?: { url?: unknown };
  response?: { status?: number; headers?: { get?: (name: string) => string | null }; data?: unknown };
  cause?: unknown;
}

function asGaxios(error: unknown): GaxiosLikeError | undefined {
  return typeof error === 'object' && error !== null ? (error as GaxiosLikeError) : undefined;
}

function statusOf(error: unknown): number | undefined {
  const e = asGaxios(error);
  const status = e?.response?.status ?? e?.status;
  return typeof status === 'number' ? status : undefined;
}

/** Google's `error.errors[0].reason` (API) or the OAuth `error` code (token endpoint). */
function reasonOf(error: unknown): string | undefined {
  const data = asGaxios(error)?.response?.data as
    | { error?: string | { errors?: Array<{ reason?: unknown }>; status?: unknown } }
    | undefined;
  if (typeof data?.error === 'string') return data.error;
  const reason = data?.error?.errors?.[0]?.reason;
  return typeof reason === 'string' ? reason : undefined;
}

function googleMessageOf(error: unknown): string | undefined {
  const data = asGaxios(error)?.response?.data as
    | { error?: string | { message?: unknown }; error_description?: unknown }
    | undefined;
  if (typeof data?.error === 'string') {
    return typeof data.error_description === 'string' ? data.error_description : undefined;
  }
  const message = data?.error?.message;
  return typeof message === 'string' ? message : undefined;
}

/** The system error code under gaxios' wrapper (fetch failed -> cause -> ECONNREFUSED). */
function networkCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isTokenRequest(error: unknown): boolean {
  return /\/token(\?|$)/.test(String(asGaxios(error)?.config?.url ?? ''));
}

/** gaxios wraps an aborted fetch in a GaxiosError whose `code` is the DOMException's name. */
function abortKindOf(error: unknown): 'AbortError' | 'TimeoutError' | undefined {
  const e = asGaxios(error);
  if (e?.code === 'AbortError' || e?.code === 'TimeoutError') return e.code;
  if (isAbortError(error)) return (error as Error).name === 'TimeoutError' ? 'TimeoutError' : 'AbortError';
  return isAbortError(e?.cause) ? abortKindOf(e?.cause) : undefined;
}

function isRetryableGoogleError(error: unknown): boolean {
  if (error instanceof ProviderError) return error.retryable;
  // A timeout (say, of a token request) may pass on a second try; an abort was someone's decision.
  const abortKind = abortKindOf(error);
  if (abortKind !== undefined) return abortKind === 'TimeoutError';
  const status = statusOf(error);
  if (status === undefined) return networkCodeOf(error) !== undefined || asGaxios(error)?.message === 'fetch failed';
  if (status === 429 || status === 408 || status >= 500) return true;
  return status === 403 && RATE_LIMIT_REASONS.has(reasonOf(error) ?? '');
}

function retryAfterMsOf(error: unknown): number | undefined {
  const header = asGaxios(error)?.response?.headers?.get?.('retry-after');
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function toProviderError(
  error: unknown,
  operation: string,
  budgetMs: number,
  redact: (text: string) => string,
): ProviderError {
  if (error instanceof ProviderError) return error;
  const retryable = isRetryableGoogleError(error);
  if (abortKindOf(error) !== undefined) {
    // Not the caller's abort (handled before): the budget ran out, or a token request timed out.
    return new ProviderError(PROVIDER, `${operation}: no answer within the ${budgetMs} ms budget`, { retryable: true });
  }
  const status = statusOf(error);
  const where = isTokenRequest(error) ? `${operation} (token refresh)` : operation;
  if (status === undefined) {
    const code = networkCodeOf(error) ?? 'unknown';
    return new ProviderError(PROVIDER, redact(`${where}: network error (${code})`), { retryable });
  }
  const reason = reasonOf(error);
  const detail = googleMessageOf(error);
  const text = `${where}: HTTP ${status}${reason ? ` ${reason}` : ''}${detail ? `: ${detail}` : ''}`;
  return new ProviderError(PROVIDER, redact(text), { status, retryable });
}

/**
 * What a googleapis / google-auth-library error says, in parts safe to print: the HTTP status,
 * Google's reason (API) or OAuth error code (token endpoint) with its description, or the network
 * error code. Never the request itself, which carries credentials. Used by the setup commands.
 */
export function describeGoogleError(error: unknown): {
  status: number | undefined;
  reason: string | undefined;
  detail: string | undefined;
  network: string | undefined;
  timedOut: boolean;
} {
  return {
    status: statusOf(error),
    reason: reasonOf(error),
    detail: googleMessageOf(error),
    network: networkCodeOf(error),
    timedOut: abortKindOf(error) !== undefined,
  };
}
