import type { calendar_v3 } from '@googleapis/calendar';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { googleApiFor } from '../support/google-client.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import type { WebhookReceiver } from '../support/webhook-receiver.js';
import { formatInZone, startGoogleCalendarEmulator } from './google-calendar.js';
import type { GoogleCalendarEmulator } from './google-calendar.js';

// Raw HTTP against the emulator: pins down the wire behaviour the provider tests rely on.
let emulator: GoogleCalendarEmulator;
let token: string;

beforeEach(async () => {
  emulator = await startGoogleCalendarEmulator();
  const res = await tokenRequest({
    grant_type: 'refresh_token',
    refresh_token: emulator.refreshToken,
    client_id: emulator.clientId,
    client_secret: emulator.clientSecret,
  });
  token = ((await res.json()) as { access_token: string }).access_token;
});
afterEach(async () => {
  await emulator.close();
});

function tokenRequest(form: Record<string, string>): Promise<Response> {
  return fetch(emulator.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
}

function api(method: string, path: string, body?: unknown, auth = `Bearer ${token}`): Promise<Response> {
  return fetch(new URL(`calendar/v3${path}`, emulator.rootUrl), {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

const EVENT = {
  id: 'abcdef0123456789',
  summary: 'Tyres',
  start: { dateTime: '2030-01-02T15:00:00Z', timeZone: 'America/New_York' },
  end: { dateTime: '2030-01-02T16:00:00Z', timeZone: 'America/New_York' },
};

async function errorOf(res: Response): Promise<{ code: number; reason?: string; status: string }> {
  const body = (await res.json()) as { error: { code: number; errors: Array<{ reason: string }>; status: string } };
  return { code: body.error.code, reason: body.error.errors[0]?.reason, status: body.error.status };
}

describe('google calendar emulator', () => {
  it('issues Bearer tokens for the right refresh token and client only', async () => {
    const ok = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: emulator.refreshToken,
      client_id: emulator.clientId,
      client_secret: emulator.clientSecret,
    });
    expect(await ok.json()).toMatchObject({ token_type: 'Bearer', expires_in: 3599, scope: expect.any(String) });

    const badGrant = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: 'nope',
      client_id: emulator.clientId,
      client_secret: emulator.clientSecret,
    });
    expect(badGrant.status).toBe(400);
    expect(await badGrant.json()).toMatchObject({ error: 'invalid_grant' });

    const badClient = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: emulator.refreshToken,
      client_id: emulator.clientId,
      client_secret: 'nope',
    });
    expect(badClient.status).toBe(401);
    expect(await badClient.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('requires a valid Bearer token and honours expireAccessTokens', async () => {
    const missing = await api('POST', '/freeBusy', {}, '');
    expect(missing.status).toBe(401);
    expect(await errorOf(missing)).toEqual({ code: 401, reason: 'required', status: 'UNAUTHENTICATED' });
    emulator.expireAccessTokens();
    const expired = await api('GET', '/calendars/primary/events/abcdef0123456789');
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toMatch(/invalid_token/);
  });

  it('inserts with a client id, rejects duplicates (deleted ones too) and bad ids', async () => {
    expect((await api('POST', '/calendars/primary/events?sendUpdates=all', EVENT)).status).toBe(200);
    expect(emulator.requests.at(-1)?.query).toEqual({ sendUpdates: 'all' });
    const dup = await api('POST', '/calendars/primary/events', EVENT);
    expect(await errorOf(dup)).toEqual({ code: 409, reason: 'duplicate', status: 'ALREADY_EXISTS' });

    expect((await api('DELETE', `/calendars/primary/events/${EVENT.id}`)).status).toBe(204);
    expect(await errorOf(await api('DELETE', `/calendars/primary/events/${EVENT.id}`))).toMatchObject({ code: 410, reason: 'deleted' });
    expect(await errorOf(await api('POST', '/calendars/primary/events', EVENT))).toMatchObject({ code: 409 });
    expect(await errorOf(await api('DELETE', '/calendars/primary/events/00000unknown'))).toMatchObject({ code: 404, reason: 'notFound' });

    for (const id of ['abcd', 'UPPERCASE1', 'has-dash-123', 'wxyz12345']) {
      expect(await errorOf(await api('POST', '/calendars/primary/events', { ...EVENT, id }))).toMatchObject({ code: 400, reason: 'invalid' });
    }
  });

  it('gets and patches events, merging fields', async () => {
    await api('POST', '/calendars/primary/events', { ...EVENT, description: 'keep me' });
    const patched = await api('PATCH', `/calendars/primary/events/${EVENT.id}`, {
      start: { dateTime: '2030-01-02T17:00:00Z' },
      end: { dateTime: '2030-01-02T18:00:00Z' },
    });
    expect(patched.status).toBe(200);
    const got = (await (await api('GET', `/calendars/primary/events/${EVENT.id}`)).json()) as Record<string, unknown>;
    expect(got).toMatchObject({
      id: EVENT.id,
      summary: 'Tyres',
      description: 'keep me',
      status: 'confirmed',
      sequence: 1,
      start: { dateTime: '2030-01-02T17:00:00Z', timeZone: 'America/New_York' },
    });
  });

  it('computes free/busy from live events and added blocks, in the requested zone', async () => {
    await api('POST', '/calendars/primary/events', EVENT);
    await api('POST', '/calendars/primary/events', { ...EVENT, id: 'deleted00001' });
    await api('DELETE', '/calendars/primary/events/deleted00001');
    emulator.addBusy('primary', '2030-01-02T19:00:00Z', '2030-01-02T20:00:00Z');
    emulator.addBusy('primary', '2030-01-05T19:00:00Z', '2030-01-05T20:00:00Z');

    const res = await api('POST', '/freeBusy', {
      timeMin: '2030-01-02T00:00:00Z',
      timeMax: '2030-01-03T00:00:00Z',
      timeZone: 'America/New_York',
      items: [{ id: 'primary' }],
    });
    expect(await res.json()).toMatchObject({
      kind: 'calendar#freeBusy',
      calendars: {
        primary: {
          busy: [
            { start: '2030-01-02T10:00:00-05:00', end: '2030-01-02T11:00:00-05:00' },
            { start: '2030-01-02T14:00:00-05:00', end: '2030-01-02T15:00:00-05:00' },
          ],
        },
      },
    });
    const empty = await api('POST', '/freeBusy', { timeMin: '2030-01-02T00:00:00Z', timeMax: '2030-01-02T00:00:00Z', items: [] });
    expect(await errorOf(empty)).toMatchObject({ code: 400, reason: 'timeRangeEmpty' });
  });

  it('answers a body that is not JSON with 400 parseError, and records the request', async () => {
    const res = await fetch(new URL('calendar/v3/calendars/primary/events', emulator.rootUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"summary": ',
    });
    expect(await errorOf(res)).toMatchObject({ code: 400, reason: 'parseError' });
    expect(emulator.requests.at(-1)).toMatchObject({ method: 'POST', path: '/calendar/v3/calendars/primary/events', body: undefined });
  });

  it('injects faults with Retry-After a given number of times', async () => {
    emulator.injectFaults([{ status: 429, retryAfterSeconds: 2, times: 2 }]);
    const first = await api('POST', '/freeBusy', {});
    expect(first.headers.get('retry-after')).toBe('2');
    expect(await errorOf(first)).toEqual({ code: 429, reason: 'rateLimitExceeded', status: 'RESOURCE_EXHAUSTED' });
    expect((await api('GET', '/calendars/primary/events/abcdef0123456789')).status).toBe(429);
    expect((await api('GET', '/calendars/primary/events/abcdef0123456789')).status).toBe(404);
  });

  it('goes down and comes back', async () => {
    await emulator.setDown(true, '503');
    expect((await api('POST', '/freeBusy', {})).status).toBe(503);
    await emulator.setDown(true, 'refuse');
    await expect(api('POST', '/freeBusy', {})).rejects.toThrow();
    await emulator.setDown(false);
    await emulator.setDown(true, 'reset');
    await expect(api('POST', '/freeBusy', {})).rejects.toThrow();
    await emulator.setDown(false);
    expect((await api('GET', '/calendars/primary/events/abcdef0123456789')).status).toBe(404);
  });

  it('formats instants with the zone offset', () => {
    expect(formatInZone(new Date('2030-07-01T12:00:00Z'), 'America/New_York')).toBe('2030-07-01T08:00:00-04:00');
    expect(formatInZone(new Date('2030-07-01T12:00:00Z'), 'UTC')).toBe('2030-07-01T12:00:00Z');
  });
});

// The parts below go through the real @googleapis/calendar client: if the emulator's wire format
// drifted from what the client sends and parses, these would fail.

/** Google's error as the client surfaces it: HTTP status plus errors[0]'s domain and reason. */
async function googleErrorOf(call: Promise<unknown>): Promise<{ status?: number; domain?: string; reason?: string }> {
  try {
    await call;
  } catch (error) {
    const e = error as { status?: number; response?: { data?: { error?: { errors?: Array<{ domain?: string; reason?: string }> } } } };
    const detail = e.response?.data?.error?.errors?.[0];
    return { status: e.status, domain: detail?.domain, reason: detail?.reason };
  }
  throw new Error('expected the call to fail');
}

const at = (hour: number, minute = 0): string => `2030-02-04T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00Z`;
const timed = (id: string, from: string, to: string, extra: calendar_v3.Schema$Event = {}): calendar_v3.Schema$Event => ({
  id,
  summary: `Event ${id}`,
  start: { dateTime: from },
  end: { dateTime: to },
  ...extra,
});

describe('google calendar emulator: several calendars', () => {
  let api: calendar_v3.Calendar;
  beforeEach(() => {
    api = googleApiFor(emulator);
  });

  it('lists the account\'s calendars with id, summary and accessRole, marking only the primary', async () => {
    const bay = emulator.createCalendar({ summary: 'Bay 1', timeZone: 'America/New_York', accessRole: 'writer' });
    emulator.createCalendar({ id: 'holidays@group.v.calendar.google.com', summary: 'Holidays', accessRole: 'reader' });

    const { data } = await api.calendarList.list();
    expect(data.kind).toBe('calendar#calendarList');
    expect(data.items?.map(({ id, summary, accessRole, primary }) => ({ id, summary, accessRole, primary }))).toEqual([
      { id: emulator.primaryCalendarId, summary: emulator.primaryCalendarId, accessRole: 'owner', primary: true },
      { id: bay.id, summary: 'Bay 1', accessRole: 'writer', primary: undefined },
      { id: 'holidays@group.v.calendar.google.com', summary: 'Holidays', accessRole: 'reader', primary: undefined },
    ]);
    expect(bay.id).toMatch(/@group\.calendar\.google\.com$/);

    const writable = await api.calendarList.list({ minAccessRole: 'writer' });
    expect(writable.data.items?.map((c) => c.id)).toEqual([emulator.primaryCalendarId, bay.id]);
  });

  it('keeps events per calendar, with primary as an alias of the primary calendar id', async () => {
    const bay = emulator.createCalendar({ summary: 'Bay 1' });
    const event = timed('sameid00001', at(9), at(10));
    await api.events.insert({ calendarId: 'primary', requestBody: event });
    // The same id on another calendar is another event, not a 409.
    await api.events.insert({ calendarId: bay.id, requestBody: { ...event, summary: 'Bay copy' } });

    const viaAlias = await api.events.get({ calendarId: 'primary', eventId: 'sameid00001' });
    const viaId = await api.events.get({ calendarId: emulator.primaryCalendarId, eventId: 'sameid00001' });
    expect(viaId.data).toEqual(viaAlias.data);
    expect(viaAlias.data.organizer).toMatchObject({ email: emulator.primaryCalendarId });
    expect((await api.events.get({ calendarId: bay.id, eventId: 'sameid00001' })).data.summary).toBe('Bay copy');
    expect(emulator.getEvent('primary', 'sameid00001')?.summary).toBe('Event sameid00001');
    expect([...emulator.events.keys()].sort()).toEqual([`${bay.id}/sameid00001`, `${emulator.primaryCalendarId}/sameid00001`].sort());

    await api.events.delete({ calendarId: bay.id, eventId: 'sameid00001' });
    expect(emulator.getEvent('primary', 'sameid00001')?.status).toBe('confirmed');
  });

  it('answers 404 notFound for an unknown calendar on every events route', async () => {
    const ghost = 'ghost@example.com';
    const notFound = { status: 404, domain: 'global', reason: 'notFound' };
    expect(await googleErrorOf(api.events.insert({ calendarId: ghost, requestBody: timed('ghost00001', at(9), at(10)) }))).toEqual(notFound);
    expect(await googleErrorOf(api.events.get({ calendarId: ghost, eventId: 'ghost00001' }))).toEqual(notFound);
    expect(await googleErrorOf(api.events.list({ calendarId: ghost }))).toEqual(notFound);
    expect(await googleErrorOf(api.events.delete({ calendarId: ghost, eventId: 'ghost00001' }))).toEqual(notFound);
    expect(await googleErrorOf(api.events.watch({ calendarId: ghost, requestBody: { id: 'ch-ghost', type: 'web_hook', address: 'http://127.0.0.1:9/x' } }))).toEqual(notFound);
    expect(emulator.events.size).toBe(0);
  });

  it('refuses event writes on a calendar the account may only read (403 requiredAccessLevel)', async () => {
    const holidays = emulator.createCalendar({ summary: 'Holidays', accessRole: 'reader' });
    emulator.staff.insertEvent(holidays.id, { id: 'closed00001', summary: 'Closed', start: at(0), end: at(23) });
    const denied = { status: 403, domain: 'calendar', reason: 'requiredAccessLevel' };
    expect(await googleErrorOf(api.events.insert({ calendarId: holidays.id, requestBody: timed('mine000001', at(9), at(10)) }))).toEqual(denied);
    expect(await googleErrorOf(api.events.patch({ calendarId: holidays.id, eventId: 'closed00001', requestBody: { summary: 'Open' } }))).toEqual(denied);
    expect(await googleErrorOf(api.events.delete({ calendarId: holidays.id, eventId: 'closed00001' }))).toEqual(denied);
    expect((await api.events.get({ calendarId: holidays.id, eventId: 'closed00001' })).data).toMatchObject({ summary: 'Closed', status: 'confirmed' });
  });

  it('lets tests act as staff in the Google UI: insert, move and delete bump updated and sequence', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const bay = emulator.createCalendar({ summary: 'Bay 1', timeZone: 'America/New_York' });
      vi.setSystemTime(new Date('2030-01-01T08:00:00Z'));
      const inserted = emulator.staff.insertEvent(bay.id, { summary: 'Staff lunch', start: at(12), end: at(13) });
      expect(inserted).toMatchObject({ status: 'confirmed', sequence: 0, updated: '2030-01-01T08:00:00.000Z' });
      expect(inserted.id).toMatch(/^[a-v0-9]{26}$/);
      expect(inserted.start).toEqual({ dateTime: '2030-02-04T12:00:00.000Z', timeZone: 'America/New_York' });

      vi.setSystemTime(new Date('2030-01-01T09:00:00Z'));
      emulator.staff.moveEvent(bay.id, inserted.id, at(14), at(15));
      const moved = (await api.events.get({ calendarId: bay.id, eventId: inserted.id })).data;
      expect(moved).toMatchObject({
        summary: 'Staff lunch',
        sequence: 1,
        updated: '2030-01-01T09:00:00.000Z',
        start: { dateTime: '2030-02-04T14:00:00.000Z', timeZone: 'America/New_York' },
      });
      expect(moved.etag).not.toBe(inserted.etag);

      vi.setSystemTime(new Date('2030-01-01T10:00:00Z'));
      emulator.staff.updateEvent(bay.id, inserted.id, { summary: 'Team lunch' });
      expect(emulator.getEvent(bay.id, inserted.id)).toMatchObject({ summary: 'Team lunch', sequence: 1, updated: '2030-01-01T10:00:00.000Z' });

      vi.setSystemTime(new Date('2030-01-01T11:00:00Z'));
      emulator.staff.deleteEvent(bay.id, inserted.id);
      expect((await api.events.get({ calendarId: bay.id, eventId: inserted.id })).data).toMatchObject({
        status: 'cancelled',
        sequence: 2,
        updated: '2030-01-01T11:00:00.000Z',
      });
      expect(() => emulator.staff.deleteEvent(bay.id, inserted.id)).toThrow(/deleteEvent.*410/);
      expect(() => emulator.staff.moveEvent('ghost@example.com', inserted.id, at(1), at(2))).toThrow(/ghost@example\.com.*404/);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('google calendar emulator: moving an event to another calendar', () => {
  let client: calendar_v3.Calendar;
  beforeEach(() => {
    client = googleApiFor(emulator);
  });

  it('moves it with its id and details; the source sees it gone, the destination owns it', async () => {
    const bay1 = emulator.createCalendar({ summary: 'Bay 1' }).id;
    const bay2 = emulator.createCalendar({ summary: 'Bay 2' }).id;
    await client.events.insert({ calendarId: bay1, requestBody: timed('moving00001', at(9), at(10), { attendees: [{ email: 'dana@example.com' }] }) });
    const sourceToken = (await client.events.list({ calendarId: bay1 })).data.nextSyncToken!;

    const { data: moved } = await client.events.move({ calendarId: bay1, eventId: 'moving00001', destination: bay2, sendUpdates: 'all' });
    expect(moved).toMatchObject({ id: 'moving00001', status: 'confirmed', organizer: { email: bay2 }, attendees: [{ email: 'dana@example.com' }] });
    expect(emulator.getEvent(bay2, 'moving00001')).toMatchObject({ status: 'confirmed', start: { dateTime: at(9) } });
    expect(emulator.getEvent(bay1, 'moving00001')?.status).toBe('cancelled');
    const changes = (await client.events.list({ calendarId: bay1, syncToken: sourceToken })).data.items;
    expect(changes?.map((e) => [e.id, e.status])).toEqual([['moving00001', 'cancelled']]);
    const { data: busy } = await client.freebusy.query({ requestBody: { timeMin: at(0), timeMax: at(23), items: [{ id: bay1 }, { id: bay2 }] } });
    expect(busy.calendars).toEqual({ [bay1]: { busy: [] }, [bay2]: { busy: [{ start: at(9), end: at(10) }] } });

    // And back again: the cancelled copy left in bay 1 does not hold the id against its own event.
    await client.events.move({ calendarId: bay2, eventId: 'moving00001', destination: bay1 });
    expect(emulator.getEvent(bay1, 'moving00001')?.status).toBe('confirmed');
    expect(emulator.getEvent(bay2, 'moving00001')?.status).toBe('cancelled');
  });

  it('answers 404 for an event not in the source (never there, or already moved), 403 for a calendar it may not write', async () => {
    const bay1 = emulator.createCalendar({ summary: 'Bay 1' }).id;
    const bay2 = emulator.createCalendar({ summary: 'Bay 2' }).id;
    const holidays = emulator.createCalendar({ summary: 'Holidays', accessRole: 'reader' }).id;
    expect(await googleErrorOf(client.events.move({ calendarId: bay1, eventId: 'nothere0001', destination: bay2 }))).toMatchObject({ status: 404, reason: 'notFound' });
    await client.events.insert({ calendarId: bay1, requestBody: timed('moving00002', at(9), at(10)) });
    await client.events.move({ calendarId: bay1, eventId: 'moving00002', destination: bay2 });
    expect(await googleErrorOf(client.events.move({ calendarId: bay1, eventId: 'moving00002', destination: bay2 }))).toMatchObject({ status: 404, reason: 'notFound' });
    expect(await googleErrorOf(client.events.move({ calendarId: bay2, eventId: 'moving00002', destination: 'ghost@example.com' }))).toMatchObject({ status: 404 });
    expect(await googleErrorOf(client.events.move({ calendarId: bay2, eventId: 'moving00002', destination: holidays }))).toMatchObject({ status: 403, reason: 'requiredAccessLevel' });
    expect(emulator.getEvent(bay2, 'moving00002')?.status).toBe('confirmed');
  });

  it('refuses a move without a destination (400 required), which the client library would not even send', async () => {
    const bay = emulator.createCalendar({ summary: 'Bay 1' }).id;
    await api('POST', `/calendars/${bay}/events`, EVENT);
    const res = await api('POST', `/calendars/${bay}/events/${EVENT.id}/move`);
    expect(await errorOf(res)).toEqual({ code: 400, reason: 'required', status: 'INVALID_ARGUMENT' });
    expect(emulator.getEvent(bay, EVENT.id)?.status).toBe('confirmed');
  });
});

describe('google calendar emulator: free/busy over several calendars', () => {
  it('answers each calendar in one request, clipped to the window and merged, with notFound for an unknown one', async () => {
    const api = googleApiFor(emulator);
    const bay = emulator.createCalendar({ summary: 'Bay 1' });
    await api.events.insert({ calendarId: 'primary', requestBody: timed('shopcal0001', at(11), at(12)) });
    emulator.staff.insertEvent(bay.id, { summary: 'starts before the window', start: at(8), end: at(9, 30) });
    emulator.staff.insertEvent(bay.id, { summary: 'touches the one before', start: at(9, 30), end: at(10) });
    emulator.staff.insertEvent(bay.id, { summary: 'inside the next', start: at(13), end: at(13, 30) });
    emulator.staff.insertEvent(bay.id, { summary: 'overlapping', start: at(12, 45), end: at(14) });
    emulator.staff.insertEvent(bay.id, { summary: 'show as available', start: at(15), end: at(16), transparency: 'transparent' });
    const deleted = emulator.staff.insertEvent(bay.id, { summary: 'deleted', start: at(15), end: at(16) });
    emulator.staff.deleteEvent(bay.id, deleted.id);
    emulator.staff.insertEvent(bay.id, { summary: 'runs past the window', start: at(16, 30), end: at(18) });

    const { data } = await api.freebusy.query({
      requestBody: { timeMin: at(9), timeMax: at(17), items: [{ id: 'primary' }, { id: bay.id }, { id: 'ghost@example.com' }] },
    });
    expect(data.calendars).toEqual({
      primary: { busy: [{ start: at(11), end: at(12) }] },
      [bay.id]: {
        busy: [
          { start: at(9), end: at(10) },
          { start: at(12, 45), end: at(14) },
          { start: at(16, 30), end: at(17) },
        ],
      },
      'ghost@example.com': { errors: [{ domain: 'global', reason: 'notFound' }], busy: [] },
    });

    const inZone = await api.freebusy.query({ requestBody: { timeMin: at(9), timeMax: at(12), timeZone: 'America/New_York', items: [{ id: bay.id }] } });
    expect(inZone.data.calendars?.[bay.id]?.busy?.[0]).toEqual({ start: '2030-02-04T04:00:00-05:00', end: '2030-02-04T05:00:00-05:00' });
  });
});

describe('google calendar emulator: incremental sync', () => {
  let api: calendar_v3.Calendar;
  let bay: string;
  beforeEach(() => {
    api = googleApiFor(emulator);
    bay = emulator.createCalendar({ summary: 'Bay 1' }).id;
  });

  /** Every page of one listing, following nextPageToken with the same parameters. */
  async function allPages(params: calendar_v3.Params$Resource$Events$List): Promise<calendar_v3.Schema$Events[]> {
    const pages: calendar_v3.Schema$Events[] = [];
    let pageToken: string | undefined;
    do {
      const { data } = await api.events.list({ ...params, ...(pageToken ? { pageToken } : {}) });
      pages.push(data);
      pageToken = data.nextPageToken ?? undefined;
    } while (pageToken);
    return pages;
  }

  async function seed(count: number): Promise<string[]> {
    const ids = Array.from({ length: count }, (_, i) => `seeded0000${i}`);
    for (const [i, id] of ids.entries()) await api.events.insert({ calendarId: bay, requestBody: timed(id, at(8 + i), at(9 + i)) });
    return ids;
  }

  it('pages a full list by maxResults; only the last page carries nextSyncToken; deleted events only with showDeleted', async () => {
    const ids = await seed(5);
    await api.events.delete({ calendarId: bay, eventId: ids[4]! });

    const pages = await allPages({ calendarId: bay, maxResults: 2 });
    expect(pages.map((p) => p.items?.length)).toEqual([2, 2]);
    expect(pages.map((p) => [Boolean(p.nextPageToken), Boolean(p.nextSyncToken)])).toEqual([
      [true, false],
      [false, true],
    ]);
    expect(pages[0]).toMatchObject({ kind: 'calendar#events', summary: 'Bay 1', accessRole: 'owner' });
    expect(pages.flatMap((p) => p.items!.map((e) => e.id)).sort()).toEqual(ids.slice(0, 4));

    const withDeleted = (await allPages({ calendarId: bay, showDeleted: true })).flatMap((p) => p.items ?? []);
    expect(withDeleted.find((e) => e.id === ids[4])).toMatchObject({ status: 'cancelled', summary: `Event ${ids[4]}` });
  });

  it('with a syncToken returns only what changed since, through the API or by staff, deletions included', async () => {
    const ids = await seed(4);
    const token = (await allPages({ calendarId: bay })).at(-1)!.nextSyncToken!;

    await api.events.patch({ calendarId: bay, eventId: ids[0]!, requestBody: { summary: 'Renamed' } });
    emulator.staff.moveEvent(bay, ids[1]!, at(20), at(21));
    emulator.staff.deleteEvent(bay, ids[2]!);
    const added = emulator.staff.insertEvent(bay, { summary: 'Walk-in', start: at(18), end: at(19) });

    const pages = await allPages({ calendarId: bay, syncToken: token, maxResults: 3 });
    expect(pages.map((p) => p.items?.length)).toEqual([3, 1]);
    expect(pages[0]?.nextSyncToken).toBeUndefined();
    const changes = pages.flatMap((p) => p.items ?? []);
    expect(changes.map((e) => e.id).sort()).toEqual([ids[0], ids[1], ids[2], added.id].sort());
    expect(changes.find((e) => e.id === ids[0])?.summary).toBe('Renamed');
    expect(changes.find((e) => e.id === ids[1])?.start?.dateTime).toBe('2030-02-04T20:00:00.000Z');
    // Incremental sync always brings deletions; without showDeleted only their id and status.
    expect(changes.find((e) => e.id === ids[2])).toEqual({ kind: 'calendar#event', etag: expect.any(String), id: ids[2], status: 'cancelled' });

    const detailed = (await allPages({ calendarId: bay, syncToken: token, showDeleted: true })).flatMap((p) => p.items ?? []);
    expect(detailed.find((e) => e.id === ids[2])).toMatchObject({ status: 'cancelled', summary: `Event ${ids[2]}` });

    const nothingSince = await allPages({ calendarId: bay, syncToken: pages.at(-1)!.nextSyncToken! });
    expect(nothingSince.flatMap((p) => p.items ?? [])).toEqual([]);
    expect(nothingSince.at(-1)?.nextSyncToken).toEqual(expect.any(String));
  });

  it('serves again an event changed while a client is paging, before handing out the next token', async () => {
    const ids = await seed(3);
    const token = (await allPages({ calendarId: bay })).at(-1)!.nextSyncToken!;
    for (const id of ids) await api.events.patch({ calendarId: bay, eventId: id, requestBody: { description: 'checked in' } });

    const first = (await api.events.list({ calendarId: bay, syncToken: token, maxResults: 2 })).data;
    expect(first.items?.map((e) => e.id)).toEqual([ids[0], ids[1]]);
    emulator.staff.moveEvent(bay, ids[0]!, at(22), at(23));
    const second = (await api.events.list({ calendarId: bay, syncToken: token, maxResults: 2, pageToken: first.nextPageToken! })).data;
    expect(second.items?.map((e) => [e.id, e.start?.dateTime])).toEqual([
      [ids[2], at(10)],
      [ids[0], '2030-02-04T22:00:00.000Z'],
    ]);
    expect(second.nextSyncToken).toEqual(expect.any(String));
    const after = await api.events.list({ calendarId: bay, syncToken: second.nextSyncToken! });
    expect(after.data.items).toEqual([]);
  });

  it('refuses a syncToken combined with the filters Google forbids, and a page token from another query', async () => {
    await seed(3);
    const full = (await api.events.list({ calendarId: bay, maxResults: 1 })).data;
    const token = (await allPages({ calendarId: bay })).at(-1)!.nextSyncToken!;
    const refusals: Array<Partial<calendar_v3.Params$Resource$Events$List>> = [
      { timeMin: at(0) },
      { timeMax: at(23) },
      { q: 'Event' },
      { orderBy: 'updated' },
      { updatedMin: at(0) },
      { iCalUID: 'x@google.com' },
      { privateExtendedProperty: ['bay=1'] },
    ];
    for (const extra of refusals) {
      expect(await googleErrorOf(api.events.list({ calendarId: bay, syncToken: token, ...extra }))).toMatchObject({ status: 400, reason: 'invalid' });
    }
    // Page 2 of the full list asked as if it were a sync: a different query.
    expect(await googleErrorOf(api.events.list({ calendarId: bay, syncToken: token, pageToken: full.nextPageToken! }))).toMatchObject({ status: 400 });
    expect(await googleErrorOf(api.events.list({ calendarId: bay, orderBy: 'startTime' }))).toMatchObject({ status: 400 });
    expect((await api.events.list({ calendarId: bay, orderBy: 'startTime', singleEvents: true })).data.items?.map((e) => e.start?.dateTime)).toEqual([at(8), at(9), at(10)]);
  });

  it('answers 410 fullSyncRequired once tokens are invalidated, after which a full list starts over', async () => {
    await seed(2);
    const other = emulator.createCalendar({ summary: 'Bay 2' }).id;
    const token = (await allPages({ calendarId: bay })).at(-1)!.nextSyncToken!;
    const otherToken = (await allPages({ calendarId: other })).at(-1)!.nextSyncToken!;

    emulator.invalidateSyncTokens(bay);
    const gone = { status: 410, domain: 'calendar', reason: 'fullSyncRequired' };
    expect(await googleErrorOf(api.events.list({ calendarId: bay, syncToken: token }))).toEqual(gone);
    expect((await api.events.list({ calendarId: other, syncToken: otherToken })).status).toBe(200);
    // A token the server cannot read, or another calendar's, is no better.
    expect(await googleErrorOf(api.events.list({ calendarId: bay, syncToken: `1${token}` }))).toEqual(gone);
    expect(await googleErrorOf(api.events.list({ calendarId: bay, syncToken: otherToken }))).toEqual(gone);

    const restart = await allPages({ calendarId: bay });
    expect(restart.flatMap((p) => p.items ?? [])).toHaveLength(2);
    emulator.staff.insertEvent(bay, { summary: 'After the restart', start: at(20), end: at(21) });
    const resumed = (await api.events.list({ calendarId: bay, syncToken: restart.at(-1)!.nextSyncToken! })).data;
    expect(resumed.items?.map((e) => e.summary)).toEqual(['After the restart']);
  });
});

describe('google calendar emulator: push notifications', () => {
  let api: calendar_v3.Calendar;
  let receiver: WebhookReceiver;
  let bay: string;
  beforeEach(async () => {
    api = googleApiFor(emulator);
    receiver = await startWebhookReceiver();
    bay = emulator.createCalendar({ summary: 'Bay 1' }).id;
  });
  afterEach(async () => {
    await emulator.close(); // before the receiver, so no delivery is left knocking on a closed port
    await receiver.close();
  });

  const watch = (id: string, calendarId = bay) =>
    api.events.watch({ calendarId, requestBody: { id, type: 'web_hook', address: receiver.url, token: 'channel-secret' } });

  it('opens a channel, says sync once, then exists for every change on that calendar, API or staff', async () => {
    const { data: channel } = await watch('channel-1');
    expect(channel).toMatchObject({
      kind: 'api#channel',
      id: 'channel-1',
      resourceId: expect.any(String),
      resourceUri: `${emulator.rootUrl}calendar/v3/calendars/${bay}/events`,
      token: 'channel-secret',
      expiration: expect.stringMatching(/^\d+$/),
    });
    await emulator.pushesSettled();
    expect(receiver.received).toHaveLength(1);
    const [sync] = receiver.received;
    expect(sync).toMatchObject({ method: 'POST', path: '/google/calendar/notifications', body: '' });
    expect(sync?.headers).toMatchObject({
      'x-goog-channel-id': 'channel-1',
      'x-goog-channel-token': 'channel-secret',
      'x-goog-channel-expiration': new Date(Number(channel.expiration)).toUTCString(),
      'x-goog-resource-id': channel.resourceId,
      'x-goog-resource-uri': channel.resourceUri,
      'x-goog-resource-state': 'sync',
      'x-goog-message-number': '1',
      'content-length': '0',
    });

    await api.events.insert({ calendarId: bay, requestBody: timed('seen0000001', at(9), at(10)) });
    emulator.staff.moveEvent(bay, 'seen0000001', at(11), at(12));
    emulator.staff.deleteEvent(bay, 'seen0000001');
    await api.events.insert({ calendarId: 'primary', requestBody: timed('other000001', at(9), at(10)) }); // another calendar
    await emulator.pushesSettled();

    const states = receiver.received.map((r) => r.headers['x-goog-resource-state']);
    expect(states).toEqual(['sync', 'exists', 'exists', 'exists']);
    const numbers = receiver.received.map((r) => Number(r.headers['x-goog-message-number']));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(4);
    expect(emulator.pushDeliveries.map((d) => [d.state, d.status])).toEqual([
      ['sync', 200],
      ['exists', 200],
      ['exists', 200],
      ['exists', 200],
    ]);
  });

  it('watches through the primary alias, and stops after channels.stop (a second stop is 404)', async () => {
    const { data: channel } = await watch('channel-primary', 'primary');
    expect(channel.resourceUri).toBe(`${emulator.rootUrl}calendar/v3/calendars/primary/events`);
    emulator.staff.insertEvent(emulator.primaryCalendarId, { summary: 'Inspection', start: at(9), end: at(10) });
    await emulator.pushesSettled();
    expect(receiver.received.map((r) => r.headers['x-goog-resource-state'])).toEqual(['sync', 'exists']);

    await api.channels.stop({ requestBody: { id: channel.id, resourceId: channel.resourceId } });
    emulator.staff.insertEvent(emulator.primaryCalendarId, { summary: 'After stop', start: at(11), end: at(12) });
    await emulator.pushesSettled();
    expect(receiver.received).toHaveLength(2);
    expect(emulator.channels()).toMatchObject([{ id: 'channel-primary', calendarId: emulator.primaryCalendarId, stopped: true }]);
    expect(await googleErrorOf(api.channels.stop({ requestBody: { id: channel.id, resourceId: channel.resourceId } }))).toMatchObject({ status: 404, reason: 'notFound' });
  });

  it('retries a 5xx answer with the same message number, and not a 4xx', async () => {
    receiver.respondWith([503, 500, 200]);
    await watch('channel-retry');
    await emulator.pushesSettled();
    expect(emulator.pushDeliveries.map((d) => [d.state, d.messageNumber, d.attempt, d.status])).toEqual([
      ['sync', 1, 1, 503],
      ['sync', 1, 2, 500],
      ['sync', 1, 3, 200],
    ]);

    receiver.respondWith([404]);
    emulator.staff.insertEvent(bay, { summary: 'Oil change', start: at(9), end: at(10) });
    await emulator.pushesSettled();
    expect(emulator.pushDeliveries.slice(3).map((d) => [d.state, d.attempt, d.status])).toEqual([['exists', 1, 404]]);
  });

  it('records an unreachable receiver, and sends nothing once channels have expired', async () => {
    const gone = await startWebhookReceiver();
    await gone.close();
    const { data } = await api.events.watch({ calendarId: bay, requestBody: { id: 'channel-dead', type: 'web_hook', address: gone.url } });
    expect(data.token).toBeUndefined();
    await emulator.pushesSettled();
    expect(emulator.pushDeliveries.map((d) => [d.attempt, d.status, d.error])).toEqual([
      [1, undefined, 'ECONNREFUSED'],
      [2, undefined, 'ECONNREFUSED'],
      [3, undefined, 'ECONNREFUSED'],
    ]);

    await watch('channel-live');
    await emulator.pushesSettled();
    const before = receiver.received.length;
    emulator.expireChannels();
    emulator.staff.insertEvent(bay, { summary: 'Tyres', start: at(9), end: at(10) });
    await emulator.pushesSettled();
    expect(receiver.received).toHaveLength(before);
  });

  it('accepts an https address as Google does, but never dials a host off loopback', async () => {
    await api.events.watch({ calendarId: bay, requestBody: { id: 'channel-https', type: 'web_hook', address: 'https://agent.example.test/google/calendar/notifications' } });
    emulator.staff.insertEvent(bay, { summary: 'Oil change', start: at(9), end: at(10) });
    await emulator.pushesSettled();
    expect(emulator.pushDeliveries.map((d) => [d.state, d.attempt, d.status, d.error])).toEqual([
      ['sync', 1, undefined, 'ENOTLOOPBACK'],
      ['exists', 1, undefined, 'ENOTLOOPBACK'],
    ]);
  });

  it('refuses a plain-http address off loopback, a duplicate channel id and a malformed one', async () => {
    const offLoopback = api.events.watch({ calendarId: bay, requestBody: { id: 'channel-x', type: 'web_hook', address: 'http://example.com/hook' } });
    expect(await googleErrorOf(offLoopback)).toMatchObject({ status: 400, reason: 'push.webhookUrlNotHttps' });
    await watch('channel-dup');
    expect(await googleErrorOf(watch('channel-dup'))).toMatchObject({ status: 400, reason: 'channelIdNotUnique' });
    expect(await googleErrorOf(watch('has spaces'))).toMatchObject({ status: 400, reason: 'channelIdInvalid' });
    expect(emulator.channels().map((c) => c.id)).toEqual(['channel-dup']);
  });
});
