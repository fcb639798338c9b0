/**
 * The offline assistant as a caller meets it: the real server (`startApp` with no keys, the local
 * calendar, embedded PGlite, and PostgreSQL too when TEST_DATABASE_URL is set), typed turns over
 * the harness socket, and the clock fixed at Wednesday 2026-12-09 10:00 in New York.
 *
 * Each row is one caller sentence (after the turns that lead up to it) and what it must lead to:
 * the tool calls with their arguments, and/or the question asked back. Ids in arguments are
 * written as `$customer`, `$car1`, `$car2`, `$appointment`, `$appointment2` and filled in from
 * what was seeded for that row's caller. The calendar starts empty for every row.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { SessionEvent } from '../src/core/frames.js';
import { loadConfig } from '../src/config.js';
import type { Config } from '../src/config.js';
import { appointments, customers, vehicles } from '../src/db/schema.js';
import { startApp } from '../src/main.js';
import type { RunningApp } from '../src/main.js';
import { createLogger } from '../src/observability/logger.js';
import { createBookingService } from '../src/scheduling/booking-service.js';
import { createThrowawayPostgres } from './support/databases.js';

// Wednesday, December 9, 2026, 10:00 in New York.
const NOW = new Date('2026-12-09T15:00:00Z');

type Profile = 'new' | 'one_car' | 'two_cars' | 'booked' | 'two_booked';

interface ToolCallRow {
  name: string;
  arguments: Record<string, unknown>;
}

/** A row checks the tool calls, the reply or both: one checking neither would pass whatever happened. */
type Row = {
  caller: Profile;
  /** Turns typed before the one under test. */
  before?: string[];
  say: string;
} & (
  | {
      /** Every tool call the sentence leads to, in order (the call's first `lookup_customer` aside). */
      calls: ToolCallRow[];
      /** Words the reply must contain (the question asked, or what it says). */
      reply?: string;
    }
  | { calls?: ToolCallRow[]; reply: string }
);

const slots = (date: string, service?: string): ToolCallRow => ({
  name: 'get_available_slots',
  arguments: { date, ...(service === undefined ? {} : { service_type: service }) },
});
const OIL = 'Oil change';
const NEW_CALLER = ['hi I need an oil change', 'Pat Kim'];

