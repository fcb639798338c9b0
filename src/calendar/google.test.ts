import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../core/errors.js';
import { startGoogleCalendarEmulator } from '../../test/emulators/google-calendar.js';
import type { GoogleCalendarEmulator } from '../../test/emulators/google-calendar.js';
import type { CalendarEvent } from './calendar.js';
import { eventIdForAppointment } from './event-id.js';
import { createGoogleCalendar } from './google.js';
import type { GoogleCalendarOptions, GoogleCalendarRetryInfo } from './google.js';

const ZONE = 'America/New_York';
const RANGE = { start: new Date('2030-03-04T13:00:00Z'), end: new Date('2030-03-04T23:00:00Z') };
const NOTHING_BUSY = { shop: [], bays: new Map() };

let emulator: GoogleCalendarEmulator;
let retries: GoogleCalendarRetryInfo[];

beforeEach(async () => {
  emulator = await startGoogleCalendarEmulator();
  retries = [];
});
afterEach(async () => {
  await emulator.close();
});

function provider(overrides: Partial<GoogleCalendarOptions> = {}) {
  return createGoogleCalendar({
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    refreshToken: emulator.refreshToken,
    apiBaseUrl: emulator.rootUrl,
    tokenUri: emulator.tokenUrl,
    timeZone: ZONE,
    onRetry: (info) => retries.push(info),
    ...overrides,
  });
}

