/**
 * Push notifications (Google's "Push notifications" guide for the Calendar API): events.watch opens
 * a channel on one calendar's events, channels.stop closes it, and every change to a watched
 * calendar is announced by an empty POST to the channel's address, all the information in headers:
 * X-Goog-Channel-ID, X-Goog-Channel-Token (if one was given), X-Goog-Channel-Expiration (human
 * readable), X-Goog-Resource-ID, X-Goog-Resource-URI, X-Goog-Resource-State ('sync' once when the
 * channel opens, then 'exists' for any change, deletions included) and X-Goog-Message-Number (1 for
 * 'sync', then increasing but not consecutive: the emulator numbers messages across all channels).
 *
 * A receiver answering 500, 502, 503 or 504 gets the same message again with exponential backoff;
 * any other status ends it (the guide lists 200, 201, 202, 204 and 102 as success). The guide names
 * only those statuses; an unreachable receiver is retried like a 503 here. Only loopback receivers
 * are dialled: a message to any other address is recorded as undeliverable ('ENOTLOOPBACK').
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoredCalendar } from './store.js';
import { HttpError, asObject, isPlainObject } from './wire.js';

export type ResourceState = 'sync' | 'exists';

export interface PushDelivery {
  channelId: string;
  address: string;
  state: ResourceState;
  messageNumber: number;
  /** 1 for the first try of a message, then 2, 3... for retries. */
  attempt: number;
  /** The receiver's HTTP status; undefined when it could not be reached (see `error`). */
  status?: number;
  error?: string;
  /** The X-Goog-* headers sent, as Google spells them. */
  headers: Record<string, string>;
}

export interface WatchChannel {
  id: string;
  resourceId: string;
  resourceUri: string;
  token?: string;
  address: string;
  /** The watched calendar's real id ('primary' resolved). */
  calendarId: string;
  /** Unix time in milliseconds. */
  expiration: number;
  params: Record<string, string>;
  stopped: boolean;
}

export interface PushOptions {
  /** Tries per message, the first included (default 3). */
  maxAttempts?: number;
  /** Delay before the first retry, doubled for each further one (default 100). */
  retryBaseMs?: number;
  /** Cap on one POST to a receiver (default 5000). */
  deliveryTimeoutMs?: number;
}

export interface PushHub {
  /** Every attempt to deliver a notification, in order. */
  readonly deliveries: readonly PushDelivery[];
  channels(): WatchChannel[];
  watch(calendar: StoredCalendar, requestedId: string, body: unknown, apiRoot: string): Record<string, unknown>;
  stop(body: unknown): void;
  /** A watched calendar changed: tell each live channel on it. */
  notify(calendarId: string): void;
  /** Resolves when no delivery (retries included) is under way. */
  settled(): Promise<void>;
  /** Every channel expires now, as if its time ran out: no more notifications. */
  expireAll(): void;
  close(): Promise<void>;
}

const CHANNEL_ID = /^[A-Za-z0-9\-_+/=]{1,64}$/;
const RETRY_STATUSES = new Set([500, 502, 503, 504]);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** The Calendar guide gives no default lifetime; a week is what Calendar channels get in practice. */
const DEFAULT_TTL_MS = 7 * 24 * 3600 * 1000;
const MAX_TTL_MS = 30 * 24 * 3600 * 1000;
const USER_AGENT = 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)';

