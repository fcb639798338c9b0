import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import { SERVICE_CATALOG, resolveService, serviceDuration } from './services.js';

describe('resolveService', () => {
  const cases: Array<{ text: string; id: string; name: string; durationMinutes: number }> = [
    { text: 'Oil change', id: 'oil_change', name: 'Oil change', durationMinutes: 30 },
    { text: 'oil-change', id: 'oil_change', name: 'Oil change', durationMinutes: 30 },
    { text: 'OIL_CHANGE', id: 'oil_change', name: 'Oil change', durationMinutes: 30 },
    { text: 'synthetic oil and filter', id: 'oil_change', name: 'Oil change', durationMinutes: 30 },
    { text: 'tire rotation', id: 'tire_rotation', name: 'Tire rotation', durationMinutes: 30 },
    { text: 'rotate my tires', id: 'tire_rotation', name: 'Tire rotation', durationMinutes: 30 },
    { text: 'state inspection', id: 'inspection', name: 'Inspection', durationMinutes: 45 },
    { text: 'brakes', id: 'brake_service', name: 'Brake service', durationMinutes: 90 },
    { text: 'brake job', id: 'brake_service', name: 'Brake service', durationMinutes: 90 },
    { text: 'Brake inspection', id: 'brake_service', name: 'Brake service', durationMinutes: 90 },
    { text: 'new brake pads', id: 'brake_service', name: 'Brake service', durationMinutes: 90 },
    { text: 'battery', id: 'battery_replacement', name: 'Battery replacement', durationMinutes: 30 },
    { text: 'wheel alignment', id: 'wheel_alignment', name: 'Wheel alignment', durationMinutes: 60 },
    { text: 'car pulls left, needs aligning', id: 'wheel_alignment', name: 'Wheel alignment', durationMinutes: 60 },
    { text: 'check engine light is on', id: 'diagnostic', name: 'Diagnostic', durationMinutes: 60 },
    { text: 'diagnosis', id: 'diagnostic', name: 'Diagnostic', durationMinutes: 60 },
    { text: 'transmission fluid change', id: 'transmission_service', name: 'Transmission service', durationMinutes: 120 },
    { text: '30k maintenance', id: 'general_maintenance', name: 'General maintenance', durationMinutes: 60 },
    { text: 'service', id: 'general_maintenance', name: 'General maintenance', durationMinutes: 60 },
    { text: 'tune-up', id: 'general_maintenance', name: 'General maintenance', durationMinutes: 60 },
    // Unknown work keeps the caller's words, so the booking still says what they asked for.
    { text: '  AC   recharge ', id: 'other', name: 'AC recharge', durationMinutes: 60 },
    { text: 'AC service', id: 'other', name: 'AC service', durationMinutes: 60 },
    { text: 'windshield wipers', id: 'other', name: 'windshield wipers', durationMinutes: 60 },
  ];
  it.each(cases)('$text -> $id', ({ text, ...expected }) => {
    expect(resolveService(text)).toEqual(expected);
  });

  it.each(['', '   ', '!!'])('rejects empty text %j', (text) => {
    expect(() => resolveService(text)).toThrow(ValidationError);
  });

  it('every catalog entry resolves to itself by name', () => {
    for (const service of SERVICE_CATALOG) expect(resolveService(service.name)).toEqual(service);
  });
});

describe('serviceDuration', () => {
  const valid: Array<{ text: string; requested?: number | null; expected: number }> = [
    { text: 'oil change', expected: 30 },
    { text: 'brake job', expected: 90 },
    { text: 'something odd', expected: 60 },
    { text: 'oil change', requested: null, expected: 30 },
    { text: 'oil change', requested: 45, expected: 45 },
    { text: 'brake job', requested: 5, expected: 5 },
    { text: 'anything', requested: 480, expected: 480 },
  ];
  it.each(valid)('$text, $requested -> $expected', ({ text, requested, expected }) => {
    expect(serviceDuration(text, requested)).toBe(expected);
  });

  it.each([0, -30, 42, 12.5, 485, 600, Number.NaN, Number.POSITIVE_INFINITY])('rejects %d minutes', (requested) => {
    try {
      serviceDuration('oil change', requested);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).code).toBe('invalid_duration');
    }
  });
});
