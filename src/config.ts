/**
 * The only reader of process.env. One zod schema turns the environment into a typed Config;
 * everything wrong with it is reported at once, one line per problem, so an operator fixes a
 * deployment in one go instead of one restart per typo.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { normalizePhone } from './core/phone.js';
import {
  DEFAULT_BREAKS_SPEC,
  DEFAULT_MAX_BOOKING_DAYS,
  DEFAULT_WEEKLY_HOURS_SPEC,
  MAX_BOOKING_DAYS_LIMIT,
  parseDailyRanges,
  parseHolidays,
  parseWeeklyHours,
} from './scheduling/business-rules.js';
import type { BusinessRules } from './scheduling/business-rules.js';
import { MAX_BAYS } from './scheduling/bays.js';

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

/** Empty strings count as unset: `FOO=` in a .env file means "use the default". */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

function urlField(protocols: readonly string[]) {
  return optionalString.superRefine((value, ctx) => {
    if (value === undefined) return;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be a URL (${protocols.join(', ')}), got "${redactUrl(value)}"` });
      return;
    }
    if (!protocols.includes(parsed.protocol.replace(/:$/, ''))) {
      ctx.addIssue({
        code: 'custom',
        message: `must use ${protocols.join(' or ')}, got "${parsed.protocol.replace(/:$/, '')}"`,
      });
    }
  });
}

/** `meaning`, when given, says what the number counts, so the message explains itself. */
function intField(fallback: number, min: number, max: number, meaning?: string) {
  return optionalString.transform((value, ctx) => {
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      const what = meaning === undefined ? '' : ` (${meaning})`;
      ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}${what}, got "${value}"` });
      return z.NEVER;
    }
    return Number(value);
  });
}

/** Like intField, but undefined when unset: for a value whose absence means something. */
function optionalIntField(min: number, max: number, meaning: string) {
  return optionalString.transform((value, ctx) => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max} (${meaning}), got "${value}"` });
      return z.NEVER;
    }
    return Number(value);
  });
}

/** 'a, b,c' -> ['a', 'b', 'c']; unset or empty -> []; no empty items, no repeats. */
function idListField(max: number, meaning: string) {
  return optionalString.transform((value, ctx) => {
    if (value === undefined) return [];
    const ids = value.split(',').map((id) => id.trim());
    if (ids.some((id) => id === '')) {
      ctx.addIssue({ code: 'custom', message: `has an empty item: give ${meaning}, separated by single commas` });
      return z.NEVER;
    }
    const repeated = ids.filter((id, index) => ids.indexOf(id) !== index);
    if (repeated.length > 0) {
      ctx.addIssue({ code: 'custom', message: `names ${repeated[0]} more than once: ${meaning} must all differ` });
      return z.NEVER;
    }
    if (ids.length > max) {
      ctx.addIssue({ code: 'custom', message: `names ${ids.length} calendars; at most ${max}` });
      return z.NEVER;
    }
    return ids;
  });
}

function boolField(fallback: boolean) {
  return optionalString.transform((value, ctx) => {
    if (value === undefined) return fallback;
    const lower = value.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
    if (['0', 'false', 'no', 'off'].includes(lower)) return false;
    ctx.addIssue({ code: 'custom', message: `must be true or false, got "${value}"` });
    return z.NEVER;
  });
}

/** Runs a domain parser and turns its error into a schema issue with the parser's own message. */
function parsedField<T>(fallback: string, parse: (spec: string) => T) {
  return optionalString.transform((value, ctx) => {
    try {
      return parse(value ?? fallback);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      return z.NEVER;
    }
  });
}

/** Most worker processes one machine may run: past this the database connections run out first. */
export const MAX_WORKERS = 64;

/** A count of worker processes, or `auto`: one per core this process may use. */
function workersField() {
  return optionalString.transform((value, ctx) => {
    if (value === undefined) return 1;
    if (value.toLowerCase() === 'auto') return Math.min(availableParallelism(), MAX_WORKERS);
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_WORKERS) {
      ctx.addIssue({ code: 'custom', message: `must be auto (one per core) or an integer from 1 to ${MAX_WORKERS}, got "${value}"` });
      return z.NEVER;
    }
    return Number(value);
  });
}

/** A phone number as Twilio lists it (E.164); written forms people use are accepted and normalised. */
function phoneField() {
  return optionalString.transform((value, ctx) => {
    if (value === undefined) return undefined;
    const e164 = normalizePhone(value);
    if (e164 === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be a phone number in E.164 form such as +15551234567, got "${value}"` });
      return z.NEVER;
    }
    return e164;
  });
}

