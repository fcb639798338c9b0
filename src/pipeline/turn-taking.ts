/**
 * Turn-taking: who has the floor. Fed the local VAD's windows, the STT's events, keypad digits and
 * what the agent says, it decides when the caller's turn is over and when the agent must stop,
 * and says so as actions the call session carries out. It holds no timers: every input carries its
 * time, and `deadline()` says when it next needs a `tick`.
 *
 * The rules (the README's "Turn-taking" section says the same for operators):
 * - Interrupting is confirmed, never raw energy. While the agent talks, the caller's voice pauses
 *   it (playback stops at once, the reply is kept) once a burst of VAD speech (the gaps between
 *   syllables and inside a word bridged, the unvoiced sound that starts a word out of silence
 *   counted) has lasted `minInterruptionMs`, two thirds of it speech;
 *   the closure right after a syllable the model was sure of is speech while the model leans to
 *   it. STT words that are more than feedback take the floor outright
 *   (`interrupt`: the reply is cut to what was heard). A pause that brings no such words resumes
 *   the reply from where the caller last heard it: at once when the STT shows what they said was
 *   only feedback; as soon as the caller has been quiet for RESUME_QUIET_MS when it was no longer
 *   than feedback ever is (FEEDBACK_MAX_MS: the STT's verdict may come later, and real words then
 *   still take the floor); otherwise after `resumeAfterMs`. Noise is not speech to the VAD and has
 *   no words, so it never stops the agent.
 * - Feedback ("uh-huh", "yeah", "okay") and hesitation said while the agent talks are not a turn,
 *   and once the STT has shown a stretch of speech to be feedback the rest of it stops nothing.
 * - Words the STT hears over the agent when the line has carried nothing loud enough to be the
 *   caller for all the time they could come from (WORDS_AFTER_VOICE_MS) are a voice behind them
 *   (a radio, a colleague, the agent's own echo): nothing, not even a turn.
 * - A turn ends on the STT's end of speech (speech_final, UtteranceEnd) when its text is complete,
 *   at once; when it plainly is not (a number being dictated, "and...", "um"), up to
 *   `incompleteTurnExtraMs` later, unless the caller goes on (then their next words join it).
 * - The keypad: after the agent asked for a number, digits are the caller's answer (ended by `#`
 *   or `keypadTimeoutMs` without a key); otherwise a key is a shortcut the application may map
 *   to an action (the shop maps 0 to a person).
 */
import { asksForNumber, hasRealWords, looksIncomplete } from './transcript-cues.js';

export type TurnInput =
  /**
   * One window the local VAD analysed: speech or not, the model's probability (absent: 0), and
   * whether it carried any sound above the line's silence (absent: not known, taken as not).
   */
  | { type: 'vad'; atMs: number; speech: boolean; probability?: number; durationMs: number; audible?: boolean }
  /** The STT vendor heard something start (its own VAD; noise too). */
  | { type: 'speech_started'; atMs: number }
  /**
   * `quietLineMs`: how long the caller's line had carried nothing loud enough to be them talking
   * into the phone when the words came (VoiceActivity.quietForMs; absent: not known).
   */
  | { type: 'transcript'; text: string; isFinal: boolean; speechFinal: boolean; atMs: number; quietLineMs?: number }
  | { type: 'utterance_end'; atMs: number }
  | { type: 'dtmf'; digit: string; atMs: number }
  /** A sentence of the agent's reply, as it is queued to be spoken (noted only: it produces no action). */
  | { type: 'agent_said'; text: string; atMs: number }
  | { type: 'tick'; atMs: number };

export type TurnAction =
  /** Stop the agent's audio at once, keeping the rest of its reply. */
  | { type: 'pause' }
  /** Play the rest of the paused reply, from where the caller last heard it. */
  | { type: 'resume' }
  /** The caller has the floor: cut the reply to what was heard and abort the turn. */
  | { type: 'interrupt' }
  | { type: 'user_turn'; text: string; via: 'speech' | 'keypad'; sttFinalAtMs: number | undefined }
  /** A key pressed outside a number entry, for the application to map to an action (or not). */
  | { type: 'keypad_shortcut'; key: string }
  /** What the caller has said so far in this turn (for transcripts on screen). */
  | { type: 'transcript'; text: string; final: boolean }
  /** Words the STT heard over the agent while the line carried no voice of the caller's: not acted on. */
  | { type: 'background_words'; text: string }
  /** The caller did something: they are still on the line. */
  | { type: 'caller_active' };