function appointment(n = 1): CalendarEvent {
  return {
    eventId: eventIdForAppointment(`6f1c2a3b-0000-4000-8000-00000000000${n}`),
    summary: 'Oil change: 2019 Honda Civic',
    description: 'Customer: Ada Lopez, +15551234567',
    start: new Date('2030-03-04T14:00:00Z'),
    end: new Date('2030-03-04T15:00:00Z'),
    timeZone: ZONE,
    attendeeEmail: 'ada@example.com',
  };
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('google calendar provider: request shapes', () => {
  it('inserts an event with the deterministic id, shop zone, attendee and sendUpdates=all', async () => {
    const calendar = provider();
    const event = appointment();
    await expect(calendar.createEvent('primary', event)).resolves.toEqual({ created: true });

    const [insert] = emulator.apiRequests();
    expect(insert?.method).toBe('POST');
    expect(insert?.path).toBe('/calendar/v3/calendars/primary/events');
    expect(insert?.query).toEqual({ sendUpdates: 'all' });
    expect(insert?.body).toEqual({
      id: event.eventId,
      summary: event.summary,
      description: event.description,
      start: { dateTime: '2030-03-04T14:00:00.000Z', timeZone: ZONE },
      end: { dateTime: '2030-03-04T15:00:00.000Z', timeZone: ZONE },
      attendees: [{ email: 'ada@example.com' }],
      // The shop calendar's busy time blocks every bay: the agent's own events there must not.
      transparency: 'transparent',
    });
    expect(emulator.getEvent('primary', event.eventId)?.status).toBe('confirmed');
  });

  it('leaves attendees out when there is no email, and encodes a non-primary calendar id', async () => {
    const calendar = provider({ calendarId: 'shop@example.com' });
    await calendar.createEvent('shop@example.com', { ...appointment(), attendeeEmail: undefined });
    const [insert] = emulator.apiRequests();
    expect(insert?.path).toBe('/calendar/v3/calendars/shop@example.com/events');
    expect(insert?.body).not.toHaveProperty('attendees');
  });

  it('moves an event with PATCH carrying only the changed fields', async () => {
    const calendar = provider();
    const event = appointment();
    await calendar.createEvent('primary', event);
    await calendar.updateEvent('primary', event.eventId, {
      start: new Date('2030-03-05T16:00:00Z'),
      end: new Date('2030-03-05T17:00:00Z'),
    });

    const patch = emulator.apiRequests().at(-1);
    expect(patch?.method).toBe('PATCH');
    expect(patch?.path).toBe(`/calendar/v3/calendars/primary/events/${event.eventId}`);
    expect(patch?.query).toEqual({ sendUpdates: 'all' });
    expect(patch?.body).toEqual({
      start: { dateTime: '2030-03-05T16:00:00.000Z', timeZone: ZONE },
      end: { dateTime: '2030-03-05T17:00:00.000Z', timeZone: ZONE },
      transparency: 'transparent',
    });
    expect(emulator.apiRequests().some((r) => r.method === 'PUT')).toBe(false);
    const stored = emulator.getEvent('primary', event.eventId);
    expect(stored?.summary).toBe(event.summary);
    expect(stored?.start?.dateTime).toBe('2030-03-05T16:00:00.000Z');
  });

  it('asks free/busy for the range in the shop zone and returns busy ranges as Dates, not counting its own events', async () => {
    const calendar = provider();
    await calendar.createEvent('primary', appointment());
    emulator.addBusy('primary', '2030-03-04T17:00:00Z', '2030-03-04T18:00:00Z');
    emulator.addBusy('primary', '2030-03-06T17:00:00Z', '2030-03-06T18:00:00Z'); // outside the range

    const busy = await calendar.freeBusy(RANGE);

    const query = emulator.apiRequests().at(-1);
    expect(query?.method).toBe('POST');
    expect(query?.path).toBe('/calendar/v3/freeBusy');
    expect(query?.body).toEqual({
      timeMin: '2030-03-04T13:00:00.000Z',
      timeMax: '2030-03-04T23:00:00.000Z',
      timeZone: ZONE,
      items: [{ id: 'primary' }],
    });
    // The appointment's own event (14:00) is the database's to count, against its bay only.
    expect(busy).toEqual({ shop: [{ start: new Date('2030-03-04T17:00:00Z'), end: new Date('2030-03-04T18:00:00Z') }], bays: new Map() });
  });
});

describe('google calendar provider: service bays', () => {
  function withBays() {
    const bays = [emulator.createCalendar({ summary: 'Bay 1' }).id, emulator.createCalendar({ summary: 'Bay 2' }).id];
    return { bays, calendar: provider({ bayCalendarIds: bays, bays: 7 }) };
  }

  it('has one bay per bay calendar, and writes a bay\'s events to its calendar', async () => {
    const { bays, calendar } = withBays();
    expect(calendar.bays).toBe(2);
    expect([1, 2, 3].map((bay) => calendar.calendarIdFor(bay))).toEqual([bays[0], bays[1], 'primary']);
    expect(calendar.shopCalendarId).toBe('primary');
    await calendar.createEvent(bays[1]!, appointment());
    const [insert] = emulator.apiRequests();
    expect(insert?.path).toBe(`/calendar/v3/calendars/${bays[1]}/events`);
    // In its own calendar a booking shows busy, as a bay resource should.
    expect(insert?.body).toMatchObject({ transparency: 'opaque' });
    expect(emulator.getEvent(bays[1]!, appointment().eventId)?.status).toBe('confirmed');
  });

  it('asks free/busy for the shop and every bay calendar in one request, answering per bay', async () => {
    const { bays, calendar } = withBays();
    emulator.addBusy('primary', '2030-03-04T14:00:00Z', '2030-03-04T15:00:00Z');
    emulator.addBusy(bays[1]!, '2030-03-04T16:00:00Z', '2030-03-04T17:00:00Z');
    const busy = await calendar.freeBusy(RANGE);
    expect(emulator.apiRequests()).toHaveLength(1);
    expect(emulator.apiRequests()[0]?.body).toMatchObject({ items: [{ id: 'primary' }, { id: bays[0] }, { id: bays[1] }] });
    expect(busy).toEqual({
      shop: [{ start: new Date('2030-03-04T14:00:00Z'), end: new Date('2030-03-04T15:00:00Z') }],
      bays: new Map([
        [1, []],
        [2, [{ start: new Date('2030-03-04T16:00:00Z'), end: new Date('2030-03-04T17:00:00Z') }]],
      ]),
    });
  });

  it('names the bay calendar the account cannot read, without retrying', async () => {
    const calendar = provider({ bayCalendarIds: ['bay-one@example.com'] });
    const error = await failureOf(calendar.freeBusy(RANGE));
    expect(error).toMatchObject({ retryable: false });
    expect((error as Error).message).toBe('freeBusy: bay 1 calendar bay-one@example.com reported notFound');
    expect(emulator.apiRequests()).toHaveLength(1);
  });

  it('without bay calendars, has the configured number of bays, all writing to the shop calendar', () => {
    const calendar = provider({ bays: 3 });
    expect(calendar.bays).toBe(3);
    expect([1, 2, 3].map((bay) => calendar.calendarIdFor(bay))).toEqual(['primary', 'primary', 'primary']);
  });

  it('moves an event between calendars with sendUpdates=all; one not in the source reports moved: false', async () => {
    const { bays, calendar } = withBays();
    await calendar.createEvent(bays[0]!, appointment());
    await expect(calendar.moveEvent(appointment().eventId, bays[0]!, bays[1]!)).resolves.toEqual({ moved: true });
    const move = emulator.apiRequests().at(-1);
    expect(move).toMatchObject({
      method: 'POST',
      path: `/calendar/v3/calendars/${bays[0]}/events/${appointment().eventId}/move`,
      query: { destination: bays[1], sendUpdates: 'all' },
    });
    expect(emulator.getEvent(bays[1]!, appointment().eventId)).toMatchObject({ status: 'confirmed', attendees: [{ email: 'ada@example.com' }] });
    await expect(calendar.moveEvent(appointment().eventId, bays[0]!, bays[1]!)).resolves.toEqual({ moved: false });
    await expect(calendar.moveEvent(appointment(2).eventId, bays[0]!, bays[1]!)).resolves.toEqual({ moved: false });
    expect(retries).toEqual([]);
  });
});

describe('google calendar provider: idempotency', () => {
  it('treats 409 on insert as success without a second event', async () => {
    const calendar = provider();
    await expect(calendar.createEvent('primary', appointment())).resolves.toEqual({ created: true });
    await expect(calendar.createEvent('primary', appointment())).resolves.toEqual({ created: false });
    expect(emulator.events.size).toBe(1);
  });

  it('never brings back a deleted event: its id stays taken and insert reports it exists', async () => {
    const calendar = provider();
    const event = appointment();
    await calendar.createEvent('primary', event);
    await calendar.deleteEvent('primary', event.eventId);
    await expect(calendar.createEvent('primary', event)).resolves.toEqual({ created: false });
    expect(emulator.getEvent('primary', event.eventId)?.status).toBe('cancelled');
    expect(await calendar.freeBusy(RANGE)).toEqual(NOTHING_BUSY);
  });

  it('deletes with sendUpdates=all, and deleting a gone or unknown event succeeds', async () => {
    const calendar = provider();
    const event = appointment();
    await calendar.createEvent('primary', event);
    await calendar.deleteEvent('primary', event.eventId);
    await calendar.deleteEvent('primary', event.eventId); // 410
    await calendar.deleteEvent('primary', eventIdForAppointment('6f1c2a3b-0000-4000-8000-0000000000ff')); // 404

    const deletes = emulator.apiRequests().filter((r) => r.method === 'DELETE');
    expect(deletes).toHaveLength(3);
    for (const d of deletes) expect(d.query).toEqual({ sendUpdates: 'all' });
    expect(emulator.getEvent('primary', event.eventId)?.status).toBe('cancelled');
    expect(await calendar.freeBusy(RANGE)).toEqual(NOTHING_BUSY);
    expect(retries).toEqual([]);
  });
});

describe('google calendar provider: OAuth', () => {
  it('fetches an access token once and reuses it across calls', async () => {
    const calendar = provider();
    await calendar.freeBusy(RANGE);
    await calendar.createEvent('primary', appointment());
    await calendar.updateEvent('primary', appointment().eventId, { summary: 'Brakes' });
    await calendar.deleteEvent('primary', appointment().eventId);

    const tokens = emulator.tokenRequests();
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.body).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: emulator.refreshToken,
      client_id: emulator.clientId,
      client_secret: emulator.clientSecret,
    });
    const token = emulator.issuedAccessTokens[0];
    for (const request of emulator.apiRequests()) expect(request.headers.authorization).toBe(`Bearer ${token}`);
  });

  it('refreshes the token once after a 401 and repeats the request', async () => {
    const calendar = provider();
    await calendar.freeBusy(RANGE);
    emulator.expireAccessTokens();
    await expect(calendar.freeBusy(RANGE)).resolves.toEqual(NOTHING_BUSY);

    expect(emulator.tokenRequests()).toHaveLength(2);
    const api = emulator.apiRequests();
    expect(api).toHaveLength(3);
    expect(api[2]?.headers.authorization).toBe(`Bearer ${emulator.issuedAccessTokens[1]}`);
    expect(retries).toEqual([]);
  });

  it('retries a failing token endpoint under our budget, not gaxios’ own schedule', async () => {
    const calendar = provider();
    emulator.injectFaults([{ status: 503, times: 1, match: (r) => r.path === '/token' }]);
    await expect(calendar.freeBusy(RANGE)).resolves.toEqual(NOTHING_BUSY);
    expect(emulator.tokenRequests()).toHaveLength(2);
    expect(retries).toHaveLength(1);
    expect(retries[0]?.error.message).toMatch(/token refresh.*HTTP 503/);
  });

  it('fails without retrying when the refresh token is rejected', async () => {
    const calendar = provider({ refreshToken: 'revoked-refresh-token' });
    const error = await failureOf(calendar.freeBusy(RANGE));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status: 400, retryable: false });
    expect((error as Error).message).toMatch(/token refresh.*invalid_grant/);
    expect(emulator.tokenRequests()).toHaveLength(1);
    expect(emulator.apiRequests()).toHaveLength(0);
  });
});