const envSchema = z.object({
  NODE_ENV: optionalString,
  HOST: optionalString.transform((v) => v ?? '0.0.0.0'),
  PORT: intField(8080, 0, 65535),
  PUBLIC_URL: urlField(['https', 'http']),
  LOG_LEVEL: optionalString.pipe(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().default('info'),
  ),
  SHOP_NAME: optionalString.transform((v) => v ?? 'Main Street Auto Service'),
  TIMEZONE: optionalString
    .transform((v) => v ?? 'America/New_York')
    .refine((zone) => IANAZone.isValidZone(zone), {
      error: (issue) => `must be an IANA time zone such as America/New_York, got "${String(issue.input)}"`,
    }),
  BUSINESS_HOURS: parsedField(DEFAULT_WEEKLY_HOURS_SPEC, parseWeeklyHours),
  BREAKS: parsedField(DEFAULT_BREAKS_SPEC, parseDailyRanges),
  HOLIDAYS: parsedField('', parseHolidays),
  MIN_LEAD_MINUTES: intField(60, 0, 7 * 24 * 60),
  SLOT_MINUTES: intField(30, 5, 240),
  MAX_BOOKING_DAYS: intField(DEFAULT_MAX_BOOKING_DAYS, 1, MAX_BOOKING_DAYS_LIMIT, 'days ahead a caller may book'),
  SERVICE_BAYS: optionalIntField(1, MAX_BAYS, 'service bays, cars worked on at once'),

  DATABASE_URL: urlField(['postgres', 'postgresql']),
  DATABASE_POOL_SIZE: intField(10, 1, 500, 'connections each process keeps to PostgreSQL'),
  DATA_DIR: optionalString.transform((v) => v ?? './data'),
  MIGRATE_ON_START: boolField(true),
  REDIS_URL: urlField(['redis', 'rediss']),

  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: urlField(['https', 'http']),
  OPENAI_MODEL: optionalString.transform((v) => v ?? 'gpt-4o-mini'),
  DEEPGRAM_API_KEY: optionalString,
  DEEPGRAM_BASE_URL: urlField(['wss', 'ws', 'https', 'http']),
  DEEPGRAM_MODEL: optionalString.transform((v) => v ?? 'nova-3'),
  ELEVENLABS_API_KEY: optionalString,
  ELEVENLABS_BASE_URL: urlField(['https', 'http', 'wss', 'ws']),
  ELEVENLABS_VOICE_ID: optionalString,
  ELEVENLABS_MODEL: optionalString.transform((v) => v ?? 'eleven_flash_v2_5'),

  GOOGLE_CLIENT_ID: optionalString,
  GOOGLE_CLIENT_SECRET: optionalString,
  GOOGLE_REFRESH_TOKEN: optionalString,
  GOOGLE_CALENDAR_ID: optionalString.transform((v) => v ?? 'primary'),
  GOOGLE_BAY_CALENDAR_IDS: idListField(MAX_BAYS, 'one calendar id per bay'),
  GOOGLE_API_BASE_URL: urlField(['https', 'http']),
  GOOGLE_TOKEN_URI: urlField(['https', 'http']),
  GOOGLE_AUTH_URI: urlField(['https', 'http']),
  CALENDAR_SYNC_INTERVAL_MS: intField(30_000, 1_000, 3_600_000),

  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_ACCOUNT_SID: optionalString,
  TWILIO_API_BASE_URL: urlField(['https', 'http']),
  TWILIO_PHONE_NUMBER: phoneField(),
  SHOP_TRANSFER_NUMBER: optionalString,
  HARNESS_TOKEN: optionalString,
  SHUTDOWN_DRAIN_MS: intField(30_000, 0, 600_000),
  MAX_CONCURRENT_CALLS: intField(50, 1, 10_000),
  WORKERS: workersField(),
  MAX_CALL_MINUTES: intField(15, 1, 240),
  IDLE_PROMPT_MS: intField(10_000, 2_000, 120_000),
  GREETING: optionalString,
  MIN_INTERRUPTION_MS: intField(200, 32, 2_000, 'ms of caller speech over the agent before it stops'),
  PLAYOUT_START_BUFFER_MS: intField(200, 0, 1_000, 'ms of agent audio in hand before playback starts from silence; 0 sends at once'),
  PLAYOUT_START_HOLD_MS: intField(60, 0, 500, 'most ms the first audio waits for PLAYOUT_START_BUFFER_MS'),
  STREAM_TOKEN_TTL_S: intField(300, 10, 3_600),

  WEBRTC_ICE_SERVERS: iceServersField(),
  WEBRTC_TURN_USERNAME: optionalString,
  WEBRTC_TURN_CREDENTIAL: optionalString,
  WEBRTC_PORT_RANGE: portRangeField(),
  WEBRTC_PUBLIC_IP: optionalString.superRefine((value, ctx) => {
    if (value !== undefined && isIP(value) !== 4) {
      ctx.addIssue({ code: 'custom', message: `must be the IPv4 address callers reach this server at, got "${value}"` });
    }
  }),
});