/** What turn-taking needs to know of the agent's side. */
export interface AgentFloor {
  /** The agent is speaking or about to (a reply is being generated, or audio is queued or paused). */
  talking(): boolean;
  /** Its audio is paused (by a `pause` action) awaiting `resume` or `interrupt`. */
  paused(): boolean;
}

export interface TurnTakingOptions {
  /** VAD speech for this long, while the agent talks, stops it (MIN_INTERRUPTION_MS). */
  minInterruptionMs: number;
  /** A pause that brought no words ends, and the agent resumes, after this long. */
  resumeAfterMs: number;
  /** How much longer to wait for the rest of a turn that is plainly unfinished. */
  incompleteTurnExtraMs: number;
  /** A keypad entry ends this long after its last key. */
  keypadTimeoutMs: number;
  agent: AgentFloor;
}

export const DEFAULT_TURN_TAKING: Omit<TurnTakingOptions, 'agent'> = {
  minInterruptionMs: 200,
  resumeAfterMs: 1_500,
  incompleteTurnExtraMs: 1_500,
  keypadTimeoutMs: 2_000,
};

export interface TurnTaking {
  handle(input: TurnInput): TurnAction[];
  /** When a `tick` is next due (process ms), if anything is waiting on time. */
  deadline(): number | undefined;
}

/** A caller who said more than feedback counts as still speaking this long after the VAD's last speech window. */
const SPEECH_HANGOVER_MS = 300;
/**
 * A paused agent resumes after this much quiet from a caller who only gave feedback: Silero's own
 * end of speech is 100 ms below its threshold; the closure of a "ct" is up to 160 ms.
 */
const RESUME_QUIET_MS = 160;
/**
 * A stretch of speech no longer than this is taken for feedback until words say otherwise: an
 * "mm-hmm" said slowly lasts up to about 900 ms, a sentence goes on.
 */
const FEEDBACK_MAX_MS = 1_000;
/**
 * Speech windows with gaps of at most this many windows between them are one burst of speech: the
 * dips between syllables, and a word broken by a stop ("Ac-tually": 100 ms of vowel, 180 ms of
 * closure the model does not call speech).
 */
const BRIDGE_WINDOWS = 6;
/**
 * A burst that has lasted `minInterruptionMs` stops the agent once at least this share of that
 * many windows were speech (200 ms: 4 of 6), so the bridged gaps cannot make up most of it.
 */
const MIN_SPEECH_SHARE = 2 / 3;
/**
 * At this probability the model is sure a window is speech: the windows of the noise corpus it
 * called speech all scored 0.5 to 0.8, a caller's vowels mostly score over 0.9.
 */
const SURE_SPEECH = 0.8;
/**
 * While the agent talks, the closure right after a syllable the model was sure of (this many
 * speech windows in a row, about 100 ms of vowel) is speech as long as the model still leans to
 * speech on it (LEANS_TO_SPEECH, Silero's own level to go on): the "ct" of a quiet caller's
 * "Ac-tually" scores 0.2 to 0.84, not speech to the VAD (a quiet window needs 0.85), and the burst
 * stopped the agent only at the "tu", 300 ms in. Far-off babble (60 ms pieces) seldom has three
 * sure windows in a row: over the noise corpus and 40 more babble mixes at -45 dBFS this stopped
 * the agent nowhere it did not stop before. Once the agent is paused, only what the VAD calls
 * speech holds the pause: the tail of an "uh-huh" does not.
 */
