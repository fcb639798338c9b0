/**
 * The offline assistant's memory is the conversation itself: the session re-sends every message on
 * every request, so this module replays them from the start into one typed state. Two kinds of
 * message count: the caller's sentences and the tool results. The assistant's own sentences are
 * never read back; which question the caller was answering (the `Phase`) is recomputed at each of
 * their turns by asking the same deterministic planner what it said at that point. Nothing is kept
 * between requests, so two calls can never leak into each other, a retried request sees exactly
 * what the first one saw, and a context cut short (barge-in, trimming) still replays cleanly.
 */
import { DateTime } from 'luxon';
import type { ChatMessage } from '../providers/llm.js';
import { understandWhen } from './spoken-when.js';
import type { ClockTime, DayWish, TimeWish, WhenWish } from './spoken-when.js';
import {
  asksAboutBookings,
  detectIntent,
  detectService,
  isFarewell,
  isNo,
  isYes,
  normalizeText,
  parseName,
  parseOrdinal,
  parsePhoneNumber,
  serviceFromAnswer,
  titleCase,
  wantsHuman,
  wantsOtherTimes,
} from './understanding.js';
import type { PersonName } from './understanding.js';
import { mergeMention, parseVehicle, pickVehicle, tokenize } from './vehicles.js';
import type { KnownVehicle, VehicleMention } from './vehicles.js';

export type VehicleInfo = KnownVehicle;

export interface AppointmentInfo {
  id: string;
  service_type: string;
  /** ISO 8601 with the shop's offset. */
  starts_at: string;
  vehicle_id: string;
}

/** One bookable start, read from a get_available_slots result. */
export interface SlotInfo {
  /** ISO 8601 with the shop's offset. */
  start: string;
  /** Shop-local 'YYYY-MM-DD'. */
  date: string;
  /** Minutes after shop-local midnight. */
  minutes: number;
}

export interface DaySlots {
  date: string;
  /** "Friday, December 11", as the tool says it. */
  dateLabel: string;
  slots: SlotInfo[];
  /** The tool's sentence about the day (closed, full, or the times). */
  message: string;
}

/**
 * The question the caller is answering: what the assistant last asked. It decides how a short
 * answer is read ("the second one", "yes", "4", "the civic").
 */
export type Phase =
  | { kind: 'idle' }
  | { kind: 'asking_name' }
  | { kind: 'asking_last_name'; first: string }
  | { kind: 'asking_phone' }
  | { kind: 'asking_vehicle'; draft: VehicleMention | undefined }
  | { kind: 'confirming_vehicle'; vehicle: Required<VehicleMention> }
  | { kind: 'choosing_vehicle'; options: VehicleInfo[] }
  | { kind: 'asking_service' }
  | { kind: 'asking_day' }
  | { kind: 'offering'; offered: SlotInfo[]; wish: TimeWish | undefined; suggested: SlotInfo | undefined }
  | { kind: 'confirming_booking'; slot: SlotInfo; service: string; vehicleId: string }
  | { kind: 'choosing_appointment'; purpose: 'cancel' | 'reschedule'; options: AppointmentInfo[] }
  | { kind: 'confirming_cancel'; appointment: AppointmentInfo }
  | { kind: 'confirming_move'; appointment: AppointmentInfo; slot: SlotInfo }
  | { kind: 'anything_else' }
  | { kind: 'offering_to_book' }
  | { kind: 'offering_human' };

export type JobKind = 'book' | 'cancel' | 'reschedule';

