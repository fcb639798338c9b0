/**
 * Turn-taking over event sequences as a call produces them: the local VAD's 32 ms windows, the
 * STT's events (as Deepgram sends them: SpeechStarted on any sound, interims, a final with
 * speech_final after 300 ms of quiet, UtteranceEnd a second after the last word), keypad digits,
 * and the agent's side. Each row is one timeline and the actions it must (and must only) produce;
 * the harness ticks at every deadline the module asks for, as the session's timer does.
 */
import { describe, expect, it } from 'vitest';
import { createTurnTaking, DEFAULT_TURN_TAKING } from './turn-taking.js';
import type { TurnAction, TurnInput } from './turn-taking.js';
import recordings from './turn-taking.recordings.json' with { type: 'json' };

type AgentState = 'silent' | 'speaking' | 'paused';
type Step = TurnInput | { type: 'agent'; state: AgentState; atMs: number };

const WINDOW = 32;

/**
 * VAD windows from `atMs` on, one per character: 'S' speech (the model at 0.7), 'V' speech it was
 * sure of (0.95: a vowel), 'c' not speech but the model leans to it (0.5: a closure), 'h' a sound
 * that is not speech (0.05: an "s", a hum), '.' silence (0.05).
 */
const PROBABILITY: Record<string, number> = { S: 0.7, V: 0.95, c: 0.5, h: 0.05, '.': 0.05 };
function vad(atMs: number, pattern: string): Step[] {
  return [...pattern].map((c, i) => ({
    type: 'vad',
    atMs: atMs + (i + 1) * WINDOW,
    speech: c === 'S' || c === 'V',
    probability: PROBABILITY[c]!,
    durationMs: WINDOW,
    audible: c !== '.',
  }));
}
const agent = (state: AgentState, atMs: number): Step => ({ type: 'agent', state, atMs });
const started = (atMs: number): Step => ({ type: 'speech_started', atMs });
type Words = Extract<TurnInput, { type: 'transcript' }>;
const interim = (text: string, atMs: number): Words => ({ type: 'transcript', text, isFinal: false, speechFinal: false, atMs });
const final = (text: string, atMs: number, speechFinal = true): Words => ({ type: 'transcript', text, isFinal: true, speechFinal, atMs });
const utteranceEnd = (atMs: number): Step => ({ type: 'utterance_end', atMs });
/** Words that came after the caller's line had carried nothing loud enough to be them for `quietLineMs`. */
const overQuietLine = (words: Words, quietLineMs: number): Words => ({ ...words, quietLineMs });
const key = (digit: string, atMs: number): Step => ({ type: 'dtmf', digit, atMs });
const said = (text: string, atMs: number): Step => ({ type: 'agent_said', text, atMs });

/** Runs the steps (sorted by time), ticking at deadlines; returns the actions as short strings. */
function run(steps: Step[], untilMs = 10_000, minInterruptionMs = DEFAULT_TURN_TAKING.minInterruptionMs): string[] {
  let state: AgentState = 'silent';
  const taking = createTurnTaking({
    ...DEFAULT_TURN_TAKING,
    minInterruptionMs,
    agent: { talking: () => state !== 'silent', paused: () => state === 'paused' },
  });
  const log: string[] = [];
  const apply = (actions: TurnAction[], atMs: number): void => {
    for (const action of actions) {
      switch (action.type) {
        case 'pause':
          state = 'paused';
          log.push(`pause@${atMs}`);
          break;
        case 'resume':
          state = 'speaking';
          log.push(`resume@${atMs}`);
          break;
        case 'interrupt':
          state = 'silent';
          log.push(`interrupt@${atMs}`);
          break;
        case 'user_turn':
          log.push(`turn(${action.via})@${atMs}: ${action.text}`);
          break;
        case 'keypad_shortcut':
          log.push(`shortcut ${action.key}@${atMs}`);
          break;
        case 'background_words':
          log.push(`background@${atMs}: ${action.text}`);
          break;
        case 'transcript':
        case 'caller_active':
          break;
      }
    }
  };
  const tickUntil = (atMs: number): void => {
    for (let due = taking.deadline(); due !== undefined && due <= atMs; due = taking.deadline()) {
      apply(taking.handle({ type: 'tick', atMs: due }), due);
    }
  };
  for (const step of [...steps].sort((a, b) => a.atMs - b.atMs)) {
    tickUntil(step.atMs);
    if (step.type === 'agent') state = step.state;
    else apply(taking.handle(step), step.atMs);
  }
  tickUntil(untilMs);
  return log;
}

