/**
 * The offline mode's "LLM": a deterministic, rule-based scheduling assistant, no model and no
 * network. It reads the conversation (see conversation-state.ts), decides the next step, and
 * either asks the caller something or calls the same tools a real model would, phrasing its
 * replies from their results. It exists so the whole pipeline (tools, database, calendar, speech)
 * can be tried with no accounts; it understands plain requests, not open conversation.
 */
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { formatClock } from '../scheduling/time.js';
import { spokenList, withArticle } from '../tools/spoken.js';
import type { LlmEvent, LlmProvider, LlmRequest } from '../providers/llm.js';
import { appointmentNamedIn, nameKey, replayConversation, slotsKey, vehicleKey } from './conversation-state.js';
import type { ConversationState, DaySlots, SlotInfo, ParsedToolResult, VehicleInfo } from './conversation-state.js';
import type { ClockTime } from './understanding.js';

export interface OfflineAssistantOptions {
  /** The shop's IANA zone: "tomorrow" and "2 pm" are read there. */
  timeZone: string;
  now: () => Date;
  /** Tool call ids; random by default (they key idempotent side effects, so they must not repeat). */
  newToolCallId?: () => string;
}

export interface PlannedStep {
  text: string;
  calls: Array<{ name: string; arguments: Record<string, unknown> }>;
}

export const OFFLINE_HELP =
  "I'm the shop's automated scheduling assistant. I can book, move or cancel a service appointment, " +
  'or tell you what is open on a day. For example, say: book an oil change tomorrow at 2 PM.';

const OFFER_COUNT = 3;

export function createOfflineAssistant(options: OfflineAssistantOptions): LlmProvider {
  const newToolCallId = options.newToolCallId ?? (() => `call_offline_${randomUUID().replace(/-/g, '').slice(0, 20)}`);
  return {
    name: 'offline-assistant',
    stream(request) {
      return respond(request, options, newToolCallId);
    },
  };
}

async function* respond(
  request: LlmRequest,
  options: OfflineAssistantOptions,
  newToolCallId: () => string,
): AsyncGenerator<LlmEvent> {
  const throwIfAborted = (): void => {
    if (request.signal.aborted) throw request.signal.reason;
  };
  throwIfAborted();
  const state = replayConversation(request.messages, { now: options.now(), zone: options.timeZone });
  const offered = new Set(request.tools.map((t) => t.function.name));
  const step = planNextStep(state);
  // A tool the session did not offer is not called: the caller hears the help sentence instead.
  const calls = step.calls.filter((c) => offered.has(c.name));
  const text = calls.length < step.calls.length && step.text === '' ? OFFLINE_HELP : step.text;
  for (const piece of splitForStreaming(text)) {
    // Yield between pieces like a model's stream, so an abort lands between them.
    await Promise.resolve();
    throwIfAborted();
    yield { type: 'text', delta: piece };
  }
  if (calls.length > 0) {
    throwIfAborted();
    yield {
      type: 'tool_calls',
      calls: calls.map((c) => ({ id: newToolCallId(), name: c.name, arguments: JSON.stringify(c.arguments) })),
    };
  }
  yield { type: 'done', finishReason: calls.length > 0 ? 'tool_calls' : 'stop' };
}

/** A reply in a few deltas (word groups, spaces kept), as a streaming model would send it. */
export function splitForStreaming(text: string, pieces = 3): string[] {
  if (text === '') return [];
  const words = text.match(/\S+\s*/g) ?? [text];
  const size = Math.max(1, Math.ceil(words.length / pieces));
  const out: string[] = [];
  for (let i = 0; i < words.length; i += size) out.push(words.slice(i, i + size).join(''));
  return out;
}

// ---- deciding --------------------------------------------------------------------------------------

