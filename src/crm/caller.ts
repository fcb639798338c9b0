/**
 * Who is on the line, and how they prove which customer they are. The phone number is the one the
 * telephone network verified (Twilio's From), never one the caller said. A customer is acted on
 * only once verified: the record with the caller's own number, or one found under another number
 * together with the last name on it, or one created on this call.
 */
import { normalizePhone } from '../core/phone.js';

export interface CallerIdentity {
  phoneNumber: string | undefined;
  /** Grows during the call as the caller proves customers theirs; the CRM service adds to it. */
  verifiedCustomerIds: Set<string>;
}

/** The caller's network-verified number in E.164, or undefined when withheld or unreadable. */
export function callerPhone(caller: CallerIdentity): string | undefined {
  return caller.phoneNumber === undefined ? undefined : normalizePhone(caller.phoneNumber);
}

/** Case, spacing and accents aside: speech-to-text writes "Pena" for Peña and "mcdonald" for McDonald. */
export function sameName(stored: string, said: string): boolean {
  return foldName(stored) === foldName(said) && foldName(said) !== '';
}

function foldName(name: string): string {
  return name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLocaleLowerCase('en-US');
}