describe('google calendar provider: retries within the budget', () => {
  it.each([
    { status: 429, reason: 'rateLimitExceeded' },
    { status: 503, reason: 'backendError' },
    { status: 500, reason: 'backendError' },
  ])('backs off on $status and then succeeds', async ({ status, reason }) => {
    const calendar = provider();
    emulator.injectFaults([{ status, reason, times: 2 }]);
    const started = Date.now();
    await expect(calendar.createEvent('primary', appointment())).resolves.toEqual({ created: true });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(emulator.apiRequests()).toHaveLength(3);
    expect(retries.map((r) => [r.operation, r.attempt, r.error.status, r.error.retryable])).toEqual([
      ['events.insert', 1, status, true],
      ['events.insert', 2, status, true],
    ]);
  });

  it('backs off on 403 rateLimitExceeded (after the auth client has refreshed once on its own)', async () => {
    const calendar = provider();
    emulator.injectFaults([{ status: 403, reason: 'rateLimitExceeded', times: 2 }]);
    await expect(calendar.freeBusy(RANGE)).resolves.toEqual(NOTHING_BUSY);
    // google-auth-library refreshes and repeats on any 401/403 once per request; our retry sees the second 403.
    expect(emulator.tokenRequests()).toHaveLength(2);
    expect(emulator.apiRequests()).toHaveLength(3);
    expect(retries).toHaveLength(1);
    expect(retries[0]?.error).toMatchObject({ status: 403, retryable: true });
  });

  it('honours Retry-After from a 429', async () => {
    const calendar = provider();
    emulator.injectFaults([{ status: 429, retryAfterSeconds: 1 }]);
    const started = Date.now();
    await calendar.freeBusy(RANGE);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(retries[0]?.delayMs).toBe(1000);
  });

  it('gives up with a retryable ProviderError near the budget when 503s persist', async () => {
    const calendar = provider();
    emulator.injectFaults([{ status: 503, times: Number.POSITIVE_INFINITY }]);
    const started = Date.now();
    const error = await failureOf(calendar.createEvent('primary', appointment()));
    const elapsed = Date.now() - started;

    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ provider: 'google_calendar', status: 503, retryable: true });
    expect(elapsed).toBeLessThan(2300);
    // Waits are capped at 1 s, so giving up means less than 1 s of budget was left.
    expect(elapsed).toBeGreaterThan(900);
    expect(emulator.apiRequests().length).toBeGreaterThanOrEqual(3);
  });

  it('gives up at the budget when every answer is too slow, and honours a per-call budget', async () => {
    const calendar = provider();
    await calendar.freeBusy(RANGE); // token in hand
    emulator.setLatency(5000);
    const started = Date.now();
    const error = await failureOf(calendar.freeBusy(RANGE, { budgetMs: 400 }));
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: true });
    expect((error as Error).message).toMatch(/400 ms budget/);
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(700);
  });

  it('retries network failures and reports them as retryable', async () => {
    const calendar = provider();
    await calendar.freeBusy(RANGE);
    await emulator.setDown(true, 'refuse');
    const error = await failureOf(calendar.freeBusy(RANGE, { budgetMs: 600 }));
    expect(error).toMatchObject({ retryable: true, status: undefined });
    expect((error as Error).message).toMatch(/network error \(ECONNREFUSED\)/);
    expect(retries.length).toBeGreaterThan(0);

    await emulator.setDown(false);
    await expect(calendar.freeBusy(RANGE)).resolves.toEqual(NOTHING_BUSY);
  });

  it('retries connection resets', async () => {
    const calendar = provider();
    await calendar.freeBusy(RANGE);
    await emulator.setDown(true, 'reset');
    setTimeout(() => void emulator.setDown(false), 150);
    await expect(calendar.freeBusy(RANGE)).resolves.toEqual(NOTHING_BUSY);
    expect(retries.length).toBeGreaterThan(0);
  });

  it.each([
    { status: 400, reason: 'badRequest' },
    { status: 404, reason: 'notFound' },
    { status: 403, reason: 'forbidden' },
  ])('does not retry $status $reason', async ({ status, reason }) => {
    const calendar = provider();
    await calendar.createEvent('primary', appointment());
    emulator.injectFaults([{ status, reason, times: Number.POSITIVE_INFINITY, match: (r) => r.method === 'PATCH' }]);
    const error = await failureOf(calendar.updateEvent('primary', appointment().eventId, { summary: 'Brakes' }));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status, retryable: false });
    expect((error as Error).message).toContain(`events.patch: HTTP ${status} ${reason}`);
    expect(retries).toEqual([]);
    // 403 makes the auth client refresh and repeat once on its own; nothing else repeats.
    expect(emulator.apiRequests().filter((r) => r.method === 'PATCH')).toHaveLength(status === 403 ? 2 : 1);
  });

  it('does not retry an update of an event that does not exist', async () => {
    const calendar = provider();
    const error = await failureOf(calendar.updateEvent('primary', appointment().eventId, { summary: 'Brakes' }));
    expect(error).toMatchObject({ status: 404, retryable: false });
    expect(emulator.apiRequests()).toHaveLength(1);
  });
});

