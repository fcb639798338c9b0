/**
 * Reading one tool result into the dialogue state: the account found or made, the cars on it, the
 * open times of a day, an appointment booked, moved or cancelled. A result is the tool's JSON
 * (`{ success, data, message }` or `{ success: false, error, message }`) read with the arguments
 * of the call that asked for it.
 */
import { matchDraftToFile, resolvePendingWhen } from './caller-turns.js';
import { freshJob, minutesOfIso, slotsKey, targetAppointment } from './dialogue.js';
import type { AppointmentInfo, Clock, ConversationState, ParsedToolResult, SlotInfo, VehicleInfo } from './dialogue.js';

export function parseObject(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function parseToolResult(call: { name: string; args: Record<string, unknown> }, content: string): ParsedToolResult {
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

export function applyResult(state: ConversationState, outcome: ParsedToolResult, clock: Clock): void {
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