/** What the caller wants done, as far as they have said. */
export interface Job {
  intent: JobKind | undefined;
  service: string | undefined;
  day: DayWish | undefined;
  time: TimeWish | undefined;
  /** "What else do you have?": offer times not offered yet. */
  more: 'next' | 'later' | 'earlier' | undefined;
  vehicleId: string | undefined;
  appointmentId: string | undefined;
  /** The caller's words that asked to cancel or move, to find the appointment once the list is known. */
  hint: string | undefined;
  /** "Push it to the following monday" said before the appointment was known: read again once it is. */
  pendingWhen: string | undefined;
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
  phase: Phase;
  lookup: 'none' | 'found' | 'not_found' | 'not_found_other' | 'needs_number' | 'failed';
  lookupsTried: string[];
  customer: { id: string; firstName: string } | undefined;
  vehicles: VehicleInfo[];
  appointments: AppointmentInfo[];
  /** Availability seen so far, by `slotsKey(date, service)`. */
  slots: Map<string, DaySlots>;
  /** Starts of every slot offered so far, so "what else?" never repeats them. */
  offeredSoFar: Set<string>;
  name: PersonName | undefined;
  namesTried: string[];
  createBlocked: boolean;
  /** A car the caller named that is not on file yet; saved only once complete and confirmed. */
  vehicleDraft: VehicleMention | undefined;
  vehicleConfirmed: boolean;
  vehiclesTried: string[];
  /** Answers to the car question that named no car on the list. */
  vehicleMisses: number;
  phoneGiven: { phone: string; lastName: string | undefined } | undefined;
  job: Job;
  /** The newest sentence asked what is booked ("when is my appointment?"). */
  asksList: boolean;
  farewell: boolean;
  wantsHuman: boolean;
  transferred: boolean;
  ended: boolean;
  /** About the newest caller sentence only. */
  lastUser: { text: string; understood: boolean; declined: boolean; wantsMore: boolean } | undefined;
  /** Results of the tool round that ended the conversation so far (empty after a caller sentence). */
  latestResults: ParsedToolResult[];
}

export interface Clock {
  now: Date;
  zone: string;
}

/** What the planner would say in this state: the question the caller then answers. */
export type PhaseOf = (state: ConversationState) => Phase;

