/**
 * `npm run doctor` against every emulator and a real database: all green on a good configuration,
 * and on a broken one a failing line naming each broken part, with no secret anywhere in the
 * output. Runs on PGlite, and on PostgreSQL when TEST_DATABASE_URL is set (Redis with TEST_REDIS_URL).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { runDoctor } from '../src/setup/doctor/doctor.js';
import type { CheckLine } from '../src/setup/doctor/report.js';
import { startDeepgramEmulator } from './emulators/deepgram.js';
import type { DeepgramEmulator } from './emulators/deepgram.js';
import { startElevenLabsEmulator } from './emulators/elevenlabs.js';
import type { ElevenLabsEmulator } from './emulators/elevenlabs.js';
import { startGoogleCalendarEmulator } from './emulators/google-calendar.js';
import type { GoogleCalendarEmulator } from './emulators/google-calendar.js';
import { startOpenAiEmulator } from './emulators/openai.js';
import type { OpenAiEmulator } from './emulators/openai.js';
import { startTwilioRestEmulator } from './emulators/twilio.js';
import type { TwilioRestEmulator } from './emulators/twilio.js';
import { databaseBackends } from './support/databases.js';
import { freePort, spawnScript } from './support/spawn-server.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const TWILIO_TOKEN = 'twilio-auth-token-0123456789abcdef';
const NUMBER = '+15551234567';
const MISWIRED = '+15557654321';
const PUBLIC_URL = 'https://agent.example.com';
const HARNESS_TOKEN = 'harness-token-0123456789abcdef';
const DB_PASSWORD = 'db-password-never-printed';

describe.each(databaseBackends())('doctor with $name', (backend) => {
  let google: GoogleCalendarEmulator;
  let openai: OpenAiEmulator;
  let deepgram: DeepgramEmulator;
  let elevenlabs: ElevenLabsEmulator;
  let twilio: TwilioRestEmulator;
  let database: { env: Record<string, string>; remove(): Promise<void> };
  const dataRoot = mkdtempSync(join(tmpdir(), 'sda-doctor-'));
  let goodEnv: Record<string, string>;

  beforeAll(async () => {
    [google, openai, deepgram, elevenlabs, twilio] = await Promise.all([
      startGoogleCalendarEmulator(),
      startOpenAiEmulator(),
      startDeepgramEmulator(),
      startElevenLabsEmulator(),
      startTwilioRestEmulator({
        accountSid: ACCOUNT,
        authToken: TWILIO_TOKEN,
        incomingNumbers: [
          { phoneNumber: NUMBER, voiceUrl: `${PUBLIC_URL}/twilio/voice`, voiceMethod: 'POST' },
          { phoneNumber: MISWIRED, voiceUrl: 'https://old-host.example.com/voice', voiceMethod: 'POST' },
        ],
      }),
    ]);
    google.createCalendar({ id: 'holidays@group.v.calendar.google.com', summary: 'Holidays', accessRole: 'reader' });
    // The server migrates at start; the doctor must see a database in the state the server leaves it.
    database = backend.name === 'pglite' ? { env: { DATA_DIR: join(dataRoot, 'data') }, remove: async () => undefined } : await backend.appEnv();
    const migrated = await openDatabase({ url: database.env.DATABASE_URL, dataDir: database.env.DATA_DIR });
    await migrated.migrate();
    await migrated.close();

    goodEnv = {
      ...database.env,
      ...(process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : {}),
      MIGRATE_ON_START: 'false',
      HOST: '0.0.0.0',
      HARNESS_TOKEN,
      PUBLIC_URL,
      GOOGLE_CLIENT_ID: google.clientId,
      GOOGLE_CLIENT_SECRET: google.clientSecret,
      GOOGLE_REFRESH_TOKEN: google.refreshToken,
      GOOGLE_API_BASE_URL: google.rootUrl,
      GOOGLE_TOKEN_URI: google.tokenUrl,
      OPENAI_API_KEY: openai.apiKey,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_MODEL: 'gpt-4o-mini',
      DEEPGRAM_API_KEY: deepgram.apiKey,
      DEEPGRAM_BASE_URL: deepgram.url,
      ELEVENLABS_API_KEY: elevenlabs.apiKey,
      ELEVENLABS_BASE_URL: elevenlabs.baseUrl,
      TWILIO_ACCOUNT_SID: ACCOUNT,
      TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
      TWILIO_API_BASE_URL: twilio.baseUrl,
      TWILIO_PHONE_NUMBER: NUMBER,
    };
  }, 60_000);

  afterAll(async () => {
    await Promise.all([google?.close(), openai?.close(), deepgram?.close(), elevenlabs?.close(), twilio?.close()]);
    await database?.remove();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  const secrets = (): string[] => [
    google.clientSecret,
    google.refreshToken,
    ...google.issuedAccessTokens,
    openai.apiKey,
    deepgram.apiKey,
    elevenlabs.apiKey,
    TWILIO_TOKEN,
    HARNESS_TOKEN,
    DB_PASSWORD,
  ];

  const byName = (lines: CheckLine[]) => Object.fromEntries(lines.map((line) => [line.name, line]));

  it('is all green on a good configuration, one line per part', async () => {
    const lines = await runDoctor(loadConfig(goodEnv));
    expect(lines.filter((line) => line.status !== 'ok')).toEqual([]);
    // PostgreSQL also gets a line on its connection budget (an embedded database has one connection).
    const postgres = backend.name === 'postgres';
    expect(lines.map((line) => line.name)).toEqual([
      'configuration',
      'database',
      ...(postgres ? ['database connections'] : []),
      'cache',
      'google token',
      'calendar primary',
      'google free/busy',
      'openai',
      'deepgram',
      'elevenlabs',
      'public url',
      'twilio account',
      'twilio number',
      'harness',
    ]);
    const found = byName(lines);
    expect(found.database?.detail).toMatch(/reachable; migrations current \(\d+ applied\)/);
    if (postgres) expect(found['database connections']?.detail).toMatch(/^1 process\(es\) x DATABASE_POOL_SIZE 10 = up to 10 connections per instance; PostgreSQL allows \d+ /);
    expect(found['calendar primary']?.detail).toMatch(/owner access: readable and writable/);
    expect(found['twilio number']?.detail).toBe(`${NUMBER} calls POST ${PUBLIC_URL}/twilio/voice`);
    expect(found.elevenlabs?.detail).toBe('key valid; voice Rachel (21m00Tcm4TlvDq8ikWAM)');

    // The same as the operator runs it: exit 0, nothing to fix, no secret.
    const cli = spawnScript('src/setup/doctor-cli.ts', [], goodEnv);
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toMatch(new RegExp(`^ready: ${postgres ? 14 : 13} ok, 0 warn, 0 fail, 0 skipped$`, 'm'));
    for (const secret of secrets()) expect(cli.output()).not.toContain(secret);
  }, 30_000);

  it('names each broken part on a bad configuration', async () => {
    const closedPort = await freePort();
    // The shop removed the app's access in its Google account (it stays removed for this file's later tests).
    google.revokeRefreshToken();
    {
      const lines = await runDoctor(
        loadConfig({
          ...goodEnv,
          DATABASE_URL: `postgres://doctor:${DB_PASSWORD}@127.0.0.1:${closedPort}/agent`,
          OPENAI_MODEL: 'gpt-no-such-model',
          TWILIO_PHONE_NUMBER: MISWIRED,
        }),
      );
      const found = byName(lines);
      expect(found.database).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^PostgreSQL unreachable \(.*ECONNREFUSED/) });
      expect(found['google token']).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('Google refused the refresh token (invalid_grant: Token has been expired or revoked.)'),
        fix: expect.stringContaining('npm run google:auth'),
      });
      expect(found['calendar primary']?.status).toBe('skip');
      expect(found.openai).toMatchObject({ status: 'fail', detail: 'key valid, but model gpt-no-such-model is not available to it' });
      expect(found['twilio number']).toMatchObject({
        status: 'fail',
        detail: `${MISWIRED}: its voice webhook is https://old-host.example.com/voice, not POST ${PUBLIC_URL}/twilio/voice`,
        fix: `run npm run twilio:connect -- --number ${MISWIRED}`,
      });
      // The parts that are fine stay fine.
      expect(found.deepgram?.status).toBe('ok');
      expect(found.elevenlabs?.status).toBe('ok');
    }
  });

  it('judges calendars by the account\'s role, and keys and voices by the vendors\' answers', async () => {
    const fresh = await startGoogleCalendarEmulator();
    fresh.createCalendar({ id: 'holidays@group.v.calendar.google.com', summary: 'Holidays', accessRole: 'reader' });
    try {
      const env = {
        ...goodEnv,
        GOOGLE_CLIENT_ID: fresh.clientId,
        GOOGLE_CLIENT_SECRET: fresh.clientSecret,
        GOOGLE_REFRESH_TOKEN: fresh.refreshToken,
        GOOGLE_API_BASE_URL: fresh.rootUrl,
        GOOGLE_TOKEN_URI: fresh.tokenUrl,
      };
      const readOnly = byName(await runDoctor(loadConfig({ ...env, GOOGLE_CALENDAR_ID: 'holidays@group.v.calendar.google.com' })));
      expect(readOnly['calendar holidays@group.v.calendar.google.com']).toMatchObject({
        status: 'fail',
        detail: '"Holidays" is reader only: the agent could not book into it',
      });
      const unknown = byName(
        await runDoctor(
          loadConfig({
            ...env,
            GOOGLE_CALENDAR_ID: 'nobody@example.com',
            DEEPGRAM_API_KEY: 'dg-not-the-key-000000',
            ELEVENLABS_VOICE_ID: 'NoSuchVoice0000',
            TWILIO_AUTH_TOKEN: 'twilio-wrong-token-000000',
          }),
        ),
      );
      expect(unknown['calendar nobody@example.com']).toMatchObject({ status: 'fail', detail: "not in this account's calendar list" });
      expect(unknown['google free/busy']).toMatchObject({ status: 'fail', detail: expect.stringContaining('nobody@example.com: notFound') });
      expect(unknown.deepgram).toMatchObject({ status: 'fail', detail: 'Deepgram refused the key (HTTP 401)' });
      expect(unknown.elevenlabs).toMatchObject({ status: 'fail', detail: 'key valid, but voice NoSuchVoice0000 is not in this account' });
      expect(unknown['twilio account']).toMatchObject({ status: 'fail', fix: 'check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN' });
    } finally {
      await fresh.close();
    }
  });

  it('runs as `npm run doctor` does: exit 1 naming the broken parts, and not one secret in the output', async () => {
    const closedPort = await freePort();
    const bad = spawnScript('src/setup/doctor-cli.ts', [], {
      ...goodEnv,
      DATABASE_URL: `postgres://doctor:${DB_PASSWORD}@127.0.0.1:${closedPort}/agent`,
      OPENAI_MODEL: 'gpt-no-such-model',
      TWILIO_PHONE_NUMBER: MISWIRED,
    });
    expect(await bad.exited).toBe(1);
    const output = bad.output();
    expect(output).toMatch(/^fail {2}database .*unreachable/m);
    expect(output).toMatch(/^fail {2}openai .*gpt-no-such-model/m);
    expect(output).toMatch(/^fail {2}twilio number .*old-host\.example\.com/m);
    expect(output).toMatch(/^not ready: \d+ ok, \d+ warn, [3-9] fail/m);
    for (const secret of secrets()) expect(output).not.toContain(secret);
  }, 30_000);
});

describe('doctor with nothing configured', () => {
  it('reports the optional vendors as skipped, not failed, and exits 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sda-doctor-empty-'));
    try {
      const child = spawnScript('src/setup/doctor-cli.ts', ['--dotenv', join(dataDir, 'none.env')], { DATA_DIR: join(dataDir, 'data'), HOST: '127.0.0.1' });
      expect(await child.exited).toBe(0);
      const output = child.output();
      for (const vendor of ['google calendar', 'openai', 'deepgram', 'elevenlabs', 'twilio']) {
        expect(output).toMatch(new RegExp(`^skip {2}${vendor} `, 'm'));
      }
      expect(output).not.toMatch(/^(fail|warn) /m);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);

  it('stops at an invalid configuration with one failing line per problem', async () => {
    const child = spawnScript('src/setup/doctor-cli.ts', [], { PORT: 'eighty', TWILIO_PHONE_NUMBER: 'call me' });
    expect(await child.exited).toBe(1);
    expect(child.output()).toMatch(/^fail {2}configuration {7}PORT: must be an integer/m);
    expect(child.output()).toMatch(/^fail {2}configuration {7}TWILIO_PHONE_NUMBER: must be a phone number in E\.164/m);
  }, 30_000);
});
