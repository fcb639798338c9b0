import Fastify from 'fastify';
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

  it('leaves text alone when there is nothing to scrub, and scrubs by value only long, non-word secrets', () => {
    expect(secretScrubber([])('plain text')).toBe('plain text');
    expect(secretScrubber(['abcd'])('xabcdx')).toBe('xabcdx');
    expect(secretScrubber(['abcdefghijk1'])('xabcdefghijk1x')).toBe('x[REDACTED]x');
    // Twelve letters and more can still be an ordinary word.
    expect(secretScrubber(['constructions'])('constructions ahead')).toBe('constructions ahead');
  });

  it('does not mangle ordinary words that match a short database password, but hides it in the URL', () => {
    const { logger, text } = capture(['agent']);
    logger.info({ dsn: 'postgres://agent:agent@db/x' }, 'the agent is connected');
    logger.info('redis at redis://:agent@cache:6379/0 and rediss://user:p%40ss\\"w@cache');
    const lines = text().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ service: 'service-desk-agent', msg: 'the agent is connected', dsn: 'postgres://agent:[REDACTED]@db/x' });
    expect(lines[1]?.msg).toBe('redis at redis://:[REDACTED]@cache:6379/0 and rediss://user:[REDACTED]@cache');
  });

  it('scrubs a long API key wherever it appears', () => {
    const apiKey = 'sk-proj-0123456789abcdefABCDEF';
    const { logger, text } = capture([apiKey]);
    logger.info({ vendor: { config: { header: `Bearer ${apiKey}` } } }, `calling with ${apiKey}`);
    logger.error({ err: new Error(`401 for key ${apiKey}`) }, 'vendor failed');
    expect(text()).not.toContain(apiKey);
    // the header, the message, and the error message in `message` and in `stack`
    expect(text().match(/\[REDACTED\]/g)?.length).toBe(4);
  });

  it('hides a short harness token by field name, not by value', () => {
    const { logger, text } = capture(['abc123']);
    logger.info({ token: 'abc123', query: { token: 'abc123' } }, 'order abc123 ready');
    const line = JSON.parse(text()) as Record<string, unknown>;
    expect(line).toMatchObject({ token: '[REDACTED]', query: { token: '[REDACTED]' }, msg: 'order abc123 ready' });
  });
});

describe('logged database errors', () => {
  const transcript = 'my name is Ana Lopez, call me on +15550001111';

  /** What drizzle throws for a failed query, around the driver's (pg or PGlite) error. */
  function failedInsert(): Error {
    const driver = Object.assign(new Error('unsupported Unicode escape sequence'), {
      name: 'error',
      severity: 'ERROR',
      code: '22P05',
      detail: '\\u0000 cannot be converted to text.',
      where: `JSON data, line 1: [{"role":"caller","text":"${transcript}...\nunnamed portal parameter $4 = '...'`,
      table: 'call_records',
      routine: 'json_lex',
      // PGlite adds these to its errors.
      query: 'insert into "call_records" ("call_id", "transcript") values ($1, $2)',
      params: ['CA1', JSON.stringify([{ role: 'caller', text: transcript }])],
    });
    const params = ['CA1', JSON.stringify([{ role: 'caller', text: transcript }])];
    class DrizzleQueryError extends Error {
      constructor(
        readonly query: string,
        readonly params: unknown[],
        override readonly cause: unknown,
      ) {
        super(`Failed query: ${query}\nparams: ${params.join(',')}`);
      }
    }
    return new DrizzleQueryError('insert into "call_records" ("call_id", "transcript") values ($1, $2)', params, driver);
  }

  function logged(fields: Record<string, unknown>): string {
    const { logger, text } = capture([]);
    logger.error(fields, 'call error');
    return text();
  }

  it('says what failed and its SQLSTATE, never the parameters or the refused text', () => {
    const out = logged({ callId: 'CA1', err: failedInsert() });
    expect(out).not.toContain('Ana Lopez');
    expect(out).not.toContain('+15550001111');
    expect(out).not.toContain('params');
    const { err } = JSON.parse(out) as { err: Record<string, unknown> };
    expect(err).toMatchObject({
      type: 'DrizzleQueryError',
      code: '22P05',
      message: 'Failed query: insert into "call_records" ("call_id", "transcript") values ($1, $2): unsupported Unicode escape sequence',
    });
    expect(err.stack).toMatch(/^Error: Failed query: insert into[^\n]*\n\s+at /);
    expect(err.stack).toContain('caused by: error: unsupported Unicode escape sequence');
  });

  it('hides the data of a database error that is the cause of another error', () => {
    const wrapped = new Error('could not save the call record', { cause: failedInsert() });
    const out = logged({ err: wrapped });
    expect(out).not.toContain('Ana Lopez');
    expect(JSON.parse(out).err.message).toBe(
      'could not save the call record: Failed query: insert into "call_records" ("call_id", "transcript") values ($1, $2): unsupported Unicode escape sequence',
    );
  });

  it('hides a value PostgreSQL quotes in its message', () => {
    const driver = Object.assign(new Error('invalid input syntax for type uuid: "Ana Lopez +15550001111"'), {
      severity: 'ERROR',
      code: '22P02',
    });
    const out = logged({ err: driver });
    expect(out).not.toContain('Ana Lopez');
    expect(JSON.parse(out).err).toMatchObject({ code: '22P02', message: 'invalid input syntax for type uuid: "[value]"' });
  });

  it('strips the parameters from a message already copied into a plain object', () => {
    const error = failedInsert();
    const out = logged({ err: { name: error.name, message: error.message } });
    expect(out).not.toContain('Ana Lopez');
    expect(JSON.parse(out).err.message).toBe('Failed query: insert into "call_records" ("call_id", "transcript") values ($1, $2)');
  });

  it('strips the parameters from a message another error embedded', () => {
    const error = new Error(`calendar free/busy failed: ${failedInsert().message}`);
    const out = logged({ err: error });
    expect(out).not.toContain('Ana Lopez');
    expect(JSON.parse(out).err.message).toBe(
      'calendar free/busy failed: Failed query: insert into "call_records" ("call_id", "transcript") values ($1, $2)',
    );
  });

  it('strips the parameters from a log message, as fastify writes a failed route', async () => {
    const lines: string[] = [];
    const logger = createLogger({ destination: { write: (line) => lines.push(line) } });
    const app = Fastify({ loggerInstance: logger });
    app.get('/fails', async () => {
      throw failedInsert();
    });
    expect((await app.inject({ method: 'GET', url: '/fails' })).statusCode).toBe(500);
    await app.close();
    const out = lines.join('');
    expect(out).toContain('"err":{"type":"DrizzleQueryError"');
    expect(out).not.toContain('Ana Lopez');
    expect(out).not.toContain('params');
  });

  it('keeps the fields of other errors, as pino does', () => {
    const error = Object.assign(new Error('calendar unavailable'), { status: 503, provider: 'google' });
    const { err } = JSON.parse(logged({ err: error })) as { err: Record<string, unknown> };
    expect(err).toMatchObject({ type: 'Error', message: 'calendar unavailable', status: 503, provider: 'google' });
    expect(err.stack).toContain('calendar unavailable');
  });
});
