/**
 * The only reader of process.env. One zod schema turns the environment into a typed Config;
 * everything wrong with it is reported at once, one line per problem, so an operator fixes a
 * deployment in one go instead of one restart per typo.
 */
import { existsSync } from 'node:fs';
import { IANAZone } from 'luxon';
import { z } from 'zod';
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

  DATABASE_URL: urlField(['postgres', 'postgresql']),
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
  GOOGLE_API_BASE_URL: urlField(['https', 'http']),
  GOOGLE_TOKEN_URI: urlField(['https', 'http']),
  CALENDAR_SYNC_INTERVAL_MS: intField(30_000, 1_000, 3_600_000),

  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_ACCOUNT_SID: optionalString,
  TWILIO_API_BASE_URL: urlField(['https', 'http']),
  SHOP_TRANSFER_NUMBER: optionalString,
  HARNESS_TOKEN: optionalString,
  SHUTDOWN_DRAIN_MS: intField(30_000, 0, 600_000),
  MAX_CONCURRENT_CALLS: intField(50, 1, 10_000),
  MAX_CALL_MINUTES: intField(15, 1, 240),
  IDLE_PROMPT_MS: intField(10_000, 2_000, 120_000),
  GREETING: optionalString,
  MIN_INTERRUPTION_MS: intField(200, 32, 2_000, 'ms of caller speech over the agent before it stops'),
  STREAM_TOKEN_TTL_S: intField(300, 10, 3_600),
});

type ParsedEnv = z.infer<typeof envSchema>;

export interface GoogleCalendarConfig {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  calendarId: string;
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
  database: { url: string | undefined; dataDir: string; migrateOnStart: boolean };
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
  };
  harnessToken: string | undefined;
  shutdownDrainMs: number;
  calls: {
    maxConcurrent: number;
    maxCallMs: number;
    idleMs: number;
    /** Caller speech (local VAD) over the agent for this long stops it. */
    minInterruptionMs: number;
    /** What the agent says when it picks up. */
    greeting: string;
    /** Lifetime of the per-call token in the TwiML the media stream must present back. */
    streamTokenTtlSeconds: number;
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
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);

  const e = result.data;
  const google =
    e.GOOGLE_CLIENT_ID && e.GOOGLE_CLIENT_SECRET && e.GOOGLE_REFRESH_TOKEN
      ? {
          clientId: e.GOOGLE_CLIENT_ID,
          clientSecret: e.GOOGLE_CLIENT_SECRET,
          refreshToken: e.GOOGLE_REFRESH_TOKEN,
          calendarId: e.GOOGLE_CALENDAR_ID,
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
    database: { url: e.DATABASE_URL, dataDir: e.DATA_DIR, migrateOnStart: e.MIGRATE_ON_START },
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
    },
    harnessToken: e.HARNESS_TOKEN,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    calls: {
      maxConcurrent: e.MAX_CONCURRENT_CALLS,
      maxCallMs: e.MAX_CALL_MINUTES * 60_000,
      idleMs: e.IDLE_PROMPT_MS,
      minInterruptionMs: e.MIN_INTERRUPTION_MS,
      greeting: e.GREETING ?? `Thanks for calling ${e.SHOP_NAME}. How can I help you today?`,
      streamTokenTtlSeconds: e.STREAM_TOKEN_TTL_S,
    },
    secrets,
  };
}

/**
 * Reads `.env` (if present) into process.env without overriding what the shell already set,
 * then validates. Kept apart from loadConfig so tests can pass an explicit environment.
 */
export function loadConfigFromProcess(envFile = '.env'): Config {
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  return loadConfig(process.env);
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
