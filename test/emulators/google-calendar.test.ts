import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