const ROWS: Row[] = [
  // ---- days and times as people say them
  { caller: 'one_car', say: 'book an oil change tomorrow at 2 pm', calls: [slots('2026-12-10', OIL)], reply: 'Shall I book an oil change for your 2020 Toyota Camry on Thursday, December 10 at 2 PM?' },
  { caller: 'one_car', say: 'I need an oil change friday at 3', calls: [slots('2026-12-11', OIL)], reply: 'on Friday, December 11 at 3 PM?' },
  { caller: 'one_car', say: 'can I get my brakes looked at monday at 10', calls: [slots('2026-12-14', 'Brake service')], reply: 'Shall I book a brake service for your 2020 Toyota Camry on Monday, December 14 at 10 AM?' },
  { caller: 'one_car', say: 'oil change next tuesday at 9', calls: [slots('2026-12-15', OIL)], reply: 'on Tuesday, December 15 at 9 AM?' },
  { caller: 'one_car', say: 'could you do an oil change on december 17th at 11', calls: [slots('2026-12-17', OIL)], reply: 'on Thursday, December 17 at 11 AM?' },
  { caller: 'one_car', say: 'oil change on the 15th at 3pm', calls: [slots('2026-12-15', OIL)], reply: 'on Tuesday, December 15 at 3 PM?' },
  { caller: 'one_car', say: 'I want an oil change on the 8th', calls: [slots('2027-01-08', OIL)], reply: 'On Friday, January 8 I have 9 AM, 9:30 AM, and 10 AM open, and later times too.' },
  { caller: 'one_car', say: 'tire rotation in two weeks', calls: [slots('2026-12-23', 'Tire rotation')], reply: 'On Wednesday, December 23 I have 9 AM, 9:30 AM, and 10 AM open' },
  { caller: 'one_car', say: 'book a tire rotation the day after tomorrow at 1', calls: [slots('2026-12-11', 'Tire rotation')], reply: 'on Friday, December 11 at 1 PM?' },
  { caller: 'one_car', say: 'oil change this afternoon', calls: [slots('2026-12-09', OIL)], reply: 'On Wednesday, December 9 in the afternoon I have 1 PM, 1:30 PM, and 2 PM open, and later times too.' },
  { caller: 'one_car', say: 'oil change tomorrow morning', calls: [slots('2026-12-10', OIL)], reply: 'On Thursday, December 10 in the morning I have 9 AM, 9:30 AM, and 10 AM open, and later times too.' },
  { caller: 'one_car', say: 'oil change first thing friday', calls: [slots('2026-12-11', OIL)], reply: 'The earliest I have is Friday, December 11 at 9 AM. After that I have 9:30 AM and 10 AM.' },
  { caller: 'one_car', say: "I'd like an oil change friday after lunch", calls: [slots('2026-12-11', OIL)], reply: 'On Friday, December 11 after lunch I have 1 PM, 1:30 PM, and 2 PM open, and later times too.' },
  { caller: 'one_car', say: 'oil change friday evening', calls: [slots('2026-12-11', OIL)], reply: 'On Friday, December 11 in the evening I have 4 PM and 4:30 PM open.' },
  { caller: 'one_car', say: "what's the latest you have on friday for an oil change", calls: [slots('2026-12-11', OIL)], reply: 'The latest I have on Friday, December 11 is 4:30 PM. Before that I have 3:30 PM and 4 PM.' },
  { caller: 'one_car', say: 'oil change friday at 3 or 4', calls: [slots('2026-12-11', OIL)], reply: 'On Friday, December 11 I have both 3 PM and 4 PM open.' },
  { caller: 'one_car', say: 'oil change saturday at 2:30', calls: [slots('2026-12-12', OIL)], reply: 'on Saturday, December 12 at 2:30 PM?' },
  { caller: 'one_car', say: 'oil change sunday', calls: [slots('2026-12-13', OIL)], reply: "We're closed on Sunday, December 13. Would another day work for you?" },
  { caller: 'one_car', before: ['oil change sunday'], say: 'yes', calls: [], reply: 'Which day would you like to bring it in?' },
  { caller: 'one_car', before: ['oil change sunday'], say: 'no', calls: [], reply: "Okay, I'll leave it as it is. Is there anything else I can help you with?" },
  { caller: 'one_car', say: 'oil change friday at 12:30', calls: [slots('2026-12-11', OIL)], reply: "Sorry, 12:30 PM isn't available on Friday, December 11. The closest times I have are 11:30 AM, 1 PM, and 1:30 PM." },
  { caller: 'one_car', say: 'do you have anything thursday around 3', calls: [slots('2026-12-10')], reply: 'On Thursday, December 10 around 3 PM I have 2:30 PM, 3 PM, and 3:30 PM open.' },
  { caller: 'one_car', say: 'what do you have friday afternoon', calls: [slots('2026-12-11')], reply: 'On Friday, December 11 in the afternoon I have 1 PM, 1:30 PM, and 2 PM open, and later times too.' },
  {
    caller: 'one_car',
    say: 'anything open this week?',
    calls: [slots('2026-12-09'), slots('2026-12-10'), slots('2026-12-11'), slots('2026-12-12'), slots('2026-12-13')],
    reply: 'This week I have Wednesday, December 9 at 11 AM, Thursday, December 10 at 9 AM, and Friday, December 11 at 9 AM open.',
  },
  { caller: 'one_car', before: ['hi'], say: "ok what's the earliest you have", calls: [slots('2026-12-09'), slots('2026-12-10')], reply: 'The earliest I have is Wednesday, December 9 at 11 AM.' },
  { caller: 'one_car', say: "what's the soonest I can get an oil change", calls: [slots('2026-12-09', OIL), slots('2026-12-10', OIL)], reply: 'The earliest I have is Wednesday, December 9 at 11 AM. After that I have 11:30 AM and 1 PM.' },
  {
    caller: 'one_car',
    say: 'a tire rotation sometime next week',
    calls: ['2026-12-14', '2026-12-15', '2026-12-16', '2026-12-17', '2026-12-18', '2026-12-19', '2026-12-20'].map((d) => slots(d, 'Tire rotation')),
    reply: 'Next week I have Monday, December 14 at 9 AM, Tuesday, December 15 at 9 AM, and Wednesday, December 16 at 9 AM open.',
  },

  // ---- answering an offer
  { caller: 'one_car', before: ["what's free on friday?"], say: 'the second one', calls: [], reply: 'What service does your 2020 Toyota Camry need?' },
  { caller: 'one_car', before: ['oil change friday'], say: 'the last one', calls: [], reply: 'on Friday, December 11 at 10 AM?' },
  { caller: 'one_car', before: ['oil change friday'], say: '9:30 works', calls: [], reply: 'on Friday, December 11 at 9:30 AM?' },
  { caller: 'one_car', before: ['oil change friday'], say: 'how about 4', calls: [], reply: 'on Friday, December 11 at 4 PM?' },
  { caller: 'one_car', before: ['oil change friday'], say: 'sorry what times again?', calls: [], reply: 'On Friday, December 11 I also have 10:30 AM, 11 AM, and 11:30 AM.' },
  { caller: 'one_car', before: ['oil change friday'], say: 'no', calls: [], reply: 'On Friday, December 11 I also have 10:30 AM, 11 AM, and 11:30 AM.' },
  { caller: 'one_car', before: ['oil change friday', 'what else do you have'], say: 'anything later?', calls: [], reply: 'On Friday, December 11 I also have 1 PM, 1:30 PM, and 2 PM.' },
  { caller: 'one_car', before: ['oil change friday afternoon'], say: 'anything earlier?', calls: [], reply: 'On Friday, December 11 I also have 10:30 AM, 11 AM, and 11:30 AM.' },
  { caller: 'one_car', before: ['oil change friday'], say: 'what about monday', calls: [slots('2026-12-14', OIL)], reply: 'On Monday, December 14 I have 9 AM, 9:30 AM, and 10 AM open' },
  { caller: 'one_car', before: ['oil change friday'], say: 'the following tuesday then', calls: [slots('2026-12-15', OIL)], reply: 'On Tuesday, December 15 I have 9 AM' },

  // ---- changing a time about to be booked
  { caller: 'one_car', before: ['oil change friday at 10'], say: 'what about the 15th at 3pm', calls: [slots('2026-12-15', OIL)], reply: 'Shall I book an oil change for your 2020 Toyota Camry on Tuesday, December 15 at 3 PM?' },
  { caller: 'one_car', before: ['oil change friday at 10'], say: 'how about the 14th at 1', calls: [slots('2026-12-14', OIL)], reply: 'on Monday, December 14 at 1 PM?' },
  { caller: 'one_car', before: ['oil change friday at 10'], say: 'a week later', calls: [slots('2026-12-18', OIL)], reply: 'on Friday, December 18 at 10 AM?' },
  { caller: 'one_car', before: ['oil change friday at 10'], say: 'actually make it 11', calls: [], reply: 'on Friday, December 11 at 11 AM?' },
  {
    caller: 'one_car',
    before: ['oil change friday at 10'],
    say: 'yes',
    calls: [{ name: 'book_appointment', arguments: { customer_id: '$customer', vehicle_id: '$car1', scheduled_at: '2026-12-11T10:00', service_type: OIL } }],
    reply: "You're all set",
  },
  { caller: 'one_car', before: ['oil change friday at 10'], say: 'no', calls: [], reply: 'No problem. On Friday, December 11 I have 9 AM, 9:30 AM, and 10 AM open' },
  { caller: 'one_car', say: 'book an oil change', calls: [], reply: 'Which day would you like to bring it in?' },
  { caller: 'one_car', before: ['book an oil change'], say: 'thursday', calls: [slots('2026-12-10', OIL)], reply: 'On Thursday, December 10 I have 9 AM, 9:30 AM, and 10 AM open' },
  { caller: 'one_car', say: "I'd like to book an appointment", calls: [], reply: 'What service does your 2020 Toyota Camry need?' },
  { caller: 'one_car', before: ["I'd like to book an appointment"], say: 'my check engine light is on', calls: [], reply: 'Which day would you like to bring it in?' },

  // ---- cars: read against the list, read back, saved only after a yes
  { caller: 'new', before: NEW_CALLER, say: "I've got a 2017 Camry", calls: [], reply: 'A 2017 Toyota Camry, is that right?' },
  { caller: 'new', before: NEW_CALLER, say: '2016 Civic', calls: [], reply: 'A 2016 Honda Civic, is that right?' },
  { caller: 'new', before: NEW_CALLER, say: 'a Ford F-150', calls: [], reply: 'What year is your Ford F-150?' },
  { caller: 'new', before: NEW_CALLER, say: "it's my wife's 2020 RAV4", calls: [], reply: 'A 2020 Toyota RAV4, is that right?' },
  { caller: 'new', before: NEW_CALLER, say: '2012 chevy silverado', calls: [], reply: 'A 2012 Chevrolet Silverado, is that right?' },
  {
    caller: 'new',
    before: [...NEW_CALLER, "I've got a 2017 Camry"],
    say: 'yes',
    calls: [{ name: 'add_vehicle', arguments: { customer_id: '$customer', year: 2017, make: 'Toyota', model: 'Camry' } }],
    reply: "I've added the 2017 Toyota Camry to your account.",
  },
  { caller: 'new', before: [...NEW_CALLER, "I've got a 2017 Camry"], say: 'no', calls: [], reply: "Sorry about that. What's the year, make and model of your car?" },
  { caller: 'new', before: [...NEW_CALLER, "I've got a 2017 Camry"], say: "no it's a 2018", calls: [], reply: 'A 2018 Toyota Camry, is that right?' },
  { caller: 'new', before: [...NEW_CALLER, 'a Ford F-150'], say: '2015', calls: [], reply: 'A 2015 Ford F-150, is that right?' },
  { caller: 'new', before: NEW_CALLER, say: 'a 2017 Toyota', calls: [], reply: 'What model is your 2017 Toyota?' },
  { caller: 'new', before: NEW_CALLER, say: 'I drive a Zorblax', calls: [], reply: "Sorry, I didn't catch that. What's the year, make and model of your car? For example, a 2018 Honda Civic." },

  // ---- a customer with two cars is asked which one
  { caller: 'two_cars', say: 'book an oil change friday at 2', calls: [slots('2026-12-11', OIL)], reply: 'Which car is this for: your 2019 Honda Civic or your 2021 Ford F-150?' },
  { caller: 'two_cars', before: ['book an oil change friday at 2'], say: 'the civic', calls: [], reply: 'Shall I book an oil change for your 2019 Honda Civic on Friday, December 11 at 2 PM?' },
  { caller: 'two_cars', before: ['book an oil change friday at 2'], say: 'the 2021 one', calls: [], reply: 'for your 2021 Ford F-150 on Friday' },
  { caller: 'two_cars', before: ['book an oil change friday at 2'], say: 'the second one', calls: [], reply: 'for your 2021 Ford F-150 on Friday' },
  { caller: 'two_cars', say: 'book an oil change for the ford friday at 2', calls: [slots('2026-12-11', OIL)], reply: 'Shall I book an oil change for your 2021 Ford F-150 on Friday, December 11 at 2 PM?' },
  {
    caller: 'two_cars',
    before: ['book an oil change friday at 2', 'the civic'],
    say: 'yes please',
    calls: [{ name: 'book_appointment', arguments: { customer_id: '$customer', vehicle_id: '$car1', scheduled_at: '2026-12-11T14:00', service_type: OIL } }],
  },

  // ---- questions about what is booked
  ...['when is my appointment?', 'what do I have booked', 'is it still on?', 'what appointments do I have', "when's my oil change"].map(
    (say): Row => ({
      caller: 'booked',
      say,
      calls: [{ name: 'get_upcoming_appointments', arguments: { customer_id: '$customer' } }],
      reply: 'You have one upcoming appointment: an oil change on Wednesday, December 16 at 10:00 AM.',
    }),
  ),

  // ---- moving and cancelling (an oil change on Wednesday, December 16 at 10 AM)
  { caller: 'booked', say: 'can we push it to the following monday at 9', calls: [slots('2026-12-21', OIL)], reply: 'Shall I move your oil change to Monday, December 21 at 9 AM?' },
  { caller: 'booked', say: 'push it back a week', calls: [slots('2026-12-23', OIL)], reply: 'Shall I move your oil change to Wednesday, December 23 at 10 AM?' },
  { caller: 'booked', say: 'I need to reschedule', calls: [], reply: 'Your oil change is on Wednesday, December 16 at 10 AM. What day would you like to move it to?' },
  { caller: 'booked', before: ['I need to reschedule'], say: 'friday afternoon', calls: [slots('2026-12-11', OIL)], reply: 'On Friday, December 11 in the afternoon I have 1 PM, 1:30 PM, and 2 PM open' },
  { caller: 'booked', say: 'move it to thursday at 10', calls: [slots('2026-12-10', OIL)], reply: 'Shall I move your oil change to Thursday, December 10 at 10 AM?' },
  {
    caller: 'booked',
    before: ['move it to thursday at 10'],
    say: 'yes',
    calls: [{ name: 'reschedule_appointment', arguments: { appointment_id: '$appointment', new_datetime: '2026-12-10T10:00' } }],
    reply: 'Your oil change is now on Thursday, December 10 at 10:00 AM.',
  },
  { caller: 'booked', say: 'cancel my appointment', calls: [], reply: 'Shall I cancel your oil change on Wednesday, December 16 at 10 AM?' },
  {
    caller: 'booked',
    before: ['cancel my appointment'],
    say: 'yes',
    calls: [{ name: 'cancel_appointment', arguments: { appointment_id: '$appointment' } }],
    reply: 'Your oil change on Wednesday, December 16 at 10 AM is cancelled.',
  },
  { caller: 'booked', before: ['cancel my appointment'], say: 'no', calls: [], reply: "Okay, I'll leave it as it is. Is there anything else I can help you with?" },
  {
    caller: 'two_booked',
    say: 'cancel my appointment',
    calls: [],
    reply: 'Which appointment would you like to cancel: an oil change on Wednesday, December 16 at 10 AM or a brake service on Friday, December 18 at 1 PM?',
  },
  { caller: 'two_booked', before: ['cancel my appointment'], say: 'the brake one', calls: [], reply: 'Shall I cancel your brake service on Friday, December 18 at 1 PM?' },
  { caller: 'two_booked', say: 'move my brake service to the following monday', calls: [slots('2026-12-21', 'Brake service')], reply: 'On Monday, December 21 I have 9 AM, 9:30 AM, and 10 AM open' },

  // ---- who is calling, a person, goodbye
  { caller: 'new', say: 'book an oil change', calls: [], reply: "I don't see an account for this number yet. I can set one up for you: what's your first and last name?" },
  { caller: 'new', before: ['book an oil change'], say: 'Sam Lee', calls: [{ name: 'create_customer', arguments: { first_name: 'Sam', last_name: 'Lee' } }] },
  { caller: 'one_car', say: 'can I talk to a real person', calls: [{ name: 'transfer_to_human', arguments: { reason: 'can I talk to a real person' } }] },
  { caller: 'one_car', before: ['hi'], say: "no that's all, bye", calls: [{ name: 'end_call', arguments: {} }], reply: 'Thanks for calling, goodbye!' },
];

