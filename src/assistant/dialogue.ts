/**
 * The offline assistant's dialogue, as types: what it has learnt on a call (customer, cars,
 * appointments, open times seen), the job the caller wants done, and the `Phase`, the question the
 * caller is answering. conversation-state.ts builds it by replaying a conversation; planner.ts
 * decides from it. Plus the small pure helpers all of them share.
 */
import type { DayWish, TimeWish } from './spoken-when.js';
import { detectService } from './understanding.js';
import type { PersonName } from './understanding.js';
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

/** The appointment being moved or cancelled, when it is known which one. */
export function targetAppointment(state: ConversationState): AppointmentInfo | undefined {
  return appointmentFor(state.appointments, state.job.appointmentId, state.job.hint);
}

export function appointmentFor(list: readonly AppointmentInfo[], id: string | undefined, hint: string | undefined): AppointmentInfo | undefined {
  const chosen = list.find((a) => a.id === id);
  if (chosen !== undefined) return chosen;
  if (list.length === 1) return list[0];
  return hint === undefined ? undefined : appointmentNamedIn(list, hint, undefined);
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
