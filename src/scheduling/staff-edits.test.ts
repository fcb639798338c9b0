import { describe, expect, it } from 'vitest';
import type { ListedEvent } from '../calendar/calendar.js';
import { decideStaffEdit } from './staff-edits.js';
import type { AppointmentState, StaffEditDecision } from './staff-edits.js';

const NOW = new Date('2026-12-01T15:00:00Z');
const t = (hhmm: string, day = '2026-12-02') => new Date(`${day}T${hhmm}:00Z`);

const row = (overrides: Partial<AppointmentState> = {}): AppointmentState => ({
  status: 'scheduled',
  startsAt: t('15:00'),
  endsAt: t('16:00'),
  calendarSyncState: 'synced',
  ...overrides,
});
const live = (start: Date | undefined, end: Date | undefined, overrides: Partial<ListedEvent> = {}): ListedEvent => ({
  eventId: 'e',
  status: 'confirmed',
  start,
  end,
  allDay: false,
  ...overrides,
});
const deleted: ListedEvent = { eventId: 'e', status: 'cancelled', allDay: false };

describe('decideStaffEdit', () => {
  const cases: Array<[string, { event: ListedEvent; appointment: AppointmentState | undefined; inItsCalendar?: boolean }, StaffEditDecision]> = [
    ['an event that is not the agent\'s', { event: live(t('15:00'), t('16:00')), appointment: undefined }, { action: 'ignore', reason: 'not_agent_event' }],
    ['the agent\'s event found in another calendar', { event: deleted, appointment: row(), inItsCalendar: false }, { action: 'ignore', reason: 'other_calendar' }],
    ['the agent\'s insert echoing back', { event: live(t('15:00'), t('16:00')), appointment: row() }, { action: 'in_step' }],
    ['a tentative event at the same times', { event: live(t('15:00'), t('16:00'), { status: 'tentative' }), appointment: row() }, { action: 'in_step' }],
    ['staff moved it', { event: live(t('17:00'), t('18:00')), appointment: row() }, { action: 'move', start: t('17:00'), end: t('18:00') }],
    ['staff stretched it', { event: live(t('15:00'), t('16:30')), appointment: row() }, { action: 'move', start: t('15:00'), end: t('16:30') }],
    ['staff moved it to another day', { event: live(t('09:00', '2026-12-09'), t('10:00', '2026-12-09')), appointment: row() }, { action: 'move', start: t('09:00', '2026-12-09'), end: t('10:00', '2026-12-09') }],
    ['staff deleted it', { event: deleted, appointment: row() }, { action: 'cancel' }],
    ['staff deleted it while it is under way', { event: deleted, appointment: row({ startsAt: t('14:00', '2026-12-01'), endsAt: t('16:00', '2026-12-01') }) }, { action: 'cancel' }],
    ['staff deleted an appointment that is over', { event: deleted, appointment: row({ startsAt: t('09:00', '2026-11-30'), endsAt: t('10:00', '2026-11-30') }) }, { action: 'ignore', reason: 'already_over' }],
    ['the agent\'s own cancellation coming back', { event: deleted, appointment: row({ status: 'cancelled' }) }, { action: 'in_step' }],
    ['a deleted event of a completed appointment', { event: deleted, appointment: row({ status: 'completed' }) }, { action: 'in_step' }],
    ['a moved event while the agent\'s newer change is pending', { event: live(t('17:00'), t('18:00')), appointment: row({ calendarSyncState: 'pending' }) }, { action: 'defer', reason: 'local_change_pending' }],
    ['a deletion while the agent\'s newer change is pending', { event: deleted, appointment: row({ calendarSyncState: 'pending' }) }, { action: 'defer', reason: 'local_change_pending' }],
    ['a live event of a cancelled appointment (restored from the bin)', { event: live(t('15:00'), t('16:00')), appointment: row({ status: 'cancelled' }) }, { action: 'ignore', reason: 'not_scheduled' }],
    ['a live event of a no-show moved', { event: live(t('17:00'), t('18:00')), appointment: row({ status: 'no_show' }) }, { action: 'ignore', reason: 'not_scheduled' }],
    ['staff made it an all-day event', { event: live(undefined, undefined, { allDay: true }), appointment: row() }, { action: 'flag', detail: expect.stringMatching(/all-day/) as unknown as string }],
    ['staff shrank it to nothing', { event: live(t('15:00'), t('15:00')), appointment: row() }, { action: 'flag', detail: expect.stringMatching(/no duration/) as unknown as string }],
  ];

  it.each(cases)('%s', (_what, input, expected) => {
    expect(decideStaffEdit({ inItsCalendar: true, now: NOW, ...input })).toEqual(expected);
  });
});