export function createPushHub(options: PushOptions = {}): PushHub {
  const maxAttempts = options.maxAttempts ?? 3;
  const retryBaseMs = options.retryBaseMs ?? 100;
  const timeoutMs = options.deliveryTimeoutMs ?? 5000;
  const channels = new Map<string, WatchChannel & { queue: Promise<void> }>();
  const resourceIds = new Map<string, string>();
  const deliveries: PushDelivery[] = [];
  const inflight = new Set<Promise<void>>();
  const stopAll = new AbortController();
  let lastMessageNumber = 1;

  function enqueue(channel: WatchChannel & { queue: Promise<void> }, state: ResourceState, messageNumber: number): void {
    // One message at a time per channel, so a receiver sees a channel's messages in order.
    const run = channel.queue.then(() => deliver(channel, state, messageNumber)).catch(() => undefined);
    channel.queue = run;
    inflight.add(run);
    void run.finally(() => inflight.delete(run));
  }

  async function deliver(channel: WatchChannel, state: ResourceState, messageNumber: number): Promise<void> {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (channel.stopped || channel.expiration <= Date.now() || stopAll.signal.aborted) return;
      const headers: Record<string, string> = {
        'X-Goog-Channel-ID': channel.id,
        ...(channel.token === undefined ? {} : { 'X-Goog-Channel-Token': channel.token }),
        'X-Goog-Channel-Expiration': new Date(channel.expiration).toUTCString(),
        'X-Goog-Resource-ID': channel.resourceId,
        'X-Goog-Resource-URI': channel.resourceUri,
        'X-Goog-Resource-State': state,
        'X-Goog-Message-Number': String(messageNumber),
      };
      const record: PushDelivery = { channelId: channel.id, address: channel.address, state, messageNumber, attempt, headers };
      if (!isLoopback(channel.address)) {
        // A test must never reach a real host (nor its DNS): an https address (an app's PUBLIC_URL)
        // is accepted, as Google would, and recorded as undeliverable instead of being dialled.
        deliveries.push({ ...record, error: 'ENOTLOOPBACK' });
        return;
      }
      try {
        record.status = await postEmpty(channel.address, headers, stopAll.signal, timeoutMs);
      } catch (error) {
        record.error = errorCode(error);
      }
      deliveries.push(record);
      if (record.status !== undefined && !RETRY_STATUSES.has(record.status)) return;
      if (attempt < maxAttempts) {
        await sleep(retryBaseMs * 2 ** (attempt - 1), undefined, { signal: stopAll.signal }).catch(() => undefined);
      }
    }
  }

  return {
    deliveries,
    channels: () => [...channels.values()].map(({ queue: _queue, ...channel }) => ({ ...channel })),
    watch(calendar, requestedId, body, apiRoot) {
      const request = asObject(body);
      const id = request.id;
      if (typeof id !== 'string' || id.length === 0) throw new HttpError(400, 'required', 'Required channel id.');
      if (!CHANNEL_ID.test(id)) throw new HttpError(400, 'channelIdInvalid', `Channel id must match [A-Za-z0-9\\-_\\+/=]+ and be at most 64 characters: ${id}`);
      const live = channels.get(id);
      if (live && !live.stopped) throw new HttpError(400, 'channelIdNotUnique', `Channel id ${id} not unique`);
      if (request.type !== 'web_hook' && request.type !== 'webhook') {
        throw new HttpError(400, 'invalid', `Invalid channel type: ${String(request.type)}`);
      }
      const address = checkedAddress(request.address);
      const params = isPlainObject(request.params) ? (request.params as Record<string, string>) : {};
      const resourceId = resourceIds.get(calendar.id) ?? randomBytes(14).toString('base64url');
      resourceIds.set(calendar.id, resourceId);
      const channel = {
        id,
        resourceId,
        // Google reports the URI of the collection as the client named it.
        resourceUri: `${apiRoot}calendar/v3/calendars/${requestedId}/events`,
        ...(typeof request.token === 'string' ? { token: request.token } : {}),
        address,
        calendarId: calendar.id,
        expiration: expirationOf(request.expiration, params.ttl),
        params,
        stopped: false,
        queue: Promise.resolve(),
      };
      channels.set(id, channel);
      enqueue(channel, 'sync', 1);
      return {
        kind: 'api#channel',
        id,
        resourceId,
        resourceUri: channel.resourceUri,
        ...(channel.token === undefined ? {} : { token: channel.token }),
        // int64 fields travel as strings in Google's JSON.
        expiration: String(channel.expiration),
      };
    },
    stop(body) {
      const request = asObject(body);
      if (typeof request.id !== 'string') throw new HttpError(400, 'required', 'Required channel id.');
      const channel = channels.get(request.id);
      if (!channel || channel.stopped || channel.resourceId !== request.resourceId) {
        throw new HttpError(404, 'notFound', `Channel '${request.id}' not found for project 'emulator'`);
      }
      channel.stopped = true;
    },
    notify(calendarId) {
      for (const channel of channels.values()) {
        if (channel.calendarId !== calendarId || channel.stopped || channel.expiration <= Date.now()) continue;
        enqueue(channel, 'exists', ++lastMessageNumber);
      }
    },
    async settled() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
    expireAll() {
      const now = Date.now();
      for (const channel of channels.values()) channel.expiration = Math.min(channel.expiration, now);
    },
    async close() {
      stopAll.abort();
      await Promise.allSettled([...inflight]);
    },
  };
}

/** node:http rather than fetch: fetch refuses some ports outright ("bad port"), Google does not. */
function postEmpty(address: string, headers: Record<string, string>, signal: AbortSignal, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(address);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      { method: 'POST', headers: { ...headers, 'User-Agent': USER_AGENT, 'Content-Length': '0' }, agent: false, signal, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('receiver did not answer in time'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

function isLoopback(address: string): boolean {
  return LOOPBACK_HOSTS.has(new URL(address).hostname);
}

function checkedAddress(value: unknown): string {
  if (typeof value !== 'string') throw new HttpError(400, 'required', 'Required address.');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HttpError(400, 'invalid', `Invalid address: ${value}`);
  }
  // Google delivers only to HTTPS with a valid certificate. Tests' receivers are plain HTTP on
  // loopback, so the emulator lets http://127.0.0.1 (and localhost) through, and nothing else.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new HttpError(400, 'push.webhookUrlNotHttps', `WebHook callback must be HTTPS: ${value}`);
  }
  return value;
}

function expirationOf(requested: unknown, ttlSeconds: string | undefined): number {
  const now = Date.now();
  let expiration = now + DEFAULT_TTL_MS;
  if (ttlSeconds !== undefined && Number.isFinite(Number(ttlSeconds))) expiration = now + Number(ttlSeconds) * 1000;
  if ((typeof requested === 'string' || typeof requested === 'number') && Number.isFinite(Number(requested))) {
    expiration = Number(requested);
  }
  if (expiration <= now) throw new HttpError(400, 'invalid', 'Channel expiration is in the past.');
  return Math.min(expiration, now + MAX_TTL_MS);
}

function errorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.name : 'unknown';
}
