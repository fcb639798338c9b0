import { describe, expect, it } from 'vitest';
import { asksForNumber, hasRealWords, isBackchannel, looksIncomplete, words } from './transcript-cues.js';

describe('transcript cues', () => {
  it('splits a transcript into bare lower-case words', () => {
    expect(words('Uh-huh. Okay, RIGHT!')).toEqual(['uh-huh', 'okay', 'right']);
    expect(words("  I'm at 555-0123.  ")).toEqual(["i'm", 'at', '555-0123']);
  });

  it.each([
    ['uh-huh', true],
    ['Uh huh.', true],
    ['Mm-hmm.', true],
    ['mhm', true],
    ['Yeah.', true],
    ['Okay.', true],
    ['Right.', true],
    ['Sure.', true],
    ['yeah, okay', true],
    ['Got it.', true],
    ['I see.', true],
    ['All right.', true],
    ['um', true],
    ['', false],
    ['It', false],
    ['Wait', false],
    ['No.', false],
    ['Okay so what about Friday', false],
    ['Yeah, I also need brakes.', false],
    ['Hold on', false],
    ['yeah yeah yeah yeah yeah', false],
  ])('%j is a backchannel: %s', (text, expected) => {
    expect(isBackchannel(text)).toBe(expected);
  });

  it('counts as real words what is neither feedback nor hesitation', () => {
    expect(hasRealWords('Wait')).toBe(true);
    expect(hasRealWords('uh, wait')).toBe(true);
    expect(hasRealWords('Uh.')).toBe(false);
    expect(hasRealWords('Mm-hmm.')).toBe(false);
    expect(hasRealWords('  ')).toBe(false);
  });

  it.each([
    // trailing off
    ['I need an oil change and', true],
    ['I need an oil change and...', true],
    ['I was thinking, um', true],
    ['My number is', true],
    ['It is for my', true],
    ['Let me think,', true],
    ['Tuesday works for me —', true],
    // dictating
    ['My number is 555.', true],
    ['My number is 555 555.', true],
    ['555 0123', true],
    ['five five five', true],
    ['It is a 2019', true],
    ['The VIN is 1HGCM 82633', true],
    ['The VIN is 1 H G C M 8 2', true],
    ['I live at 1400', true],
    // complete
    ['My number is 555 555 0123.', false],
    ['5555550123', false],
    ['The VIN is 1HGCM82633A004352', false],
    ['I need an oil change.', false],
    ['Can I come in at 3?', false],
    ['At 10.', false],
    ['Yes.', false],
    ['I have a 2019 Honda Civic.', false],
    ['1400 Main Street.', false],
    ['A Honda.', false],
    ['I want that.', false],
    ['I think so.', false],
    ['What is it for?', false],
    ['', false],
  ])('%j looks incomplete: %s', (text, expected) => {
    expect(looksIncomplete(text)).toBe(expected);
  });

  it.each([
    ["What's the best phone number to reach you?", true],
    ['Could you tell me your ZIP code?', true],
    ['Please enter your number on the keypad.', true],
    ['What is the mileage on it?', true],
    ['I have your number on file.', false],
    ['What day works for you?', false],
    ['Which of the two cars is it?', false],
  ])('%j asks for a number: %s', (text, expected) => {
    expect(asksForNumber(text)).toBe(expected);
  });
});
