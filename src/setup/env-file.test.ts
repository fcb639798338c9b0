import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { setEnvValue, writeEnvValue } from './env-file.js';

const TOKEN = '1//0gExample-refresh_token.value';

describe('setEnvValue', () => {
  it('creates a file holding only the variable when there is none', () => {
    expect(setEnvValue(undefined, 'GOOGLE_REFRESH_TOKEN', TOKEN)).toBe(`GOOGLE_REFRESH_TOKEN=${TOKEN}\n`);
    expect(setEnvValue('', 'GOOGLE_REFRESH_TOKEN', TOKEN)).toBe(`GOOGLE_REFRESH_TOKEN=${TOKEN}\n`);
  });

  it('replaces only the value of the active line, keeping everything else byte for byte', () => {
    const before = [
      '# Google',
      'GOOGLE_CLIENT_ID=id.apps.example',
      '# GOOGLE_REFRESH_TOKEN=an-old-commented-one',
      'GOOGLE_REFRESH_TOKEN=stale # from last year',
      '',
      'export OPENAI_API_KEY="sk-keep me"',
      '',
    ].join('\n');
    const after = setEnvValue(before, 'GOOGLE_REFRESH_TOKEN', TOKEN);
    expect(after).toBe(before.replace('GOOGLE_REFRESH_TOKEN=stale # from last year', `GOOGLE_REFRESH_TOKEN=${TOKEN} # from last year`));
    expect(parseEnv(after)).toMatchObject({ GOOGLE_REFRESH_TOKEN: TOKEN, GOOGLE_CLIENT_ID: 'id.apps.example', OPENAI_API_KEY: 'sk-keep me' });
  });

  it('keeps `export` and the spacing around the equals sign of the line it updates', () => {
    expect(setEnvValue('export GOOGLE_REFRESH_TOKEN = "old"\n', 'GOOGLE_REFRESH_TOKEN', TOKEN)).toBe(
      `export GOOGLE_REFRESH_TOKEN = ${TOKEN}\n`,
    );
  });

  it('appends the variable after the last line when only a commented-out line names it', () => {
    expect(setEnvValue('# GOOGLE_REFRESH_TOKEN=\nPORT=9090', 'GOOGLE_REFRESH_TOKEN', TOKEN)).toBe(
      `# GOOGLE_REFRESH_TOKEN=\nPORT=9090\nGOOGLE_REFRESH_TOKEN=${TOKEN}\n`,
    );
  });

  it('does not touch a variable whose name merely starts the same', () => {
    const after = setEnvValue('GOOGLE_REFRESH_TOKEN_OLD=x\n', 'GOOGLE_REFRESH_TOKEN', TOKEN);
    expect(after).toBe(`GOOGLE_REFRESH_TOKEN_OLD=x\nGOOGLE_REFRESH_TOKEN=${TOKEN}\n`);
  });

  it('keeps Windows line endings', () => {
    expect(setEnvValue('A=1\r\nGOOGLE_REFRESH_TOKEN=old\r\n', 'GOOGLE_REFRESH_TOKEN', 'new')).toBe('A=1\r\nGOOGLE_REFRESH_TOKEN=new\r\n');
  });

  it('quotes a value the parser would otherwise cut, so it reads back whole', () => {
    const after = setEnvValue(undefined, 'GREETING', 'Hi there # not a comment');
    expect(parseEnv(after).GREETING).toBe('Hi there # not a comment');
  });

  it('refuses a value over several lines or a bad name', () => {
    expect(() => setEnvValue('', 'GOOGLE_REFRESH_TOKEN', 'a\nb')).toThrow(/one line/);
    expect(() => setEnvValue('', 'BAD NAME', 'x')).toThrow(/variable name/);
  });
});

describe('writeEnvValue', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sda-env-'));
  afterEach(() => rmSync(join(dir, '.env'), { force: true }));

  it('creates a missing file readable by its owner only', () => {
    const path = join(dir, '.env');
    expect(writeEnvValue(path, 'GOOGLE_REFRESH_TOKEN', TOKEN)).toEqual({ created: true });
    expect(readFileSync(path, 'utf8')).toBe(`GOOGLE_REFRESH_TOKEN=${TOKEN}\n`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('updates an existing file in place, keeping its mode', () => {
    const path = join(dir, '.env');
    writeFileSync(path, 'PORT=9090\nGOOGLE_REFRESH_TOKEN=old\n', { mode: 0o640 });
    expect(writeEnvValue(path, 'GOOGLE_REFRESH_TOKEN', TOKEN)).toEqual({ created: false });
    expect(readFileSync(path, 'utf8')).toBe(`PORT=9090\nGOOGLE_REFRESH_TOKEN=${TOKEN}\n`);
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });
});
