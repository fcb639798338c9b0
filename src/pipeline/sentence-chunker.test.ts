import { describe, expect, it } from 'vitest';
import { createMarkdownFilter, createSentenceChunker, type SentenceChunkerOptions } from './sentence-chunker.js';

/** Feed `text` in deltas of the given sizes (cycled), then flush; all chunks in order. */
function chunk(text: string, sizes: number[] = [text.length || 1], options?: SentenceChunkerOptions): string[] {
  const chunker = createSentenceChunker(options);
  const out: string[] = [];
  const chars = [...text];
  for (let offset = 0, k = 0; offset < chars.length; k++) {
    const size = sizes[k % sizes.length]!;
    out.push(...chunker.push(chars.slice(offset, offset + size).join('')));
    offset += size;
  }
  out.push(...chunker.flush());
  return out;
}

/** Chunks must not depend on how the model split its output into deltas. */
function chunkEveryWay(text: string, options?: SentenceChunkerOptions): string[] {
  const whole = chunk(text, undefined, options);
  for (const sizes of [[1], [2], [3, 1, 4], [7, 5]]) expect(chunk(text, sizes, options)).toEqual(whole);
  return whole;
}

describe('sentence ends', () => {
  it.each<[string, string, string[]]>([
    ['one sentence', 'Your car is ready for pickup today.', ['Your car is ready for pickup today.']],
    [
      'the first chunk goes at the first sentence end, however short',
      'Sure! I can help you book an appointment. What day works best for you?',
      ['Sure!', 'I can help you book an appointment.', 'What day works best for you?'],
    ],
    [
      'later sentences shorter than minChars are merged',
      'Okay. Got it. Thanks. See you on Monday morning then. Bye now.',
      ['Okay.', 'Got it. Thanks. See you on Monday morning then.', 'Bye now.'],
    ],
    [
      'question and exclamation marks, closing quotes',
      'Great news! Your appointment is confirmed for Friday! He said "that works?" and then hung up the phone.',
      ['Great news!', 'Your appointment is confirmed for Friday!', 'He said "that works?" and then hung up the phone.'],
    ],
    ['the last sentence needs no trailing space', 'Your total comes to about ninety dollars', ['Your total comes to about ninety dollars']],
  ])('%s', (_name, text, expected) => {
    expect(chunkEveryWay(text)).toEqual(expected);
  });
});

describe('periods that do not end a sentence', () => {
  it.each<[string, string, string[]]>([
    [
      'titles and street abbreviations',
      'Mr. Jones will see you. Dr. Patel is out today. We are at 12 Main St. near the bank.',
      ['Mr. Jones will see you.', 'Dr. Patel is out today. We are at 12 Main St. near the bank.'],
    ],
    [
      'a.m., p.m. and e.g.',
      'We open at 8 a.m. and close at 5 p.m. on weekdays. Bring papers, e.g. your registration.',
      ['We open at 8 a.m. and close at 5 p.m. on weekdays.', 'Bring papers, e.g. your registration.'],
    ],
    [
      'prices, decimals and times',
      'An oil change is $49.99. It takes 1.5 hours. I have 2:30 or 3:45 open on Tuesday afternoon.',
      ['An oil change is $49.99.', 'It takes 1.5 hours. I have 2:30 or 3:45 open on Tuesday afternoon.'],
    ],
    [
      'an ellipsis mid-sentence, and one that ends a sentence',
      'Let me see... yes, Tuesday works. Hmm... One moment while I check the calendar for you.',
      ['Let me see... yes, Tuesday works.', 'Hmm... One moment while I check the calendar for you.'],
    ],
    [
      'initials and month abbreviations',
      'Your advisor is J. R. Smith. The recall notice is dated Jan. 5 and it covers your model.',
      ['Your advisor is J. R. Smith.', 'The recall notice is dated Jan. 5 and it covers your model.'],
    ],
    ['a period inside a web address', 'Visit example.com for the full price list today.', ['Visit example.com for the full price list today.']],
  ])('%s', (_name, text, expected) => {
    expect(chunkEveryWay(text)).toEqual(expected);
  });

  it('waits on a trailing period until it can tell', () => {
    const chunker = createSentenceChunker();
    expect(chunker.push('The price is 49.')).toEqual([]);
    expect(chunker.push('99 for that.')).toEqual([]);
    expect(chunker.push(' Anything else?')).toEqual(['The price is 49.99 for that.']);
    expect(chunker.flush()).toEqual(['Anything else?']);
  });
});

