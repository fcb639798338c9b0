import { z } from 'zod';
import type { Availability, Slot } from '../scheduling/availability.js';
import { spokenList } from './spoken.js';
import { defineTool, ok } from './tool.js';

export const getAvailableSlots = defineTool({
  name: 'get_available_slots',
  description:
    'Lists the bookable start times on one date, in shop time. Always call this before offering or booking a time, ' +
    'and before rescheduling to a new time. Offer only times it returns.',
  parameters: z.object({
    date: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD')
      .describe('The day to check, YYYY-MM-DD, in the shop time zone.'),
    duration_minutes: z
      .number()
      .int()
      .min(5)
      .max(480)
      .optional()
      .describe('How long the work takes, if known; otherwise derived from service_type.'),
    service_type: z
      .string()
      .max(100)
      .optional()
      .describe('The service wanted (e.g. "oil change", "brake service"); sets the default duration.'),
  }),
  filler: 'Let me check the calendar.',
  timeoutMs: 6_000,
  async execute(args, context) {
    const day = await context.services.booking.getAvailability(
      { date: args.date, durationMinutes: args.duration_minutes, serviceType: args.service_type },
      { signal: context.signal },
    );
    return ok(
      {
        date: day.date,
        date_label: day.dateLabel,
        closed: day.closed,
        closed_reason: day.closedReason ?? null,
        slots: day.slots.map((slot) => ({ start: slot.start, end: slot.end, label: slot.label })),
      },
      describeAvailability(day),
    );
  },
});

/** A spoken summary: a few times are listed, many are grouped into runs ("between 9 and 11"). */
export function describeAvailability(day: Availability): string {
  if (day.closedReason === 'holiday') return `We're closed on ${day.dateLabel} for the holiday.`;
  if (day.closed) return `We're closed on ${day.dateLabel}.`;
  if (day.slots.length === 0) return `I'm sorry, there are no openings left on ${day.dateLabel}.`;
  if (day.slots.length <= 4) return `On ${day.dateLabel} I have ${spokenList(day.slots.map((s) => s.label))}.`;
  const runs = slotRuns(day.slots).map((run) =>
    run.length === 1 ? `at ${run[0]!.label}` : `any time from ${run[0]!.label} to ${run[run.length - 1]!.label}`,
  );
  return `On ${day.dateLabel} I can start you ${spokenList(runs)}.`;
}

/** Groups consecutive slots (each starting where the grid continues) into runs. */
function slotRuns(slots: readonly Slot[]): Slot[][] {
  const runs: Slot[][] = [];
  let step: number | undefined;
  for (const slot of slots) {
    const current = runs[runs.length - 1];
    const previous = current?.[current.length - 1];
    const gap = previous === undefined ? undefined : Date.parse(slot.start) - Date.parse(previous.start);
    step ??= gap;
    if (current !== undefined && gap !== undefined && gap === step) current.push(slot);
    else runs.push([slot]);
  }
  return runs;
}