/** 'stun:a:3478, turn:b:3478?transport=udp' -> the URLs; each must be a stun:, turn: or turns: URL. */
function iceServersField() {
  return optionalString.transform((value, ctx) => {
    if (value === undefined) return [];
    const urls = value.split(',').map((url) => url.trim());
    const bad = urls.find((url) => !/^(stun|turns?):[^\s:/?#]+(:\d{1,5})?(\?transport=(udp|tcp))?$/i.test(url));
    if (bad !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `"${redactUrl(bad)}" is not a STUN or TURN URL (like stun:stun.l.google.com:19302 or turn:turn.example.com:3478); separate several with commas`,
      });
      return z.NEVER;
    }
    return urls;
  });
}

/** '40000-40100' -> [40000, 40100]: the UDP ports peer connections may use. */
function portRangeField() {
  return optionalString.transform((value, ctx): [number, number] | undefined => {
    if (value === undefined) return undefined;
    const match = /^(\d{1,5})\s*-\s*(\d{1,5})$/.exec(value);
    const low = Number(match?.[1]);
    const high = Number(match?.[2]);
    if (match === null || low < 1024 || high > 65535 || low >= high) {
      ctx.addIssue({ code: 'custom', message: `must be a UDP port range like 40000-40100 (ports 1024-65535, low < high), got "${value}"` });
      return z.NEVER;
    }
    return [low, high];
  });
}

type ParsedEnv = z.infer<typeof envSchema>;

export interface GoogleCalendarConfig {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** The shop-wide calendar: its busy time blocks every bay. */
  calendarId: string;
  /** One calendar per bay (bay n is the nth); empty: every bay's events go to `calendarId`. */
  bayCalendarIds: string[];
  apiBaseUrl: string | undefined;
  tokenUri: string | undefined;
}

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  publicUrl: string | undefined;
  logLevel: ParsedEnv['LOG_LEVEL'];
  shopName: string;
  business: BusinessRules;
  /** Service bays: cars the shop works on at once (1 to 50). */
  serviceBays: number;
  database: { url: string | undefined; dataDir: string; migrateOnStart: boolean; poolSize: number };
  redisUrl: string | undefined;
  openai: { apiKey: string | undefined; baseUrl: string | undefined; model: string };
  deepgram: { apiKey: string | undefined; baseUrl: string | undefined; model: string };
  elevenlabs: { apiKey: string | undefined; baseUrl: string | undefined; voiceId: string | undefined; model: string };
  /** Set when all three Google credentials are given; undefined means the local calendar. */
  google: GoogleCalendarConfig | undefined;
  calendarSyncIntervalMs: number;
  twilio: {
    authToken: string | undefined;
    accountSid: string | undefined;
    apiBaseUrl: string | undefined;
    transferNumber: string | undefined;
    /** The shop's Twilio number (E.164) whose webhook `npm run doctor` and `twilio:connect` look at. */
    phoneNumber: string | undefined;
  };
  harnessToken: string | undefined;
  shutdownDrainMs: number;
  /** Processes serving calls on this machine; 1 runs the server in this process (no cluster). */
  workers: number;
  calls: {
    maxConcurrent: number;
    maxCallMs: number;
    idleMs: number;
    /** Caller speech (local VAD) over the agent for this long stops it. */
    minInterruptionMs: number;
    /** Agent audio in hand before playback starts from silence, and the longest the first audio waits for it. */
    playoutStartBufferMs: number;
    playoutStartHoldMs: number;
    /** What the agent says when it picks up. */
    greeting: string;
    /** Lifetime of the per-call token in the TwiML the media stream must present back. */
    streamTokenTtlSeconds: number;
  };
  /** How peer connections reach WebRTC callers (STUN/TURN, ports, public address behind 1:1 NAT). */
  webrtc: {
    iceServers: string[];
    turnUsername: string | undefined;
    turnCredential: string | undefined;
    portRange: [number, number] | undefined;
    publicIp: string | undefined;
  };
  /** Every secret value in this config, so logs can scrub them wherever they appear. */
  secrets: string[];
}

