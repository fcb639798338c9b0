/**
 * What the words of a transcript say about the turn, read the way a person on the phone would:
 * "uh-huh" over the agent is listening, not talking; "my number is 555..." is not finished; "what's
 * your phone number?" invites the keypad. Pure text rules (English), used by turn-taking.ts.
 */

/** Listener feedback: said over someone else's speech, it keeps them talking. */
const BACKCHANNEL = new Set([
  'uh-huh', 'uhhuh', 'uhuh', 'huh', 'mm-hmm', 'mmhmm', 'mhm', 'mhmm', 'hmm', 'hm', 'mm', 'mmm', 'yeah', 'yep',
  'yup', 'yes', 'ya', 'okay', 'ok', 'right', 'sure', 'alright', 'cool', 'great', 'gotcha', 'oh', 'ah', 'aha',
  'nice', 'perfect', 'exactly', 'correct', 'uh',
]);
/** Hesitation: no words yet, the speaker is still getting there. */
const FILLERS = new Set(['uh', 'um', 'umm', 'uhm', 'er', 'erm', 'ah', 'eh', 'hmm', 'hm', 'mm']);
/** Feedback made of words that mean something else on their own ("it", "see"). */
const BACKCHANNEL_PHRASES = /\b(all right|got it|i got it|i see|sounds good|that's right|makes sense)\b/g;

/** Words after which nobody ends a sentence: a conjunction, a preposition, an article, a filler. */
const TRAILING = new Set([
  'and', 'or', 'but', 'because', 'cause', 'if', 'with', 'without', 'to', 'of', 'for', 'at', 'on', 'in', 'from',
  'about', 'the', 'a', 'an', 'my', 'your', 'our', 'their', 'his', 'is', "it's", "i'm", 'um', 'uh', 'er', 'erm',
  'umm', 'uhm',
]);
const NUMBER_WORDS = new Set(['zero', 'oh', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']);
/** A phone number (10 digits in North America) and a VIN (17 characters) are complete at these lengths. */
const PHONE_DIGITS = 10;
const VIN_LENGTH = 17;

/** Lower case words with the punctuation around them removed ("Uh-huh." -> ["uh-huh"]). */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/\s+/)
    .map((w) => w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}']+$/gu, '').replace(/'+$/, ''))
    .filter((w) => w !== '');
}

/**
 * Only listener feedback and hesitation ("uh-huh", "Mm-hmm.", "yeah, okay", "um"): said while the
 * agent talks, it neither stops the agent nor starts a turn. Empty text is not a backchannel.
 */
export function isBackchannel(text: string): boolean {
  const list = words(words(text).join(' ').replace(BACKCHANNEL_PHRASES, 'okay'));
  if (list.length === 0 || list.length > 4) return false;
  return list.every((w) => BACKCHANNEL.has(w) || FILLERS.has(w) || w.split('-').every((part) => BACKCHANNEL.has(part)));
}

/**
 * The caller has said something that is not only feedback or hesitation: enough to take the floor
 * from the agent.
 */
export function hasRealWords(text: string): boolean {
  return words(text).length > 0 && !isBackchannel(text);
}

/**
 * The caller plainly has more to say: the text trails off ("and...", "um", "my number is", a
 * comma), or ends in the middle of something dictated (a phone number short of ten digits, a VIN
 * short of seventeen characters, a house number). A complete sentence is not incomplete even when
 * it ends in a number ("at 3").
 */
export function looksIncomplete(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed === '') return false;
  if (/(\.\.\.|…|,|-|–|—)$/.test(trimmed)) return true;
  const list = words(trimmed);
  const last = list.at(-1);
  if (last === undefined) return false;
  // A question is finished even when it ends in a preposition ("What is it for?").
  if (TRAILING.has(last) && !trimmed.endsWith('?')) return true;
  const run = dictatedRun(list);
  if (run.digits + run.letters === 0) return false;
  if (run.letters > 0) return run.digits > 0 && run.digits + run.letters < VIN_LENGTH;
  // Digits alone: a group of 3 or more that is not yet a whole phone number ("555", "555 0123",
  // "2019", "1400" of an address). One or two digits are an answer or a time ("at 3", "10").
  return run.digits >= 3 && run.digits < PHONE_DIGITS;
}

/** Digits and single letters at the end of the text, as a caller reads out a number or a VIN. */
function dictatedRun(list: readonly string[]): { digits: number; letters: number } {
  let digits = 0;
  let letters = 0;
  for (let i = list.length - 1; i >= 0; i--) {
    const word = list[i]!;
    const compact = word.replace(/[-.()]/g, '');
    if (/^\d+$/.test(compact)) digits += compact.length;
    else if (NUMBER_WORDS.has(word) && (word !== 'oh' || digits > 0)) digits += 1;
    else if (/^[a-z]$/.test(word) && word !== 'a' && word !== 'i') letters += 1;
    else if (/^(?=.*\d)[a-z0-9]+$/.test(compact)) {
      // A VIN read in chunks ("1HGCM", "82633A").
      digits += compact.replace(/[a-z]/g, '').length;
      letters += compact.replace(/\d/g, '').length;
    } else break;
  }
  return { digits, letters };
}

/**
 * The agent asked the caller for a number (a phone number, a ZIP or PIN code, digits): keypad
 * digits that follow are the answer.
 */
export function asksForNumber(text: string): boolean {
  const lower = text.toLowerCase();
  if (!/\b(number|digits|zip|zip code|postal code|pin|code|mileage|odometer)\b/.test(lower)) return false;
  return lower.includes('?') || /\b(enter|type|key in|say|tell me|give me|read me)\b/.test(lower);
}