describe('google calendar provider: cancellation', () => {
  it('stops an in-flight request promptly when the signal aborts', async () => {
    const calendar = provider();
    await calendar.freeBusy(RANGE);
    emulator.setLatency(3000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('caller barged in')), 50);
    const started = Date.now();
    await expect(calendar.freeBusy(RANGE, { signal: controller.signal })).rejects.toThrow('caller barged in');
    expect(Date.now() - started).toBeLessThan(300);
    expect(emulator.apiRequests()).toHaveLength(2);
  });

  it('stops during a backoff wait without another attempt', async () => {
    const calendar = provider();
    emulator.injectFaults([{ status: 503, retryAfterSeconds: 1, times: Number.POSITIVE_INFINITY }]);
    const controller = new AbortController();
    const started = Date.now();
    const call = calendar.createEvent('primary', appointment(), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('hung up')), 200);
    await expect(call).rejects.toThrow('hung up');
    expect(Date.now() - started).toBeLessThan(400);
    expect(emulator.apiRequests()).toHaveLength(1);
  });

  it('survives an abort during the shared token refresh: the API request it then starts stays quiet', async () => {
    // The refresh cannot take one caller's signal, so the request behind it starts with that signal
    // already aborted; node-fetch then destroyed the unsent request body with no listener on it.
    const crashes: unknown[] = [];
    const onCrash = (error: unknown): void => void crashes.push(error);
    process.on('uncaughtException', onCrash);
    try {
      const calendar = provider();
      emulator.setLatency(200);
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('caller barged in')), 20);
      await expect(calendar.createEvent('primary', appointment(), { signal: controller.signal })).rejects.toThrow('caller barged in');
      // The token answer lands, then the API request starts (and must neither crash nor be sent).
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(emulator.requests.filter((r) => r.path.endsWith('/token'))).toHaveLength(1);
    } finally {
      process.off('uncaughtException', onCrash);
    }
    expect(crashes).toEqual([]);
    expect(emulator.apiRequests()).toHaveLength(0);
  });

  it('does not send anything when the signal is already aborted', async () => {
    const calendar = provider();
    await expect(calendar.freeBusy(RANGE, { signal: AbortSignal.abort(new Error('gone')) })).rejects.toThrow('gone');
    expect(emulator.requests).toHaveLength(0);
  });
});

