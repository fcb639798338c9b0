import { describe, expect, it } from 'vitest';
import { exitCodeOf, fail, formatLine, formatReport, ok, scrubSecrets, skip, warn } from './report.js';

describe('the doctor report', () => {
  it('prints one aligned line per check, the fix after an arrow', () => {
    expect(formatLine(ok('cache', 'Redis reachable'))).toBe('ok    cache               Redis reachable');
    expect(formatLine(fail('openai', 'model x is not available', 'set OPENAI_MODEL'))).toBe(
      'fail  openai              model x is not available -> set OPENAI_MODEL',
    );
    // A vendor's text with a line break cannot split a line of the report.
    expect(formatLine(warn('database', 'first\nsecond'))).toBe('warn  database            first second');
  });

  it('ends with a summary, and fails only on a failed check', () => {
    const lines = [ok('a', 'x'), warn('b', 'y'), skip('c', 'z')];
    expect(formatReport(lines, []).at(-1)).toBe('ready: 1 ok, 1 warn, 0 fail, 1 skipped');
    expect(exitCodeOf(lines)).toBe(0);
    const failing = [...lines, fail('d', 'w')];
    expect(formatReport(failing, []).at(-1)).toBe('not ready: 1 ok, 1 warn, 1 fail, 1 skipped');
    expect(exitCodeOf(failing)).toBe(1);
  });

  it('hides every configured secret wherever it appears, the longest first', () => {
    const report = formatReport([fail('database', 'refused for user app with password hunter2hunter2-long', 'check hunter2')], ['hunter2', 'hunter2hunter2-long']);
    expect(report[0]).toBe('fail  database            refused for user app with password [secret] -> check [secret]');
    expect(scrubSecrets('abc', ['ab'])).toBe('abc');
  });
});