const SURE_SYLLABLE_WINDOWS = 3;
const LEANS_TO_SPEECH = 0.35;
/** No closure follows a syllable after this many windows that are neither (Silero's 100 ms end of speech). */
const SYLLABLE_END_WINDOWS = 3;
/**
 * Many words start with a consonant that is sound but not voice ("s", "f", "h", "st"): 50 to 150 ms
 * the model does not call speech, so a burst counted from the model's first speech window starts
 * late ("Stop" said quietly stopped the agent 320 ms after the "s", at its 200th ms of vowel).
 * Up to this many sounding windows rising out of a silent line straight before a burst are the
 * start of it: they count toward its length, never toward its speech share, so the burst still
 * needs two thirds of `minInterruptionMs` that the model calls speech. A longer run of such sound
 * is not a consonant (a hum, a far voice) and counts for nothing, as does any sound on a line
 * that is never silent (an engine, a street).
 */
const ONSET_MAX_WINDOWS = 5;
/** A gap of this many windows without VAD input (the agent was silent) starts the count afresh. */
const STALE_GAP_WINDOWS = 4;
/**
 * STT words come up to about 1.5 s after they were said (an interim every second or so, a final
 * after the end of speech): words over the agent are the caller's only if the line carried
 * something loud enough to be them within this long before.
 */
const WORDS_AFTER_VOICE_MS = 2_000;
/** New speech while an unfinished turn waits holds it open this long for the words to arrive... */
const HOLD_FOR_WORDS_MS = 700;
/** ...but never more than this beyond the extra wait itself. */
const MAX_HOLD_MS = 1_000;