describe('google calendar provider: secrets stay out of errors', () => {
  function everythingAbout(error: unknown): string {
    return [
      String(error),
      (error as Error).stack ?? '',
      JSON.stringify(error, Object.getOwnPropertyNames(error)),
      inspect(error, { depth: 20, showHidden: true }),
    ].join('\n');
  }

  it('keeps tokens, the client secret and Authorization headers out of every error', async () => {
    const collected: unknown[] = [];
    const calendar = provider();
    await calendar.freeBusy(RANGE);
    emulator.injectFaults([{ status: 500, times: Number.POSITIVE_INFINITY }]);
    collected.push(await failureOf(calendar.createEvent('primary', appointment(), { budgetMs: 300 })));
    emulator.clearFaults();
    collected.push(await failureOf(calendar.updateEvent('primary', appointment(9).eventId, { summary: 'x' })));
    emulator.expireAccessTokens();
    emulator.injectFaults([{ status: 401, times: 5 }]);
    collected.push(await failureOf(calendar.freeBusy(RANGE)));
    collected.push(await failureOf(provider({ refreshToken: 'wrong-refresh-token' }).freeBusy(RANGE)));
    collected.push(await failureOf(provider({ clientSecret: 'wrong-client-secret' }).freeBusy(RANGE)));
    collected.push(...retries);

    const secrets = [
      emulator.refreshToken,
      emulator.clientSecret,
      'wrong-refresh-token',
      'wrong-client-secret',
      ...emulator.issuedAccessTokens,
    ];
    expect(emulator.issuedAccessTokens.length).toBeGreaterThanOrEqual(2);
    for (const error of collected) {
      const text = everythingAbout(error);
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/bearer|authorization/i);
    }
    expect(collected.slice(0, 5).every((e) => e instanceof ProviderError)).toBe(true);
  });
});
