import { describe, expect, it } from 'vitest';
import { PHONE_AUDIO } from '../../../src/core/frames.js';
import type { SttEvent } from '../../../src/providers/stt.js';
import { createScriptedStt } from './scripted-stt.js';

describe('scripted STT', () => {
  it('say() plays a whole utterance in the order Deepgram reports it', async () => {
    const fake = createScriptedStt();
    const events: SttEvent[] = [];
    await fake.connect({ format: PHONE_AUDIO, signal: new AbortController().signal }, (e) => events.push(e));

    fake.say('I need new brake pads');
    expect(events.map(({ atMs: _atMs, ...rest }) => rest)).toEqual([
      { type: 'speech_started' },
      { type: 'transcript', text: 'I need new', isFinal: false, speechFinal: false },
      { type: 'transcript', text: 'I need new brake pads', isFinal: true, speechFinal: true },
      { type: 'utterance_end' },
    ]);
  });

  it('records audio, finalize calls and closing, and stops accepting audio once closed', async () => {
    const fake = createScriptedStt();
    const stream = await fake.connect(
      { format: PHONE_AUDIO, keyterms: ['Civic'], signal: new AbortController().signal },
      () => undefined,
    );
    const frame = new Uint8Array(160).fill(0xff);
    stream.sendAudio(frame);
    frame.fill(0); // the fake keeps a copy, as a real adapter must
    stream.finalize();
    await stream.close();
    stream.sendAudio(new Uint8Array(160));

    expect(fake.current).toMatchObject({ audioBytes: 160, finalizeCalls: 1, closed: true, keyterms: ['Civic'] });
    expect(fake.current.audio[0]?.[0]).toBe(0xff);
    expect(() => fake.emit({ type: 'speech_started' })).toThrow(/no open stream/);
  });

  it('honours the signal and can fail the next connect', async () => {
    const fake = createScriptedStt();
    fake.failNextConnect(new Error('deepgram down'));
    await expect(fake.connect({ format: PHONE_AUDIO, signal: new AbortController().signal }, () => undefined)).rejects.toThrow(
      'deepgram down',
    );

    const controller = new AbortController();
    await fake.connect({ format: PHONE_AUDIO, signal: controller.signal }, () => undefined);
    controller.abort();
    expect(fake.current).toMatchObject({ closed: true, aborted: true });
    expect(fake.streams).toHaveLength(1);
  });
});
