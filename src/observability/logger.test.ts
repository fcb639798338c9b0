import { describe, expect, it } from 'vitest';
import { createLogger, secretScrubber } from './logger.js';

function capture(secrets: string[]) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', secrets, destination: { write: (line) => lines.push(line) } });
  return { logger, text: () => lines.join('') };
}

describe('logger', () => {
  const secrets = ['sk-live-abc123', 'refresh/token+with=chars', 'hunter2-db-pass'];

  it('writes structured JSON lines', () => {
    const { logger, text } = capture([]);
    logger.info({ callId: 'CA1' }, 'call started');
    expect(JSON.parse(text())).toMatchObject({ level: 30, callId: 'CA1', msg: 'call started', service: 'service-desk-agent' });
  });

  it('scrubs known secret values wherever they appear: fields, messages, errors, URLs', () => {
    const { logger, text } = capture(secrets);
    logger.info({ config: { openaiKey: 'sk-live-abc123' } }, 'loaded');
    logger.error({ err: new Error('auth failed for key sk-live-abc123') }, 'provider error');
    logger.warn(`GET https://example.test/cb?token=${encodeURIComponent('refresh/token+with=chars')}`);
    logger.info({ nested: { deeper: { dsn: 'postgres://agent:hunter2-db-pass@db/agent' } } }, 'db');
    logger.info({ quoted: 'he said "refresh/token+with=chars"' }, 'escaped');
    const out = text();
    for (const secret of secrets) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain(encodeURIComponent(secret));
    }
    expect(out.match(/\[REDACTED\]/g)?.length).toBeGreaterThanOrEqual(5);
  });

  it('redacts credential fields by name even when their values are not known secrets', () => {
    const { logger, text } = capture([]);
    logger.info({ req: { headers: { authorization: 'Bearer xyz-unknown' } }, vendor: { apiKey: 'k-unknown', token: 't-unknown' } });
    const out = text();
    expect(out).not.toContain('xyz-unknown');
    expect(out).not.toContain('k-unknown');
    expect(out).not.toContain('t-unknown');
  });

  it('leaves text alone when there is nothing to scrub, and ignores too-short secrets', () => {
    expect(secretScrubber([])('plain text')).toBe('plain text');
    expect(secretScrubber(['ab'])('abc')).toBe('abc');
    expect(secretScrubber(['abcd'])('xabcdx')).toBe('x[REDACTED]x');
  });
});
