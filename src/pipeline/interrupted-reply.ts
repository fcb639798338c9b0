/**
 * What is left of a reply the caller cut off: in the model's context and the call's transcript,
 * only what the caller heard stays (with a note that they interrupted), so the model neither
 * repeats everything nor assumes the rest was heard.
 */
import type { TranscriptEntry } from '../core/call-record.js';
import type { ChatContext } from './chat-context.js';
import type { Utterance } from './speech-output.js';

/** One model response of a turn: its assistant message, the utterances that spoke it, its transcript line. */
export interface SpokenPart {
  messageIndex: number | undefined;
  utterances: Utterance[];
  transcript?: TranscriptEntry;
}

/**
 * Rewrites each part of the cut reply to what was heard (`cut` says, per utterance that was still
 * queued or playing, how much; the others had played in full). Returns all that was heard.
 */
export function keepWhatWasHeard(
  parts: SpokenPart[],
  cut: ReadonlyArray<{ utterance: Utterance; heard: string }>,
  context: ChatContext,
  transcript: TranscriptEntry[],
  atMs: number,
): string {
  const heardParts: string[] = [];
  for (const part of parts) {
    const heard = part.utterances
      .map((u) => cut.find((c) => c.utterance === u)?.heard ?? u.text)
      .join(' ')
      .trim();
    heardParts.push(heard);
    if (part.messageIndex === undefined) {
      // Cut off while the model was still streaming: its message was not written yet.
      if (heard === '') continue;
      part.messageIndex = context.addAssistant('');
      part.transcript = { role: 'agent', text: heard, atMs, complete: false };
      transcript.push(part.transcript);
    }
    context.rewriteInterrupted(part.messageIndex, heard);
    if (part.transcript !== undefined) {
      part.transcript.text = heard;
      part.transcript.complete = false;
    }
  }
  return heardParts.join(' ').trim();
}
