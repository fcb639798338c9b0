/**
 * The offline assistant's memory is the conversation itself: the session re-sends every message
 * on every request, so this module replays them from the start (caller sentences, the tool calls
 * made and their JSON results, the last question asked) into one plain state. Nothing is kept
 * between requests, so two sessions can never leak into each other and a retried request sees
 * exactly what the first one saw.
 */
import type { ChatMessage } from '../providers/llm.js';
import {
  detectIntent,
  detectService,
  isFarewell,
  isNo,
  isYes,
  normalizeText,
  parseDay,
  parseName,
  parseOrdinal,
  parsePhoneNumber,
  parseTime,
  parseVehicle,
  serviceFromAnswer,
  titleCase,
  wantsHuman,
} from './understanding.js';
import type { ClockTime, PersonName, VehicleMention } from './understanding.js';

/** What the last assistant question asked for, which decides how a short answer is read. */
export type Awaiting =
  | 'none'
  | 'name'
  | 'last_name'
  | 'phone'
  | 'vehicle'
  | 'service'
  | 'day'
  | 'time'
  | 'confirm_book'
  | 'confirm_cancel'
  | 'confirm_move'
  | 'which'
  | 'anything_else'
  | 'offer_book'
  | 'offer_human';

/** The phrases the assistant asks with; `classifyQuestion` reads them back. Order: most specific first. */
const QUESTION_PATTERNS: ReadonlyArray<[Awaiting, RegExp]> = [
  ['confirm_book', /\bshall i book\b/i],
  ['confirm_cancel', /\bshall i cancel\b/i],
  ['confirm_move', /\bshall i move\b/i],
  ['phone', /\bwhat phone number is your account under\b/i],
  ['last_name', /\byour last name\?/i],
  ['name', /\bfirst and last name\b/i],
  ['vehicle', /\byear, make and model\b/i],
  ['service', /\bwhat service does\b/i],
  ['which', /\bwhich appointment\b/i],
  ['time', /\bwhich time works\b/i],
  ['day', /\b(which day|what day|another day)\b/i],
  ['offer_book', /\bwould you like to book one\b/i],
  ['offer_human', /\btalk to someone at the shop\b/i],
  ['anything_else', /\banything else\b/i],
];

export function classifyQuestion(text: string): Awaiting {
  const questions = text.match(/[^.?!]*\?/g);
  const last = questions?.[questions.length - 1];
  if (last === undefined) return 'none';
  for (const [awaiting, pattern] of QUESTION_PATTERNS) if (pattern.test(last)) return awaiting;
  return 'none';
}

export interface VehicleInfo {
  id: string;
  year: number;
  make: string;
  model: string;
}

export interface AppointmentInfo {
  id: string;
  service_type: string;
  when: string;
  starts_at: string;
  vehicle_id: string;
}

export interface SlotInfo {
  start: string;
  label: string;
}

export interface DaySlots {
  date: string;
  dateLabel: string;
  slots: SlotInfo[];
  /** The tool's sentence about the day (closed, full, or the times). */
  message: string;
}

export type IntentKind = 'book' | 'cancel' | 'reschedule';

export interface Request {
  intent: IntentKind | undefined;
  service: string | undefined;
  date: string | undefined;
  time: ClockTime | undefined;
  vehicleId: string | undefined;
  appointmentId: string | undefined;
  /** The caller's words that asked to cancel or move, to find the appointment once the list is known. */
  hint: string | undefined;
  confirmed: boolean;
}

/** A tool message read back with the call that asked for it (the result JSON's fields, flattened). */
export interface ParsedToolResult {
  name: string;
  args: Record<string, unknown>;
  success: boolean;
  error: string | undefined;
  message: string;
  data: Record<string, unknown>;
}

