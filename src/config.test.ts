import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadGoogleOAuthClientConfig, redactUrl } from './config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('starts on embedded defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      shopName: expect.any(String),
      database: { url: undefined, dataDir: './data', migrateOnStart: true, poolSize: 10 },
      redisUrl: undefined,
      google: undefined,
      serviceBays: 1,
      secrets: [],
    });
    expect(config.business.timeZone).toBe('America/New_York');
    expect(config.business.weeklyHours[1]).toEqual({ open: '09:00', close: '17:00' });
    expect(config.business.weeklyHours[6]).toEqual({ open: '09:00', close: '15:00' });
    expect(config.business.weeklyHours[7]).toBeNull();
    expect(config.business.breaks).toEqual([{ start: '12:00', end: '13:00' }]);
    expect(config.business).toMatchObject({ minLeadMinutes: 60, slotMinutes: 30, holidays: [], maxBookingDays: 90 });
  });

  describe('WORKERS', () => {
    const pg = { DATABASE_URL: 'postgres://agent@127.0.0.1:5432/agent' };

    it('runs one process unless told otherwise, and auto means one worker per core', () => {
      expect(loadConfig({}).workers).toBe(1);
      expect(loadConfig({ ...pg, WORKERS: '3' }).workers).toBe(3);
      expect(loadConfig({ ...pg, WORKERS: 'auto' }).workers).toBe(availableParallelism());
      expect(loadConfig({ ...pg, WORKERS: ' AUTO ' }).workers).toBe(availableParallelism());
    });

    it('refuses more than one worker on the embedded database, in one line that says why', () => {
      expect(problemsOf({ WORKERS: '2' })).toEqual([
        'WORKERS: 2 worker processes need DATABASE_URL (PostgreSQL); the embedded database (DATA_DIR) belongs to one ' +
          'process, so set DATABASE_URL or WORKERS=1',
      ]);
      expect(loadConfig({ WORKERS: '1' }).workers).toBe(1);
    });

    it('refuses a count it cannot run', () => {
      for (const value of ['0', '-1', 'two', '1.5', '65']) {
        expect(problemsOf({ ...pg, WORKERS: value })).toEqual([
          `WORKERS: must be auto (one per core) or an integer from 1 to 64, got "${value}"`,
        ]);
      }
    });
  });

  it('reads PLAYOUT_START_BUFFER_MS (default 200, 0 turns it off) and PLAYOUT_START_HOLD_MS (default 60)', () => {
    expect(loadConfig({}).calls).toMatchObject({ playoutStartBufferMs: 200, playoutStartHoldMs: 60 });
    expect(loadConfig({ PLAYOUT_START_BUFFER_MS: '0', PLAYOUT_START_HOLD_MS: '100' }).calls).toMatchObject({ playoutStartBufferMs: 0, playoutStartHoldMs: 100 });
    expect(problemsOf({ PLAYOUT_START_HOLD_MS: '5000' })).toEqual([
      'PLAYOUT_START_HOLD_MS: must be an integer from 0 to 500 (most ms the first audio waits for PLAYOUT_START_BUFFER_MS), got "5000"',
    ]);
  });

  it('reads MIN_INTERRUPTION_MS (default 200), and refuses one out of range with a line that says what it is', () => {
    expect(loadConfig({}).calls.minInterruptionMs).toBe(200);
    expect(loadConfig({ MIN_INTERRUPTION_MS: '350' }).calls.minInterruptionMs).toBe(350);
    expect(problemsOf({ MIN_INTERRUPTION_MS: '5' })).toEqual([
      'MIN_INTERRUPTION_MS: must be an integer from 32 to 2000 (ms of caller speech over the agent before it stops), got "5"',
    ]);
    expect(problemsOf({ MIN_INTERRUPTION_MS: 'fast' })).toHaveLength(1);
  });

  it('treats empty values as unset, as a blank line in .env means "use the default"', () => {
    expect(loadConfig({ PORT: '', TIMEZONE: ' ', REDIS_URL: '' })).toMatchObject({ port: 8080, redisUrl: undefined });
  });

  it('reads every group of settings', () => {
    const config = loadConfig({
      PORT: '9090',
      PUBLIC_URL: 'https://agent.example.com/',
      TIMEZONE: 'Australia/Sydney',
      DATABASE_URL: 'postgres://agent:s3cret-pw@db:5432/agent',
      REDIS_URL: 'redis://:r3dis-pw@cache:6379',
      GOOGLE_CLIENT_ID: 'id.apps.example',
      GOOGLE_CLIENT_SECRET: 'client-secret-value',
      GOOGLE_REFRESH_TOKEN: 'refresh-token-value',
      GOOGLE_API_BASE_URL: 'http://127.0.0.1:9999/',
      OPENAI_API_KEY: 'sk-test-openai',
      HOLIDAYS: '2026-12-25, 2027-01-01',
      BUSINESS_HOURS: 'mon-fri 08:00-18:00',
      MIGRATE_ON_START: 'false',
      DATABASE_POOL_SIZE: '4',
    });
    expect(config.port).toBe(9090);
    expect(config.publicUrl).toBe('https://agent.example.com');
    expect(config.business.timeZone).toBe('Australia/Sydney');
    expect(config.business.holidays).toEqual(['2026-12-25', '2027-01-01']);
    expect(config.business.weeklyHours[6]).toBeNull();
    expect(config.database.migrateOnStart).toBe(false);
    expect(config.database.poolSize).toBe(4);
    expect(config.google).toEqual({
      clientId: 'id.apps.example',
      clientSecret: 'client-secret-value',
      refreshToken: 'refresh-token-value',
      calendarId: 'primary',
      bayCalendarIds: [],
      apiBaseUrl: 'http://127.0.0.1:9999/',
      tokenUri: undefined,
    });
    expect(config.secrets).toEqual(
      expect.arrayContaining(['client-secret-value', 'refresh-token-value', 'sk-test-openai', 's3cret-pw', 'r3dis-pw']),
    );
  });

  it.each([
    ['a non-numeric PORT', { PORT: 'eighty' }, /^PORT: must be an integer from 0 to 65535, got "eighty"$/],
    ['an out-of-range PORT', { PORT: '70000' }, /^PORT: must be an integer/],
    ['an unknown TIMEZONE', { TIMEZONE: 'Mars/Olympus_Mons' }, /^TIMEZONE: must be an IANA time zone.*Mars\/Olympus_Mons/],
    ['a malformed PUBLIC_URL', { PUBLIC_URL: 'not a url' }, /^PUBLIC_URL: must be a URL/],
    ['a DATABASE_URL with the wrong scheme', { DATABASE_URL: 'mysql://x@y/z' }, /^DATABASE_URL: must use postgres or postgresql/],
    ['a database pool of none', { DATABASE_POOL_SIZE: '0' }, /^DATABASE_POOL_SIZE: must be an integer from 1 to 500 \(connections each process keeps to PostgreSQL\), got "0"/],
    ['a malformed REDIS_URL', { REDIS_URL: 'redis//oops' }, /^REDIS_URL: must be a URL/],
    ['a malformed GOOGLE_API_BASE_URL', { GOOGLE_API_BASE_URL: '::' }, /^GOOGLE_API_BASE_URL: must be a URL/],
    ['a malformed GOOGLE_AUTH_URI', { GOOGLE_AUTH_URI: 'accounts.google.com' }, /^GOOGLE_AUTH_URI: must be a URL/],
    ['a TWILIO_PHONE_NUMBER that is no number', { TWILIO_PHONE_NUMBER: '555-CALL-NOW' }, /^TWILIO_PHONE_NUMBER: must be a phone number in E\.164 form/],
    ['an invalid LOG_LEVEL', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    ['bad BUSINESS_HOURS', { BUSINESS_HOURS: 'mon-fri 09:00-25:00' }, /^BUSINESS_HOURS: .*25:00/],
    ['an impossible holiday', { HOLIDAYS: '2026-02-30' }, /^HOLIDAYS: .*2026-02-30/],
    ['a non-boolean MIGRATE_ON_START', { MIGRATE_ON_START: 'maybe' }, /^MIGRATE_ON_START: must be true or false/],
    ['a zero MAX_BOOKING_DAYS', { MAX_BOOKING_DAYS: '0' }, /^MAX_BOOKING_DAYS: must be an integer from 1 to 3650 \(days ahead a caller may book\), got "0"$/],
    ['a MAX_BOOKING_DAYS past ten years', { MAX_BOOKING_DAYS: '3651' }, /^MAX_BOOKING_DAYS: must be an integer from 1 to 3650 .*got "3651"$/],
    ['a fractional MAX_BOOKING_DAYS', { MAX_BOOKING_DAYS: '30.5' }, /^MAX_BOOKING_DAYS: must be an integer .*got "30.5"$/],
    ['a word for MAX_BOOKING_DAYS', { MAX_BOOKING_DAYS: 'ninety' }, /^MAX_BOOKING_DAYS: must be an integer .*got "ninety"$/],
  ])('rejects %s with one clear line', (_name, env, pattern) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(pattern);
  });

  it.each([
    [{ GOOGLE_CLIENT_ID: 'id' }, 'GOOGLE_CLIENT_SECRET, GOOGLE_REFRESH_TOKEN missing'],
    [{ GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret' }, 'GOOGLE_REFRESH_TOKEN missing'],
    [{ GOOGLE_REFRESH_TOKEN: 'token' }, 'GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET missing'],
  ])('rejects only some of the Google credentials (%o)', (env, missing) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(missing);
    // The message names what is missing but never echoes a credential's value.
    expect(problems[0]).not.toMatch(/secret"|token"/);
  });

  it.each([
    ['1', 1],
    ['365', 365],
    ['3650', 3650],
  ])('reads MAX_BOOKING_DAYS=%s into the business rules', (value, days) => {
    expect(loadConfig({ MAX_BOOKING_DAYS: value }).business.maxBookingDays).toBe(days);
  });

  describe('service bays', () => {
    const GOOGLE = { GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret-value', GOOGLE_REFRESH_TOKEN: 'token-value' };

    it('reads SERVICE_BAYS for the local calendar', () => {
      expect(loadConfig({ SERVICE_BAYS: '4' })).toMatchObject({ serviceBays: 4, google: undefined });
      expect(loadConfig({ SERVICE_BAYS: '50' }).serviceBays).toBe(50);
    });

    it('counts one bay per GOOGLE_BAY_CALENDAR_IDS entry, trimmed, in order', () => {
      const config = loadConfig({ ...GOOGLE, GOOGLE_CALENDAR_ID: 'shop@example.com', GOOGLE_BAY_CALENDAR_IDS: ' bay1@group.calendar.google.com, bay2@resource.calendar.google.com ,bay3@x ' });
      expect(config.serviceBays).toBe(3);
      expect(config.google).toMatchObject({
        calendarId: 'shop@example.com',
        bayCalendarIds: ['bay1@group.calendar.google.com', 'bay2@resource.calendar.google.com', 'bay3@x'],
      });
      // SERVICE_BAYS may say the same thing.
      expect(loadConfig({ ...GOOGLE, SERVICE_BAYS: '2', GOOGLE_BAY_CALENDAR_IDS: 'a@x,b@x' }).serviceBays).toBe(2);
    });

    it('without bay calendars, gives Google SERVICE_BAYS bays sharing the shop calendar', () => {
      expect(loadConfig({ ...GOOGLE, SERVICE_BAYS: '3' })).toMatchObject({ serviceBays: 3, google: { bayCalendarIds: [] } });
    });

    it.each([
      ['no bays', { SERVICE_BAYS: '0' }, /^SERVICE_BAYS: must be an integer from 1 to 50 \(service bays, cars worked on at once\), got "0"$/],
      ['more than 50 bays', { SERVICE_BAYS: '51' }, /^SERVICE_BAYS: must be an integer from 1 to 50 .*got "51"$/],
      ['a word for SERVICE_BAYS', { SERVICE_BAYS: 'two' }, /^SERVICE_BAYS: .*got "two"$/],
      [
        'a SERVICE_BAYS that disagrees with the bay calendars',
        { ...GOOGLE, SERVICE_BAYS: '2', GOOGLE_BAY_CALENDAR_IDS: 'a@x,b@x,c@x' },
        /^SERVICE_BAYS: 2 disagrees with GOOGLE_BAY_CALENDAR_IDS, which names 3 bay calendars \(one per bay\)/,
      ],
      ['a bay calendar named twice', { ...GOOGLE, GOOGLE_BAY_CALENDAR_IDS: 'a@x, b@x, a@x' }, /^GOOGLE_BAY_CALENDAR_IDS: names a@x more than once/],
      ['an empty item', { ...GOOGLE, GOOGLE_BAY_CALENDAR_IDS: 'a@x,,b@x' }, /^GOOGLE_BAY_CALENDAR_IDS: has an empty item/],
      ['51 bay calendars', { ...GOOGLE, GOOGLE_BAY_CALENDAR_IDS: Array.from({ length: 51 }, (_, i) => `b${i}@x`).join(',') }, /^GOOGLE_BAY_CALENDAR_IDS: names 51 calendars; at most 50$/],
      [
        'the shop calendar as a bay',
        { ...GOOGLE, GOOGLE_CALENDAR_ID: 'shop@x', GOOGLE_BAY_CALENDAR_IDS: 'a@x,shop@x' },
        /^GOOGLE_BAY_CALENDAR_IDS: shop@x is also GOOGLE_CALENDAR_ID, the shop-wide calendar whose busy time blocks every bay/,
      ],
      ['bay calendars without Google', { GOOGLE_BAY_CALENDAR_IDS: 'a@x,b@x' }, /^GOOGLE_BAY_CALENDAR_IDS: bay calendars need Google Calendar/],
    ])('rejects %s with one clear line', (_name, env, pattern) => {
      const problems = problemsOf(env);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(pattern);
    });
  });

  it('reports every problem at once, one line each', () => {
    const problems = problemsOf({ PORT: 'x', TIMEZONE: 'Nowhere/City', PUBLIC_URL: 'nope', GOOGLE_CLIENT_ID: 'id' });
    expect(problems).toHaveLength(4);
    expect(problems.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining(['PORT', 'TIMEZONE', 'PUBLIC_URL', 'GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_REFRESH_TOKEN go together']),
    );
    for (const line of problems) expect(line).not.toContain('\n');
  });

  it('never echoes a password from a malformed URL', () => {
    const problems = problemsOf({ DATABASE_URL: 'postgres//user:hunter2@db' });
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(redactUrl('redis://:pw123@host:1/0')).toBe('redis://***@host:1/0');
  });

  it('reads the shop\'s Twilio number into E.164', () => {
    expect(loadConfig({ TWILIO_PHONE_NUMBER: '(555) 123-4567' }).twilio.phoneNumber).toBe('+15551234567');
    expect(loadConfig({}).twilio.phoneNumber).toBeUndefined();
  });
});

