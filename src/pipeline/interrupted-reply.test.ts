import { describe, expect, it } from 'vitest';
import type { TranscriptEntry } from '../core/call-record.js';
import { createChatContext, INTERRUPTED_NOTE } from './chat-context.js';
import { keepWhatWasHeard } from './interrupted-reply.js';
import type { SpokenPart } from './interrupted-reply.js';
import type { Utterance } from './speech-output.js';

function utterance(id: number, text: string): Utterance {
  return { id, text, kind: 'reply', turn: 1, firstAudioAtMs: undefined, sent: Promise.resolve(), played: Promise.resolve(true) };
}

describe('keepWhatWasHeard', () => {
  it('keeps sentences that played in full, the heard part of the one cut, and nothing queued after it', () => {
    const context = createChatContext();
    context.addUser('What do you do?');
    const a = utterance(1, 'We do oil changes.');
    const b = utterance(2, 'And brakes, tires and alignments.');
    const c = utterance(3, 'And more.');
    const transcript: TranscriptEntry[] = [];
    const line: TranscriptEntry = { role: 'agent', text: 'We do oil changes. And brakes, tires and alignments. And more.', atMs: 1, complete: true };
    transcript.push(line);
    const parts: SpokenPart[] = [{ messageIndex: context.addAssistant(line.text), utterances: [a, b, c], transcript: line }];
    const heard = keepWhatWasHeard(parts, [{ utterance: b, heard: 'And brakes,' }, { utterance: c, heard: '' }], context, transcript, 5);
    expect(heard).toBe('We do oil changes. And brakes,');
    expect(context.messages.at(-1)).toEqual({ role: 'assistant', content: `We do oil changes. And brakes,${INTERRUPTED_NOTE}` });
    expect(line).toMatchObject({ text: 'We do oil changes. And brakes,', complete: false });
  });

  it('writes the message of a reply cut while the model was still streaming, unless nothing was heard', () => {
    const context = createChatContext();
    const transcript: TranscriptEntry[] = [];
    const spoke = utterance(1, 'Let me see.');
    const silent = utterance(2, 'Nothing of this played.');
    const parts: SpokenPart[] = [{ messageIndex: undefined, utterances: [spoke] }, { messageIndex: undefined, utterances: [silent] }];
    const heard = keepWhatWasHeard(parts, [{ utterance: spoke, heard: 'Let me' }, { utterance: silent, heard: '' }], context, transcript, 7);
    expect(heard).toBe('Let me');
    expect(context.messages).toEqual([{ role: 'assistant', content: `Let me${INTERRUPTED_NOTE}` }]);
    expect(transcript).toEqual([{ role: 'agent', text: 'Let me', atMs: 7, complete: false }]);
    expect(parts[1]!.messageIndex).toBeUndefined();
  });
});
