/**
 * The offline assistant's decisions: from the replayed conversation, the next step (what to say,
 * which tools to call) and the question it leaves the caller with (the next `Phase`). Pure and
 * deterministic, which is what lets conversation-state.ts recompute past questions instead of
 * reading the assistant's own sentences back.
 */
import { DateTime } from 'luxon';
import { formatClock } from '../scheduling/time.js';
import { withArticle } from '../tools/spoken.js';
import { minutesOfIso, nameKey, slotsKey, targetAppointment, vehicleKey } from './dialogue.js';
import type { AppointmentInfo, ConversationState, DaySlots, ParsedToolResult, Phase, SlotInfo, VehicleInfo } from './dialogue.js';
import { chooseSlots, clock } from './offers.js';
import type { DayWish } from './spoken-when.js';
import { isComplete, vehicleName } from './vehicles.js';
import type { VehicleMention } from './vehicles.js';

export interface ToolCallPlan {
  name: string;
  arguments: Record<string, unknown>;
}

export interface PlannedStep {
  text: string;
  calls: ToolCallPlan[];
  /** The question the caller is left with once this step is spoken. */
  phase: Phase;
}

export const OFFLINE_HELP =
  "I'm the shop's automated scheduling assistant. I can book, move or cancel a service appointment, " +
  'tell you what is open on a day, or what you have booked. For example, say: book an oil change tomorrow at 2 PM.';

const IDLE: Phase = { kind: 'idle' };
const SORRY = "Sorry, I didn't catch that.";
const ANYTHING_ELSE = 'Is there anything else I can help you with?';
const CAR_QUESTION = "What's the year, make and model of your car?";
const SERVICE_EXAMPLES = 'For example an oil change, brake service or a tire rotation.';

type Say = (phase: Phase, ...parts: string[]) => PlannedStep;
type Call = (...calls: ToolCallPlan[]) => PlannedStep;

interface Turn {
  state: ConversationState;
  say: Say;
  call: Call;
  /** "Sorry, I didn't catch that." when the caller's last sentence meant nothing here, else ''. */
  sorry: string;
}

export function planNextStep(state: ConversationState): PlannedStep {
  const ack = state.latestResults.flatMap((result) => acknowledgement(result, state));
  const turn: Turn = {
    state,
    say: (phase, ...parts) => ({ text: join(...ack, ...parts), calls: [], phase }),
    call: (...calls) => ({ text: join(...ack), calls, phase: IDLE }),
    sorry: state.latestResults.length === 0 && state.lastUser !== undefined && !state.lastUser.understood ? SORRY : '',
  };
  const { say, call } = turn;

  if (state.ended) return { text: '', calls: [], phase: IDLE };
  if (state.farewell) return { text: join(...ack, 'Thanks for calling, goodbye!'), calls: [{ name: 'end_call', arguments: {} }], phase: IDLE };
  if (state.wantsHuman) {
    return call({ name: 'transfer_to_human', arguments: { reason: state.lastUser?.text.slice(0, 300) ?? 'caller asked for a person' } });
  }
  if (state.latestResults.some((r) => r.name === 'transfer_to_human')) return say(IDLE);

  const who = planIdentity(turn);
  if (who !== undefined) return who;
  const customerId = state.customer!.id;

  if (state.asksList) {
    if (!state.latestResults.some((r) => r.name === 'get_upcoming_appointments')) {
      return call({ name: 'get_upcoming_appointments', arguments: { customer_id: customerId } });
    }
    if (state.job.intent === undefined) return say({ kind: 'anything_else' }, ANYTHING_ELSE);
  }

  const car = planVehicle(turn, customerId);
  if (car !== undefined) return car;

  const job = state.job;
  if (job.intent === 'cancel' || job.intent === 'reschedule') return planChange(turn, customerId);
  if (state.vehicles.length === 0 && job.intent !== undefined) return askForCar(turn);
  if (job.intent === undefined) return planIdle(turn);
  return planBooking(turn, customerId);
}

// ---- who is calling ------------------------------------------------------------------------------