describe('WebRTC settings', () => {
  it('work on loopback and a LAN with nothing set', () => {
    expect(loadConfig({}).webrtc).toEqual({
      iceServers: [],
      turnUsername: undefined,
      turnCredential: undefined,
      portRange: undefined,
      publicIp: undefined,
    });
  });

  it('reads STUN/TURN servers, TURN credentials (a secret), the port range and the public address', () => {
    const config = loadConfig({
      WEBRTC_ICE_SERVERS: 'stun:stun.l.google.com:19302, turn:turn.example.com:3478?transport=udp',
      WEBRTC_TURN_USERNAME: 'agent',
      WEBRTC_TURN_CREDENTIAL: 'turn-secret-9',
      WEBRTC_PORT_RANGE: '40000-40100',
      WEBRTC_PUBLIC_IP: '203.0.113.7',
    });
    expect(config.webrtc).toEqual({
      iceServers: ['stun:stun.l.google.com:19302', 'turn:turn.example.com:3478?transport=udp'],
      turnUsername: 'agent',
      turnCredential: 'turn-secret-9',
      portRange: [40000, 40100],
      publicIp: '203.0.113.7',
    });
    expect(config.secrets).toContain('turn-secret-9');
  });

  it('says what is wrong with each bad setting, and that TURN needs its credentials', () => {
    const problems = problemsOf({
      WEBRTC_ICE_SERVERS: 'https://stun.example.com',
      WEBRTC_PORT_RANGE: '5000-4000',
      WEBRTC_PUBLIC_IP: 'my-host',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^WEBRTC_ICE_SERVERS: "https:\/\/stun.example.com" is not a STUN or TURN URL/),
      expect.stringMatching(/^WEBRTC_PORT_RANGE: must be a UDP port range like 40000-40100/),
      expect.stringMatching(/^WEBRTC_PUBLIC_IP: must be the IPv4 address/),
    ]);
    expect(problemsOf({ WEBRTC_ICE_SERVERS: 'turn:turn.example.com:3478' })).toEqual([
      'WEBRTC_TURN_USERNAME and WEBRTC_TURN_CREDENTIAL: a turn: server in WEBRTC_ICE_SERVERS needs both',
    ]);
    expect(problemsOf({ WEBRTC_TURN_CREDENTIAL: 'x' })).toEqual([
      'WEBRTC_TURN_USERNAME/WEBRTC_TURN_CREDENTIAL are set but WEBRTC_ICE_SERVERS names no turn: server',
    ]);
  });
});

