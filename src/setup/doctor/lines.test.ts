import { describe, expect, it } from 'vitest';
import type { GoogleCalendarConfig } from '../../config.js';
import { configuredCalendarIds } from './google-checks.js';
import { connectionBudgetLine, migrationLine } from './storage-checks.js';
import { harnessLine, publicUrlLine } from './twilio-checks.js';

const twilio = (configured: boolean) => ({
  authToken: configured ? 'token-0123456789abcdef' : undefined,
  accountSid: configured ? 'AC0123' : undefined,
  apiBaseUrl: undefined,
  transferNumber: undefined,
  phoneNumber: undefined,
});

describe('lines judged from the configuration alone', () => {
  it.each([
    [{ host: '127.0.0.1', harnessToken: undefined }, 'ok', /loopback/],
    [{ host: 'localhost', harnessToken: undefined }, 'ok', /loopback/],
    [{ host: '0.0.0.0', harnessToken: undefined }, 'warn', /HOST=0\.0\.0\.0 without HARNESS_TOKEN/],
    [{ host: '0.0.0.0', harnessToken: 'short' }, 'warn', /shorter than 16/],
    [{ host: '0.0.0.0', harnessToken: 'a-long-enough-harness-token' }, 'ok', /HARNESS_TOKEN set/],
  ])('harness for %o is %s', (config, status, detail) => {
    const line = harnessLine(config);
    expect(line.status).toBe(status);
    expect(line.detail).toMatch(detail);
  });

  it.each([
    [false, undefined, 'skip'],
    [true, undefined, 'fail'],
    [true, 'http://agent.example.com', 'fail'],
    [false, 'http://agent.example.com', 'warn'],
    [true, 'https://agent.example.com', 'ok'],
  ] as const)('PUBLIC_URL with Twilio configured %s and %s is %s', (configured, publicUrl, status) => {
    expect(publicUrlLine({ twilio: twilio(configured), publicUrl }).status).toBe(status);
  });

  it.each([
    [{ workers: 2, poolSize: 10 }, 'ok', /2 process\(es\) x DATABASE_POOL_SIZE 10 = up to 20 connections per instance; PostgreSQL allows 97 .*room for 4 instance/],
    [{ workers: 8, poolSize: 10 }, 'warn', /up to 80 connections per instance.*room for 1 instance/],
    [{ workers: 4, poolSize: 30 }, 'fail', /up to 120 connections per instance; PostgreSQL allows 97.*one instance can exhaust it/],
  ] as const)('a connection budget of %o against the default max_connections is %s', (instance, status, detail) => {
    const line = connectionBudgetLine(instance, { maxConnections: 100, reserved: 3 });
    expect(line.status).toBe(status);
    expect(line.detail).toMatch(detail);
  });

  it.each([
    [{ applied: 3, pending: [], unknown: 0 }, true, 'ok', /migrations current \(3 applied\)/],
    [{ applied: 3, pending: [], unknown: 1 }, true, 'warn', /1 applied migration\(s\) this code does not ship/],
    [{ applied: 2, pending: ['0002_x'], unknown: 0 }, true, 'warn', /1 migration\(s\) pending \(0002_x\)/],
    [{ applied: 2, pending: ['0002_x'], unknown: 0 }, false, 'fail', /MIGRATE_ON_START=false/],
  ] as const)('migrations %o with MIGRATE_ON_START=%s are %s', (status, migrateOnStart, expected, detail) => {
    const line = migrationLine('PostgreSQL', { ...status, pending: [...status.pending] }, migrateOnStart);
    expect(line.status).toBe(expected);
    expect(line.detail).toMatch(detail);
  });
});

describe('configuredCalendarIds', () => {
  const google: GoogleCalendarConfig = {
    clientId: 'id',
    clientSecret: 'secret',
    refreshToken: 'token',
    calendarId: 'primary',
    bayCalendarIds: [],
    apiBaseUrl: undefined,
    tokenUri: undefined,
  };

  it('is the shop-wide calendar, then each bay calendar once (GOOGLE_BAY_CALENDAR_IDS)', () => {
    expect(configuredCalendarIds(google)).toEqual(['primary']);
    const withBays = { ...google, bayCalendarIds: ['bay-1@example.com', 'bay-2@example.com', 'bay-1@example.com'] };
    expect(configuredCalendarIds(withBays)).toEqual(['primary', 'bay-1@example.com', 'bay-2@example.com']);
  });
});
