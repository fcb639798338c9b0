/**
 * Many instances, one shop: two server processes (`tsx src/main.ts`, one process each) behind one
 * phone number, sharing one real PostgreSQL and Redis and one Google Calendar (the emulator). What
 * must hold when a load balancer spreads calls over them: two callers booking one slot at the same
 * moment through different instances get one booking and one calendar event; a pending calendar
 * write is done by one instance, once; a stream token used on one instance is refused on the
 * other; and one instance draining on SIGTERM does not stop the other taking calls.
 * Skipped without TEST_DATABASE_URL and TEST_REDIS_URL (.ci/run sets both).
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventIdForAppointment } from '../src/calendar/event-id.js';
import { openDatabase } from '../src/db/client.js';
import type { Database } from '../src/db/client.js';
import { appointments, callRecords, customers, vehicles } from '../src/db/schema.js';
import { CLOSE_POLICY } from '../src/server/call-stream.js';
import { AT_CAPACITY_MESSAGE } from '../src/server/twilio-routes.js';
import { startGoogleCalendarEmulator } from './emulators/google-calendar.js';
import type { GoogleCalendarEmulator } from './emulators/google-calendar.js';
import type { EmulatedRequest } from './emulators/openai.js';
import { startTwilioRestEmulator, twilioSid } from './emulators/twilio.js';
import type { TwilioCaller, TwilioRestEmulator } from './emulators/twilio.js';
import { createThrowawayPostgres } from './support/databases.js';
import { ACCOUNT_SID, AUTH_TOKEN, dayAhead, phoneAppEnv, say, waitUntil } from './support/phone-app.js';
import { spawnPhoneServer } from './support/spawned-phone.js';
import type { SpawnedPhoneServer } from './support/spawned-phone.js';
import { startVoiceStack } from './support/voice-stack.js';
import type { VoiceStack } from './support/voice-stack.js';
import { present } from './support/prerequisites.js';

const adminUrl = process.env.TEST_DATABASE_URL;
const redisUrl = process.env.TEST_REDIS_URL;

interface Caller {
  phone: string;
  customerId: string;
  vehicleId: string;
}

describe.skipIf(!present(Boolean(adminUrl && redisUrl), 'TEST_DATABASE_URL and TEST_REDIS_URL'))('two instances on one PostgreSQL and Redis', () => {
  let stack: VoiceStack;
  let rest: TwilioRestEmulator;
  let google: GoogleCalendarEmulator;
  let drop: (() => Promise<void>) | undefined;
  let database: Database;
  let a: SpawnedPhoneServer;
  let b: SpawnedPhoneServer;
  const callers: TwilioCaller[] = [];
  const people: Caller[] = [];

  beforeAll(async () => {
    [stack, rest, google] = await Promise.all([
      startVoiceStack(),
      startTwilioRestEmulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }),
      startGoogleCalendarEmulator(),
    ]);
    const created = await createThrowawayPostgres(adminUrl!);
    drop = created.drop;
    const env = {
      ...phoneAppEnv({ stack, rest, google }),
      DATABASE_URL: created.url,
      REDIS_URL: redisUrl!,
      CALENDAR_SYNC_INTERVAL_MS: '1000',
      SHUTDOWN_DRAIN_MS: '30000',
    };
    // Started together: both run the migrations at once, as instances of one deployment do.
    [a, b] = await Promise.all([spawnPhoneServer(env), spawnPhoneServer(env)]);
    database = await openDatabase({ url: created.url });
    for (const [i, phone] of ['+15557773001', '+15557773002'].entries()) {
      const [customer] = await database.db.insert(customers).values({ phone, firstName: `Pat${i}`, lastName: 'Lee' }).returning();
      const [vehicle] = await database.db.insert(vehicles).values({ customerId: customer!.id, year: 2018, make: 'Honda', model: 'Civic' }).returning();
      people.push({ phone, customerId: customer!.id, vehicleId: vehicle!.id });
    }
  }, 120_000);

  afterAll(async () => {
    for (const caller of callers) caller.close();
    for (const server of [a, b]) {
      if (server !== undefined && server.process.child.exitCode === null) server.process.child.kill('SIGKILL');
    }
    await Promise.all([a?.process.exited, b?.process.exited]);
    await database?.close();
    await Promise.all([stack?.close(), rest?.close(), google?.close()]);
    await drop?.();
  });

  async function placeCall(server: SpawnedPhoneServer, from: string): Promise<TwilioCaller> {
    const callSid = twilioSid('CA');
    const { body } = await server.webhook(callSid, from);
    expect(body).toContain('<Connect><Stream');
    const caller = await server.connectStream(callSid, body);
    callers.push(caller);
    await caller.waitFor(() => caller.audioBytes() > 0, 15_000);
    return caller;
  }

  const insertsOf = (eventId: string) =>
    google.apiRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/events') && (r.body as { id?: string } | undefined)?.id === eventId);

  it('a stream token used on one instance is refused on the other', async () => {
    const callSid = twilioSid('CA');
    const { body: twiml } = await a.webhook(callSid, people[0]!.phone);
    const first = await a.connectStream(callSid, twiml);
    callers.push(first);
    await first.waitFor(() => first.audioBytes() > 0, 15_000);

    const replay = await b.connectStream(callSid, twiml);
    callers.push(replay);
    expect((await replay.closed).code).toBe(CLOSE_POLICY);
    expect(replay.audioBytes()).toBe(0);
    expect(b.logs().some((l) => l.msg === 'call started' && l.callId === callSid)).toBe(false);
    first.hangUp();
  }, 30_000);

  it('two callers booking one slot at once through different instances: one booking, one calendar event', async () => {
    const day = dayAhead(3);
    const results: Array<{ success: boolean }> = [];
    const bookOrClose = (request: EmulatedRequest) => {
      const last = request.messages.at(-1)!;
      if (last['role'] === 'tool') {
        const result = JSON.parse(String(last['content'])) as { success: boolean };
        results.push(result);
        return { text: result.success ? "You're booked. Goodbye!" : 'That time was just taken. Goodbye!', toolCalls: [{ name: 'end_call', arguments: {} }] };
      }
      const who = people.find((p) => JSON.stringify(request.messages).includes(p.phone))!;
      return {
        toolCalls: [
          {
            name: 'book_appointment',
            arguments: { customer_id: who.customerId, vehicle_id: who.vehicleId, scheduled_at: `${day}T10:00`, service_type: 'oil change' },
          },
        ],
      };
    };
    stack.deepgram.script(['Book my Civic for an oil change at ten', 'Book my Civic for an oil change at ten']);
    stack.openai.script([bookOrClose, bookOrClose, bookOrClose, bookOrClose]);
    // Slow calendar: both bookings are in flight together.
    google.setLatency(300);
    const insertsBefore = google.apiRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/events')).length;

    const [first, second] = await Promise.all([placeCall(a, people[0]!.phone), placeCall(b, people[1]!.phone)]);
    say(first);
    say(second);
    await Promise.all([first.closed, second.closed]);

    const booked = await database.db.select().from(appointments).where(eq(appointments.status, 'scheduled'));
    const atTen = booked.filter((row) => people.some((p) => p.customerId === row.customerId));
    expect(atTen).toHaveLength(1);
    const outcomes = await Promise.all(
      [first, second].map(async (c) => {
        await waitUntil(async () => (await database.db.select().from(callRecords).where(eq(callRecords.callId, c.callSid))).length === 1, 10_000, 'call record');
        const [record] = await database.db.select().from(callRecords).where(eq(callRecords.callId, c.callSid));
        return record!.outcome;
      }),
    );
    expect(outcomes.filter((o) => o === 'booked')).toHaveLength(1);
    // Both callers really tried: one was booked, the other told the time was taken.
    expect(results.map((r) => r.success).sort()).toEqual([false, true]);
    await waitUntil(async () => {
      const [row] = await database.db.select().from(appointments).where(eq(appointments.id, atTen[0]!.id));
      return row!.calendarSyncState === 'synced';
    }, 15_000, 'the booking in the calendar');
    expect(google.getEvent('primary', eventIdForAppointment(atTen[0]!.id))).toMatchObject({ status: 'confirmed' });
    const inserts = google.apiRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/events')).length - insertsBefore;
    expect(inserts).toBe(1);
    google.setLatency(0);
  }, 60_000);

  it('pending calendar writes are finished once each, though both instances reconcile every second', async () => {
    // Rows left pending (as by an instance that died before its calendar write): both reconcilers see them.
    google.setLatency(400);
    const day = dayAhead(5);
    const who = people[1]!;
    const rows = await database.db
      .insert(appointments)
      .values(
        [9, 11, 13, 14, 15].map((hour) => ({
          customerId: who.customerId,
          vehicleId: who.vehicleId,
          serviceType: 'Oil change',
          startsAt: new Date(`${day}T${String(hour).padStart(2, '0')}:00:00Z`),
          endsAt: new Date(`${day}T${String(hour).padStart(2, '0')}:30:00Z`),
        })),
      )
      .returning();
    const pending = async () =>
      (await database.db.select().from(appointments).where(and(eq(appointments.customerId, who.customerId), eq(appointments.calendarSyncState, 'pending')))).length;
    await waitUntil(async () => (await pending()) === 0, 20_000, 'every pending write done');
    // Two more passes of each instance: nothing is written again.
    await new Promise((r) => setTimeout(r, 2_500));
    for (const row of rows) {
      expect(insertsOf(eventIdForAppointment(row.id))).toHaveLength(1);
      expect(google.getEvent('primary', eventIdForAppointment(row.id))).toMatchObject({ status: 'confirmed' });
    }
    google.setLatency(0);
  }, 60_000);

  it('one instance drains on SIGTERM while the other keeps taking calls', async () => {
    const live = await placeCall(a, people[0]!.phone);
    a.process.child.kill('SIGTERM');
    await waitUntil(() => a.logs().some((l) => l.msg === 'shutting down: no new calls, finishing live ones'), 10_000, 'a draining');
    const turnedAway = await a.webhook(twilioSid('CA'), people[1]!.phone);
    expect(turnedAway.body).toContain(`<Say>${AT_CAPACITY_MESSAGE}</Say><Hangup/>`);
    expect((await fetch(`${a.url}/ready`)).status).toBe(503);

    // The other instance answers as usual, while the draining one's call goes on.
    expect((await fetch(`${b.url}/ready`)).status).toBe(200);
    const other = await placeCall(b, people[1]!.phone);
    expect(live.closeCode).toBeUndefined();
    expect(a.process.child.exitCode).toBeNull();

    live.hangUp();
    expect(await a.process.exited).toBe(0);
    expect(a.logs().find((l) => l.msg === 'calls drained')).toMatchObject({ finished: 1, cutOff: 0 });
    expect(other.closeCode).toBeUndefined();
    expect((await fetch(`${b.url}/ready`)).status).toBe(200);
    const afterwards = await placeCall(b, people[0]!.phone);
    expect(afterwards.audioBytes()).toBeGreaterThan(0);
    other.hangUp();
    afterwards.hangUp();
  }, 60_000);
});