describe('loadGoogleOAuthClientConfig', () => {
  it('needs only the client id and secret: the refresh token is what it is for', () => {
    expect(
      loadGoogleOAuthClientConfig({
        GOOGLE_CLIENT_ID: 'id.apps.example',
        GOOGLE_CLIENT_SECRET: 'client-secret-value',
        GOOGLE_AUTH_URI: 'http://127.0.0.1:9999/o/oauth2/v2/auth',
        // Problems elsewhere are not this step's business.
        PORT: 'not-a-port',
      }),
    ).toEqual({
      clientId: 'id.apps.example',
      clientSecret: 'client-secret-value',
      authUri: 'http://127.0.0.1:9999/o/oauth2/v2/auth',
      tokenUri: undefined,
      apiBaseUrl: undefined,
      secrets: ['client-secret-value'],
    });
  });

  it('says what to create when the client is missing, and validates its URLs like loadConfig', () => {
    expect(() => loadGoogleOAuthClientConfig({ GOOGLE_CLIENT_ID: 'id' })).toThrow(/GOOGLE_CLIENT_SECRET missing: create an OAuth client/);
    expect(() => loadGoogleOAuthClientConfig({})).toThrow(/GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET missing/);
    expect(() => loadGoogleOAuthClientConfig({ GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 's', GOOGLE_TOKEN_URI: 'ftp://x' })).toThrow(
      /GOOGLE_TOKEN_URI: must use https or http/,
    );
  });
});