/** The next step from the replayed conversation: what to say, and which tool (if any) to call. */
export function planNextStep(state: ConversationState): PlannedStep {
  const ack = acknowledge(state);
  const say = (...parts: string[]): PlannedStep => ({ text: join(...ack, ...parts), calls: [] });
  const call = (name: string, args: Record<string, unknown>): PlannedStep => ({
    text: join(...ack),
    calls: [{ name, arguments: args }],
  });
  const unclear = state.latestResults.length === 0 && state.lastUser !== undefined && !state.lastUser.understood;
  const sorry = unclear ? "Sorry, I didn't catch that." : '';

  if (state.ended) return { text: '', calls: [] };
  if (state.farewell) return { text: join(...ack, 'Thanks for calling, goodbye!'), calls: [{ name: 'end_call', arguments: {} }] };
  if (state.wantsHuman) return call('transfer_to_human', { reason: state.lastUser?.text.slice(0, 300) ?? 'caller asked for a person' });
  if (state.latestResults.some((r) => r.name === 'transfer_to_human')) return say();

  // ---- who is calling
  if (state.lookup === 'none') return call('lookup_customer', {});
  if (state.customer === undefined) {
    if (state.lookup === 'needs_number') {
      const given = state.phoneGiven;
      if (given !== undefined && !state.lookupsTried.includes(given.phone)) {
        return call('lookup_customer', { phone_number: given.phone, ...(given.lastName ? { last_name: given.lastName } : {}) });
      }
      return say(sorry, "I can't see the number you're calling from. What phone number is your account under, and what's the last name on it?");
    }
    if (state.lookup === 'not_found_other' || state.lookup === 'failed' || state.createBlocked) {
      return say("I couldn't find or set up your account on this call. Would you like to talk to someone at the shop?");
    }
    const name = state.name;
    if (name?.last !== undefined && !state.namesTried.includes(nameKey(name))) {
      return call('create_customer', { first_name: name.first, last_name: name.last });
    }
    if (name !== undefined && name.last === undefined) return say(`Thanks, ${name.first}. And your last name?`);
    const justLookedUp = state.latestResults.some((r) => r.name === 'lookup_customer');
    return justLookedUp
      ? say("I don't see an account for this number yet. I can set one up for you: what's your first and last name?")
      : say(sorry, 'Could I have your first and last name?');
  }

  // ---- the caller's cars
  const mention = state.vehicleMention;
  if (mention !== undefined && !state.vehiclesTried.includes(vehicleKey(mention))) {
    return call('add_vehicle', { customer_id: state.customer.id, year: mention.year, make: mention.make, model: mention.model });
  }

  const request = state.request;
  if (request.intent === 'cancel' || request.intent === 'reschedule') return planChange(state, say, call, sorry);

  if (state.vehicles.length === 0 && request.intent !== undefined) {
    return say(sorry, "What's the year, make and model of your car?");
  }
  if (request.intent === undefined) {
    if (state.latestResults.some((r) => r.success && ['book_appointment', 'cancel_appointment', 'reschedule_appointment'].includes(r.name))) {
      return say('Is there anything else I can help you with?');
    }
    if (state.lastUser?.declined) return say("Okay, I'll leave it as it is. Is there anything else I can help you with?");
    if (state.vehicles.length === 0) return say("What's the year, make and model of your car?");
    if (state.latestResults.some((r) => r.name === 'add_vehicle' || r.name === 'create_customer')) {
      return say('What service does your car need? For example an oil change, brake service or a tire rotation.');
    }
    if (state.latestResults.some((r) => r.name === 'lookup_customer')) return say('How can I help you today?');
    if (state.lastUser?.wantsMore) return say('What can I do for you? I can book, move or cancel an appointment.');
    return say(sorry, OFFLINE_HELP);
  }

  // ---- booking
  const vehicle = state.vehicles.find((v) => v.id === request.vehicleId) ?? newestVehicle(state);
  if (request.date === undefined) {
    if (state.latestResults.some((r) => r.name === 'get_available_slots')) return say('Would another day work for you?');
    if (request.service === undefined && request.time === undefined) {
      return say(sorry, `What service does your ${vehicleLabel(vehicle)} need? For example an oil change, brake service or a tire rotation.`);
    }
    return say(sorry, 'Which day would you like to bring it in?');
  }
  const day = state.slots.get(slotsKey(request.date, request.service));
  if (day === undefined) {
    return call('get_available_slots', { date: request.date, ...(request.service ? { service_type: request.service } : {}) });
  }
  const timeStep = chooseTime(day, request.time, state.lastUser?.declined ? 'No problem.' : sorry);
  if (timeStep !== undefined) return say(timeStep);
  const time = request.time!;
  if (request.service === undefined) {
    return say(`What service does your ${vehicleLabel(vehicle)} need? For example an oil change, brake service or a tire rotation.`);
  }
  if (!request.confirmed) {
    return say(`Shall I book ${withArticle(request.service)} for your ${vehicleLabel(vehicle)} on ${day.dateLabel} at ${formatClock(time.hour, time.minute)}?`);
  }
  return call('book_appointment', {
    customer_id: state.customer.id,
    vehicle_id: vehicle.id,
    scheduled_at: `${request.date}T${pad(time.hour)}:${pad(time.minute)}`,
    service_type: request.service,
  });
}

type Say = (...parts: string[]) => PlannedStep;
type Call = (name: string, args: Record<string, unknown>) => PlannedStep;