function planIdentity({ state, say, call, sorry }: Turn): PlannedStep | undefined {
  if (state.lookup === 'none') return call({ name: 'lookup_customer', arguments: {} });
  if (state.customer !== undefined) return undefined;
  if (state.lookup === 'needs_number') {
    const given = state.phoneGiven;
    if (given !== undefined && !state.lookupsTried.includes(given.phone)) {
      return call({ name: 'lookup_customer', arguments: { phone_number: given.phone, ...(given.lastName ? { last_name: given.lastName } : {}) } });
    }
    return say(
      { kind: 'asking_phone' },
      sorry,
      "I can't see the number you're calling from. What phone number is your account under, and what's the last name on it?",
    );
  }
  if (state.lookup === 'not_found_other' || state.lookup === 'failed' || state.createBlocked) {
    return say({ kind: 'offering_human' }, "I couldn't find or set up your account on this call. Would you like to talk to someone at the shop?");
  }
  const name = state.name;
  if (name?.last !== undefined && !state.namesTried.includes(nameKey(name))) {
    return call({ name: 'create_customer', arguments: { first_name: name.first, last_name: name.last } });
  }
  if (name !== undefined && name.last === undefined) return say({ kind: 'asking_last_name', first: name.first }, `Thanks, ${name.first}. And your last name?`);
  const justLookedUp = state.latestResults.some((r) => r.name === 'lookup_customer');
  return justLookedUp
    ? say({ kind: 'asking_name' }, "I don't see an account for this number yet. I can set one up for you: what's your first and last name?")
    : say({ kind: 'asking_name' }, sorry, 'Could I have your first and last name?');
}

// ---- the caller's cars ---------------------------------------------------------------------------

/** A car the caller described: ask for what is missing, read it back, and only then save it. */
function planVehicle(turn: Turn, customerId: string): PlannedStep | undefined {
  const { state, say, call, sorry } = turn;
  const draft = state.vehicleDraft;
  if (draft === undefined) return undefined;
  if (!isComplete(draft)) return say({ kind: 'asking_vehicle', draft }, sorry, missingPartQuestion(draft));
  if (!state.vehicleConfirmed) return say({ kind: 'confirming_vehicle', vehicle: draft }, sorry, `A ${vehicleName(draft)}, is that right?`);
  if (state.vehiclesTried.includes(vehicleKey(draft))) return undefined;
  return call({ name: 'add_vehicle', arguments: { customer_id: customerId, year: draft.year, make: draft.make, model: draft.model } });
}

function missingPartQuestion(draft: VehicleMention): string {
  if (draft.model !== undefined) return `What year is your ${draft.make} ${draft.model}?`;
  if (draft.make !== undefined) return `What model is your ${draft.year === undefined ? '' : `${draft.year} `}${draft.make}?`;
  return `And the make and model of your ${draft.year} car?`;
}

function askForCar({ state, say, sorry }: Turn): PlannedStep {
  if (state.phase.kind === 'confirming_vehicle' && state.lastUser?.declined === true) {
    return say({ kind: 'asking_vehicle', draft: undefined }, 'Sorry about that.', CAR_QUESTION);
  }
  if (state.vehicleMisses >= 2) {
    return say(
      { kind: 'offering_human' },
      "I'm sorry, I can only add a car whose make and model I know.",
      'Would you like to talk to someone at the shop?',
    );
  }
  const example = state.vehicleMisses > 0 ? ' For example, a 2018 Honda Civic.' : '';
  return say({ kind: 'asking_vehicle', draft: undefined }, sorry, `${CAR_QUESTION}${example}`);
}

// ---- nothing asked yet ---------------------------------------------------------------------------

function planIdle(turn: Turn): PlannedStep {
  const { state, say, sorry } = turn;
  const results = state.latestResults;
  if (results.some((r) => r.success && ['book_appointment', 'cancel_appointment', 'reschedule_appointment'].includes(r.name))) {
    return say({ kind: 'anything_else' }, ANYTHING_ELSE);
  }
  if (state.lastUser?.declined === true) return say({ kind: 'anything_else' }, "Okay, I'll leave it as it is.", ANYTHING_ELSE);
  if (state.vehicles.length === 0) return askForCar(turn);
  if (results.some((r) => r.name === 'add_vehicle' || r.name === 'create_customer')) {
    return say({ kind: 'asking_service' }, `What service does your car need? ${SERVICE_EXAMPLES}`);
  }
  if (results.some((r) => r.name === 'lookup_customer')) return say(IDLE, 'How can I help you today?');
  if (state.lastUser?.wantsMore === true) return say(IDLE, 'What can I do for you? I can book, move or cancel an appointment.');
  return say(IDLE, sorry, OFFLINE_HELP);
}

// ---- booking -------------------------------------------------------------------------------------