const GOOGLE_CREDENTIALS = ['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET', 'GOOGLE_REFRESH_TOKEN'] as const;

export function loadConfig(env: Env): Config {
  const result = envSchema.safeParse(env);
  const problems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      problems.push(`${issue.path.join('.') || 'environment'}: ${issue.message}`);
    }
  }

  const presentGoogle = GOOGLE_CREDENTIALS.filter((name) => (env[name] ?? '').trim() !== '');
  if (presentGoogle.length > 0 && presentGoogle.length < GOOGLE_CREDENTIALS.length) {
    const missing = GOOGLE_CREDENTIALS.filter((name) => !presentGoogle.includes(name));
    problems.push(
      `GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_REFRESH_TOKEN go together: ${missing.join(', ')} missing ` +
        `(set all three for Google Calendar, or none for the local calendar)`,
    );
  }
  if (result.success) problems.push(...bayProblems(result.data, presentGoogle.length === GOOGLE_CREDENTIALS.length));
  if (result.success) problems.push(...turnProblems(result.data));
  if (result.success && result.data.WORKERS > 1 && result.data.DATABASE_URL === undefined) {
    problems.push(
      `WORKERS: ${result.data.WORKERS} worker processes need DATABASE_URL (PostgreSQL); the embedded database (DATA_DIR) ` +
        'belongs to one process, so set DATABASE_URL or WORKERS=1',
    );
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);

  const e = result.data;
  const google =
    e.GOOGLE_CLIENT_ID && e.GOOGLE_CLIENT_SECRET && e.GOOGLE_REFRESH_TOKEN
      ? {
          clientId: e.GOOGLE_CLIENT_ID,
          clientSecret: e.GOOGLE_CLIENT_SECRET,
          refreshToken: e.GOOGLE_REFRESH_TOKEN,
          calendarId: e.GOOGLE_CALENDAR_ID,
          bayCalendarIds: e.GOOGLE_BAY_CALENDAR_IDS,
          apiBaseUrl: e.GOOGLE_API_BASE_URL,
          tokenUri: e.GOOGLE_TOKEN_URI,
        }
      : undefined;

  const secrets = [
    e.OPENAI_API_KEY,
    e.DEEPGRAM_API_KEY,
    e.ELEVENLABS_API_KEY,
    e.GOOGLE_CLIENT_SECRET,
    e.GOOGLE_REFRESH_TOKEN,
    e.TWILIO_AUTH_TOKEN,
    e.HARNESS_TOKEN,
    e.WEBRTC_TURN_CREDENTIAL,
    urlPassword(e.DATABASE_URL),
    urlPassword(e.REDIS_URL),
  ].filter((s): s is string => s !== undefined && s.length >= 4);

  return {
    env: e.NODE_ENV === 'production' ? 'production' : e.NODE_ENV === 'test' ? 'test' : 'development',
    host: e.HOST,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
    logLevel: e.LOG_LEVEL,
    shopName: e.SHOP_NAME,
    business: {
      timeZone: e.TIMEZONE,
      weeklyHours: e.BUSINESS_HOURS,
      breaks: e.BREAKS,
      holidays: e.HOLIDAYS,
      minLeadMinutes: e.MIN_LEAD_MINUTES,
      slotMinutes: e.SLOT_MINUTES,
      maxBookingDays: e.MAX_BOOKING_DAYS,
    },
    serviceBays: e.GOOGLE_BAY_CALENDAR_IDS.length > 0 ? e.GOOGLE_BAY_CALENDAR_IDS.length : (e.SERVICE_BAYS ?? 1),
    database: { url: e.DATABASE_URL, dataDir: e.DATA_DIR, migrateOnStart: e.MIGRATE_ON_START, poolSize: e.DATABASE_POOL_SIZE },
    redisUrl: e.REDIS_URL,
    openai: { apiKey: e.OPENAI_API_KEY, baseUrl: e.OPENAI_BASE_URL, model: e.OPENAI_MODEL },
    deepgram: { apiKey: e.DEEPGRAM_API_KEY, baseUrl: e.DEEPGRAM_BASE_URL, model: e.DEEPGRAM_MODEL },
    elevenlabs: {
      apiKey: e.ELEVENLABS_API_KEY,
      baseUrl: e.ELEVENLABS_BASE_URL,
      voiceId: e.ELEVENLABS_VOICE_ID,
      model: e.ELEVENLABS_MODEL,
    },
    google,
    calendarSyncIntervalMs: e.CALENDAR_SYNC_INTERVAL_MS,
    twilio: {
      authToken: e.TWILIO_AUTH_TOKEN,
      accountSid: e.TWILIO_ACCOUNT_SID,
      apiBaseUrl: e.TWILIO_API_BASE_URL,
      transferNumber: e.SHOP_TRANSFER_NUMBER,
      phoneNumber: e.TWILIO_PHONE_NUMBER,
    },
    harnessToken: e.HARNESS_TOKEN,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    workers: e.WORKERS,
    calls: {
      maxConcurrent: e.MAX_CONCURRENT_CALLS,
      maxCallMs: e.MAX_CALL_MINUTES * 60_000,
      idleMs: e.IDLE_PROMPT_MS,
      minInterruptionMs: e.MIN_INTERRUPTION_MS,
      playoutStartBufferMs: e.PLAYOUT_START_BUFFER_MS,
      playoutStartHoldMs: e.PLAYOUT_START_HOLD_MS,
      greeting: e.GREETING ?? `Thanks for calling ${e.SHOP_NAME}. How can I help you today?`,
      streamTokenTtlSeconds: e.STREAM_TOKEN_TTL_S,
    },
    webrtc: {
      iceServers: e.WEBRTC_ICE_SERVERS,
      turnUsername: e.WEBRTC_TURN_USERNAME,
      turnCredential: e.WEBRTC_TURN_CREDENTIAL,
      portRange: e.WEBRTC_PORT_RANGE,
      publicIp: e.WEBRTC_PUBLIC_IP,
    },
    secrets,
  };
}