describe('the first chunk breaks early', () => {
  it.each<[string, string, string[]]>([
    [
      'at a comma once it has firstChunkMinChars',
      'Absolutely, I can check that for you, just give me a second to pull it up.',
      ['Absolutely, I can check that for you,', 'just give me a second to pull it up.'],
    ],
    [
      'at a dash',
      'I have Tuesday at ten open — would that work for you, or is Wednesday better?',
      ['I have Tuesday at ten open —', 'would that work for you, or is Wednesday better?'],
    ],
    [
      'at a spaced hyphen and a semicolon',
      'Your car is a 2019 Honda Civic - is that right? Then we are all set; thank you for calling.',
      ['Your car is a 2019 Honda Civic -', 'is that right? Then we are all set; thank you for calling.'],
    ],
    [
      'not before firstChunkMinChars, not inside numbers or times',
      'Yes, at 10:30, we can take the 1,200 mile service; it is quick.',
      ['Yes, at 10:30, we can take the 1,200 mile service;', 'it is quick.'],
    ],
    [
      'only for the first chunk',
      'Sure. We can do Monday, Tuesday, or Wednesday, whichever suits you best, all morning.',
      ['Sure.', 'We can do Monday, Tuesday, or Wednesday, whichever suits you best, all morning.'],
    ],
    ['not at a hyphen inside a word', 'We offer a full-synthetic oil-change package for sedans.', ['We offer a full-synthetic oil-change package for sedans.']],
  ])('%s', (_name, text, expected) => {
    expect(chunkEveryWay(text)).toEqual(expected);
  });

  it('honours firstChunkMinChars', () => {
    expect(chunkEveryWay('Hello there, how can I help?', { firstChunkMinChars: 10 })).toEqual(['Hello there,', 'how can I help?']);
    expect(chunkEveryWay('Hello there, how can I help?', { firstChunkMinChars: 40, maxChars: 100 })).toEqual(['Hello there, how can I help?']);
  });

  it('emits the early chunk as soon as the clause ends', () => {
    const chunker = createSentenceChunker();
    expect(chunker.push('Absolutely, I can check that for you')).toEqual([]);
    expect(chunker.push(',')).toEqual([]);
    expect(chunker.push(' just')).toEqual(['Absolutely, I can check that for you,']);
  });
});

describe('long sentences', () => {
  it('force a break at a space within maxChars', () => {
    const text = 'word '.repeat(30).trim() + '.';
    const chunks = chunkEveryWay(text, { maxChars: 40 });
    expect(chunks.join(' ')).toBe(text);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(40);
    expect(chunks.length).toBe(4);
  });

  it('prefer a clause boundary when forcing a break', () => {
    const text = 'After the inspection we will rotate the tires, check the brakes and top up every fluid we find low';
    expect(chunkEveryWay(text, { maxChars: 60, minChars: 20, firstChunkMinChars: 60 })).toEqual([
      'After the inspection we will rotate the tires,',
      'check the brakes and top up every fluid we find low',
    ]);
  });

  it('do not split a word longer than maxChars', () => {
    const url = 'https://example.com/' + 'a'.repeat(60);
    expect(chunkEveryWay(`Go to ${url} now please.`, { maxChars: 30, minChars: 10, firstChunkMinChars: 10 })).toEqual([
      'Go to',
      url,
      'now please.',
    ]);
  });

  it('keep default chunks under 250 characters', () => {
    const text = 'We can look at the brakes and the suspension and the alignment and the battery '.repeat(8);
    const chunks = chunkEveryWay(text);
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(250);
    expect(chunks.join(' ')).toBe(text.trim());
  });
});

