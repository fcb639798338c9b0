import { describe, expect, it } from 'vitest';
import { buildBusinessRules, defaultBusinessRules } from '../scheduling/business-rules.js';
import { buildSystemPrompt } from './system-prompt.js';

describe('buildSystemPrompt', () => {
  const rules = defaultBusinessRules('America/New_York');

  it("states today's date, weekday and time in the shop zone, not the server's", () => {
    // 03:30 UTC on Wednesday is still Tuesday evening in New York.
    const prompt = buildSystemPrompt({ shopName: 'Main Street Auto', rules, now: new Date('2026-12-02T03:30:00Z') });
    expect(prompt).toContain('Right now it is Tuesday, 2026-12-01, 10:30 PM');
    expect(prompt).toContain('America/New_York');
  });

  it('is rebuilt per turn: a call that crosses midnight sees the new day', () => {
    const before = buildSystemPrompt({ shopName: 'X', rules, now: new Date('2026-12-02T04:59:00Z') });
    const after = buildSystemPrompt({ shopName: 'X', rules, now: new Date('2026-12-02T05:01:00Z') });
    expect(before).toContain('Tuesday, 2026-12-01');
    expect(after).toContain('Wednesday, 2026-12-02');
  });

  it('names the shop, its hours, lunch, upcoming holidays and services with durations', () => {
    const withHoliday = buildBusinessRules({ timeZone: 'America/New_York', holidays: '2026-12-25' });
    const prompt = buildSystemPrompt({ shopName: 'Main Street Auto', rules: withHoliday, now: new Date('2026-12-01T15:00:00Z') });
    expect(prompt).toContain('Main Street Auto');
    expect(prompt).toContain('Monday to Friday 9 AM to 5 PM, Saturday 9 AM to 3 PM, closed Sunday');
    expect(prompt).toMatch(/break from noon to 1 PM/);
    expect(prompt).toContain('2026-12-25');
    expect(prompt).toContain('booked from today up to 2027-03-01');
    expect(prompt).toContain('oil change (30 minutes)');
    expect(prompt).toContain('brake service (90 minutes)');
  });

  it('carries the booking rules and the spoken style', () => {
    const prompt = buildSystemPrompt({ shopName: 'X', rules, now: new Date('2026-12-01T15:00:00Z'), callerNumber: '+15551230001' });
    for (const rule of [
      'Always call get_available_slots before you offer or book any time',
      'Offer only times it returned',
      'confirm the service, the vehicle, the day and the time',
      'calendar invitation',
      'check the new day with get_available_slots first',
      'no markdown, no lists',
      'calling from +15551230001',
    ]) {
      expect(prompt).toContain(rule);
    }
  });

  it('tells the model about the keypad: 0 for a person, numbers typed instead of said', () => {
    const prompt = buildSystemPrompt({ shopName: 'X', rules, now: new Date('2026-12-01T15:00:00Z') });
    expect(prompt).toContain('pressing 0 hands them to a person');
    expect(prompt).toContain('(typed on the keypad)');
  });

  it('promises no calendar invitation of its own, and has the caller choose among several vehicles', () => {
    const prompt = buildSystemPrompt({ shopName: 'X', rules, now: new Date('2026-12-01T15:00:00Z'), callerNumber: '+15551230001' });
    expect(prompt).toContain("About a calendar invitation, say only what the tool's message says");
    expect(prompt).toContain('never promise one yourself');
    expect(prompt).not.toMatch(/invitation is on its way|if they want a calendar invitation/);
    expect(prompt).toContain('If the customer has more than one vehicle, ask which one the appointment is for before you book');
  });

  it('asks for number and last name when the caller number is unknown', () => {
    const prompt = buildSystemPrompt({ shopName: 'X', rules, now: new Date('2026-12-01T15:00:00Z') });
    expect(prompt).toContain("The caller's number is unknown");
  });
});
