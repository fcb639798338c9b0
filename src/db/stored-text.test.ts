import { describe, expect, it } from 'vitest';
import { storableJson, storableText } from './stored-text.js';

describe('storableText', () => {
  it.each([
    ['plain text', 'Oil change, Thursday 2 PM.', 'Oil change, Thursday 2 PM.'],
    ['NUL', 'a\u0000b', 'ab'],
    ['other C0 controls, DEL and C1 controls', 'a\u0001\u0008\u000b\u000c\r\u001b\u007f\u0085\u009fb', 'ab'],
    ['newline and tab', 'line\nnext\tcol', 'line\nnext\tcol'],
    ['a lone high surrogate', 'a\ud83db', 'ab'],
    ['a lone low surrogate', 'a\udc4db', 'ab'],
    ['a surrogate pair', 'thumbs \ud83d\udc4d', 'thumbs 👍'],
    ['two high surrogates then a low one', '\ud83d\ud83d\udc4d', '👍'],
    ['accents and other scripts', 'José Müller 李', 'José Müller 李'],
  ])('%s', (_name, input, expected) => {
    expect(storableText(input)).toBe(expected);
  });
});

describe('storableJson', () => {
  it('cleans every string, keys included, and keeps everything else', () => {
    const value = { 'ke\u0000y': ['a\u0000', 1, true, null, { nested: 'x\udc00y' }], at: new Date('2026-12-01T15:00:00Z') };
    expect(JSON.parse(storableJson(value))).toEqual({
      key: ['a', 1, true, null, { nested: 'xy' }],
      at: '2026-12-01T15:00:00.000Z',
    });
  });
});