export function createTurnTaking(options: TurnTakingOptions): TurnTaking {
  const agent = options.agent;

  // ---- what the VAD heard
  let windowMs = 32;
  let lastSpeechAtMs: number | undefined;
  /** Where the caller's current stretch of speech began (gaps under RESUME_QUIET_MS do not end it). */
  let stretchStartAtMs = 0;
  /**
   * The STT has shown the current stretch to be feedback: the rest of it does not stop the agent,
   * as long as it stays no longer than feedback ever is (FEEDBACK_MAX_MS).
   */
  let feedbackStretch = false;
  let lastWindowAtMs: number | undefined;
  let wasSpeech = false;
  /**
   * The current burst of speech, counted in VAD windows rather than by the clock (frames that
   * arrive late and together must count as what they are): its windows up to its last speech
   * window, how many were speech, the non-speech windows since (past BRIDGE_WINDOWS it ends), and
   * how many of its latest speech windows in a row the model was sure of (a clear syllable).
   */
  let burst: { windows: number; speechWindows: number; gap: number; sureRun: number } | undefined;
  /** Sounding windows that are not speech since the line was last silent (undefined: it has not been, or too many). */
  let onsetWindows: number | undefined;

  // ---- the caller's turn so far
  let finals: string[] = [];
  let interim = '';
  let sttFinalAtMs: number | undefined;
  /** An unfinished turn waiting for more. */
  let pendingEnd: { dueAtMs: number; capAtMs: number } | undefined;

  // ---- the agent's floor
  /** When we paused the agent, and where the stretch of speech that did it began. */
  let pause: { atMs: number; stretchStartAtMs: number } | undefined;

  // ---- the keypad
  let askedForNumber = false;
  let keypad: { digits: string; lastAtMs: number } | undefined;

  /**
   * `minInterruptionMs` in whole VAD windows, to the nearest (200 ms is 6 windows of 32 ms, 192 ms):
   * the window that holds the onset is mostly silence before it, so a seventh window would ask
   * for well over 200 ms of speech and cost the caller 32 ms more.
   */
  function windowsToInterrupt(): number {
    return Math.max(1, Math.round(options.minInterruptionMs / windowMs));
  }

  function transcriptAction(final: boolean): TurnAction {
    return { type: 'transcript', text: [...finals, interim].join(' ').trim(), final };
  }

  function completeTurn(out: TurnAction[]): void {
    const text = finals.join(' ').trim();
    const finalAt = sttFinalAtMs;
    finals = [];
    interim = '';
    sttFinalAtMs = undefined;
    pendingEnd = undefined;
    if (text === '') return;
    askedForNumber = false;
    out.push({ type: 'user_turn', text, via: 'speech', sttFinalAtMs: finalAt });
  }

  function completeKeypad(out: TurnAction[]): void {
    const digits = keypad?.digits ?? '';
    keypad = undefined;
    if (digits === '') return;
    askedForNumber = false;
    out.push({ type: 'user_turn', text: `${digits.split('').join(' ')} (typed on the keypad)`, via: 'keypad', sttFinalAtMs: undefined });
  }

  /** The STT says the caller stopped: the turn ends now, or a little later if it is unfinished. */
  function endOfSpeech(atMs: number, out: TurnAction[]): void {
    const text = finals.join(' ').trim();
    if (text === '') return;
    sttFinalAtMs ??= atMs;
    if (!looksIncomplete(text)) {
      completeTurn(out);
      return;
    }
    pendingEnd ??= { dueAtMs: atMs + options.incompleteTurnExtraMs, capAtMs: atMs + options.incompleteTurnExtraMs + MAX_HOLD_MS };
  }

  /** New speech while an unfinished turn waits: give its words time to arrive. */
  function holdForWords(atMs: number): void {
    if (pendingEnd === undefined) return;
    pendingEnd.dueAtMs = Math.min(pendingEnd.capAtMs, Math.max(pendingEnd.dueAtMs, atMs + HOLD_FOR_WORDS_MS));
  }

  function onVad(input: Extract<TurnInput, { type: 'vad' }>, out: TurnAction[]): void {
    windowMs = input.durationMs;
    // The VAD listens only while the agent talks: speech heard before a gap is not this speech.
    if (lastWindowAtMs !== undefined && input.atMs - lastWindowAtMs > STALE_GAP_WINDOWS * windowMs) {
      burst = undefined;
      onsetWindows = undefined;
    }
    lastWindowAtMs = input.atMs;
    const probability = input.probability ?? 0;
    // The closure after a clear syllable (SURE_SYLLABLE_WINDOWS).
    const closure =
      !input.speech && !agent.paused() && burst !== undefined && burst.sureRun >= SURE_SYLLABLE_WINDOWS && probability >= LEANS_TO_SPEECH;
    if (burst !== undefined && !input.speech && !closure) {
      burst.gap += 1;
      if (burst.gap > BRIDGE_WINDOWS) burst = undefined;
      else if (burst.gap >= SYLLABLE_END_WINDOWS) burst.sureRun = 0;
    }
    const speech = input.speech || closure;
    const onset = speech && !wasSpeech;
    wasSpeech = speech;
    const onsetBefore = onsetWindows ?? 0;
    if (speech) onsetWindows = undefined;
    else if (input.audible !== true) onsetWindows = 0;
    else if (onsetWindows !== undefined) onsetWindows = onsetWindows < ONSET_MAX_WINDOWS ? onsetWindows + 1 : undefined;
    if (!speech) return;
    if (lastSpeechAtMs === undefined || input.atMs - lastSpeechAtMs > RESUME_QUIET_MS) {
      stretchStartAtMs = input.atMs - windowMs;
      feedbackStretch = false;
    }
    lastSpeechAtMs = input.atMs;
    if (onset) holdForWords(input.atMs);
    if (feedbackStretch && input.atMs - stretchStartAtMs <= FEEDBACK_MAX_MS) {
      // Counted afresh from where it stops being feedback.
      burst = undefined;
      return;
    }
    burst ??= { windows: Math.max(0, onsetBefore - 1), speechWindows: 0, gap: 0, sureRun: 0 };
    burst.windows += burst.gap + 1;
    burst.speechWindows += 1;
    burst.gap = 0;
    if (input.speech) burst.sureRun = probability >= SURE_SPEECH ? burst.sureRun + 1 : 0;
    const needed = windowsToInterrupt();
    const confirmed = burst.windows >= needed && burst.speechWindows >= Math.ceil(needed * MIN_SPEECH_SHARE);
    if (agent.talking() && !agent.paused() && confirmed) {
      pause = { atMs: input.atMs, stretchStartAtMs };
      burst = undefined;
      out.push({ type: 'pause' }, { type: 'caller_active' });
    }
  }

  function onTranscript(input: Extract<TurnInput, { type: 'transcript' }>, out: TurnAction[]): void {
    const text = input.text.trim();
    if (text !== '' && agent.talking() && (input.quietLineMs ?? 0) > WORDS_AFTER_VOICE_MS) {
      out.push({ type: 'background_words', text });
      return;
    }
    if (text !== '') {
      if (agent.talking() && !hasRealWords(text)) {
        // Feedback over the agent: not a turn, and never a reason to stop. A pause it caused ends
        // now, as a listener's "mm-hmm" does not stop a speaker, and the rest of it stops nothing (a
        // verdict that comes after the caller went quiet covers nothing: their next speech is a new stretch).
        feedbackStretch = true;
        if (pause !== undefined) {
          pause = undefined;
          out.push({ type: 'resume' });
        }
      } else {
        out.push({ type: 'caller_active' });
        if (agent.talking()) {
          pause = undefined;
          out.push({ type: 'interrupt' });
        }
        // The caller went on: an unfinished turn waits for its next end of speech.
        if (pendingEnd !== undefined) {
          pendingEnd = undefined;
          sttFinalAtMs = undefined;
        }
        if (input.isFinal) {
          finals.push(text);
          interim = '';
        } else {
          interim = text;
        }
        out.push(transcriptAction(input.isFinal));
      }
    }
    // Deepgram often sends the words in one final and then an empty speech_final: the pause
    // still ends the turn.
    if (input.isFinal && input.speechFinal) endOfSpeech(input.atMs, out);
  }

  function onDtmf(input: Extract<TurnInput, { type: 'dtmf' }>, out: TurnAction[]): void {
    out.push({ type: 'caller_active' });
    if (keypad === undefined && !askedForNumber) {
      out.push({ type: 'keypad_shortcut', key: input.digit });
      return;
    }
    if (input.digit === '#') {
      completeKeypad(out);
      return;
    }
    if (agent.talking()) {
      pause = undefined;
      out.push({ type: 'interrupt' });
    }
    keypad = { digits: (keypad?.digits ?? '') + input.digit, lastAtMs: input.atMs };
  }

  /** Whatever is due by `atMs`. */
  function timeouts(atMs: number, out: TurnAction[]): void {
    if (pendingEnd !== undefined && atMs >= pendingEnd.dueAtMs) completeTurn(out);
    if (keypad !== undefined && atMs >= keypad.lastAtMs + options.keypadTimeoutMs) completeKeypad(out);
    if (pause !== undefined && atMs >= resumeDueAtMs(pause)) {
      pause = undefined;
      out.push({ type: 'resume' });
    }
  }

  /** When a pause ends if the caller says nothing more. */
  function resumeDueAtMs(paused: NonNullable<typeof pause>): number {
    const lastSpeech = lastSpeechAtMs ?? paused.atMs;
    if (lastSpeech - paused.stretchStartAtMs <= FEEDBACK_MAX_MS) return lastSpeech + RESUME_QUIET_MS;
    return Math.max(paused.atMs + options.resumeAfterMs, lastSpeech + SPEECH_HANGOVER_MS);
  }

  return {
    handle(input) {
      const out: TurnAction[] = [];
      // The session may have ended the pause its own way (a typed turn, the call's time limit).
      if (pause !== undefined && !agent.paused()) pause = undefined;
      switch (input.type) {
        case 'vad':
          onVad(input, out);
          break;
        case 'speech_started':
          out.push({ type: 'caller_active' });
          holdForWords(input.atMs);
          break;
        case 'transcript':
          onTranscript(input, out);
          break;
        case 'utterance_end':
          endOfSpeech(input.atMs, out);
          break;
        case 'dtmf':
          onDtmf(input, out);
          break;
        case 'agent_said':
          // Said from inside the agent's turn: acting here would re-enter it.
          if (asksForNumber(input.text)) askedForNumber = true;
          return out;
        case 'tick':
          break;
      }
      timeouts(input.atMs, out);
      return out;
    },

    deadline() {
      const due: number[] = [];
      if (pendingEnd !== undefined) due.push(pendingEnd.dueAtMs);
      if (keypad !== undefined) due.push(keypad.lastAtMs + options.keypadTimeoutMs);
      if (pause !== undefined) due.push(resumeDueAtMs(pause));
      return due.length === 0 ? undefined : Math.min(...due);
    },
  };
}
