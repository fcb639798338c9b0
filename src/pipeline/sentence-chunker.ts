/**
 * Sentence chunker: turns the LLM's streamed text deltas into chunks worth handing to TTS.
 *
 * Two stages. A streaming markdown filter drops what a voice must not read out (bold/italic stars,
 * backticks, heading hashes, list markers, link targets) and collapses whitespace; a line break
 * becomes a sentence end, so list items are spoken as separate sentences. Then a splitter cuts
 * the clean text at sentence ends, where a period after an abbreviation ("Dr.", "a.m.", "e.g."),
 * an initial, inside a number ("$49.99") or an ellipsis followed by lower case is no sentence end.
 *
 * Latency shapes the rules: the first chunk of a reply may also break at a clause boundary
 * (, ; : or a dash) once it is `firstChunkMinChars` long, so the caller hears something while the
 * model is still writing; later chunks are merged until they reach `minChars`, because many tiny
 * TTS requests sound choppy; and nothing grows past `maxChars` without a break at a space.
 *
 * Decisions depend only on the text, never on how it was split into deltas: the same reply gives
 * the same chunks whether it arrives whole or one character at a time. One chunker per reply.
 */

export interface SentenceChunkerOptions {
  /** The first chunk may break at a clause boundary once it has this many characters. Default 24. */
  firstChunkMinChars?: number;
  /** Later chunks shorter than this wait to be merged with the next sentence. Default 30. */
  minChars?: number;
  /** A chunk with no boundary by this length is broken at a space. Default 250. */
  maxChars?: number;
}

export interface SentenceChunker {
  /** Feed the next delta; returns the chunks now complete (often none). */
  push(delta: string): string[];
  /** The reply is complete: returns the rest, cut by the same rules; the last chunk may be short. */
  flush(): string[];
}

const DEFAULTS = { firstChunkMinChars: 24, minChars: 30, maxChars: 250 };

/** Words that end in a period without ending a sentence (compared lower-case, without the period). */
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'st', 'jr', 'sr', 'prof', 'rev', 'hon', 'sgt', 'capt', 'lt', 'col', 'gen',
  'mt', 'ave', 'blvd', 'rd', 'ln', 'hwy', 'ste', 'apt', 'dept', 'approx', 'vs', 'est', 'fig',
  'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
  'mon', 'tue', 'tues', 'wed', 'thu', 'thur', 'thurs', 'fri', 'sat', 'sun',
]);
/** Dotted abbreviations: "e.g", "i.e", "a.m", "p.m", "U.S" (the final period already removed). */
const DOTTED_ABBREVIATION = /^(?:[a-z]\.)+[a-z]$/i;
const OPENERS = /^["'“‘(\[]+/;

const SENTENCE_PUNCT = new Set(['.', '!', '?', '…']);
const CLOSERS = new Set(['"', "'", '”', '’', ')', ']']);
const CLAUSE_PUNCT = new Set([',', ';', ':']);
const DASHES = new Set(['—', '–']);
const SPEAKABLE = /[\p{L}\p{N}]/u;

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\u00a0' || c === '\f' || c === '\v';
}

function isAlnum(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{N}]/u.test(c);
}

// ---------------------------------------------------------------------------------------------
// Stage 1: the markdown filter.

/** Longest "[text](url)" the filter holds back waiting for the closing parenthesis. */
const MAX_LINK_CHARS = 500;

interface MarkdownFilter {
  push(delta: string): string;
  flush(): string;
}

