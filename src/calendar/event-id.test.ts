import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GOOGLE_EVENT_ID, appointmentIdForEventId, eventIdForAppointment } from './event-id.js';

describe('eventIdForAppointment', () => {
  it('maps a UUID to its 32 hex digits, which Google accepts', () => {
    const id = eventIdForAppointment('3F2504E0-4F89-11D3-9A0C-0305E82C3301');
    expect(id).toBe('3f2504e04f8911d39a0c0305e82c3301');
    expect(id).toMatch(GOOGLE_EVENT_ID);
  });

  it('is deterministic and case-insensitive for UUIDs', () => {
    const uuid = randomUUID();
    expect(eventIdForAppointment(uuid)).toBe(eventIdForAppointment(uuid));
    expect(eventIdForAppointment(uuid.toUpperCase())).toBe(eventIdForAppointment(uuid));
  });

  it('gives distinct valid ids for many UUIDs', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = eventIdForAppointment(randomUUID());
      expect(id).toMatch(GOOGLE_EVENT_ID);
      ids.add(id);
    }
    expect(ids.size).toBe(1000);
  });

  it('hashes non-UUID ids into a valid id that cannot collide with a UUID-derived one', () => {
    for (const raw of ['a', 'appt-1', 'ÄÖÜ 🚗', 'x'.repeat(5000)]) {
      const id = eventIdForAppointment(raw);
      expect(id).toMatch(GOOGLE_EVENT_ID);
      expect(id.startsWith('v')).toBe(true);
      expect(eventIdForAppointment(raw)).toBe(id);
    }
    expect(eventIdForAppointment('appt-1')).not.toBe(eventIdForAppointment('appt-2'));
  });

  it('rejects an empty id', () => {
    expect(() => eventIdForAppointment('')).toThrow(/empty/);
  });
});

describe('appointmentIdForEventId', () => {
  it('turns an event id of the UUID form back into the appointment id', () => {
    const uuid = randomUUID();
    expect(appointmentIdForEventId(eventIdForAppointment(uuid))).toBe(uuid);
    expect(appointmentIdForEventId('3f2504e04f8911d39a0c0305e82c3301')).toBe('3f2504e0-4f89-11d3-9a0c-0305e82c3301');
  });

  it.each([
    ['a hashed id', eventIdForAppointment('appt-1')],
    ['an id Google generated for a staff event', 'q0r1s2t3u4v5abcdefghijklmn'],
    ['31 hex digits', '3f2504e04f8911d39a0c0305e82c330'],
    ['33 hex digits', '3f2504e04f8911d39a0c0305e82c33011'],
    ['upper case', '3F2504E04F8911D39A0C0305E82C3301'],
    ['empty', ''],
  ])('is undefined for %s', (_what, eventId) => {
    expect(appointmentIdForEventId(eventId)).toBeUndefined();
  });
});