export interface ConversationState {
  awaiting: Awaiting;
  lastAssistantText: string;
  lookup: 'none' | 'found' | 'not_found' | 'not_found_other' | 'needs_number' | 'failed';
  lookupsTried: string[];
  customer: { id: string; firstName: string } | undefined;
  vehicles: VehicleInfo[];
  appointments: AppointmentInfo[];
  /** Availability seen so far, by `slotsKey(date, service)`. */
  slots: Map<string, DaySlots>;
  name: PersonName | undefined;
  namesTried: string[];
  createBlocked: boolean;
  vehicleMention: VehicleMention | undefined;
  vehiclesTried: string[];
  phoneGiven: { phone: string; lastName: string | undefined } | undefined;
  request: Request;
  farewell: boolean;
  wantsHuman: boolean;
  transferred: boolean;
  ended: boolean;
  /** About the newest caller sentence only. */
  lastUser: { text: string; understood: boolean; declined: boolean; wantsMore: boolean } | undefined;
  /** Results of the tool round that ended the conversation so far (empty after a caller sentence). */
  latestResults: ParsedToolResult[];
}

export function freshRequest(intent?: IntentKind): Request {
  return {
    intent,
    service: undefined,
    date: undefined,
    time: undefined,
    vehicleId: undefined,
    appointmentId: undefined,
    hint: undefined,
    confirmed: false,
  };
}

export function slotsKey(date: string, service: string | undefined): string {
  return `${date}|${(service ?? '').toLowerCase()}`;
}

export function nameKey(name: PersonName): string {
  return `${name.first} ${name.last ?? ''}`.toLowerCase();
}

export function vehicleKey(vehicle: VehicleMention): string {
  return `${vehicle.year} ${vehicle.make} ${vehicle.model}`.toLowerCase();
}

/** Times said in an assistant sentence ("9 AM, 9:30 AM, and noon"), in order, as clock times. */
export function timesIn(text: string): ClockTime[] {
  const out: ClockTime[] = [];
  for (const match of text.matchAll(/\b(\d{1,2})(?::(\d{2}))?\s*(AM|PM)\b|\bnoon\b/gi)) {
    if (match[0].toLowerCase() === 'noon') {
      out.push({ hour: 12, minute: 0 });
      continue;
    }
    const hour = Number(match[1]) % 12 + (match[3]!.toUpperCase() === 'PM' ? 12 : 0);
    out.push({ hour, minute: Number(match[2] ?? 0) });
  }
  return out;
}

export function replayConversation(messages: readonly ChatMessage[], clock: { now: Date; zone: string }): ConversationState {
  const state: ConversationState = {
    awaiting: 'none',
    lastAssistantText: '',
    lookup: 'none',
    lookupsTried: [],
    customer: undefined,
    vehicles: [],
    appointments: [],
    slots: new Map(),
    name: undefined,
    namesTried: [],
    createBlocked: false,
    vehicleMention: undefined,
    vehiclesTried: [],
    phoneGiven: undefined,
    request: freshRequest(),
    farewell: false,
    wantsHuman: false,
    transferred: false,
    ended: false,
    lastUser: undefined,
    latestResults: [],
  };
  const calls = new Map<string, { name: string; args: Record<string, unknown> }>();

  for (const message of messages) {
    switch (message.role) {
      case 'system':
        break;
      case 'user':
        state.latestResults = [];
        applyUser(state, message.content, clock);
        state.awaiting = 'none';
        break;
      case 'assistant': {
        const text = message.content ?? '';
        if (message.tool_calls !== undefined && message.tool_calls.length > 0) {
          state.latestResults = [];
          for (const call of message.tool_calls) calls.set(call.id, { name: call.function.name, args: parseObject(call.function.arguments) });
        }
        if (text.trim() !== '') {
          state.lastAssistantText = text;
          state.awaiting = classifyQuestion(text);
        }
        break;
      }
      case 'tool': {
        const call = calls.get(message.tool_call_id);
        if (call === undefined) break;
        const outcome = parseToolResult(call, message.content);
        state.latestResults.push(outcome);
        applyResult(state, outcome);
        break;
      }
    }
  }
  return state;
}