/** Streaming markdown -> plain speakable text with single spaces and no leading space. */
export function createMarkdownFilter(): MarkdownFilter {
  let out = '';
  let lastOut = ''; // the last character written, across pushes ('' at the start)
  // Whitespace is written only once the next word arrives, so a line end can still put its
  // period straight after the word ("word  \n" -> "word.").
  let pendingSpace = false;
  // A line that ended in a word: a sentence end, unless the next line just carries on in lower case.
  let lineEndPending = false;
  let lastNonSpaceOnLine = '';
  let atLineStart = true;
  let lineHold = ''; // a possible block marker at the start of a line, not yet decided
  let link: { phase: 'text' | 'close' | 'url'; text: string; url: string; depth: number } | null = null;

  function write(c: string): void {
    if (isSpace(c)) {
      if (lastOut !== '' && lastOut !== ' ') pendingSpace = true;
      return;
    }
    if (lineEndPending) resolveLineEnd(!/\p{Ll}/u.test(c));
    if (pendingSpace) out += ' ';
    pendingSpace = false;
    out += c;
    lastOut = c;
    lastNonSpaceOnLine = c;
  }

  /** Inline text: emphasis and code markers dropped, everything else written. */
  function writeInline(c: string): void {
    if (c === '*' || c === '`') return;
    write(c);
  }

  function resolveLineEnd(sentenceEnd: boolean): void {
    lineEndPending = false;
    if (sentenceEnd) {
      out += '.';
      lastOut = '.';
    }
    pendingSpace = true;
  }

  function endLine(): void {
    pendingSpace = false;
    if (lineEndPending) {
      // A blank line after a line ending in a word: a paragraph break, so a sentence end.
      resolveLineEnd(true);
    } else if (isAlnum(lastNonSpaceOnLine)) {
      // A line ending in a word (a list item, a heading) ends its sentence, so TTS pauses there;
      // decided by the next line's first letter.
      lineEndPending = true;
    } else if (lastOut !== '' && lastOut !== ' ') {
      // Already punctuated: the line end is a sure word break, written now so the splitter need not wait.
      out += ' ';
      lastOut = ' ';
    }
    lastNonSpaceOnLine = '';
    atLineStart = true;
  }

  function releaseLink(): void {
    if (link === null) return;
    const { text } = link;
    link = null;
    for (const c of text) writeInline(c);
  }

  function abandonLink(): void {
    if (link === null) return;
    const { phase, text, url } = link;
    link = null;
    for (const c of text) writeInline(c);
    // Not a link after all: what followed the text is ordinary text again.
    if (phase === 'url') for (const c of `(${url}`) handle(c);
  }

  function handleLink(c: string): boolean {
    if (link === null) return false;
    if (link.phase === 'text') {
      if (c === ']') link.phase = 'close';
      else if (c === '\n' || link.text.length >= MAX_LINK_CHARS) {
        abandonLink();
        return false;
      } else link.text += c;
      return true;
    }
    if (link.phase === 'close') {
      if (c === '(') {
        link.phase = 'url';
        link.depth = 1;
        return true;
      }
      // "[text]" with no target: say the text, drop the brackets.
      releaseLink();
      return false;
    }
    if (c === '(') link.depth++;
    else if (c === ')') link.depth--;
    if (link.depth === 0) {
      releaseLink();
      return true;
    }
    if (isSpace(c) || link.url.length >= MAX_LINK_CHARS) {
      abandonLink();
      return false;
    }
    link.url += c;
    return true;
  }

  function handleInline(c: string): void {
    if (c === '\r') return;
    if (handleLink(c)) return;
    if (c === '\n') return endLine();
    if (c === '[') {
      link = { phase: 'text', text: '', url: '', depth: 0 };
      return;
    }
    writeInline(c);
  }

  /**
   * Decide a held line start: returns 'more' while undecided, 'marker' to drop the hold (a
   * heading, list or quote marker), 'text' to let it through as ordinary text.
   */
  function classifyLineStart(hold: string): 'more' | 'marker' | 'text' {
    // Runs of - * _ stay undecided to the line end: "---" alone on a line is a rule, dropped.
    if (/^#{1,6}$/.test(hold) || /^[-*_+]+$/.test(hold) || /^\d{1,3}[.)]?$/.test(hold)) return 'more';
    if (/^(?:#{1,6}|[-*+]|\d{1,3}[.)]|>) $/.test(hold) || hold === '>') return 'marker';
    return 'text';
  }

  function handle(c: string): void {
    if (!atLineStart || link !== null) return handleInline(c);
    if (c === '\n') {
      const held = lineHold;
      lineHold = '';
      atLineStart = false;
      if (/^[-*_]{3,}$/.test(held)) {
        if (lineEndPending) resolveLineEnd(true);
      } else for (const h of held) handleInline(h);
      return endLine();
    }
    if (lineHold === '' && isSpace(c)) return; // indentation
    lineHold += c === '\t' ? ' ' : c;
    const verdict = classifyLineStart(lineHold);
    if (verdict === 'more') return;
    const held = lineHold;
    lineHold = '';
    // A quote marker may be followed by a list marker ("> - item"): stay at the line start.
    if (verdict === 'marker') {
      // A list item or heading starts a new sentence whatever its case.
      if (lineEndPending) resolveLineEnd(true);
      if (!held.startsWith('>')) atLineStart = false;
      return;
    }
    atLineStart = false;
    for (const h of held) handleInline(h);
  }

  return {
    push(delta) {
      out = '';
      for (const c of delta) handle(c);
      return out;
    },
    flush() {
      out = '';
      if (lineHold !== '') {
        const held = lineHold;
        lineHold = '';
        atLineStart = false;
        for (const h of held) handleInline(h);
      }
      releaseLink();
      if (lineEndPending) resolveLineEnd(true);
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Stage 2: the splitter.

type Scan =
  /** Cut here: the chunk is text[0, end). */
  | { kind: 'cut'; end: number }
  /** Cannot decide before more text arrives; resume scanning at `from`. */
  | { kind: 'wait'; from: number };

function endsWithAbbreviation(text: string, periodIndex: number): boolean {
  let start = periodIndex;
  while (start > 0 && !isSpace(text[start - 1])) start--;
  const word = text.slice(start, periodIndex).replace(OPENERS, '');
  if (word === '') return false;
  if (ABBREVIATIONS.has(word.toLowerCase())) return true;
  if (DOTTED_ABBREVIATION.test(word)) return true;
  // An initial ("J. Smith"), but not the pronoun "I."
  return /^[A-Z]$/.test(word) && word !== 'I';
}

export function createSentenceChunker(options: SentenceChunkerOptions = {}): SentenceChunker {
  const firstChunkMinChars = options.firstChunkMinChars ?? DEFAULTS.firstChunkMinChars;
  const minChars = options.minChars ?? DEFAULTS.minChars;
  const maxChars = options.maxChars ?? DEFAULTS.maxChars;
  if (!(maxChars > 0) || minChars > maxChars || firstChunkMinChars > maxChars) {
    throw new RangeError(
      `createSentenceChunker: need 0 < minChars, firstChunkMinChars <= maxChars (got ${minChars}, ${firstChunkMinChars}, ${maxChars})`,
    );
  }

  const markdown = createMarkdownFilter();
  let text = ''; // clean text not yet emitted; never starts with a space
  let scanFrom = 0; // everything before this has been ruled out as a cut point
  let emittedFirst = false;

  /** Whether a chunk of `length` characters may end at a sentence end / a clause boundary. */
  function sentenceCutAllowed(length: number): boolean {
    return !emittedFirst || length >= minChars;
  }
  function clauseCutAllowed(length: number): boolean {
    return !emittedFirst && length >= firstChunkMinChars;
  }

  /**
   * Scan `text` from `scanFrom` for the first allowed cut. `final` means no more text will come,
   * so the end of the text counts as whitespace.
   */
  function scan(final: boolean): Scan {
    const n = text.length;
    let i = scanFrom;
    while (i < n) {
      if (i >= maxChars) return forcedCut(final);
      const c = text[i]!;
      if (SENTENCE_PUNCT.has(c)) {
        let j = i;
        while (j < n && SENTENCE_PUNCT.has(text[j]!)) j++;
        let k = j;
        while (k < n && CLOSERS.has(text[k]!)) k++;
        if (k === n && !final) return { kind: 'wait', from: i };
        if (k < n && !isSpace(text[k])) {
          i = j; // "2.5", "x.com", "a.m" mid-word: no sentence end here
          continue;
        }
        const run = text.slice(i, j);
        let isEnd = true;
        if (run === '.') {
          isEnd = !endsWithAbbreviation(text, i);
        } else if (run === '...' || run === '…' || /^\.{2,}$/.test(run)) {
          // An ellipsis ends the sentence only if what follows starts a new one.
          let m = k;
          while (m < n && isSpace(text[m])) m++;
          if (m === n && !final) return { kind: 'wait', from: i };
          const next = text[m];
          isEnd = next === undefined || !/\p{Ll}/u.test(next);
        }
        if (isEnd && sentenceCutAllowed(k)) {
          if (k > maxChars) return forcedCut(final);
          return { kind: 'cut', end: k };
        }
        i = k;
        continue;
      }
      if (!emittedFirst) {
        let end = -1;
        if (CLAUSE_PUNCT.has(c)) {
          if (i + 1 === n && !final) return { kind: 'wait', from: i };
          if (i + 1 === n || isSpace(text[i + 1])) end = i + 1;
        } else if (DASHES.has(c)) {
          end = i + 1;
        } else if (c === '-' && isSpace(text[i - 1])) {
          // A spaced hyphen (or double hyphen) used as a dash, not "oil-change" or "-5".
          let j = i;
          while (j < n && text[j] === '-') j++;
          if (j === n && !final) return { kind: 'wait', from: i };
          if (j - i <= 2 && (j === n || isSpace(text[j]))) end = j;
          else {
            i = j;
            continue;
          }
        }
        if (end > 0 && clauseCutAllowed(end)) return { kind: 'cut', end };
      }
      i++;
    }
    if (n > maxChars) return forcedCut(final);
    return { kind: 'wait', from: n };
  }

  /**
   * No allowed boundary within maxChars: cut at the last clause boundary (if it leaves a chunk of
   * at least minChars), else at the last space, within maxChars; failing that, at the first space
   * after it. A single word longer than maxChars waits for its space.
   */
  function forcedCut(final: boolean): Scan {
    const limit = Math.min(maxChars, text.length);
    let lastSpace = -1;
    let lastClause = -1;
    for (let i = 1; i < limit; i++) {
      if (!isSpace(text[i])) continue;
      lastSpace = i;
      const before = text[i - 1]!;
      if ((CLAUSE_PUNCT.has(before) || DASHES.has(before)) && i >= minChars) lastClause = i;
    }
    if (limit === maxChars && text.length > maxChars && isSpace(text[maxChars])) lastSpace = maxChars;
    const cutAt = lastClause > 0 ? lastClause : lastSpace;
    if (cutAt > 0) return { kind: 'cut', end: cutAt };
    for (let i = limit; i < text.length; i++) if (isSpace(text[i])) return { kind: 'cut', end: i };
    return final ? { kind: 'cut', end: text.length } : { kind: 'wait', from: text.length };
  }

  function take(end: number, into: string[]): void {
    const chunk = text.slice(0, end).trim();
    text = text.slice(end).trimStart();
    scanFrom = 0;
    // Punctuation alone ("-", "...") is not worth a TTS request.
    if (SPEAKABLE.test(chunk)) {
      into.push(chunk);
      emittedFirst = true;
    }
  }

  function drain(final: boolean): string[] {
    const chunks: string[] = [];
    for (;;) {
      if (text === '') break;
      const result = scan(final);
      if (result.kind === 'wait') {
        scanFrom = result.from;
        break;
      }
      take(result.end, chunks);
    }
    if (final && text !== '') take(text.length, chunks);
    return chunks;
  }

  return {
    push(delta) {
      const clean = markdown.push(delta);
      if (clean === '') return [];
      text += text === '' ? clean.trimStart() : clean;
      return drain(false);
    },
    flush() {
      const clean = markdown.flush();
      text += text === '' ? clean.trimStart() : clean;
      return drain(true);
    },
  };
}
