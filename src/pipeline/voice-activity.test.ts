import { describe, expect, it } from 'vitest';
import { BROWSER_AUDIO, PHONE_AUDIO } from '../core/frames.js';
import { silence, speechLike, toFrames } from '../../test/support/audio-fixtures.js';
import { createVoiceActivity } from './voice-activity.js';

describe.each([PHONE_AUDIO, BROWSER_AUDIO])('voice activity ($encoding)', (format) => {
  it('remembers when voice was last heard, and ignores silence after it', () => {
    const voice = createVoiceActivity(format);
    expect(voice.lastVoiceAtMs()).toBeUndefined();
    toFrames(silence(200, format), format).forEach((frame, i) => voice.push(frame, i * 20));
    expect(voice.lastVoiceAtMs()).toBeUndefined();
    toFrames(speechLike(200, format), format).forEach((frame, i) => voice.push(frame, 1000 + i * 20));
    toFrames(silence(200, format), format).forEach((frame, i) => voice.push(frame, 2000 + i * 20));
    expect(voice.lastVoiceAtMs()).toBe(1000 + 9 * 20);
  });

  it('ignores empty chunks', () => {
    const voice = createVoiceActivity(format);
    voice.push(new Uint8Array(0), 5);
    expect(voice.lastVoiceAtMs()).toBeUndefined();
  });
});
