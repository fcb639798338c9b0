/**
 * The offline assistant driving the real tools through a real call manager and session: PGlite,
 * the local calendar, the fixed clock (Tuesday 2026-12-01 10:00 New York), typed turns, no STT
 * and no TTS. A caller nobody knows books, moves and cancels, and the rows say so.
 */
import { and, eq, ne } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_AUDIO } from '../src/core/frames.js';
import type { SessionEvent } from '../src/core/frames.js';
import { appointments, customers, vehicles } from '../src/db/schema.js';
import { DEFAULT_PHRASES } from '../src/pipeline/call-session.js';
import type { CallSession } from '../src/pipeline/call-session.js';
import { createCallManager } from '../src/pipeline/call-manager.js';
import type { CallManager } from '../src/pipeline/call-manager.js';
import { createOfflineAssistant } from '../src/assistant/offline-assistant.js';
import { createTestTransport } from './support/test-transport.js';
import type { TestTransport } from './support/test-transport.js';
import { FIXTURE_NOW, FIXTURE_ZONE, openToolFixture } from './support/tool-fixture.js';
import type { ToolFixture } from './support/tool-fixture.js';

let fixture: ToolFixture;
let manager: CallManager;
let callCounter = 0;

beforeAll(async () => {
  fixture = await openToolFixture();
  manager = createCallManager({
    providers: { stt: undefined, llm: createOfflineAssistant({ timeZone: FIXTURE_ZONE, now: () => FIXTURE_NOW }), tts: undefined },
    tools: fixture.toolPorts,
    instructions: fixture.instructions,
    phrases: { ...DEFAULT_PHRASES, greeting: 'Thanks for calling Test Garage. How can I help?' },
    timing: { idleMs: 60_000 },
    maxConcurrentCalls: 10,
  });
});
afterAll(async () => {
  await fixture?.close();
});

interface TypedCall {
  session: CallSession;
  transport: TestTransport;
  /** Types one caller turn and returns what the agent said in reply. */
  say(text: string): Promise<string>;
  toolCalls(): Array<{ name: string; arguments: Record<string, unknown> }>;
}

async function typedCall(callerNumber: string): Promise<TypedCall> {
  callCounter += 1;
  const transport = createTestTransport(BROWSER_AUDIO, { speed: 1000 });
  const started = await manager.start({ callId: `CA-offline-${callCounter}`, callerNumber, transportName: 'test', transport });
  if (!started.ok) throw new Error(`call not started: ${started.reason}`);
  const session = started.session;
  transport.attach((name) => session.handle({ kind: 'mark', name }));
  const latencies = () => transport.events.filter((e) => e.type === 'latency').length;
  return {
    session,
    transport,
    async say(text) {
      const before = transport.events.length;
      const turns = latencies();
      session.handle({ kind: 'text', text });
      await transport.waitFor(() => latencies() > turns || transport.events.some((e) => e.type === 'call_ended'), 10_000);
      return transport.events
        .slice(before)
        .flatMap((e: SessionEvent) => (e.type === 'agent_text' ? [e.text] : []))
        .join(' ');
    },
    toolCalls() {
      return transport.events.flatMap((e) =>
        e.type === 'tool_call' ? [{ name: e.name, arguments: JSON.parse(e.arguments) as Record<string, unknown> }] : [],
      );
    },
  };
}

async function activeAppointments(phone: string) {
  const [customer] = await fixture.database.db.select().from(customers).where(eq(customers.phone, phone));
  if (customer === undefined) return [];
  return fixture.database.db
    .select()
    .from(appointments)
    .where(and(eq(appointments.customerId, customer.id), ne(appointments.status, 'cancelled')));
}

