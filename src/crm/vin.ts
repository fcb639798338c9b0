/**
 * Vehicle identification numbers (ISO 3779, with the North American check digit). A VIN heard over
 * the phone is easily garbled, so it is checked before it is stored: the reasons given are meant to
 * be read back to the caller so they can repeat it.
 */

export type VinCheck = { ok: true; vin: string } | { ok: false; reason: string };

export const VIN_LENGTH = 17;

/** Letters stand for digits in the check-digit sum; I, O and Q never appear (they look like 1 and 0). */
const TRANSLITERATION: Readonly<Record<string, number>> = {
  A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8,
  J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9,
  S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9,
};

const WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2] as const;
const CHECK_DIGIT_INDEX = 8;

export function validateVin(input: string): VinCheck {
  const vin = (typeof input === 'string' ? input : '').toUpperCase().replace(/[\s-]/g, '');
  if (vin.length !== VIN_LENGTH) {
    return { ok: false, reason: `A VIN has ${VIN_LENGTH} characters; that one has ${vin.length}.` };
  }
  const forbidden = /[IOQ]/.exec(vin);
  if (forbidden) {
    return {
      ok: false,
      reason: `A VIN never contains the letters I, O or Q, but that one has ${article(forbidden[0])} ${forbidden[0]}. It may be a 1 or a 0.`,
    };
  }
  if (!/^[A-Z0-9]+$/.test(vin)) {
    return { ok: false, reason: 'A VIN has only letters and digits.' };
  }
  if (vin[CHECK_DIGIT_INDEX] !== checkDigit(vin)) {
    return {
      ok: false,
      reason: "That VIN doesn't add up; a character may have been misheard. Could you read it to me again?",
    };
  }
  return { ok: true, vin };
}

/** The check digit a 17-character VIN (I, O, Q excluded) should carry at position 9. */
export function checkDigit(vin: string): string {
  let sum = 0;
  for (let i = 0; i < VIN_LENGTH; i++) {
    const char = vin[i] ?? '';
    const value = /[0-9]/.test(char) ? Number(char) : TRANSLITERATION[char];
    if (value === undefined) throw new Error(`checkDigit: "${char}" cannot appear in a VIN`);
    sum += value * (WEIGHTS[i] ?? 0);
  }
  const remainder = sum % 11;
  return remainder === 10 ? 'X' : String(remainder);
}

function article(letter: string): string {
  // Said aloud: "an I", "an O", "a Q".
  return letter === 'Q' ? 'a' : 'an';
}
