/**
 * Staff edits through the composition root: `startApp` with Google Calendar (the emulator), an
 * https PUBLIC_URL and a short CALENDAR_SYNC_INTERVAL_MS, on PGlite and PostgreSQL. What an
 * operator sees: the push channel opened at PUBLIC_URL, staff moves and deletions reaching the
 * database, a refused move in /ready, /metrics and the log, and the channel stopped at shutdown.
 */
import { eq } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventIdForAppointment } from '../src/calendar/event-id.js';
import { loadConfig } from '../src/config.js';
import type { Config } from '../src/config.js';
import { appointments, customers, vehicles } from '../src/db/schema.js';
import { startApp } from '../src/main.js';
import type { RunningApp } from '../src/main.js';
import { createLogger } from '../src/observability/logger.js';
import { createBookingService } from '../src/scheduling/booking-service.js';
import { GOOGLE_CALENDAR_NOTIFICATIONS_PATH } from '../src/server/google-routes.js';
import { startGoogleCalendarEmulator } from './emulators/google-calendar.js';
import type { GoogleCalendarEmulator } from './emulators/google-calendar.js';
import { databaseBackends } from './support/databases.js';
import { dayAhead, waitUntil } from './support/phone-app.js';

const PUBLIC_URL = 'https://agent.example.test';
const NOTIFY_URL = `${PUBLIC_URL}${GOOGLE_CALENDAR_NOTIFICATIONS_PATH}`;

describe.each(databaseBackends())('staff calendar edits in the running app on $name', (backend) => {
  let google: GoogleCalendarEmulator;
  let running: RunningApp;
  let config: Config;
  let removeDatabase: () => Promise<void> = async () => undefined;
  const logLines: string[] = [];

  beforeAll(async () => {
    google = await startGoogleCalendarEmulator();
    const database = await backend.appEnv();
    removeDatabase = database.remove;
    config = loadConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      PUBLIC_URL,
      CALENDAR_SYNC_INTERVAL_MS: '1000',
      GOOGLE_CLIENT_ID: google.clientId,
      GOOGLE_CLIENT_SECRET: google.clientSecret,
      GOOGLE_REFRESH_TOKEN: google.refreshToken,
      GOOGLE_API_BASE_URL: google.rootUrl,
      GOOGLE_TOKEN_URI: google.tokenUrl,
      ...database.env,
    });
    running = await startApp(config, createLogger({ level: 'info', destination: { write: (line) => logLines.push(line) } }));
  }, 60_000);
  afterAll(async () => {
    await running?.stop();
    await google?.close();
    await removeDatabase();
  });

  const zone = () => config.business.timeZone;
  const at = (day: string, hhmm: string) => DateTime.fromISO(`${day}T${hhmm}`, { zone: zone() }).toJSDate();

  async function book(day: string, hhmm: string, n: number) {
    const db = running.database.db;
    const [customer] = await db
      .insert(customers)
      .values({ phone: `+1555${String(4_000_000 + n).padStart(7, '0')}`, firstName: 'Kim', lastName: 'Ono' })
      .returning();
    const [vehicle] = await db.insert(vehicles).values({ customerId: customer!.id, year: 2020, make: 'Mazda', model: 'CX-5' }).returning();
    const service = createBookingService({ db, calendar: running.calendar, rules: config.business, shopName: config.shopName, cache: running.cache });
    const { appointment } = await service.book({ customerId: customer!.id, vehicleId: vehicle!.id, scheduledAt: `${day}T${hhmm}`, serviceType: 'oil change' });
    return { id: appointment.id, eventId: eventIdForAppointment(appointment.id) };
  }

  const rowOf = async (id: string) => (await running.database.db.select().from(appointments).where(eq(appointments.id, id)))[0]!;
  const calendarSection = async () =>
    ((await running.app.inject({ method: 'GET', url: '/ready' })).json() as { checks: { calendar_sync: { conflicts: number; conflictIds: string[]; backlog: number } } }).checks.calendar_sync;
  const conflictMetric = async () => {
    const text = (await running.app.inject({ method: 'GET', url: '/metrics' })).body;
    return Number(/^agent_calendar_conflicts (\S+)$/m.exec(text)?.[1]);
  };

  it('opens a push channel at PUBLIC_URL, follows staff edits, reports a refused move, and stops the channel at shutdown', async () => {
    await waitUntil(() => google.channels().some((c) => c.address === NOTIFY_URL && !c.stopped), 10_000, 'push channel opened');
    const channel = google.channels().find((c) => c.address === NOTIFY_URL)!;
    expect(channel.calendarId).toBe(google.primaryCalendarId);

    const day = dayAhead(2);
    const first = await book(day, '10:00', 1);
    const second = await book(day, '14:00', 2);
    expect(await calendarSection()).toMatchObject({ conflicts: 0, conflictIds: [] });

    // Onto the other booking: refused, flagged, reported.
    google.staff.moveEvent('primary', first.eventId, at(day, '14:00'), at(day, '14:30'));
    await waitUntil(async () => (await calendarSection()).conflicts === 1, 10_000, 'conflict reported');
    expect(await calendarSection()).toMatchObject({ conflicts: 1, conflictIds: [first.id] });
    expect(await conflictMetric()).toBe(1);
    expect((await rowOf(first.id)).startsAt).toEqual(at(day, '10:00'));
    const warned = logLines.map((line) => JSON.parse(line) as { level: number; msg: string; appointmentId?: string }).filter((l) => l.level === 40 && l.appointmentId === first.id);
    expect(warned.map((l) => l.msg)).toEqual(['appointment moved in the calendar onto another booking: not applied, flagged for staff']);

    // Staff move it to a free time: applied, cleared. And they delete the other one.
    google.staff.moveEvent('primary', first.eventId, at(day, '16:00'), at(day, '16:30'));
    google.staff.deleteEvent('primary', second.eventId);
    await waitUntil(async () => (await rowOf(second.id)).status === 'cancelled' && (await calendarSection()).conflicts === 0, 10_000, 'edits applied');
    expect((await rowOf(first.id)).startsAt).toEqual(at(day, '16:00'));
    expect(await conflictMetric()).toBe(0);

    // Google's notification (headers as Google sends them) is accepted; a stranger's is not.
    const headers = {
      'x-goog-channel-id': channel.id,
      'x-goog-channel-token': channel.token!,
      'x-goog-resource-id': channel.resourceId,
      'x-goog-resource-state': 'exists',
      'x-goog-message-number': '7',
    };
    expect((await running.app.inject({ method: 'POST', url: GOOGLE_CALENDAR_NOTIFICATIONS_PATH, headers })).statusCode).toBe(200);
    expect((await running.app.inject({ method: 'POST', url: GOOGLE_CALENDAR_NOTIFICATIONS_PATH, headers: { ...headers, 'x-goog-channel-id': 'not-ours' } })).statusCode).toBe(404);
    expect(logLines.join('\n')).not.toContain(channel.token!);

    await running.stop();
    expect(google.channels().find((c) => c.id === channel.id)?.stopped).toBe(true);
  });
});
