import { describe, expect, it } from 'vitest';
import { checkDigit, validateVin } from './vin.js';

describe('validateVin', () => {
  it.each(['1HGCM82633A004352', '1M8GDM9AXKP042788', '11111111111111111', 'JH4KA7561PC008269'])(
    'accepts %s',
    (vin) => {
      expect(validateVin(vin)).toEqual({ ok: true, vin });
    },
  );

  it('uppercases and drops spaces and dashes', () => {
    expect(validateVin(' 1hgcm8-2633 a004352 ')).toEqual({ ok: true, vin: '1HGCM82633A004352' });
  });

  it('accepts X as the check digit when the remainder is 10', () => {
    expect(checkDigit('1M8GDM9AXKP042788')).toBe('X');
  });

  it('refuses a wrong check digit', () => {
    const result = validateVin('1HGCM82643A004352');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/misheard/);
  });

  it('refuses I, O and Q, saying which', () => {
    const result = validateVin('1HGCM82633AO04352');
    expect(result).toEqual({
      ok: false,
      reason: 'A VIN never contains the letters I, O or Q, but that one has an O. It may be a 1 or a 0.',
    });
  });

  it('refuses the wrong length, saying how many characters it heard', () => {
    expect(validateVin('1HGCM82633A00435')).toEqual({ ok: false, reason: 'A VIN has 17 characters; that one has 16.' });
    expect(validateVin('')).toEqual({ ok: false, reason: 'A VIN has 17 characters; that one has 0.' });
  });

  it('refuses characters other than letters and digits', () => {
    expect(validateVin('1HGCM82633A00435*')).toEqual({ ok: false, reason: 'A VIN has only letters and digits.' });
  });
});