describe('offline assistant through a call session', () => {
  it('books for a caller it has never heard of: account, car, time, confirmation', async () => {
    const phone = '+15551230001';
    const call = await typedCall(phone);

    expect(await call.say('Hi, I want to book an oil change tomorrow at 2 pm')).toMatch(/first and last name/);
    expect(await call.say('Sam Lee')).toMatch(/year, make and model/);
    const confirm = await call.say('a 2019 Honda Civic');
    expect(confirm).toContain('Shall I book an oil change for your 2019 Honda Civic on Wednesday, December 2 at 2 PM?');
    const booked = await call.say('yes please');
    expect(booked).toMatch(/You're all set/);
    expect(booked).toMatch(/anything else/i);

    expect(call.toolCalls().map((c) => c.name)).toEqual([
      'lookup_customer',
      'create_customer',
      'add_vehicle',
      'get_available_slots',
      'book_appointment',
    ]);
    const [customer] = await fixture.database.db.select().from(customers).where(eq(customers.phone, phone));
    expect(customer).toMatchObject({ firstName: 'Sam', lastName: 'Lee' });
    const cars = await fixture.database.db.select().from(vehicles).where(eq(vehicles.customerId, customer!.id));
    expect(cars).toMatchObject([{ year: 2019, make: 'Honda', model: 'Civic' }]);
    const rows = await activeAppointments(phone);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.serviceType).toBe('Oil change');
    expect(rows[0]!.startsAt.toISOString()).toBe('2026-12-02T19:00:00.000Z');

    const bye = await call.say("no, that's all, bye");
    expect(bye).toMatch(/goodbye/i);
    const record = await call.session.finished;
    expect(record.endReason).toBe('agent_ended');
  });

  it('offers open times for a day, takes one, and asks for the service before booking', async () => {
    const phone = '+15551230002';
    await fixture.addCustomer({ phone, firstName: 'Ana', lastName: 'Diaz', vehicles: [{ year: 2020, make: 'Toyota', model: 'Camry' }] });
    const call = await typedCall(phone);

    const offer = await call.say("what's free on Friday?");
    expect(offer).toContain('I found your account, Ana.');
    expect(offer).toContain('On Friday, December 4 I have 9 AM, 9:30 AM, and 10 AM open');
    expect(await call.say('the second one')).toMatch(/What service does your 2020 Toyota Camry need\?/);
    expect(await call.say('brakes')).toContain('Shall I book a brake service for your 2020 Toyota Camry on Friday, December 4 at 9:30 AM?');
    expect(await call.say('yes')).toMatch(/You're all set/);
    const rows = await activeAppointments(phone);
    expect(rows.map((r) => [r.serviceType, r.startsAt.toISOString()])).toEqual([['Brake service', '2026-12-04T14:30:00.000Z']]);
    await call.session.end('test_done');
  });

  it('moves an appointment to another day and time, then cancels it', async () => {
    const phone = '+15551230003';
    const { customerId, vehicleIds } = await fixture.addCustomer({
      phone,
      firstName: 'Lee',
      lastName: 'Park',
      vehicles: [{ year: 2018, make: 'Subaru', model: 'Outback' }],
    });
    await fixture.services.booking.book(
      { customerId, vehicleId: vehicleIds[0]!, scheduledAt: '2026-12-02T11:00', serviceType: 'Tire rotation' },
      { signal: new AbortController().signal, idempotencyKey: `seed-${phone}` },
    );
    const call = await typedCall(phone);

    expect(await call.say('can you move it to Thursday at 10')).toContain(
      'Shall I move your tire rotation to Thursday, December 3 at 10 AM?',
    );
    expect(await call.say('yes')).toMatch(/now on Thursday, December 3 at 10:00 AM/);
    let rows = await activeAppointments(phone);
    expect(rows.map((r) => r.startsAt.toISOString())).toEqual(['2026-12-03T15:00:00.000Z']);

    expect(await call.say('actually, cancel my appointment')).toContain('Shall I cancel your tire rotation on Thursday, December 3 at 10:00 AM?');
    expect(await call.say('yes')).toMatch(/I've cancelled a tire rotation/);
    rows = await activeAppointments(phone);
    expect(rows).toEqual([]);
    expect(call.toolCalls().map((c) => c.name)).toEqual([
      'lookup_customer',
      'get_available_slots',
      'reschedule_appointment',
      'cancel_appointment',
    ]);
    await call.session.end('test_done');
  });

  it('says what it can do when it does not understand, and never calls a tool for it', async () => {
    const call = await typedCall('+15551230004');
    await call.say('hello');
    const help = await call.say('what is the meaning of life');
    expect(help).toMatch(/first and last name/);
    await call.say('Kim Chu');
    await call.say('2015 Mazda 3');
    const reply = await call.say('tell me a joke');
    expect(reply).toMatch(/book, move or cancel/);
    await call.session.end('test_done');
  });
});
