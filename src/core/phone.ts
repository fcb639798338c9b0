/**
 * Phone numbers as customers are keyed by them: E.164 ("+15551234567"). Callers and the LLM say
 * numbers in every shape ("(555) 123-4567", "555.123.4567", "+44 20 7946 0958"); this turns the
 * ones we can read unambiguously into E.164 and refuses the rest rather than guess.
 */

/** E.164: a plus, a country code that never starts with 0, at most 15 digits in all. */
const E164_DIGITS = /^[1-9][0-9]{6,14}$/;
/** What may separate the digits of a number as people write it. */
const WRITTEN_NUMBER = /^[0-9\s().-]+$/;

export function normalizePhone(input: string): string | undefined {
  if (typeof input !== 'string') return undefined;
  const text = input.trim();
  const international = text.startsWith('+');
  const body = international ? text.slice(1) : text;
  if (!WRITTEN_NUMBER.test(body)) return undefined;
  const digits = body.replace(/\D/g, '');
  if (international) return E164_DIGITS.test(digits) ? `+${digits}` : undefined;
  // Without a country code we assume the North American Numbering Plan (+1): the shops are in the
  // US and Canada, where callers say ten digits, or eleven with the leading 1.
  if (digits.length === 10) return `+1${digits}`;
  if (digits.length === 11 && digits.startsWith('1')) return `+${digits}`;
  return undefined;
}