interface Backend {
  name: string;
  /** Extra environment for the app (its database), and what to do once it has stopped. */
  open(): Promise<{ env: Record<string, string>; close(): Promise<void> }>;
}

function backends(): Backend[] {
  const list: Backend[] = [{ name: 'pglite', open: async () => ({ env: { DATA_DIR: 'memory://' }, close: async () => {} }) }];
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl) {
    list.push({
      name: 'postgres',
      open: async () => {
        const throwaway = await createThrowawayPostgres(adminUrl);
        return { env: { DATABASE_URL: throwaway.url }, close: () => throwaway.drop() };
      },
    });
  }
  return list;
}

describe.each(backends())('offline assistant conversations over the harness socket ($name)', (backend) => {
  let running: RunningApp;
  let config: Config;
  let closeBackend: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const opened = await backend.open();
    closeBackend = opened.close;
    config = loadConfig({ HOST: '127.0.0.1', PORT: '0', ...opened.env });
    running = await startApp(config, createLogger({ level: 'silent' }), { now: () => NOW });
  }, 60_000);
  afterAll(async () => {
    await running?.stop();
    await closeBackend();
  });
  // The local calendar is the appointments table: every row starts from an empty calendar.
  beforeEach(async () => {
    await running.database.db.delete(appointments);
  });

  it.each(ROWS.map((row, index) => ({ ...row, index })))('$index $caller — $say', async (row) => {
    const phone = `+1555020${String(row.index).padStart(4, '0')}`;
    const ids = await seed(row.caller, phone);
    const call = await openTextCall(running.url, phone);
    try {
      for (const text of row.before ?? []) await call.turn(text);
      const result = await call.turn(row.say);
      const spoken = result.said.join(' ');
      const calls = result.calls.filter((c, i) => !(i === 0 && c.name === 'lookup_customer' && (row.before ?? []).length === 0));
      // A new caller's account is made during the call.
      ids.$customer ??= (await running.database.db.select().from(customers).where(eq(customers.phone, phone)))[0]?.id ?? 'none';
      if (row.calls !== undefined) expect(calls, `reply was: ${spoken}`).toEqual(row.calls.map((c) => withIds(c, ids)));
      if (row.reply !== undefined) expect(spoken).toContain(row.reply);
    } finally {
      call.close();
    }
  });

  /** The caller's records for a row; the returned ids fill the `$...` placeholders. */
  async function seed(profile: Profile, phone: string): Promise<Record<string, string>> {
    if (profile === 'new') return {};
    const db = running.database.db;
    const [customer] = await db.insert(customers).values({ phone, firstName: 'Ana', lastName: 'Diaz' }).returning();
    const cars = profile === 'two_cars'
      ? [{ year: 2019, make: 'Honda', model: 'Civic' }, { year: 2021, make: 'Ford', model: 'F-150' }]
      : [{ year: 2020, make: 'Toyota', model: 'Camry' }];
    const carRows = await db.insert(vehicles).values(cars.map((c) => ({ ...c, customerId: customer!.id }))).returning();
    carRows.sort((a, b) => a.year - b.year);
    const ids: Record<string, string> = { $customer: customer!.id, $car1: carRows[0]!.id };
    if (carRows[1] !== undefined) ids.$car2 = carRows[1].id;
    const booking = createBookingService({ db, calendar: running.calendar, rules: config.business, shopName: config.shopName, now: () => NOW });
    const book = async (scheduledAt: string, serviceType: string) =>
      (
        await booking.book(
          { customerId: customer!.id, vehicleId: carRows[0]!.id, scheduledAt, serviceType },
          { signal: new AbortController().signal, idempotencyKey: `seed-${phone}-${scheduledAt}` },
        )
      ).appointment.id;
    if (profile === 'booked' || profile === 'two_booked') ids.$appointment = await book('2026-12-16T10:00', 'Oil change');
    if (profile === 'two_booked') ids.$appointment2 = await book('2026-12-18T13:00', 'Brake service');
    return ids;
  }

});