/** A TURN server refuses allocations without credentials; credentials without a TURN server are a typo somewhere. */
function turnProblems(e: ParsedEnv): string[] {
  const hasTurn = e.WEBRTC_ICE_SERVERS.some((url) => /^turns?:/i.test(url));
  const credentials = [e.WEBRTC_TURN_USERNAME, e.WEBRTC_TURN_CREDENTIAL].filter((v) => v !== undefined).length;
  if (hasTurn && credentials < 2) {
    return ['WEBRTC_TURN_USERNAME and WEBRTC_TURN_CREDENTIAL: a turn: server in WEBRTC_ICE_SERVERS needs both'];
  }
  if (!hasTurn && credentials > 0) {
    return ['WEBRTC_TURN_USERNAME/WEBRTC_TURN_CREDENTIAL are set but WEBRTC_ICE_SERVERS names no turn: server'];
  }
  return [];
}

/**
 * GOOGLE_BAY_CALENDAR_IDS says how many bays there are (one calendar each), so SERVICE_BAYS may only
 * agree with it; the shop-wide calendar blocks every bay, so it cannot also be one bay's.
 */
function bayProblems(e: ParsedEnv, google: boolean): string[] {
  const bayCalendars = e.GOOGLE_BAY_CALENDAR_IDS;
  if (bayCalendars.length === 0) return [];
  const problems: string[] = [];
  if (!google) {
    problems.push(
      'GOOGLE_BAY_CALENDAR_IDS: bay calendars need Google Calendar (set GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and ' +
        'GOOGLE_REFRESH_TOKEN), or unset it and give SERVICE_BAYS for the local calendar',
    );
  }
  if (e.SERVICE_BAYS !== undefined && e.SERVICE_BAYS !== bayCalendars.length) {
    problems.push(
      `SERVICE_BAYS: ${e.SERVICE_BAYS} disagrees with GOOGLE_BAY_CALENDAR_IDS, which names ${bayCalendars.length} ` +
        'bay calendars (one per bay): unset SERVICE_BAYS, or make them agree',
    );
  }
  if (bayCalendars.includes(e.GOOGLE_CALENDAR_ID)) {
    problems.push(
      `GOOGLE_BAY_CALENDAR_IDS: ${e.GOOGLE_CALENDAR_ID} is also GOOGLE_CALENDAR_ID, the shop-wide calendar whose busy ` +
        'time blocks every bay; give each bay a calendar of its own',
    );
  }
  return problems;
}

