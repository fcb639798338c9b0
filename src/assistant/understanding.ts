/**
 * What the offline assistant understands of one caller sentence besides days, times (see
 * spoken-when.ts) and cars (vehicles.ts): yes and no, what they want done, names, phone numbers,
 * services, picks from a list. Each parser returns undefined when it is not sure, so the
 * assistant asks instead of guessing.
 */
import { resolveService } from '../scheduling/services.js';
import type { Service } from '../scheduling/services.js';

export interface PersonName {
  first: string;
  last: string | undefined;
}

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

/** Lower case, curly apostrophes straightened, spaces collapsed. */
export function normalizeText(text: string): string {
  return text.toLowerCase().replace(/[’‘]/g, "'").replace(/\s+/g, ' ').trim();
}

export function isYes(text: string): boolean {
  const t = normalizeText(text);
  if (isNo(t)) return false;
  return /^(yes|yeah|yep|yup|sure|ok|okay|please|please do|correct|right|that's right|sounds good|perfect|great|do it|go ahead|book it|confirm|absolutely|definitely|of course|affirmative|that works|that's fine|fine)\b/.test(
    t,
  );
}

export function isNo(text: string): boolean {
  const t = normalizeText(text);
  return /^(no|nope|nah|not really|don't|do not|never mind|nevermind|cancel that|wait)\b/.test(t);
}

/** "bye", "that's all", "nothing else": the caller is done. */
export function isFarewell(text: string): boolean {
  const t = normalizeText(text);
  return (
    /\b(bye|goodbye|good bye|hang up|that's all|that is all|that's it|that is it|nothing else|i'm done|i'm good|all set)\b/.test(t) ||
    /^(no thanks|no thank you|no,? that's everything)\b/.test(t)
  );
}

export function wantsHuman(text: string): boolean {
  return /\b(human|real person|a person|someone|somebody|representative|operator|manager|staff member)\b/.test(normalizeText(text));
}

export type Intent = 'book' | 'cancel' | 'reschedule' | 'availability';

/** The job the caller asks for, if the sentence names one. Cancel and move win over booking words. */
export function detectIntent(text: string): Intent | undefined {
  const t = normalizeText(text);
  if (/\bcancel\b/.test(t) && !/\bcancel that\b/.test(t)) return 'cancel';
  if (
    /\b(reschedule|move|change the (time|day|date)|push (it|that|my appointment|the appointment)|bump (it|that)|switch (it|that)|different (day|time))\b/.test(t)
  ) {
    return 'reschedule';
  }
  if (/\b(book|schedule|make an appointment|set up an appointment|bring (it|my car|the car|her|him) in|come in|appointment for)\b/.test(t)) {
    return 'book';
  }
  if (
    /\b(free|available|availability|openings?|open|what times|do you have|got anything|anything (on|for|this|next|today|tomorrow)|what do you have|fit me in|earliest|soonest|latest)\b/.test(t)
  ) {
    return 'availability';
  }
  return undefined;
}

/** "When is my appointment?", "what do I have booked", "is it still on": a question about what exists. */
export function asksAboutBookings(text: string): boolean {
  const t = normalizeText(text);
  return /\b(when is my|when's my|what time is my|what day is my|what (do|did) i have (booked|scheduled|coming up|on the books)|what do i have|what('s| is| have i got| i have) (booked|scheduled)|what appointments? (do|did) i have|do i have (an|any) appointments?|my upcoming|is (it|my appointment|that|the appointment) still on|am i (still )?(booked|scheduled|on the schedule)|when am i (booked|scheduled|coming in)|check (on )?my appointments?)\b/.test(
    t,
  );
}

/** "What else do you have?", "anything later?", "sorry, what times again?": more times, not the same. */
export function wantsOtherTimes(text: string): 'next' | 'later' | 'earlier' | undefined {
  const t = normalizeText(text);
  if (/\b(anything|something|any|nothing|none|times?|slots?|ones?) (earlier|sooner)\b|\bearlier (ones|times|slots)\b/.test(t)) return 'earlier';
  if (/\b(anything|something|any|nothing|none|times?|slots?|ones?) later\b|\blater (ones|times|slots|in the day)\b/.test(t)) return 'later';
  if (
    /\b(what (other )?times|other times|anything else|something else|what else|any others?|more times|times again|again\?|none of (those|them|these)|neither|(those|these|they) don't work|doesn't work|don't work for me)\b/.test(t)
  ) {
    return 'next';
  }
  return undefined;
}

/** A service from the catalog named anywhere in the sentence; undefined for anything else. */
export function detectService(text: string): Service | undefined {
  const t = normalizeText(text);
  if (t === '') return undefined;
  const service = resolveService(t);
  if (service.id === 'other') return undefined;
  // resolveService takes a bare "service" as maintenance; in a sentence ("book a service") it says nothing.
  if (service.id === 'general_maintenance' && !/\b(maintenance|tune ?up|check ?up)\b/.test(t)) return undefined;
  return service;
}

/** Words that make an answer sound like car work; anything else ("tell me a joke") is not a service. */
const CAR_WORDS =
  /\b(a\/?c|air ?con\w*|heat\w*|engine|tires?|tyres?|wheels?|lights?|noises?|leak\w*|fluids?|filters?|wipers?|belts?|exhaust|muffler|suspension|steering|clutch|coolant|radiator|windshield|glass|detail\w*|wash|car|oil|spark|plugs?|starter|alternator|fuel|check|repair|fix|replace\w*|service|inspect\w*|sticker|recall|headlights?|bulbs?|sensors?|shocks?|struts?|hoses?|pumps?|battery|brakes?)\b/i;

/** The caller's words as a service, when asked for one: catalog entry or, failing that, their words. */
export function serviceFromAnswer(text: string): string | undefined {
  const known = detectService(text);
  if (known !== undefined) return known.name;
  const words = text
    .replace(/^\s*(i need|i want|i'd like|i would like|it needs|it's|it is|just|a|an)\s+/i, '')
    .replace(/^(a|an|the)\s+/i, '')
    .replace(/[.!?]+$/, '')
    .trim();
  if (words.length < 3 || words.length > 80 || !CAR_WORDS.test(words)) return undefined;
  return resolveService(words).name;
}

/** "the first one", "the second", "the last one": a pick from a list just read out (0-based; -1 last). */
export function parseOrdinal(text: string): number | undefined {
  const t = normalizeText(text);
  if (/\b(first|1st)\b/.test(t)) return 0;
  if (/\b(second|2nd)\b/.test(t)) return 1;
  if (/\b(third|3rd)\b/.test(t)) return 2;
  if (/\blast\b/.test(t)) return -1;
  return undefined;
}

/** Words that end a name ("Sam Lee and I need..."), so they are never part of one. */
const STOP_WORDS = new Set([
  'and', 'for', 'at', 'on', 'in', 'please', 'tomorrow', 'today', 'with', 'that', 'which', 'it', 'its', "it's", 'needs', 'need',
  'to', 'the', 'is', 'but', 'so', 'next', 'this', ...WEEKDAYS,
]);

/**
 * A name: "my name is Sam Lee", "it's Sam Lee", or the whole answer when one was asked for
 * (`asked`). Only letters, apostrophes, hyphens and periods count as a name.
 */
export function parseName(text: string, asked: boolean): PersonName | undefined {
  const explicit = /\b(?:my name is|my name's|name is|this is|i am|i'm|call me)\s+(.+)$/i.exec(text);
  let source = explicit ? explicit[1]! : asked ? text : undefined;
  if (source === undefined) return undefined;
  for (let i = 0; i < 3; i++) {
    source = source.replace(/^\s*(?:yes|yeah|sure|ok|okay|hi|hello|hey|it's|it is|it’s|my name is|i'm|i am|this is)[,.!]?\s+/i, '');
  }
  const stripped = source
    .replace(/[,.!?]+/g, ' ')
    .replace(/\s+(?:and|with|i have|i've got|calling|here|please|thanks|thank you)\b.*$/i, '')
    .trim();
  const tokens = stripped.split(/\s+/).filter((token) => token !== '');
  // Unasked, "I'm good" or "this is great" are not names: only a first and last name counts.
  if (tokens.length === 0 || tokens.length > 4 || (!asked && tokens.length < 2)) return undefined;
  if (!tokens.every((token) => /^(?=.*\p{L})[\p{L}\p{M}'’.-]+$/u.test(token))) return undefined;
  if (tokens.some((token) => STOP_WORDS.has(token.toLowerCase()) || NOT_NAMES.has(token.toLowerCase()))) return undefined;
  // Speech-to-text writes names in lower case; a typed "de la Cruz" keeps the caller's spelling.
  const spelled = stripped === stripped.toLowerCase() ? tokens.map(titleCase) : tokens;
  const [first, ...rest] = spelled;
  return { first: first!, last: rest.length === 0 ? undefined : rest.join(' ') };
}

/** Words that answer a name question without being a name. */
const NOT_NAMES = new Set([
  'yes', 'no', 'yeah', 'nope', 'ok', 'okay', 'sure', 'hi', 'hello', 'hey', 'what', 'why', 'sorry', 'good', 'fine', 'great',
  'book', 'cancel', 'move', 'appointment', 'oil', 'change', 'brake', 'brakes', 'bye', 'goodbye', 'thanks', 'not', 'looking',
  'calling', 'just', 'here', 'done', 'going', 'trying', 'wondering', 'interested',
]);

/** Ten or more digits anywhere (spaces, dashes and dots between them allowed). */
export function parsePhoneNumber(text: string): string | undefined {
  const match = /\+?\d[\d\s().-]{8,}\d/.exec(text);
  if (!match) return undefined;
  const digits = match[0].replace(/[^\d+]/g, '');
  return digits.replace(/\D/g, '').length >= 10 ? digits : undefined;
}

export function titleCase(word: string): string {
  if (word !== word.toLowerCase() && word !== word.toUpperCase()) return word;
  return word
    .toLowerCase()
    .replace(/(^|[\s'’-])(\p{L})/gu, (_m, sep: string, letter: string) => `${sep}${letter.toUpperCase()}`);
}