describe('markdown is not read aloud', () => {
  it.each<[string, string, string[]]>([
    ['bold and italics', 'Your **oil change** is *booked* for Monday at nine in the morning.', ['Your oil change is booked for Monday at nine in the morning.']],
    ['inline code', 'Your confirmation code is `AB12` and we will text it to you as well.', ['Your confirmation code is AB12 and we will text it to you as well.']],
    [
      'links keep their text',
      'See [our price list](https://example.com/prices_(2025)) or [call us](tel:+15551234567) any time you like.',
      ['See our price list or call us any time you like.'],
    ],
    ['brackets without a target keep their text', 'That is the [standard] package for most cars on the road.', ['That is the standard package for most cars on the road.']],
    [
      'headings and list items become sentences',
      '## Available times\n\n- Monday at 9\n- Tuesday at 2:30\n* Friday at 11\n1. Oil change\n2) Brake check\n\nWhich one works?',
      ['Available times.', 'Monday at 9. Tuesday at 2:30. Friday at 11.', 'Oil change. Brake check. Which one works?'],
    ],
    [
      'a list after a colon',
      'Here is what we offer for that model:\n1. **Synthetic** oil change — $79.99\n2. Tire rotation\n',
      ['Here is what we offer for that model:', 'Synthetic oil change — $79.99.', 'Tire rotation.'],
    ],
    ['horizontal rules and quotes', 'Thanks for calling.\n\n---\n> We look forward to seeing you soon!', ['Thanks for calling.', 'We look forward to seeing you soon!']],
    ['whitespace collapses', '  Sure,\t\tthe   shop is\r\n open   until five today.  ', ['Sure, the shop is open until five today.']],
    [
      'a line break inside a sentence is a space, list items in lower case are still sentences',
      'We can take your car\nfirst thing tomorrow morning, and we also have:\n- an afternoon slot\n- an evening slot',
      ['We can take your car first thing tomorrow morning,', 'and we also have: an afternoon slot.', 'an evening slot'],
    ],
    ['numbers at a line start are not list markers', '2.5 hours is the usual time\n2025 models are covered too.', ['2.5 hours is the usual time.', '2025 models are covered too.']],
  ])('%s', (_name, text, expected) => {
    expect(chunkEveryWay(text)).toEqual(expected);
  });

  it('the filter strips markers split across deltas', () => {
    const filter = createMarkdownFilter();
    const out = ['*', '*Oil', '*', '* ', '[ch', 'eck](http', 's://x.y/z)', '\n', '#', '# ', 'Next'].map((d) => filter.push(d)).join('') + filter.flush();
    expect(out).toBe('Oil check. Next');
  });

  it('an unfinished link at the end still says its text', () => {
    expect(chunk('Visit [our site](https://exa')).toEqual(['Visit our site']);
    expect(chunk('Press [1 for service')).toEqual(['Press 1 for service']);
  });
});

describe('nothing empty is emitted', () => {
  it.each<[string, string, string[]]>([
    ['empty input', '', []],
    ['only whitespace', '   \n\n\t ', []],
    ['only markdown', '**\n---\n`` ', []],
    ['punctuation alone', '... Sure thing, the car is ready.', ['Sure thing, the car is ready.']],
  ])('%s', (_name, text, expected) => {
    const chunks = chunkEveryWay(text);
    expect(chunks).toEqual(expected);
    for (const c of chunks) expect(c.trim()).toBe(c);
  });
});

describe('flush', () => {
  it('returns the remainder, short or not, and nothing the second time', () => {
    const chunker = createSentenceChunker();
    expect(chunker.push('Sure thing. We close at')).toEqual(['Sure thing.']);
    expect(chunker.flush()).toEqual(['We close at']);
    expect(chunker.flush()).toEqual([]);
  });

  it('settles a pending sentence end and a pending ellipsis', () => {
    const chunker = createSentenceChunker();
    expect(chunker.push('Let me check.')).toEqual([]);
    expect(chunker.flush()).toEqual(['Let me check.']);
    const other = createSentenceChunker();
    expect(other.push('Well...')).toEqual([]);
    expect(other.flush()).toEqual(['Well...']);
  });

  it('rejects inconsistent options', () => {
    expect(() => createSentenceChunker({ minChars: 300, maxChars: 200 })).toThrow(RangeError);
  });
});