/**
 * Reads `.env` (if present) into process.env without overriding what the shell already set,
 * then validates. Kept apart from loadConfig so tests can pass an explicit environment.
 */
export function loadConfigFromProcess(envFile = '.env'): Config {
  return loadConfig(processEnv(envFile));
}

/** The OAuth client `npm run google:auth` uses: it runs before a refresh token exists. */
export interface GoogleOAuthClientConfig {
  clientId: string;
  clientSecret: string;
  /** Authorization (consent) endpoint; undefined: Google's. */
  authUri: string | undefined;
  /** Token endpoint; undefined: Google's. */
  tokenUri: string | undefined;
  /** Calendar API root; undefined: Google's. */
  apiBaseUrl: string | undefined;
  secrets: string[];
}

const GOOGLE_OAUTH_FIELDS = envSchema.pick({
  GOOGLE_CLIENT_ID: true,
  GOOGLE_CLIENT_SECRET: true,
  GOOGLE_AUTH_URI: true,
  GOOGLE_TOKEN_URI: true,
  GOOGLE_API_BASE_URL: true,
});

/**
 * Only the settings of the OAuth client, validated by the same fields as loadConfig. The rest of
 * the configuration is not this step's business, and GOOGLE_REFRESH_TOKEN is what it produces:
 * loadConfig would refuse the client id and secret without it.
 */
export function loadGoogleOAuthClientConfig(env: Env): GoogleOAuthClientConfig {
  const result = GOOGLE_OAUTH_FIELDS.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`));
  }
  const e = result.data;
  const missing = (['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET'] as const).filter((name) => e[name] === undefined);
  if (e.GOOGLE_CLIENT_ID === undefined || e.GOOGLE_CLIENT_SECRET === undefined) {
    throw new ConfigError([
      `${missing.join(' and ')} missing: create an OAuth client (type "Desktop app") in Google Cloud and set ` +
        'GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET',
    ]);
  }
  return {
    clientId: e.GOOGLE_CLIENT_ID,
    clientSecret: e.GOOGLE_CLIENT_SECRET,
    authUri: e.GOOGLE_AUTH_URI,
    tokenUri: e.GOOGLE_TOKEN_URI,
    apiBaseUrl: e.GOOGLE_API_BASE_URL,
    secrets: [e.GOOGLE_CLIENT_SECRET],
  };
}

export function loadGoogleOAuthClientFromProcess(envFile = '.env'): GoogleOAuthClientConfig {
  return loadGoogleOAuthClientConfig(processEnv(envFile));
}

/** process.env after `.env` (if present) is read into it; values the shell set win. */
function processEnv(envFile: string): Env {
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  return process.env;
}

function urlPassword(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const password = new URL(value).password;
    return password === '' ? undefined : decodeURIComponent(password);
  } catch {
    return undefined;
  }
}

/** A URL fit for an error message: credentials replaced. */
export function redactUrl(value: string): string {
  return value.replace(/\/\/([^/@\s]*)@/, '//***@');
}