function planBooking(turn: Turn, customerId: string): PlannedStep {
  const { state, say, call, sorry } = turn;
  const job = state.job;
  const vehicle = state.vehicles.find((v) => v.id === job.vehicleId) ?? (state.vehicles.length === 1 ? state.vehicles[0] : undefined);
  if (job.day === undefined) {
    if (job.service === undefined && job.time === undefined) {
      return say({ kind: 'asking_service' }, sorry, `What service does your ${carLabel(vehicle)} need? ${SERVICE_EXAMPLES}`);
    }
    return say({ kind: 'asking_day' }, sorry, 'Which day would you like to bring it in?');
  }
  const picked = pickSlot(turn, job.day, job.service);
  if ('phase' in picked) return picked;
  const { slot, dateLabel } = picked;
  if (job.service === undefined) {
    return say({ kind: 'asking_service' }, sorry, `What service does your ${carLabel(vehicle)} need? ${SERVICE_EXAMPLES}`);
  }
  if (vehicle === undefined) {
    // Oldest first, whatever order the account lists them in: "the second one" must stay the same car.
    const options = [...state.vehicles].sort((a, b) => a.year - b.year || a.make.localeCompare(b.make) || a.model.localeCompare(b.model));
    return say({ kind: 'choosing_vehicle', options }, sorry, `Which car is this for: ${spokenOr(options.map((v) => `your ${carLabel(v)}`))}?`);
  }
  if (!job.confirmed) {
    return say(
      { kind: 'confirming_booking', slot, service: job.service, vehicleId: vehicle.id },
      sorry,
      `Shall I book ${withArticle(job.service)} for your ${carLabel(vehicle)} on ${dateLabel} at ${clock(slot)}?`,
    );
  }
  return call({
    name: 'book_appointment',
    arguments: { customer_id: customerId, vehicle_id: vehicle.id, scheduled_at: wallClock(slot), service_type: job.service },
  });
}

// ---- moving and cancelling -----------------------------------------------------------------------

function planChange(turn: Turn, customerId: string): PlannedStep {
  const { state, say, call, sorry } = turn;
  const job = state.job;
  const verb = job.intent === 'cancel' ? 'cancel' : 'move';
  const list = state.appointments;
  if (list.length === 0) {
    if (!state.latestResults.some((r) => r.name === 'get_upcoming_appointments')) {
      return call({ name: 'get_upcoming_appointments', arguments: { customer_id: customerId } });
    }
    return say({ kind: 'offering_to_book' }, "I don't see any upcoming appointments on your account. Would you like to book one?");
  }
  const target = targetAppointment(state);
  if (target === undefined) {
    const options = list.slice(0, 3);
    return say(
      { kind: 'choosing_appointment', purpose: job.intent === 'cancel' ? 'cancel' : 'reschedule', options },
      sorry,
      `Which appointment would you like to ${verb}: ${spokenOr(options.map((a) => `${withArticle(a.service_type)} on ${appointmentWhen(a)}`))}?`,
    );
  }
  const what = `your ${target.service_type.toLowerCase()}`;
  if (job.intent === 'cancel') {
    if (!job.confirmed) return say({ kind: 'confirming_cancel', appointment: target }, sorry, `Shall I cancel ${what} on ${appointmentWhen(target)}?`);
    return call({ name: 'cancel_appointment', arguments: { appointment_id: target.id } });
  }
  if (job.day === undefined) {
    return say({ kind: 'asking_day' }, sorry, `${capitalize(what)} is on ${appointmentWhen(target)}. What day would you like to move it to?`);
  }
  const picked = pickSlot(turn, job.day, target.service_type);
  if ('phase' in picked) return picked;
  const { slot, dateLabel } = picked;
  if (!job.confirmed) {
    return say({ kind: 'confirming_move', appointment: target, slot }, sorry, `Shall I move ${what} to ${dateLabel} at ${clock(slot)}?`);
  }
  return call({ name: 'reschedule_appointment', arguments: { appointment_id: target.id, new_datetime: wallClock(slot) } });
}

// ---- finding a time ------------------------------------------------------------------------------

/**
 * The open time the caller asked for, or the step that gets there: checking the calendar (one
 * day, or successive days of a range until one has openings), offering times, or asking for
 * another day.
 */
function pickSlot(turn: Turn, day: DayWish, service: string | undefined): { slot: SlotInfo; dateLabel: string } | PlannedStep {
  const { state, say, call } = turn;
  const job = state.job;
  const looked = lookAtDays(state, day, service, job.time?.kind === 'earliest' ? 1 : 3);
  if ('missing' in looked) {
    return call(...looked.missing.map((date) => ({ name: 'get_available_slots', arguments: { date, ...(service ? { service_type: service } : {}) } })));
  }
  const open = looked.days.filter((d) => d.slots.length > 0);
  if (open.length === 0) {
    const why = day.kind === 'date' ? (looked.days[0]?.message ?? '') : `I don't have anything open ${rangeWords(day)}.`;
    return say({ kind: 'asking_day' }, turn.sorry, why, 'Would another day work for you?');
  }
  const choice = chooseSlots({
    days: open,
    wish: job.time,
    more: job.more,
    seen: state.offeredSoFar,
    rangeLabel: day.kind === 'range' && day.label !== 'earliest' ? day.label : undefined,
  });
  const lead = state.lastUser?.declined === true ? 'No problem.' : turn.sorry;
  switch (choice.kind) {
    case 'chosen':
      return { slot: choice.slot, dateLabel: open.find((d) => d.date === choice.slot.date)?.dateLabel ?? choice.slot.date };
    case 'offer':
      return say(
        { kind: 'offering', offered: choice.offered, wish: job.time, suggested: choice.suggested },
        lead,
        choice.text,
        'Which time works for you?',
      );
    case 'nothing':
      return say({ kind: 'asking_day' }, turn.sorry, choice.text, 'Would another day work for you?');
  }
}