export function freshJob(intent?: JobKind): Job {
  return {
    intent,
    service: undefined,
    day: undefined,
    time: undefined,
    more: undefined,
    vehicleId: undefined,
    appointmentId: undefined,
    hint: undefined,
    pendingWhen: undefined,
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
  return `${vehicle.year ?? ''} ${vehicle.make ?? ''} ${vehicle.model ?? ''}`.toLowerCase();
}

/** Minutes after shop-local midnight of an ISO time written with the shop's offset. */
export function minutesOfIso(iso: string): number {
  return Number(iso.slice(11, 13)) * 60 + Number(iso.slice(14, 16));
}

export function replayConversation(messages: readonly ChatMessage[], clock: Clock, phaseOf: PhaseOf): ConversationState {
  const state: ConversationState = {
    phase: { kind: 'idle' },
    lookup: 'none',
    lookupsTried: [],
    customer: undefined,
    vehicles: [],
    appointments: [],
    slots: new Map(),
    offeredSoFar: new Set(),
    name: undefined,
    namesTried: [],
    createBlocked: false,
    vehicleDraft: undefined,
    vehicleConfirmed: false,
    vehiclesTried: [],
    vehicleMisses: 0,
    phoneGiven: undefined,
    job: freshJob(),
    asksList: false,
    farewell: false,
    wantsHuman: false,
    transferred: false,
    ended: false,
    lastUser: undefined,
    latestResults: [],
  };
  const calls = new Map<string, { name: string; args: Record<string, unknown> }>();
  // Whether the assistant's reply to the latest turn was spoken (a question the caller then answers).
  let replied = false;

  for (const message of messages) {
    switch (message.role) {
      case 'system':
        break;
      case 'user':
        // Only a reply the caller heard poses a question; one cut off before any words does not.
        state.phase = replied ? phaseOf(state) : { kind: 'idle' };
        if (state.phase.kind === 'offering') for (const slot of state.phase.offered) state.offeredSoFar.add(slot.start);
        state.latestResults = [];
        applyUser(state, message.content, clock);
        replied = false;
        break;
      case 'assistant':
        if (message.tool_calls !== undefined && message.tool_calls.length > 0) {
          state.latestResults = [];
          for (const call of message.tool_calls) calls.set(call.id, { name: call.function.name, args: parseObject(call.function.arguments) });
          replied = false;
        } else {
          replied = (message.content ?? '').trim() !== '';
        }
        break;
      case 'tool': {
        const call = calls.get(message.tool_call_id);
        if (call === undefined) break;
        const outcome = parseToolResult(call, message.content);
        state.latestResults.push(outcome);
        applyResult(state, outcome, clock);
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

function latestModelYear(clock: Clock): number {
  return DateTime.fromJSDate(clock.now, { zone: clock.zone }).year + 1;
}

// ---- the caller's sentences ----------------------------------------------------------------------

function applyUser(state: ConversationState, text: string, clock: Clock): void {
  const phase = state.phase;
  const t = normalizeText(text);
  const heard = { text, understood: false, declined: false, wantsMore: false };
  state.lastUser = heard;
  state.asksList = false;
  const yes = isYes(t);
  const no = isNo(t);
  const intent = detectIntent(t);

  if (isFarewell(t) || ((phase.kind === 'anything_else' || phase.kind === 'offering_to_book') && no && intent === undefined)) {
    state.farewell = true;
    heard.understood = true;
    return;
  }
  if (wantsHuman(t) || (phase.kind === 'offering_human' && yes)) {
    state.wantsHuman = true;
    heard.understood = true;
    return;
  }

  const when = understandWhen(text, {
    now: clock.now,
    zone: clock.zone,
    anchor: anchorDate(state, intent, text),
    expectingTime: phase.kind === 'offering' || phase.kind === 'confirming_booking' || phase.kind === 'confirming_move',
  });
  const changesWhen = when.day !== undefined || when.time !== undefined;

  // Answers that only mean something after the question just asked.
  switch (phase.kind) {
    case 'asking_phone': {
      const phone = parsePhoneNumber(text);
      if (phone === undefined) break;
      const words = text
        .replace(/[^\p{L}\s'’-]/gu, ' ')
        .split(/\s+/)
        .filter((w) => w.length > 1 && !/^(my|is|the|last|name|number|it's|and|its|under|phone)$/i.test(w));
      const lastName = words[words.length - 1];
      state.phoneGiven = { phone, lastName: lastName === undefined ? undefined : titleCase(lastName) };
      heard.understood = true;
      return;
    }
    case 'confirming_vehicle':
      if (vehicleAnswer(text, phase, latestModelYear(clock)) === undefined && !changesWhen) {
        if (yes) {
          state.vehicleConfirmed = true;
          heard.understood = true;
          return;
        }
        if (no) {
          state.vehicleDraft = undefined;
          heard.understood = true;
          heard.declined = true;
          return;
        }
      }
      break;
    case 'choosing_vehicle': {
      const ordinal = parseOrdinal(text);
      const picked =
        pickVehicle(text, phase.options, latestModelYear(clock)) ??
        (ordinal === undefined ? undefined : ordinal < 0 ? phase.options[phase.options.length - 1] : phase.options[ordinal]);
      if (picked !== undefined) {
        state.job.vehicleId = picked.id;
        heard.understood = true;
        return;
      }
      break;
    }
    case 'confirming_booking':
    case 'confirming_move':
    case 'confirming_cancel':
      if (yes && !changesWhen) {
        state.job.confirmed = true;
        heard.understood = true;
        return;
      }
      if (no && !changesWhen) {
        heard.understood = true;
        heard.declined = true;
        if (phase.kind === 'confirming_cancel') state.job = freshJob();
        else {
          state.job.time = undefined;
          state.job.confirmed = false;
        }
        return;
      }
      break;
    case 'choosing_appointment': {
      const target = pickAppointment(phase.options, text, parseOrdinal(text), when.day);
      if (target !== undefined) {
        state.job.appointmentId = target.id;
        heard.understood = true;
        resolvePendingWhen(state, clock);
        // Naming the appointment by its day is not asking for a new day.
        return;
      }
      break;
    }
    case 'offering': {
      const other = wantsOtherTimes(t);
      if (other !== undefined && !changesWhen) {
        state.job.more = other;
        heard.understood = true;
        return;
      }
      const ordinal = changesWhen ? undefined : parseOrdinal(text);
      const byOrdinal = ordinal === undefined ? undefined : ordinal < 0 ? phase.offered[phase.offered.length - 1] : phase.offered[ordinal];
      const byYes = yes && !changesWhen ? (phase.suggested ?? (phase.offered.length === 1 ? phase.offered[0] : undefined)) : undefined;
      const picked = byOrdinal ?? byYes;
      if (picked !== undefined) {
        takeSlot(state.job, picked);
        heard.understood = true;
        return;
      }
      // "9:30" after times on several days: the day of the one offered at 9:30.
      if (when.day === undefined && when.time?.kind === 'at') {
        const wanted = when.time.time.hour * 60 + when.time.time.minute;
        const offered = phase.offered.find((slot) => slot.minutes === wanted);
        if (offered !== undefined) {
          takeSlot(state.job, offered);
          heard.understood = true;
          return;
        }
      }
      break;
    }
    case 'anything_else':
      if (yes && intent === undefined && !changesWhen && detectService(text) === undefined) {
        heard.understood = true;
        heard.wantsMore = true;
        return;
      }
      break;
    case 'offering_to_book':
      if (yes) {
        state.job = freshJob('book');
        heard.understood = true;
        return;
      }
      break;
    default:
      break;
  }

  if (asksAboutBookings(t) && (intent === undefined || intent === 'availability')) {
    state.asksList = true;
    heard.understood = true;
    return;
  }

  if (intent !== undefined) {
    const kind: JobKind = intent === 'availability' ? (state.job.intent ?? 'book') : intent;
    if (kind !== state.job.intent) state.job = freshJob(kind);
    if (kind === 'cancel' || kind === 'reschedule') state.job.hint = text;
    heard.understood = true;
  }
  const job = state.job;

  const name =
    phase.kind === 'asking_last_name' && state.name !== undefined && state.name.last === undefined
      ? lastNameAnswer(text, state.name)
      : state.customer === undefined
        ? parseName(text, phase.kind === 'asking_name')
        : undefined;
  if (name !== undefined) {
    state.name = name;
    heard.understood = true;
  }

  readVehicle(state, text, clock, phase);

  const service = phase.kind === 'asking_service' ? serviceFromAnswer(text) : detectService(text)?.name;
  if (service !== undefined && job.intent !== 'cancel' && job.intent !== 'reschedule') {
    job.service = service;
    job.confirmed = false;
    job.intent ??= 'book';
    heard.understood = true;
  }

  if (job.intent === 'cancel' || job.intent === 'reschedule') {
    const target = pickAppointment(state.appointments, text, undefined, job.intent === 'cancel' ? when.day : undefined);
    if (target !== undefined) {
      job.appointmentId = target.id;
      heard.understood = true;
    }
  }
  if (job.intent === 'cancel') return;

  if (changesWhen) applyWhen(state, when, text);
  if (when.day === undefined && when.time === undefined && phase.kind === 'asking_vehicle' && !heard.understood) state.vehicleMisses += 1;
}

/** A new day or time for the job; the time resets when only the day changes. */
function applyWhen(state: ConversationState, when: WhenWish, text: string): void {
  const job = state.job;
  if (when.day !== undefined) {
    // A new day drops the time asked for the old one, unless it was "a week later" (same time).
    if (!sameDay(job.day, when.day) && when.keepsTime !== true) job.time = undefined;
    job.day = when.day;
    // "Push it to the following monday" before the appointment is known: read it again once it is.
    if (when.relative === true && job.intent === 'reschedule' && targetAppointment(state) === undefined) job.pendingWhen = text;
  }
  if (when.time !== undefined) job.time = when.time;
  if (when.keepsTime === true && when.time === undefined && job.time === undefined && job.intent === 'reschedule') {
    const target = targetAppointment(state);
    if (target !== undefined) job.time = { kind: 'at', time: clockOf(target.starts_at) };
  }
  job.more = undefined;
  job.confirmed = false;
  job.intent ??= 'book';
  if (state.lastUser !== undefined) state.lastUser.understood = true;
}

function sameDay(a: DayWish | undefined, b: DayWish): boolean {
  if (a === undefined) return false;
  if (a.kind === 'date' && b.kind === 'date') return a.date === b.date;
  if (a.kind === 'range' && b.kind === 'range') return a.from === b.from && a.to === b.to;
  return false;
}

function takeSlot(job: Job, slot: SlotInfo): void {
  job.day = { kind: 'date', date: slot.date };
  job.time = { kind: 'at', time: { hour: Math.floor(slot.minutes / 60), minute: slot.minutes % 60 } };
  job.more = undefined;
  job.confirmed = false;
  job.intent ??= 'book';
}

function clockOf(iso: string): ClockTime {
  const minutes = minutesOfIso(iso);
  return { hour: Math.floor(minutes / 60), minute: minutes % 60 };
}

/**
 * The date under discussion, which "the following monday" and "a week later" count from: the day
 * being looked at, else the appointment being moved.
 */
function anchorDate(state: ConversationState, intent: ReturnType<typeof detectIntent>, text: string): string | undefined {
  const job = state.job;
  const startsMove = intent === 'reschedule' && job.intent !== 'reschedule';
  if (startsMove) return appointmentFor(state.appointments, undefined, text)?.starts_at.slice(0, 10);
  if (job.day?.kind === 'date') return job.day.date;
  const phase = state.phase;
  if (phase.kind === 'offering' && phase.offered[0] !== undefined) return phase.offered[0].date;
  if (job.intent === 'reschedule') return targetAppointment(state)?.starts_at.slice(0, 10);
  return undefined;
}

/** The appointment being moved or cancelled, when it is known which one. */
export function targetAppointment(state: ConversationState): AppointmentInfo | undefined {
  return appointmentFor(state.appointments, state.job.appointmentId, state.job.hint);
}

function appointmentFor(list: readonly AppointmentInfo[], id: string | undefined, hint: string | undefined): AppointmentInfo | undefined {
  const chosen = list.find((a) => a.id === id);
  if (chosen !== undefined) return chosen;
  if (list.length === 1) return list[0];
  return hint === undefined ? undefined : appointmentNamedIn(list, hint, undefined);
}

/** A day said relative to an appointment that was not known yet, read again now that it is. */
function resolvePendingWhen(state: ConversationState, clock: Clock): void {
  const text = state.job.pendingWhen;
  const target = targetAppointment(state);
  if (text === undefined || target === undefined) return;
  state.job.pendingWhen = undefined;
  const when = understandWhen(text, { now: clock.now, zone: clock.zone, anchor: target.starts_at.slice(0, 10) });
  if (when.day !== undefined) state.job.day = when.day;
  if (when.time !== undefined) state.job.time = when.time;
  else if (when.keepsTime === true) state.job.time = { kind: 'at', time: clockOf(target.starts_at) };
}

/** A car in the caller's words: one on file is picked, a new one becomes the draft to confirm. */
function readVehicle(state: ConversationState, text: string, clock: Clock, phase: Phase): void {
  const latestYear = latestModelYear(clock);
  const mention = vehicleAnswer(text, phase, latestYear);
  const answering = phase.kind === 'asking_vehicle' || phase.kind === 'confirming_vehicle';
  if (mention === undefined) return;
  if (state.lastUser !== undefined) state.lastUser.understood = true;

  const onFile = state.vehicles.length > 0 ? pickVehicle(text, state.vehicles, latestYear) : undefined;
  if (onFile !== undefined && !answering) {
    state.job.vehicleId = onFile.id;
    return;
  }
  if (mention.make === undefined && mention.model === undefined && !answering) return;
  const earlier = answering ? (phase.kind === 'asking_vehicle' ? phase.draft : phase.vehicle) : undefined;
  state.vehicleDraft = mergeMention(earlier ?? state.vehicleDraft, mention);
  state.vehicleConfirmed = false;
  matchDraftToFile(state);
}

/** What a sentence says about a car; after a car question, a bare "2017" is its year. */
function vehicleAnswer(text: string, phase: Phase, latestYear: number): VehicleMention | undefined {
  const mention = parseVehicle(text, latestYear);
  if (mention !== undefined || (phase.kind !== 'asking_vehicle' && phase.kind !== 'confirming_vehicle')) return mention;
  const year = /\b(19[5-9]\d|20\d\d)\b/.exec(text);
  return year && Number(year[1]) <= latestYear ? { year: Number(year[1]) } : undefined;
}

/**
 * A car the caller described that turns out to be on file already is used, not added again:
 * "for the ford" said before the account was looked up is their Ford once it is.
 */
function matchDraftToFile(state: ConversationState): void {
  const draft = state.vehicleDraft;
  if (draft === undefined) return;
  const same = (a: string, b: string): boolean => tokenize(a).join(' ') === tokenize(b).join(' ');
  const fits = state.vehicles.filter(
    (v) =>
      (draft.year === undefined || draft.year === v.year) &&
      (draft.make === undefined || same(draft.make, v.make)) &&
      (draft.model === undefined || same(draft.model, v.model)),
  );
  if (fits.length !== 1) return;
  state.job.vehicleId = fits[0]!.id;
  state.vehicleDraft = undefined;
}

function lastNameAnswer(text: string, name: PersonName): PersonName | undefined {
  const parsed = parseName(text.replace(/^\s*(?:my last name is|last name is|it's|it is)\s+/i, ''), true);
  if (parsed === undefined) return undefined;
  // "Sam Lee" again, or just "Lee".
  if (parsed.last !== undefined && parsed.first.toLowerCase() === name.first.toLowerCase()) return parsed;
  return { first: name.first, last: parsed.last === undefined ? parsed.first : `${parsed.first} ${parsed.last}` };
}

function pickAppointment(
  list: readonly AppointmentInfo[],
  text: string,
  ordinal: number | undefined,
  day: DayWish | undefined,
): AppointmentInfo | undefined {
  if (list.length === 0) return undefined;
  if (ordinal !== undefined) return ordinal < 0 ? list[list.length - 1] : list[ordinal];
  return appointmentNamedIn(list, text, day?.kind === 'date' ? day.date : undefined);
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

// ---- tool results --------------------------------------------------------------------------------

function applyResult(state: ConversationState, outcome: ParsedToolResult, clock: Clock): void {
  const { data } = outcome;
  const job = state.job;
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
        resolvePendingWhen(state, clock);
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
      state.vehicleDraft = undefined;
      state.vehicleConfirmed = false;
      const vehicle = asVehicle(data.vehicle);
      if (outcome.success && vehicle !== undefined) {
        if (!state.vehicles.some((v) => v.id === vehicle.id)) state.vehicles.push(vehicle);
        job.vehicleId = vehicle.id;
      }
      return;
    }
    case 'get_available_slots': {
      const date = String(outcome.args.date ?? '');
      const service = typeof outcome.args.service_type === 'string' ? outcome.args.service_type : undefined;
      const slots = Array.isArray(data.slots) ? data.slots.flatMap((s) => slotOf(s)) : [];
      state.slots.set(slotsKey(date, service), {
        date,
        dateLabel: typeof data.date_label === 'string' ? data.date_label : date,
        slots,
        message: outcome.message,
      });
      return;
    }
    case 'book_appointment':
    case 'reschedule_appointment': {
      const appointment = asAppointment(data.appointment);
      if (outcome.success && appointment !== undefined) {
        state.appointments = [...state.appointments.filter((a) => a.id !== appointment.id), appointment].sort((a, b) =>
          a.starts_at.localeCompare(b.starts_at),
        );
        state.job = freshJob();
      } else {
        // The time did not hold (taken meanwhile, too soon...): look at the day again.
        if (job.day?.kind === 'date') {
          const service = outcome.name === 'book_appointment' ? job.service : targetAppointment(state)?.service_type;
          state.slots.delete(slotsKey(job.day.date, service));
        }
        job.time = undefined;
        job.confirmed = false;
      }
      return;
    }
    case 'cancel_appointment': {
      const appointment = asAppointment(data.appointment);
      if (outcome.success && appointment !== undefined) {
        state.appointments = state.appointments.filter((a) => a.id !== appointment.id);
      }
      state.job = freshJob();
      return;
    }
    case 'get_upcoming_appointments':
      if (outcome.success && Array.isArray(data.appointments)) {
        state.appointments = data.appointments.flatMap((a) => {
          const appointment = asAppointment(a);
          return appointment === undefined ? [] : [appointment];
        });
        resolvePendingWhen(state, clock);
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
  matchDraftToFile(state);
}

function asVehicle(value: unknown): VehicleInfo | undefined {
  const v = value as Partial<VehicleInfo> | undefined;
  if (v === undefined || v === null || typeof v.id !== 'string' || typeof v.year !== 'number') return undefined;
  return { id: v.id, year: v.year, make: String(v.make ?? ''), model: String(v.model ?? '') };
}

function asAppointment(value: unknown): AppointmentInfo | undefined {
  const a = value as Partial<AppointmentInfo> | undefined;
  if (a === undefined || a === null || typeof a.id !== 'string' || typeof a.starts_at !== 'string') return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(a.starts_at)) return undefined;
  return {
    id: a.id,
    service_type: String(a.service_type ?? 'appointment'),
    starts_at: a.starts_at,
    vehicle_id: String(a.vehicle_id ?? ''),
  };
}

function slotOf(value: unknown): SlotInfo[] {
  const s = value as { start?: unknown } | undefined;
  if (s === undefined || s === null || typeof s.start !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(s.start)) return [];
  return [{ start: s.start, date: s.start.slice(0, 10), minutes: minutesOfIso(s.start) }];
}
