import { describe, expect, it } from 'vitest';
import {
  decodeHarnessMessage,
  encodeHarnessFrame,
  MAX_AUDIO_MESSAGE_BYTES,
  MAX_TEXT_MESSAGE_BYTES,
  MAX_TYPED_TEXT_CHARS,
} from './serializer.js';

const text = (message: unknown) => decodeHarnessMessage(JSON.stringify(message), false, 0);

describe('decodeHarnessMessage', () => {
  it('reads start with and without its options', () => {
    expect(text({ type: 'start' })).toEqual({ control: { type: 'start', callerNumber: undefined, mode: undefined } });
    expect(text({ type: 'start', callerNumber: '+1 (555) 010-2000', mode: 'text' })).toEqual({
      control: { type: 'start', callerNumber: '+1 (555) 010-2000', mode: 'text' },
    });
  });

  it('turns typed turns, marks and stop into frames', () => {
    expect(text({ type: 'text', text: 'Can I book an oil change?' })).toEqual({
      frame: { kind: 'text', text: 'Can I book an oil change?' },
    });
    expect(text({ type: 'mark', name: 'u1.3' })).toEqual({ frame: { kind: 'mark', name: 'u1.3' } });
    expect(text({ type: 'stop' })).toEqual({ frame: { kind: 'stop' } });
  });

  it('accepts JSON sent as a binary-typed buffer only when flagged as text', () => {
    const buffer = Buffer.from(JSON.stringify({ type: 'stop' }));
    expect(decodeHarnessMessage(buffer, false, 0)).toEqual({ frame: { kind: 'stop' } });
    expect(decodeHarnessMessage([buffer.subarray(0, 5), buffer.subarray(5)], false, 0)).toEqual({ frame: { kind: 'stop' } });
  });

  it('turns binary messages into audio frames stamped with the arrival time, copied', () => {
    const bytes = new Uint8Array([1, 0, 2, 0]);
    const decoded = decodeHarnessMessage(bytes, true, 1234.5);
    expect(decoded.frame).toEqual({ kind: 'audio', audio: new Uint8Array([1, 0, 2, 0]), timestampMs: 1234.5 });
    bytes[0] = 9;
    expect(decoded.frame?.kind === 'audio' && decoded.frame.audio[0]).toBe(1);
    expect(decodeHarnessMessage(new Uint8Array([1, 2]).buffer, true, 0).frame?.kind).toBe('audio');
  });

  it.each([
    ['not JSON', '{type:'],
    ['a JSON non-object', '42'],
    ['an unknown type', JSON.stringify({ type: 'dance' })],
    ['an unknown field', JSON.stringify({ type: 'stop', now: true })],
    ['an empty typed turn', JSON.stringify({ type: 'text', text: '' })],
    ['a typed turn that is not a string', JSON.stringify({ type: 'text', text: 42 })],
    ['an overlong typed turn', JSON.stringify({ type: 'text', text: 'a'.repeat(MAX_TYPED_TEXT_CHARS + 1) })],
    ['a mark without a name', JSON.stringify({ type: 'mark' })],
    ['an unknown mode', JSON.stringify({ type: 'start', mode: 'video' })],
    ['a caller number with letters', JSON.stringify({ type: 'start', callerNumber: '555-CALL-NOW' })],
    ['a huge text message', JSON.stringify({ type: 'text', text: 'a'.repeat(MAX_TEXT_MESSAGE_BYTES) })],
  ])('rejects %s', (_name, message) => {
    const decoded = decodeHarnessMessage(message, false, 0);
    expect(decoded.error).toEqual(expect.any(String));
    expect(decoded.frame).toBeUndefined();
    expect(decoded.control).toBeUndefined();
  });

  it.each([
    ['empty audio', new Uint8Array(0)],
    ['an odd byte count', new Uint8Array(3)],
    ['oversized audio', new Uint8Array(MAX_AUDIO_MESSAGE_BYTES + 2)],
  ])('rejects %s', (_name, bytes) => {
    expect(decodeHarnessMessage(bytes, true, 0)).toEqual({ error: expect.any(String) });
  });

  it('names the offending field', () => {
    expect(text({ type: 'start', mode: 'video' }).error).toMatch(/mode/);
  });
});

describe('encodeHarnessFrame', () => {
  it('sends audio as binary, as it is', () => {
    const audio = new Uint8Array([1, 2, 3, 4]);
    expect(encodeHarnessFrame({ kind: 'audio', audio })).toEqual({ binary: audio });
    expect(encodeHarnessFrame({ kind: 'audio', audio: new Uint8Array(0) })).toBeNull();
  });

  it('sends marks, clear and events as JSON', () => {
    expect(encodeHarnessFrame({ kind: 'mark', name: 'u1.1' })).toEqual({ text: '{"type":"mark","name":"u1.1"}' });
    expect(encodeHarnessFrame({ kind: 'clear' })).toEqual({ text: '{"type":"clear"}' });
    const event = { type: 'agent_text', text: 'Hi there.', turn: 1 } as const;
    expect(JSON.parse(encodeHarnessFrame({ kind: 'event', event })?.text ?? '')).toEqual({ type: 'event', event });
  });

  it('skips an event whose tool result cannot be serialised', () => {
    const result: Record<string, unknown> = {};
    result.self = result;
    expect(encodeHarnessFrame({ kind: 'event', event: { type: 'tool_result', id: 'c1', name: 'x', result, durationMs: 1 } })).toBeNull();
  });
});