function parseObject(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function parseToolResult(call: { name: string; args: Record<string, unknown> }, content: string): ParsedToolResult {
  const result = parseObject(content);
  const data = result.data;
  return {
    name: call.name,
    args: call.args,
    success: result.success === true,
    error: typeof result.error === 'string' ? result.error : undefined,
    message: typeof result.message === 'string' ? result.message : '',
    data: typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {},
  };
}

// ---- the caller's sentences ----------------------------------------------------------------------

function applyUser(state: ConversationState, text: string, clock: { now: Date; zone: string }): void {
  const awaiting = state.awaiting;
  const t = normalizeText(text);
  const lastUser = { text, understood: false, declined: false, wantsMore: false };
  state.lastUser = lastUser;
  const request = state.request;
  const confirming = awaiting === 'confirm_book' || awaiting === 'confirm_cancel' || awaiting === 'confirm_move';

  if (isFarewell(t) || ((awaiting === 'anything_else' || awaiting === 'offer_book') && isNo(t) && detectIntent(t) === undefined)) {
    state.farewell = true;
    lastUser.understood = true;
    return;
  }
  if (wantsHuman(t) || (awaiting === 'offer_human' && isYes(t))) {
    state.wantsHuman = true;
    lastUser.understood = true;
    return;
  }

  if (awaiting === 'phone') {
    const phone = parsePhoneNumber(text);
    if (phone !== undefined) {
      const words = text
        .replace(/[^\p{L}\s'’-]/gu, ' ')
        .split(/\s+/)
        .filter((w) => w.length > 1 && !/^(my|is|the|last|name|number|it's|and|its|under|phone)$/i.test(w));
      const lastName = words[words.length - 1];
      state.phoneGiven = { phone, lastName: lastName === undefined ? undefined : titleCase(lastName) };
      lastUser.understood = true;
      return;
    }
  }

  const intent = detectIntent(t);
  const date = parseDay(text, clock.now, clock.zone);
  let time = parseTime(text, { expectingTime: awaiting === 'time' || confirming });
  const ordinal = parseOrdinal(text);
  if (time === undefined && ordinal !== undefined && awaiting === 'time') {
    const offered = timesIn(state.lastAssistantText);
    time = ordinal < 0 ? offered[offered.length - 1] : offered[ordinal];
  }
  const changesSomething = date !== undefined || time !== undefined;

  if (confirming && isYes(t) && !changesSomething) {
    request.confirmed = true;
    lastUser.understood = true;
    return;
  }
  if (confirming && isNo(t) && !changesSomething) {
    lastUser.understood = true;
    lastUser.declined = true;
    if (awaiting === 'confirm_cancel') state.request = freshRequest();
    else request.time = undefined;
    request.confirmed = false;
    return;
  }
  if (awaiting === 'anything_else' && isYes(t) && intent === undefined && !changesSomething) {
    lastUser.understood = true;
    lastUser.wantsMore = true;
    return;
  }
  if (awaiting === 'offer_book' && isYes(t)) {
    state.request = freshRequest('book');
    lastUser.understood = true;
    return;
  }

  if (intent !== undefined) {
    const kind: IntentKind = intent === 'availability' ? (request.intent ?? 'book') : intent;
    if (kind !== request.intent) state.request = freshRequest(kind);
    if (kind === 'cancel' || kind === 'reschedule') state.request.hint = text;
    lastUser.understood = true;
  }
  const current = state.request;

  const name =
    awaiting === 'last_name' && state.name !== undefined && state.name.last === undefined
      ? lastNameAnswer(text, state.name)
      : parseName(text, awaiting === 'name');
  if (name !== undefined) {
    state.name = name;
    lastUser.understood = true;
  }

  const vehicle = parseVehicle(text, clock.now);
  if (vehicle !== undefined) {
    lastUser.understood = true;
    const known = state.vehicles.find((v) => vehicleKey(v) === vehicleKey(vehicle));
    if (known !== undefined) current.vehicleId = known.id;
    else state.vehicleMention = vehicle;
  } else {
    // "the Civic": a car already on file, picked by make or model.
    const picked = state.vehicles.find((v) => new RegExp(`\\b(${escape(v.model)}|${escape(v.make)})\\b`, 'i').test(text));
    if (picked !== undefined) {
      current.vehicleId = picked.id;
      lastUser.understood = true;
    }
  }

  const service = awaiting === 'service' ? serviceFromAnswer(text) : detectService(text)?.name;
  if (service !== undefined && current.intent !== 'cancel' && current.intent !== 'reschedule') {
    current.service = service;
    current.confirmed = false;
    current.intent ??= 'book';
    lastUser.understood = true;
  }

  if (awaiting === 'which' || current.intent === 'cancel' || current.intent === 'reschedule') {
    const target = pickAppointment(state, text, ordinal, current.intent === 'cancel' ? date : undefined);
    if (target !== undefined) {
      current.appointmentId = target.id;
      lastUser.understood = true;
      // Naming the appointment by its day is not asking for a new day.
      if (awaiting === 'which') return;
    }
  }

  if (date !== undefined && current.intent !== 'cancel') {
    if (current.date !== date) current.time = undefined;
    current.date = date;
    current.confirmed = false;
    current.intent ??= 'book';
    lastUser.understood = true;
  }
  if (time !== undefined && current.intent !== 'cancel') {
    current.time = time;
    current.confirmed = false;
    current.intent ??= 'book';
    lastUser.understood = true;
  }
}

function lastNameAnswer(text: string, name: PersonName): PersonName | undefined {
  const parsed = parseName(text.replace(/^\s*(?:my last name is|last name is|it's|it is)\s+/i, ''), true);
  if (parsed === undefined) return undefined;
  // "Sam Lee" again, or just "Lee".
  if (parsed.last !== undefined && parsed.first.toLowerCase() === name.first.toLowerCase()) return parsed;
  return { first: name.first, last: parsed.last === undefined ? parsed.first : `${parsed.first} ${parsed.last}` };
}

function pickAppointment(
  state: ConversationState,
  text: string,
  ordinal: number | undefined,
  date: string | undefined,
): AppointmentInfo | undefined {
  const list = state.appointments;
  if (list.length === 0) return undefined;
  if (ordinal !== undefined && state.awaiting === 'which') return ordinal < 0 ? list[list.length - 1] : list[ordinal];
  return appointmentNamedIn(list, text, date);
}

/** The first appointment whose service (and, when given, day) the caller's words name. */
export function appointmentNamedIn(list: readonly AppointmentInfo[], text: string, date: string | undefined): AppointmentInfo | undefined {
  const service = detectService(text);
  const matches = list.filter(
    (a) =>
      (service === undefined || a.service_type.toLowerCase() === service.name.toLowerCase()) &&
      (date === undefined || a.starts_at.startsWith(date)),
  );
  if ((service !== undefined || date !== undefined) && matches.length >= 1) return matches[0];
  return undefined;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---- tool results --------------------------------------------------------------------------------

function applyResult(state: ConversationState, outcome: ParsedToolResult): void {
  const { data } = outcome;
  const request = state.request;
  switch (outcome.name) {
    case 'lookup_customer': {
      state.lookupsTried.push(String(outcome.args.phone_number ?? ''));
      if (!outcome.success) {
        state.lookup = outcome.error === 'phone_number_required' || outcome.error === 'invalid_phone_number' ? 'needs_number' : 'failed';
        return;
      }
      if (data.found === true) {
        adoptCustomer(state, data);
        state.lookup = 'found';
      } else {
        state.lookup = outcome.args.phone_number === undefined ? 'not_found' : 'not_found_other';
      }
      return;
    }
    case 'create_customer':
      state.namesTried.push(`${String(outcome.args.first_name ?? '')} ${String(outcome.args.last_name ?? '')}`.toLowerCase());
      if (outcome.success) {
        adoptCustomer(state, data);
        state.lookup = 'found';
      } else if (outcome.error === 'caller_number_unknown') {
        state.createBlocked = true;
      } else {
        state.name = undefined;
      }
      return;
    case 'add_vehicle': {
      state.vehiclesTried.push(`${String(outcome.args.year)} ${String(outcome.args.make)} ${String(outcome.args.model)}`.toLowerCase());
      state.vehicleMention = undefined;
      const vehicle = asVehicle(data.vehicle);
      if (outcome.success && vehicle !== undefined) {
        if (!state.vehicles.some((v) => v.id === vehicle.id)) state.vehicles.push(vehicle);
        request.vehicleId = vehicle.id;
      }
      return;
    }
    case 'get_available_slots': {
      const date = String(outcome.args.date ?? '');
      const service = typeof outcome.args.service_type === 'string' ? outcome.args.service_type : undefined;
      const slots = Array.isArray(data.slots) ? data.slots.flatMap((s) => (isSlot(s) ? [{ start: s.start, label: s.label }] : [])) : [];
      state.slots.set(slotsKey(date, service), {
        date,
        dateLabel: typeof data.date_label === 'string' ? data.date_label : date,
        slots,
        message: outcome.message,
      });
      // A day with nothing to offer is dropped, so the next question is for another day.
      if (slots.length === 0 && request.date === date) {
        request.date = undefined;
        request.time = undefined;
      }
      return;
    }
    case 'book_appointment':
    case 'reschedule_appointment': {
      const appointment = asAppointment(data.appointment);
      if (outcome.success && appointment !== undefined) {
        state.appointments = [...state.appointments.filter((a) => a.id !== appointment.id), appointment].sort((a, b) =>
          a.starts_at.localeCompare(b.starts_at),
        );
        state.request = freshRequest();
      } else {
        // The time did not hold (taken meanwhile, too soon...): look at the day again.
        if (request.date !== undefined) state.slots.delete(slotsKey(request.date, request.service));
        request.time = undefined;
        request.confirmed = false;
      }
      return;
    }
    case 'cancel_appointment': {
      const appointment = asAppointment(data.appointment);
      if (outcome.success && appointment !== undefined) {
        state.appointments = state.appointments.filter((a) => a.id !== appointment.id);
      }
      state.request = freshRequest();
      return;
    }
    case 'get_upcoming_appointments':
      if (outcome.success && Array.isArray(data.appointments)) {
        state.appointments = data.appointments.flatMap((a) => {
          const appointment = asAppointment(a);
          return appointment === undefined ? [] : [appointment];
        });
      }
      return;
    case 'transfer_to_human':
      state.wantsHuman = false;
      state.transferred = true;
      return;
    case 'end_call':
      state.ended = true;
      return;
  }
}

function adoptCustomer(state: ConversationState, data: Record<string, unknown>): void {
  const customer = data.customer as { id?: unknown; first_name?: unknown } | undefined;
  if (customer === undefined || typeof customer.id !== 'string') return;
  state.customer = { id: customer.id, firstName: typeof customer.first_name === 'string' ? customer.first_name : '' };
  if (Array.isArray(data.vehicles)) {
    state.vehicles = data.vehicles.flatMap((v) => {
      const vehicle = asVehicle(v);
      return vehicle === undefined ? [] : [vehicle];
    });
  }
  if (Array.isArray(data.upcoming_appointments)) {
    state.appointments = data.upcoming_appointments.flatMap((a) => {
      const appointment = asAppointment(a);
      return appointment === undefined ? [] : [appointment];
    });
  }
  // A car the caller named before the account existed is on file already if it matches.
  const mention = state.vehicleMention;
  if (mention !== undefined) {
    const known = state.vehicles.find((v) => vehicleKey(v) === vehicleKey(mention));
    if (known !== undefined) {
      state.request.vehicleId = known.id;
      state.vehicleMention = undefined;
    }
  }
}

function asVehicle(value: unknown): VehicleInfo | undefined {
  const v = value as Partial<VehicleInfo> | undefined;
  if (v === undefined || v === null || typeof v.id !== 'string' || typeof v.year !== 'number') return undefined;
  return { id: v.id, year: v.year, make: String(v.make ?? ''), model: String(v.model ?? '') };
}

function asAppointment(value: unknown): AppointmentInfo | undefined {
  const a = value as Partial<AppointmentInfo> & { status?: unknown } | undefined;
  if (a === undefined || a === null || typeof a.id !== 'string' || typeof a.starts_at !== 'string') return undefined;
  return {
    id: a.id,
    service_type: String(a.service_type ?? 'appointment'),
    when: String(a.when ?? a.starts_at),
    starts_at: a.starts_at,
    vehicle_id: String(a.vehicle_id ?? ''),
  };
}

function isSlot(value: unknown): value is SlotInfo {
  const s = value as Partial<SlotInfo> | undefined;
  return s !== undefined && s !== null && typeof s.start === 'string' && typeof s.label === 'string';
}
