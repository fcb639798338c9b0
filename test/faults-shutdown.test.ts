/**
 * Graceful shutdown of the deployed system: `startApp` against every emulator (Google Calendar
 * included), a live phone call in the middle of booking, and `running.stop()` (what SIGTERM does).
 * New callers are turned away politely, /ready says draining, the live call finishes its booking
 * and says goodbye, and only then does the process close its resources. Afterwards the database is
 * reopened from disk (PGlite in a temporary directory; PostgreSQL too when TEST_DATABASE_URL is
 * set) to prove no booking was lost, and the calendar emulator shows its event.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { eventIdForAppointment } from '../src/calendar/event-id.js';
import { openDatabase } from '../src/db/client.js';
import type { Database } from '../src/db/client.js';
import { appointments, callRecords, customers, vehicles } from '../src/db/schema.js';
import { AT_CAPACITY_MESSAGE } from '../src/server/twilio-routes.js';
import type { EmulatedRequest } from './emulators/openai.js';
import { twilioSid } from './emulators/twilio.js';
import { dayAhead, say, startPhoneApp, waitUntil } from './support/phone-app.js';
import type { PhoneApp } from './support/phone-app.js';

const adminUrl = process.env.TEST_DATABASE_URL;
const CALLER = '+15557771234';

interface Storage {
  env: Record<string, string>;
  reopen(): Promise<Database>;
  remove(): Promise<void>;
}

async function pgliteStorage(): Promise<Storage> {
  const dir = await mkdtemp(join(tmpdir(), 'faults-shutdown-'));
  return { env: { DATA_DIR: dir }, reopen: () => openDatabase({ dataDir: dir }), remove: () => rm(dir, { recursive: true, force: true }) };
}

async function postgresStorage(): Promise<Storage> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl!);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    reopen: () => openDatabase({ url: url.toString() }),
    remove: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

const backends = [{ name: 'pglite', storage: pgliteStorage }, ...(adminUrl ? [{ name: 'postgres', storage: postgresStorage }] : [])];

describe.each(backends)('graceful shutdown with a live call, on $name', ({ storage: makeStorage }) => {
  let app: PhoneApp | undefined;
  let storage: Storage | undefined;
  let reopened: Database | undefined;

  afterEach(async () => {
    await app?.close();
    await reopened?.close();
    await storage?.remove();
    app = undefined;
    reopened = undefined;
    storage = undefined;
  });

  async function boot() {
    storage = await makeStorage();
    app = await startPhoneApp({ env: { ...storage.env, SHUTDOWN_DRAIN_MS: '20000' } });
    const db = app.running.database.db;
    const [customer] = await db.insert(customers).values({ phone: CALLER, firstName: 'Sam', lastName: 'Lee', email: 'sam@example.com' }).returning();
    const [vehicle] = await db.insert(vehicles).values({ customerId: customer!.id, year: 2019, make: 'Honda', model: 'Civic' }).returning();
    return { app, customerId: customer!.id, vehicleId: vehicle!.id };
  }

  async function shutDownMidBooking(options: { calendarWriteFails: boolean }) {
    const { app, customerId, vehicleId } = await boot();
    const { stack, google, rest } = app;
    const day = dayAhead(4);
    google!.setLatency(400); // the booking takes a moment: shutdown begins while it runs
    if (options.calendarWriteFails) {
      google!.injectFaults([{ status: 503, times: Number.POSITIVE_INFINITY, match: (r) => r.method === 'POST' && r.path.endsWith('/events') }]);
    }
    stack.deepgram.script(['Book my Civic for an oil change']);
    stack.openai.script([
      {
        toolCalls: [
          { name: 'book_appointment', arguments: { customer_id: customerId, vehicle_id: vehicleId, scheduled_at: `${day}T10:00`, service_type: 'oil change' } },
        ],
      },
      (request: EmulatedRequest) => {
        // The calendar is healthy again by the time the booking's result reaches the model.
        google!.clearFaults();
        const result = JSON.parse(String(request.messages.filter((m) => m['role'] === 'tool').at(-1)!['content'])) as { success: boolean };
        return { text: result.success ? "You're booked. Goodbye!" : 'Sorry, that failed. Goodbye!', toolCalls: [{ name: 'end_call', arguments: {} }] };
      },
    ]);
    const caller = await app.placeCall(CALLER);
    await caller.waitFor(() => caller.audioBytes() > 2_000, 10_000);
    say(caller);
    // The booking is under way: its free/busy check reached the calendar.
    await waitUntil(() => google!.apiRequests().some((r) => r.path.endsWith('/freeBusy')), 10_000, 'booking started');

    const stopped = app.running.stop();
    let stopDone = false;
    void stopped.then(() => (stopDone = true));

    // Draining: a new caller is turned away politely, readiness says draining, the live call goes on.
    const refused = await app.webhook(twilioSid('CA'), '+15557770000');
    expect(refused.statusCode).toBe(200);
    expect(refused.body).toContain(`<Say>${AT_CAPACITY_MESSAGE}</Say><Hangup/>`);
    expect(refused.body).not.toContain('<Stream');
    const ready = await app.running.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'draining' });
    expect(stopDone).toBe(false);
    expect(app.running.calls.activeCalls()).toBe(1);

    await stopped;
    // The call ran to its end: goodbye spoken, completed over REST, stream closed.
    expect(stack.elevenlabs.spokenTexts().some((t) => t.includes("You're booked."))).toBe(true);
    expect(rest.requests.some((r) => r.callSid === caller.callSid && r.params.Status === 'completed')).toBe(true);
    await caller.closed;
    // Resources are closed.
    expect(app.running.app.server.listening).toBe(false);
    await expect(app.running.database.ping()).rejects.toThrow();

    // Nothing lost: the booking is in the database, and its calendar event exists.
    reopened = await storage!.reopen();
    const rows = await reopened.db.select().from(appointments).where(eq(appointments.customerId, customerId));
    expect(rows).toHaveLength(1);
    const [record] = await reopened.db.select().from(callRecords).where(eq(callRecords.callId, caller.callSid));
    expect(record).toMatchObject({ outcome: 'booked' });
    return { row: rows[0]!, google: google! };
  }

  it('stop() mid-booking: new callers refused politely, /ready draining, the live call finishes its booking, then everything closes', async () => {
    const { row, google } = await shutDownMidBooking({ calendarWriteFails: false });
    expect(row.calendarSyncState).toBe('synced');
    expect(google.getEvent('primary', eventIdForAppointment(row.id))).toMatchObject({ status: 'confirmed' });
  }, 60_000);

  // A calendar write that failed while the caller waited is retried later (5 s, 1 min for a fresh
  // booking), so a final sync at shutdown (src/main.ts stop) that claimed only rows already due would
  // leave the last calls' events unwritten. Not lost (another instance, or the next start, syncs
  // them), but the shop's calendar would lack the booking until then.
  it("a booking whose calendar write failed during the last call gets its event before the process exits", async () => {
    const { row, google } = await shutDownMidBooking({ calendarWriteFails: true });
    expect(row.calendarSyncState).toBe('synced');
    expect(google.getEvent('primary', eventIdForAppointment(row.id))).toMatchObject({ status: 'confirmed' });
  }, 60_000);
});
