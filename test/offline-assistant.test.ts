/**
 * The offline assistant driving the real tools through a real call manager and session: PGlite,
 * the local calendar, a fixed clock (Wednesday 2026-12-09 10:00 New York), typed turns, no STT
 * and no TTS. A caller nobody knows books, moves and cancels, and the rows say so; each bug a
 * newcomer found has its own test here.
 */
import { and, eq, ne } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
import { FIXTURE_ZONE, openToolFixture } from './support/tool-fixture.js';
import type { ToolFixture } from './support/tool-fixture.js';

// Wednesday, December 9, 2026, 10:00 in New York.
const NOW = new Date('2026-12-09T15:00:00Z');

let fixture: ToolFixture;
let manager: CallManager;
let callCounter = 0;

beforeAll(async () => {
  fixture = await openToolFixture({ now: NOW });
  manager = createCallManager({
    providers: { stt: undefined, llm: createOfflineAssistant({ timeZone: FIXTURE_ZONE, now: () => NOW }), tts: undefined },
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
// Every test starts from an empty calendar (the local calendar is the appointments table), so
// the open times it expects do not depend on what other tests booked.
beforeEach(async () => {
  await fixture.database.db.delete(appointments);
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

/** A customer already on file, with cars and (optionally) a booked appointment. */
async function seedCustomer(input: {
  phone: string;
  firstName?: string;
  cars: Array<{ year: number; make: string; model: string }>;
  booked?: { scheduledAt: string; serviceType: string };
}): Promise<{ customerId: string; vehicleIds: string[] }> {
  const seeded = await fixture.addCustomer({ phone: input.phone, firstName: input.firstName ?? 'Ana', lastName: 'Diaz', vehicles: input.cars });
  if (input.booked !== undefined) {
    await fixture.services.booking.book(
      { customerId: seeded.customerId, vehicleId: seeded.vehicleIds[0]!, ...input.booked },
      { signal: new AbortController().signal, idempotencyKey: `seed-${input.phone}` },
    );
  }
  return seeded;
}

async function customerVehicles(phone: string) {
  const [customer] = await fixture.database.db.select().from(customers).where(eq(customers.phone, phone));
  if (customer === undefined) return [];
  return fixture.database.db.select().from(vehicles).where(eq(vehicles.customerId, customer.id));
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
  it('books for a caller it has never heard of: account, car read back, time, confirmation', async () => {
    const phone = '+15551230001';
    const call = await typedCall(phone);

    expect(await call.say('Hi, I want to book an oil change tomorrow at 2 pm')).toMatch(/first and last name/);
    expect(await call.say('Sam Lee')).toMatch(/year, make and model/);
    expect(await call.say('a 2019 Honda Civic')).toContain('A 2019 Honda Civic, is that right?');
    const confirm = await call.say('yes');
    expect(confirm).toContain("I've added the 2019 Honda Civic to your account.");
    expect(confirm).toContain('Shall I book an oil change for your 2019 Honda Civic on Thursday, December 10 at 2 PM?');
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
    expect(await customerVehicles(phone)).toMatchObject([{ year: 2019, make: 'Honda', model: 'Civic' }]);
    const rows = await activeAppointments(phone);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.serviceType).toBe('Oil change');
    expect(rows[0]!.startsAt.toISOString()).toBe('2026-12-10T19:00:00.000Z');

    const bye = await call.say("no, that's all, bye");
    expect(bye).toMatch(/goodbye/i);
    const record = await call.session.finished;
    expect(record.endReason).toBe('agent_ended');
  });

  it('offers open times for a day, takes one, and asks for the service before booking', async () => {
    const phone = '+15551230002';
    await seedCustomer({ phone, cars: [{ year: 2020, make: 'Toyota', model: 'Camry' }] });
    const call = await typedCall(phone);

    const offer = await call.say("what's free on Friday?");
    expect(offer).toContain('I found your account, Ana.');
    expect(offer).toContain('On Friday, December 11 I have 9 AM, 9:30 AM, and 10 AM open');
    expect(await call.say('the second one')).toMatch(/What service does your 2020 Toyota Camry need\?/);
    expect(await call.say('brakes')).toContain('Shall I book a brake service for your 2020 Toyota Camry on Friday, December 11 at 9:30 AM?');
    expect(await call.say('yes')).toMatch(/You're all set/);
    const rows = await activeAppointments(phone);
    expect(rows.map((r) => [r.serviceType, r.startsAt.toISOString()])).toEqual([['Brake service', '2026-12-11T14:30:00.000Z']]);
    await call.session.end('test_done');
  });

  it('moves an appointment to another day and time, then cancels it', async () => {
    const phone = '+15551230003';
    await seedCustomer({
      phone,
      cars: [{ year: 2018, make: 'Subaru', model: 'Outback' }],
      booked: { scheduledAt: '2026-12-10T11:00', serviceType: 'Tire rotation' },
    });
    const call = await typedCall(phone);

    expect(await call.say('can you move it to Monday at 10')).toContain('Shall I move your tire rotation to Monday, December 14 at 10 AM?');
    expect(await call.say('yes')).toMatch(/now on Monday, December 14 at 10:00 AM/);
    let rows = await activeAppointments(phone);
    expect(rows.map((r) => r.startsAt.toISOString())).toEqual(['2026-12-14T15:00:00.000Z']);

    expect(await call.say('actually, cancel my appointment')).toContain('Shall I cancel your tire rotation on Monday, December 14 at 10 AM?');
    expect(await call.say('yes')).toContain('Your tire rotation on Monday, December 14 at 10 AM is cancelled.');
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
    expect(await call.say('yes')).toMatch(/What service does your car need/);
    const reply = await call.say('tell me a joke');
    expect(reply).toMatch(/book, move or cancel/);
    expect(call.toolCalls().map((c) => c.name)).toEqual(['lookup_customer', 'create_customer', 'add_vehicle']);
    await call.session.end('test_done');
  });
});

describe('bugs a newcomer found', () => {
  it('"what do you have friday afternoon" offers afternoon times, not the first morning ones', async () => {
    const phone = '+15551230101';
    await seedCustomer({ phone, cars: [{ year: 2020, make: 'Toyota', model: 'Camry' }] });
    const call = await typedCall(phone);
    const reply = await call.say('what do you have friday afternoon');
    expect(reply).toContain('On Friday, December 11 in the afternoon I have 1 PM, 1:30 PM, and 2 PM open, and later times too.');
    expect(call.toolCalls()).toContainEqual({ name: 'get_available_slots', arguments: { date: '2026-12-11' } });
    await call.session.end('test_done');
  });

  it('"do you have anything thursday around 3" offers the times nearest 3 PM', async () => {
    const phone = '+15551230102';
    await seedCustomer({ phone, cars: [{ year: 2020, make: 'Toyota', model: 'Camry' }] });
    const call = await typedCall(phone);
    const reply = await call.say('do you have anything thursday around 3');
    expect(reply).toContain('On Thursday, December 10 around 3 PM I have 2:30 PM, 3 PM, and 3:30 PM open.');
    await call.session.end('test_done');
  });

  it('"sorry what times again?" offers the next times, not the same three', async () => {
    const phone = '+15551230103';
    await seedCustomer({ phone, cars: [{ year: 2020, make: 'Toyota', model: 'Camry' }] });
    const call = await typedCall(phone);
    expect(await call.say("what's open friday?")).toContain('9 AM, 9:30 AM, and 10 AM open');
    // No service named yet, so an hour's job: 11:30 would run into lunch.
    expect(await call.say('sorry what times again?')).toContain('On Friday, December 11 I also have 10:30 AM, 11 AM, and 1 PM.');
    expect(await call.say('anything later?')).toContain('On Friday, December 11 I also have 1:30 PM, 2 PM, and 2:30 PM.');
    await call.session.end('test_done');
  });

  it('"push it to the following monday at 9" moves to the Monday after the appointment', async () => {
    const phone = '+15551230104';
    await seedCustomer({
      phone,
      cars: [{ year: 2020, make: 'Toyota', model: 'Camry' }],
      booked: { scheduledAt: '2026-12-16T10:00', serviceType: 'Oil change' },
    });
    const call = await typedCall(phone);
    // The appointment is on Wednesday, December 16: the following Monday is the 21st, not the 14th.
    expect(await call.say('can we push it to the following monday at 9')).toContain(
      'Shall I move your oil change to Monday, December 21 at 9 AM?',
    );
    await call.say('yes');
    const rows = await activeAppointments(phone);
    expect(rows.map((r) => r.startsAt.toISOString())).toEqual(['2026-12-21T14:00:00.000Z']);
    await call.session.end('test_done');
  });

  it('"what about the 15th at 3pm" and "how about the 14th at 1" change the date, not only the time', async () => {
    const phone = '+15551230105';
    await seedCustomer({ phone, cars: [{ year: 2020, make: 'Toyota', model: 'Camry' }] });
    const call = await typedCall(phone);
    expect(await call.say('book an oil change friday at 10')).toContain('on Friday, December 11 at 10 AM?');
    expect(await call.say('what about the 15th at 3pm')).toContain(
      'Shall I book an oil change for your 2020 Toyota Camry on Tuesday, December 15 at 3 PM?',
    );
    expect(await call.say('how about the 14th at 1')).toContain(
      'Shall I book an oil change for your 2020 Toyota Camry on Monday, December 14 at 1 PM?',
    );
    await call.say('yes');
    const rows = await activeAppointments(phone);
    expect(rows.map((r) => r.startsAt.toISOString())).toEqual(['2026-12-14T18:00:00.000Z']);
    await call.session.end('test_done');
  });

  it('"I\'ve got a 2017 Camry" is read back as a Toyota Camry and saved only after a yes', async () => {
    const phone = '+15551230106';
    const call = await typedCall(phone);
    await call.say('hi I need an oil change');
    await call.say('Pat Kim');
    expect(await call.say("I've got a 2017 Camry")).toContain('A 2017 Toyota Camry, is that right?');
    expect(call.toolCalls().map((c) => c.name)).not.toContain('add_vehicle');
    expect(await customerVehicles(phone)).toEqual([]);
    await call.say('yes');
    expect(await customerVehicles(phone)).toMatchObject([{ year: 2017, make: 'Toyota', model: 'Camry' }]);
    await call.session.end('test_done');
  });

  it('never saves a car it does not recognise; it asks for the year, make and model', async () => {
    const phone = '+15551230107';
    const call = await typedCall(phone);
    await call.say('hi I need an oil change');
    await call.say('Pat Kim');
    // Only the year is understood: the make and model are asked for, not guessed from other words.
    expect(await call.say("I've got a 2017 Zorblax Quantum")).toContain('And the make and model of your 2017 car?');
    expect(await call.say('a Zorblax')).toContain("Sorry, I didn't catch that. And the make and model of your 2017 car?");
    expect(await call.say('a Toyota')).toContain('What model is your 2017 Toyota?');
    expect(await customerVehicles(phone)).toEqual([]);
    expect(call.toolCalls().map((c) => c.name)).not.toContain('add_vehicle');
    await call.session.end('test_done');
  });

  it.each([
    ['when is my appointment?', 'You have one upcoming appointment: an oil change on Wednesday, December 16 at 10:00 AM.'],
    ['what appointments do I have', 'You have one upcoming appointment: an oil change on Wednesday, December 16 at 10:00 AM.'],
  ])('"%s" lists what is booked', async (question, answer) => {
    const phone = `+1555123011${question.length % 10}`;
    await seedCustomer({
      phone,
      cars: [{ year: 2020, make: 'Toyota', model: 'Camry' }],
      booked: { scheduledAt: '2026-12-16T10:00', serviceType: 'Oil change' },
    });
    const call = await typedCall(phone);
    const reply = await call.say(question);
    expect(reply).toContain(answer);
    expect(reply).not.toContain("didn't catch");
    expect(call.toolCalls().map((c) => c.name)).toEqual(['lookup_customer', 'get_upcoming_appointments']);
    await call.session.end('test_done');
  });

  it('"ok what\'s the earliest you have" searches forward and offers the first open time', async () => {
    const phone = '+15551230120';
    await seedCustomer({ phone, cars: [{ year: 2020, make: 'Toyota', model: 'Camry' }] });
    const call = await typedCall(phone);
    await call.say('hi');
    const reply = await call.say("ok what's the earliest you have");
    // Ten o'clock now, an hour's notice: 11 AM today is the first bookable start.
    // With no service named the tool assumes an hour, so 11:30 would run into lunch.
    expect(reply).toContain('The earliest I have is Wednesday, December 9 at 11 AM. After that I have 1 PM and 1:30 PM.');
    expect(call.toolCalls().slice(1)).toEqual([
      { name: 'get_available_slots', arguments: { date: '2026-12-09' } },
      { name: 'get_available_slots', arguments: { date: '2026-12-10' } },
    ]);
    await call.session.end('test_done');
  });

  it('asks which car when the customer has two, and books the one named', async () => {
    const phone = '+15551230121';
    const { vehicleIds } = await seedCustomer({
      phone,
      cars: [
        { year: 2019, make: 'Honda', model: 'Civic' },
        { year: 2021, make: 'Ford', model: 'F-150' },
      ],
    });
    const call = await typedCall(phone);
    expect(await call.say('book an oil change friday at 2')).toContain(
      'Which car is this for: your 2019 Honda Civic or your 2021 Ford F-150?',
    );
    expect(call.toolCalls().map((c) => c.name)).not.toContain('book_appointment');
    expect(await call.say('the ford')).toContain('Shall I book an oil change for your 2021 Ford F-150 on Friday, December 11 at 2 PM?');
    await call.say('yes');
    const rows = await activeAppointments(phone);
    expect(rows.map((r) => r.vehicleId)).toEqual([vehicleIds[1]]);
    await call.session.end('test_done');
  });

  it('says a cancellation naturally', async () => {
    const phone = '+15551230122';
    await seedCustomer({
      phone,
      cars: [{ year: 2020, make: 'Toyota', model: 'Camry' }],
      booked: { scheduledAt: '2026-12-15T14:00', serviceType: 'Oil change' },
    });
    const call = await typedCall(phone);
    expect(await call.say('I need to cancel my oil change')).toContain('Shall I cancel your oil change on Tuesday, December 15 at 2 PM?');
    const reply = await call.say('yes');
    expect(reply).toContain('Your oil change on Tuesday, December 15 at 2 PM is cancelled.');
    expect(reply).not.toMatch(/I've cancelled/);
    await call.session.end('test_done');
  });
});
