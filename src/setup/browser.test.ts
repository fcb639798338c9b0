import { describe, expect, it } from 'vitest';
import { browserOpener, openInBrowser } from './browser.js';

describe('openInBrowser', () => {
  it('uses open on macOS and xdg-open elsewhere', () => {
    expect(browserOpener('darwin')).toBe('open');
    expect(browserOpener('linux')).toBe('xdg-open');
  });

  it('says whether an opener started, and never fails when there is none', async () => {
    await expect(openInBrowser('https://example.com/', 'no-such-opener-on-this-machine')).resolves.toBe(false);
    // `true` stands in for an opener that exists (and opens nothing).
    await expect(openInBrowser('https://example.com/', 'true')).resolves.toBe(true);
  });
});