function planChange(state: ConversationState, say: Say, call: Call, sorry: string): PlannedStep {
  const request = state.request;
  const verb = request.intent === 'cancel' ? 'cancel' : 'move';
  const list = state.appointments;
  if (list.length === 0) {
    if (!state.latestResults.some((r) => r.name === 'get_upcoming_appointments') && state.customer !== undefined) {
      return call('get_upcoming_appointments', { customer_id: state.customer.id });
    }
    return say("I don't see any upcoming appointments on your account. Would you like to book one?");
  }
  const target =
    list.find((a) => a.id === request.appointmentId) ??
    (list.length === 1 ? list[0] : undefined) ??
    (request.hint === undefined ? undefined : appointmentNamedIn(list, request.hint, undefined));
  if (target === undefined) {
    const options = list.slice(0, 3).map((a) => `${withArticle(a.service_type)} on ${a.when}`);
    return say(sorry, `Which appointment would you like to ${verb}: ${spokenOr(options)}?`);
  }
  const what = `your ${target.service_type.toLowerCase()}`;
  if (request.intent === 'cancel') {
    if (!request.confirmed) return say(`Shall I cancel ${what} on ${target.when}?`);
    return call('cancel_appointment', { appointment_id: target.id });
  }

  if (request.date === undefined) {
    if (state.latestResults.some((r) => r.name === 'get_available_slots')) return say('Would another day work for you?');
    return say(sorry, `${capitalize(what)} is on ${target.when}. What day would you like to move it to?`);
  }
  const service = target.service_type;
  const day = state.slots.get(slotsKey(request.date, service));
  if (day === undefined) return call('get_available_slots', { date: request.date, service_type: service });
  const timeStep = chooseTime(day, request.time, state.lastUser?.declined ? 'No problem.' : sorry);
  if (timeStep !== undefined) return say(timeStep);
  const time = request.time!;
  if (!request.confirmed) return say(`Shall I move ${what} to ${day.dateLabel} at ${formatClock(time.hour, time.minute)}?`);
  return call('reschedule_appointment', {
    appointment_id: target.id,
    new_datetime: `${request.date}T${pad(time.hour)}:${pad(time.minute)}`,
  });
}

/** The question about the time, or undefined when the requested time is one of the day's slots. */
function chooseTime(day: DaySlots, time: ClockTime | undefined, prefix: string): string | undefined {
  if (time === undefined) {
    const first = day.slots.slice(0, OFFER_COUNT).map((s) => slotClock(s));
    const more = day.slots.length > OFFER_COUNT ? ', and later times too' : '';
    return join(prefix, `On ${day.dateLabel} I have ${spokenList(first)} open${more}. Which time works for you?`);
  }
  if (day.slots.some((s) => sameTime(s, time))) return undefined;
  const wanted = time.hour * 60 + time.minute;
  const nearest = [...day.slots]
    .sort((a, b) => Math.abs(minutesOf(a) - wanted) - Math.abs(minutesOf(b) - wanted))
    .slice(0, OFFER_COUNT)
    .sort((a, b) => minutesOf(a) - minutesOf(b))
    .map((s) => slotClock(s));
  return join(
    `Sorry, ${formatClock(time.hour, time.minute)} isn't available on ${day.dateLabel}.`,
    `The closest times I have are ${spokenList(nearest)}. Which time works for you?`,
  );
}

/** What the caller hears about the tool results that just came back, before the next question. */
function acknowledge(state: ConversationState): string[] {
  return state.latestResults.flatMap((result) => acknowledgement(result, state));
}

function acknowledgement(result: ParsedToolResult, state: ConversationState): string[] {
  if (!result.success) {
    if (result.name === 'lookup_customer' || result.name === 'create_customer') return [];
    return [statementsOf(result.message)];
  }
  switch (result.name) {
    case 'lookup_customer':
      if (result.data.found !== true) return [];
      // With a request on the table, a short hello; otherwise the account summary helps.
      return [state.request.intent === undefined ? result.message : `I found your account, ${state.customer?.firstName ?? ''}.`.replace(' ,', ',')];
    case 'get_available_slots':
      return Array.isArray(result.data.slots) && result.data.slots.length > 0 ? [] : [result.message];
    case 'get_upcoming_appointments':
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

function newestVehicle(state: ConversationState): VehicleInfo {
  return state.vehicles[state.vehicles.length - 1]!;
}

function vehicleLabel(vehicle: VehicleInfo | undefined): string {
  return vehicle === undefined ? 'car' : `${vehicle.year} ${vehicle.make} ${vehicle.model}`;
}

function slotClock(slot: SlotInfo): string {
  const minutes = minutesOf(slot);
  return formatClock(Math.floor(minutes / 60), minutes % 60);
}

/** Minutes after midnight of a slot's start, read from its shop-time ISO string. */
function minutesOf(slot: SlotInfo): number {
  const local = DateTime.fromISO(slot.start, { setZone: true });
  return local.hour * 60 + local.minute;
}

function sameTime(slot: SlotInfo, time: ClockTime): boolean {
  return minutesOf(slot) === time.hour * 60 + time.minute;
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

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