/** The row's call with `$...` placeholders replaced by the seeded ids. */
function withIds(call: ToolCallRow, ids: Record<string, string | undefined>): ToolCallRow {
  const args = Object.fromEntries(
    Object.entries(call.arguments).map(([key, value]) => [key, typeof value === 'string' && value.startsWith('$') ? (ids[value] ?? value) : value]),
  );
  return { name: call.name, arguments: args };
}

interface TextCall {
  /** Types one caller turn and collects what the agent said and which tools it called until the turn ended. */
  turn(text: string): Promise<{ said: string[]; calls: ToolCallRow[] }>;
  close(): void;
}

/** A typed call over the harness socket, as the harness page makes one. */
async function openTextCall(baseUrl: string, callerNumber: string): Promise<TextCall> {
  const socket = new WebSocket(`${baseUrl.replace('http', 'ws')}/harness/ws`);
  const events: SessionEvent[] = [];
  let ended = false;
  socket.on('message', (data, isBinary) => {
    if (isBinary) return;
    const message = JSON.parse(String(data)) as { type: string; name?: string; event?: SessionEvent };
    if (message.type === 'mark') socket.send(JSON.stringify({ type: 'mark', name: message.name }));
    if (message.type === 'event' && message.event !== undefined) events.push(message.event);
    if (message.type === 'ended') ended = true;
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'start', mode: 'text', callerNumber }));
  await until(() => events.some((e) => e.type === 'agent_text'), 'the greeting');

  return {
    async turn(text) {
      const from = events.length;
      const turnsBefore = events.filter((e) => e.type === 'latency').length;
      socket.send(JSON.stringify({ type: 'text', text }));
      await until(() => ended || events.filter((e) => e.type === 'latency').length > turnsBefore, `the reply to "${text}"`);
      const mine = events.slice(from);
      return {
        said: mine.flatMap((e) => (e.type === 'agent_text' ? [e.text] : [])),
        calls: mine.flatMap((e) => (e.type === 'tool_call' ? [{ name: e.name, arguments: JSON.parse(e.arguments) as Record<string, unknown> }] : [])),
      };
    },
    close() {
      socket.close();
    },
  };
}

async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