/** The days of a wish already looked at, or the next ones to look at. */
function lookAtDays(
  state: ConversationState,
  day: DayWish,
  service: string | undefined,
  daysWanted: number,
): { days: DaySlots[] } | { missing: string[] } {
  const known = (date: string): DaySlots | undefined => state.slots.get(slotsKey(date, service));
  if (day.kind === 'date') {
    const seen = known(day.date);
    return seen === undefined ? { missing: [day.date] } : { days: [seen] };
  }
  const dates = datesBetween(day.from, day.to);
  const found: DaySlots[] = [];
  for (let i = 0; i < dates.length && found.length < daysWanted; i++) {
    const seen = known(dates[i]!);
    if (seen === undefined) {
      // Few days at first (the answer is usually soon), more per round after that.
      const checked = dates.filter((d) => known(d) !== undefined).length;
      const batch = checked < 2 ? 2 : checked < 7 ? 5 : 7;
      return { missing: dates.slice(i).filter((d) => known(d) === undefined).slice(0, batch) };
    }
    found.push(seen);
  }
  return { days: found };
}

function datesBetween(from: string, to: string): string[] {
  const dates: string[] = [];
  const last = DateTime.fromISO(to);
  for (let d = DateTime.fromISO(from); d <= last && dates.length < 31; d = d.plus({ days: 1 })) dates.push(d.toFormat('yyyy-MM-dd'));
  return dates;
}

function rangeWords(day: Extract<DayWish, { kind: 'range' }>): string {
  return day.label === 'earliest' ? 'in the next two weeks' : day.label;
}

// ---- what the caller hears about tool results ----------------------------------------------------

function acknowledgement(result: ParsedToolResult, state: ConversationState): string[] {
  if (result.name === 'get_available_slots') return [];
  if (!result.success) {
    if (result.name === 'lookup_customer' || result.name === 'create_customer') return [];
    return [statementsOf(result.message)];
  }
  switch (result.name) {
    case 'lookup_customer':
      if (result.data.found !== true) return [];
      // With a request on the table, a short hello; otherwise the account summary helps.
      return [state.job.intent === undefined && !state.asksList ? result.message : `I found your account, ${state.customer?.firstName ?? ''}.`.replace(' ,', ',')];
    case 'get_upcoming_appointments':
      return state.asksList ? [result.message] : [];
    case 'cancel_appointment': {
      const appointment = result.data.appointment as Partial<AppointmentInfo> | undefined;
      if (typeof appointment?.starts_at !== 'string') return [result.message];
      const service = String(appointment.service_type ?? 'appointment').toLowerCase();
      return [`Your ${service} on ${appointmentWhen({ starts_at: appointment.starts_at })} is cancelled.`];
    }
    case 'end_call':
      return [];
    default:
      return [result.message];
  }
}

/** A tool's message without its trailing questions: the assistant asks its own. */
function statementsOf(message: string): string {
  const sentences = message.match(/[^.?!]+[.?!]*/g) ?? [message];
  const kept = sentences.filter((s) => !s.trim().endsWith('?'));
  return (kept.length > 0 ? kept : sentences).join('').trim();
}

// ---- words ---------------------------------------------------------------------------------------

/** "Tuesday, December 8 at 2 PM", from an ISO time written with the shop's offset. */
function appointmentWhen(appointment: Pick<AppointmentInfo, 'starts_at'>): string {
  const local = DateTime.fromISO(appointment.starts_at, { setZone: true }).setLocale('en-US');
  const minutes = minutesOfIso(appointment.starts_at);
  return `${local.toFormat('cccc, LLLL d')} at ${formatClock(Math.floor(minutes / 60), minutes % 60)}`;
}

/** The start as shop-local wall-clock time, the form the booking tools take. */
function wallClock(slot: SlotInfo): string {
  return slot.start.slice(0, 16);
}

function carLabel(vehicle: VehicleInfo | undefined): string {
  return vehicle === undefined ? 'car' : vehicleName(vehicle);
}

function spokenOr(items: readonly string[]): string {
  if (items.length <= 2) return items.join(' or ');
  return `${items.slice(0, -1).join(', ')}, or ${items[items.length - 1]}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function join(...parts: string[]): string {
  return parts
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .join(' ');
}