describe('turn-taking', () => {
  it.each<[string, Step[], string[]]>([
    // ---- noise and speech over the agent -------------------------------------------------------
    [
      'an engine, a cough, a door over the agent: SpeechStarted and empty transcripts, no VAD speech',
      [agent('speaking', 0), started(100), ...vad(90, '..........'), interim('', 500), final('', 800), utteranceEnd(1800)],
      [],
    ],
    [
      'a short burst the VAD takes for speech (150 ms) is not enough to stop the agent',
      [agent('speaking', 0), ...vad(1000, 'SSSSS.....')],
      [],
    ],
    [
      'speech over the agent: paused after 200 ms of VAD speech, then its words take the floor, and the turn ends',
      [
        agent('speaking', 0),
        ...vad(1000, 'SSSSSSSSSSSSSSSSSSSS..........'),
        started(1060),
        interim('Wait', 1350),
        final('Wait, I need to change that.', 1700),
        utteranceEnd(2700),
      ],
      ['pause@1192', 'interrupt@1350', 'turn(speech)@1700: Wait, I need to change that.'],
    ],
    [
      'speech with dips between syllables counts by how long it lasts: a 200 ms burst with 4 speech windows; short, so it resumes 160 ms after',
      [agent('speaking', 0), ...vad(1000, 'SSS.SS.SS')],
      ['pause@1192', 'resume@1448'],
    ],
    [
      'a word broken by a long closure ("Ac-tually") is one burst: it stops the agent at the 4th speech window',
      [agent('speaking', 0), ...vad(1000, 'SSS.....SS')],
      ['pause@1288', 'resume@1480'],
    ],
    [
      'a quiet "Ac-tually": the closure after a syllable the model was sure of is speech while it leans to it, so the agent stops before the "tu"',
      [agent('speaking', 0), ...vad(1000, 'VVV.cc...VVVVVV')],
      // (Before: at the 4th speech window, the "tu", pause@1320.)
      ['pause@1192', `resume@${1000 + 15 * WINDOW + 160}`],
    ],
    [
      '...not after a syllable it was unsure of: then the burst goes on to the "tu"',
      [agent('speaking', 0), ...vad(1000, 'SSS.cc...SSSSSS')],
      ['pause@1320', `resume@${1000 + 15 * WINDOW + 160}`],
    ],
    [
      '...nor after sure windows further apart than a closure (far-off babble): they are no syllable',
      [agent('speaking', 0), ...vad(1000, 'V...Vcc...Vcc....')],
      [],
    ],
    [
      'once the agent is paused, the tail of an "uh-huh" the model leans to does not hold the pause',
      [agent('speaking', 0), ...vad(1000, 'VVVVVVVVVcc' + '.'.repeat(10))],
      [`pause@1192`, `resume@${1000 + 9 * WINDOW + 160}`],
    ],
    [
      'a word that starts with a sound that is not voice ("Stop"): the "s" rising out of a silent line starts the burst, which stops the agent at its 4th speech window',
      [agent('speaking', 0), ...vad(1000, '....hhhVVVVVVV.....')],
      // (Without the "s": at the 6th speech window, pause@1416.)
      [`pause@${1000 + 11 * WINDOW}`, `resume@${1000 + 14 * WINDOW + 160}`],
    ],
    [
      '...its first window does not count (it may be mostly silence before the onset): one window of sound gains nothing',
      [agent('speaking', 0), ...vad(1000, '....hVVVVVVV.....')],
      [`pause@${1000 + 11 * WINDOW}`, `resume@${1000 + 12 * WINDOW + 160}`],
    ],
    [
      '...nor does sound on a line that was never silent while the VAD listened (an engine, a street)',
      [agent('speaking', 0), ...vad(1000, 'hhhhVVVVVVV.....')],
      [`pause@${1000 + 10 * WINDOW}`, `resume@${1000 + 11 * WINDOW + 160}`],
    ],
    [
      '...nor a run of sound longer than a consonant (over 160 ms: a hum, a far voice)',
      [agent('speaking', 0), ...vad(1000, '....hhhhhhVVVVVV.....')],
      [`pause@${1000 + 16 * WINDOW}`, `resume@${1000 + 16 * WINDOW + 160}`],
    ],
    [
      '...and the sound never makes up the speech share: a consonant and 3 speech windows are not an interruption',
      [agent('speaking', 0), ...vad(1000, '....hhhhhVVV.....')],
      [],
    ],
    [
      'two blips further apart than a closure are not one burst, and 4 windows are not 200 ms of speech',
      [agent('speaking', 0), ...vad(1000, 'SS.......SS........')],
      [],
    ],
    [
      'speech heard before the agent went quiet does not count towards the next interruption',
      [agent('speaking', 0), ...vad(1000, 'SSSSS'), agent('silent', 1200), agent('speaking', 5000), ...vad(5000, 'SS...')],
      [],
    ],
    [
      'without a VAD, STT words alone take the floor',
      [agent('speaking', 0), started(1000), interim('Hold on', 1400), final('Hold on a second.', 1900)],
      ['interrupt@1400', 'turn(speech)@1900: Hold on a second.'],
    ],
    // ---- words from behind the caller ---------------------------------------------------------
    [
      'a voice behind the caller the STT transcribes (a radio, a colleague) over a line quiet for 2.6 s: not the caller, nothing happens',
      [
        agent('speaking', 0),
        started(2300),
        overQuietLine(interim('Is the Camry ready', 2600), 2600),
        overQuietLine(final('Is the Camry ready?', 3000), 3000),
        utteranceEnd(4000),
      ],
      ['background@2600: Is the Camry ready', 'background@3000: Is the Camry ready?'],
    ],
    [
      "the caller's own words, 1.8 s after the line last carried their voice (a slow STT): they take the floor",
      [agent('speaking', 0), overQuietLine(final('Wait.', 3000), 1800)],
      ['interrupt@3000', 'turn(speech)@3000: Wait.'],
    ],
    [
      '...but words after 2.1 s of a quiet line are not theirs',
      [agent('speaking', 0), overQuietLine(final('Wait.', 3000), 2100)],
      ['background@3000: Wait.'],
    ],
    [
      'while the agent is silent, words over a quiet line are still a turn: only a voice over the agent is told apart',
      [agent('silent', 0), overQuietLine(final('Okay.', 5000), 5000)],
      ['turn(speech)@5000: Okay.'],
    ],
    [
      'a pause for more speech than feedback (1.28 s) that brings no words resumes after 1.5 s, once the caller is quiet',
      [agent('speaking', 0), ...vad(1000, 'S'.repeat(40) + '.'.repeat(60))],
      ['pause@1192', 'resume@2692'],
    ],
    [
      'a pause waits for a caller who is still making sounds, and resumes when they stop',
      [agent('speaking', 0), ...vad(1000, 'S'.repeat(70) + '.'.repeat(20))],
      ['pause@1192', `resume@${1000 + 70 * WINDOW + 300}`],
    ],
    // ---- backchannels --------------------------------------------------------------------------
    [
      '"uh-huh" over the agent: paused by the VAD, resumed 160 ms after it ends, before the STT has a word',
      [agent('speaking', 0), ...vad(1000, 'SSSSSSSSSSSS..........'), started(1010), final('Uh-huh.', 1700), utteranceEnd(2400)],
      ['pause@1192', `resume@${1000 + 12 * WINDOW + 160}`],
    ],
    [
      '"uh-huh" whose words come while the caller still says it: resumed at once, and the rest of it does not stop the agent again',
      [agent('speaking', 0), ...vad(1000, 'S'.repeat(15) + '.'.repeat(20)), interim('Uh-huh', 1300), final('Uh-huh.', 1800)],
      ['pause@1192', 'resume@1300'],
    ],
    [
      'feedback longer than feedback usually is ("mm-hmm, mm-hmm", 1.1 s): resumed as soon as the STT shows it',
      [agent('speaking', 0), ...vad(1000, 'S'.repeat(35) + '.'.repeat(20)), interim('Mm-hmm.', 1500), final('Mm-hmm, mm-hmm.', 2300)],
      ['pause@1192', 'resume@1500'],
    ],
    [
      'words that are only feedback before the VAD is sure: the agent never stops',
      [agent('speaking', 0), ...vad(1000, 'SSSS' + 'S'.repeat(8) + '.'.repeat(10)), interim('Yeah', 1120), final('Yeah.', 1500)],
      [],
    ],
    [
      'speech going on for longer than feedback after the STT called it feedback stops the agent, 200 ms on',
      [agent('speaking', 0), ...vad(1000, 'S'.repeat(50) + '.'.repeat(60)), interim('Mm-hmm', 1300)],
      // Resumed at the words. Feedback lasts at most 1 s: the stretch began at 1000, its window
      // ending at 2024 is the first past that, and the sixth from it pauses; no words, so 1.5 s on.
      ['pause@1192', 'resume@1300', `pause@${1000 + 37 * WINDOW}`, `resume@${1000 + 37 * WINDOW + 1500}`],
    ],
    [
      'feedback heard after the caller went quiet does not excuse their next stretch of speech',
      [agent('speaking', 0), ...vad(1000, 'SSS' + '.'.repeat(10)), interim('Okay', 1450), ...vad(1450, 'S'.repeat(10))],
      [`pause@${1450 + 6 * WINDOW}`, `resume@${1450 + 10 * WINDOW + 160}`],
    ],
    [
      'a short "Wait." resumes like feedback while the STT is still silent, and its words then take the floor',
      [agent('speaking', 0), ...vad(1000, 'S'.repeat(10) + '.'.repeat(20)), interim('Wait', 1600), final('Wait.', 1800)],
      ['pause@1192', `resume@${1000 + 10 * WINDOW + 160}`, 'interrupt@1600', 'turn(speech)@1800: Wait.'],
    ],
    [
      'feedback without the VAD (interims and finals of "yeah", "okay", "mm-hmm") never stops the agent nor makes a turn',
      [
        agent('speaking', 0),
        started(500),
        interim('Yeah', 800),
        final('Yeah.', 1000),
        started(3000),
        final('Okay, okay.', 3500),
        final('Mm-hmm.', 5000),
        utteranceEnd(6000),
      ],
      [],
    ],
    [
      'feedback then real words: the words take the floor, the feedback is not part of the turn',
      [agent('speaking', 0), final('Right.', 1000, false), interim('Sorry, which day', 2000), final('Sorry, which day?', 2300)],
      ['interrupt@2000', 'turn(speech)@2300: Sorry, which day?'],
    ],
    [
      'the same "okay" when the agent is silent is an answer, and a turn',
      [agent('silent', 0), started(100), final('Okay.', 600), utteranceEnd(1600)],
      ['turn(speech)@600: Okay.'],
    ],
    // ---- the end of a turn ---------------------------------------------------------------------
    [
      'a complete sentence ends the turn on speech_final, as before',
      [final('I need an oil change.', 1000)],
      ['turn(speech)@1000: I need an oil change.'],
    ],
    [
      'so does a question ending in a preposition',
      [final('What is that for?', 1000)],
      ['turn(speech)@1000: What is that for?'],
    ],
    [
      'Deepgram sends the words in a final, then an empty speech_final: the turn ends on the latter',
      [final('Two PM works', 900, false), final('', 1000)],
      ['turn(speech)@1000: Two PM works'],
    ],
    [
      'UtteranceEnd alone ends a turn (no speech_final came)',
      [final('Next Tuesday', 900, false), utteranceEnd(1900)],
      ['turn(speech)@1900: Next Tuesday'],
    ],
    [
      'a phone number in three groups with 700 ms pauses is one turn',
      [
        started(0),
        final('My number is 555.', 1300),
        started(2000),
        interim('555', 2300),
        final('555', 2600),
        started(3300),
        interim('01', 3600),
        final('0123.', 3900),
        utteranceEnd(4900),
      ],
      ['turn(speech)@3900: My number is 555. 555 0123.'],
    ],
    [
      'a caller trailing off with "and..." gets 1.5 s more, then the turn ends (UtteranceEnd does not cut it short)',
      [final('I need an oil change and', 1000), utteranceEnd(1700)],
      ['turn(speech)@2500: I need an oil change and'],
    ],
    [
      'a caller who says "um" and goes on is not cut off',
      [final('I need, um', 1000), started(2000), interim('brakes', 2400), final('brakes too.', 2700)],
      ['turn(speech)@2700: I need, um brakes too.'],
    ],
    [
      'new speech while an unfinished turn waits holds it open for the words (bounded)',
      [final('My number is 555', 1000), started(2300), interim('555', 2700), final('555 0123', 3100)],
      ['turn(speech)@3100: My number is 555 555 0123'],
    ],
    [
      '...but a sound that brings no words does not hold it open for ever',
      [final('My number is 555', 1000), started(2300), started(2900), started(3300)],
      ['turn(speech)@3500: My number is 555'],
    ],
    // ---- the keypad ----------------------------------------------------------------------------
    [
      'keypad 0 outside a number entry is a shortcut (the application maps it), at any time',
      [agent('speaking', 0), key('0', 500)],
      ['shortcut 0@500'],
    ],
    [
      'after the agent asks for a number, digits are the answer, ended by #',
      [said("What's the best phone number to reach you?", 0), key('5', 2000), key('5', 2200), key('5', 2400), key('0', 2600), key('1', 2800), key('#', 3000)],
      ['turn(keypad)@3000: 5 5 5 0 1 (typed on the keypad)'],
    ],
    [
      '...or by 2 s without a key; a digit pressed while the agent still talks stops it',
      [said('Could you tell me your ZIP code?', 0), agent('speaking', 0), key('1', 500), key('2', 800), key('3', 1100)],
      ['interrupt@500', 'turn(keypad)@3100: 1 2 3 (typed on the keypad)'],
    ],
    [
      'once the number is given, 0 is a shortcut again',
      [said('What number should we call?', 0), key('4', 1000), key('#', 1200), key('0', 5000)],
      ['turn(keypad)@1200: 4 (typed on the keypad)', 'shortcut 0@5000'],
    ],
    [
      'a spoken answer to the number question also ends the number entry',
      [said('What number should we call?', 0), final('555 555 0123', 1000), key('0', 4000)],
      ['turn(speech)@1000: 555 555 0123', 'shortcut 0@4000'],
    ],
  ])('%s', (_name, steps, expected) => {
    expect(run(steps)).toEqual(expected);
  });

  // Recorded by test/support/record-turn-events.ts: real Silero windows over espeak-ng speech and
  // synthesised noise, and the Deepgram adapter's events from the emulator, in real time.
  it.each<[string, string[]]>([
    ['uh-huh over the agent', ['pause', 'resume']],
    ['okay over the agent', ['pause', 'resume']],
    ['a sentence over the agent', ['pause', 'interrupt', 'turn(speech): Hold on, I need to change the day.']],
    // The closure of its "ct" is not speech to the model, but it is bridged: "A" and "tu" are one burst.
    ['a quiet caller (-35 dBFS) saying "Actually..." over the agent', ['pause', 'interrupt', 'turn(speech): Actually, can we do Tuesday instead?']],
    ['mm-hmm over the agent, the STT has no words for it', ['pause', 'resume']],
    ['an engine over the agent', []],
    ['coughs over the agent', []],
    ['a phone number in three groups with 700 ms pauses', ['turn(speech): My number is 555 555 0123.']],
  ])('recorded: %s', (name, expected) => {
    const recording = recordings.find((r) => r.name === name);
    expect(recording).toBeDefined();
    const steps: Step[] = [...(recording!.agentTalking ? [agent('speaking', 0)] : []), ...(recording!.inputs as TurnInput[])];
    expect(run(steps, 20_000).map((line) => line.replace(/@[\d.]+/, ''))).toEqual(expected);
  });

  it('MIN_INTERRUPTION_MS=1000: a second of sounds with gaps is not a second of speech; a second of speech is', () => {
    // One speech window in every three for 1.3 s: one burst (gaps bridged), but a third of it speech.
    expect(run([agent('speaking', 0), ...vad(1000, 'S..'.repeat(13))], 10_000, 1_000)).toEqual([]);
    // Speech throughout pauses once it has lasted 31 windows (992 ms).
    expect(run([agent('speaking', 0), ...vad(1000, 'S'.repeat(40))], 10_000, 1_000)[0]).toBe(`pause@${1000 + 31 * WINDOW}`);
  });

  it('asks for a tick only while something waits on time', () => {
    const taking = createTurnTaking({ ...DEFAULT_TURN_TAKING, agent: { talking: () => false, paused: () => false } });
    expect(taking.deadline()).toBeUndefined();
    taking.handle({ type: 'transcript', text: 'My number is 555', isFinal: true, speechFinal: true, atMs: 1000 });
    expect(taking.deadline()).toBe(2500);
    expect(taking.handle({ type: 'tick', atMs: 2500 })).toEqual([{ type: 'user_turn', text: 'My number is 555', via: 'speech', sttFinalAtMs: 1000 }]);
    expect(taking.deadline()).toBeUndefined();
  });
});
