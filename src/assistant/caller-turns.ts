/**
 * Reading one caller sentence into the dialogue state, in the light of the question it answers
 * (the state's `Phase`): "yes" confirms what was asked, "the second one" picks from what was
 * offered, "the civic" picks a car; anything else is read for a job, a day and time, a service,
 * a car or a name.
 */
import { DateTime } from 'luxon';
import { appointmentFor, appointmentNamedIn, freshJob, minutesOfIso, targetAppointment } from './dialogue.js';
import type { AppointmentInfo, Clock, ConversationState, Job, JobKind, Phase, SlotInfo } from './dialogue.js';
import { understandWhen } from './spoken-when.js';
import type { ClockTime, DayWish, WhenWish } from './spoken-when.js';
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
import type { VehicleMention } from './vehicles.js';

function latestModelYear(clock: Clock): number {
  return DateTime.fromJSDate(clock.now, { zone: clock.zone }).year + 1;
}

export function applyUser(state: ConversationState, text: string, clock: Clock): void {
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
      // "No" to "which time works?" means none of these.
      const other = wantsOtherTimes(t) ?? (no && intent === undefined ? 'next' : undefined);
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
    case 'asking_day':
      // "Would another day work?" "Yes": then which day is the next question; "no": leave it.
      if ((yes || no) && !changesWhen && intent === undefined) {
        heard.understood = true;
        if (no) {
          heard.declined = true;
          state.job = freshJob();
        } else {
          state.job.day = undefined;
          state.job.more = undefined;
        }
        return;
      }
      break;
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

/** A day said relative to an appointment that was not known yet, read again now that it is. */
export function resolvePendingWhen(state: ConversationState, clock: Clock): void {
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
export function matchDraftToFile(state: ConversationState): void {
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
