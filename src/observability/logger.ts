/**
 * pino JSON logs. Three layers keep secrets out: path redaction for fields that hold credentials
 * by name; a scrubbing destination that hides the password of every connection string
 * (`scheme://user:password@host`) and replaces every known secret value long enough to be
 * unambiguous wherever it appears (inside an error message, a URL, a nested vendor response),
 * because a field name is no guarantee; and an error serializer that never writes the data of a
 * failed database query (error-serializer.ts).
 */
import { pino } from 'pino';
import type { DestinationStream, Level, Logger } from 'pino';
import { serializeError, withoutQueryParams } from './error-serializer.js';

export type { Logger } from 'pino';

const REDACTED = '[REDACTED]';

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-twilio-signature"]',
  'headers.authorization',
  'headers.Authorization',
  '*.apiKey',
  '*.api_key',
  '*.authToken',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.clientSecret',
  '*.client_secret',
  '*.password',
  '*.secret',
  '*.authorization',
  'apiKey',
  'token',
  'password',
  'secret',
  'authorization',
];

/**
 * Shorter known secrets are hidden by field name and inside connection strings only: scrubbed by
 * value, a password such as "agent" would mangle every "service-desk-agent".
 */
export const MIN_SCRUBBED_SECRET_LENGTH = 12;

export interface LoggerOptions {
  level?: Level | 'silent';
  /**
   * Secret values (API keys, tokens, passwords) to scrub from every line; those shorter than
   * MIN_SCRUBBED_SECRET_LENGTH, or made of letters only (a word), are not scrubbed by value.
   */
  secrets?: readonly string[];
  /** Where lines go; stdout by default. Tests pass a collector. */
  destination?: { write(line: string): void };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const sink = options.destination ?? process.stdout;
  const scrub = secretScrubber(options.secrets ?? []);
  const destination: DestinationStream = { write: (line: string) => sink.write(scrub(line)) };
  return pino(
    {
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      serializers: { err: serializeError, error: serializeError },
      hooks: {
        logMethod(args, method) {
          // The message too: fastify logs a failing route with the error's message as the msg.
          return method.apply(this, args.map((arg) => (typeof arg === 'string' ? withoutQueryParams(arg) : arg)) as typeof args);
        },
      },
      base: { service: 'service-desk-agent' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/**
 * `scheme://user:password@` with the password hidden. The password may hold JSON escapes (the
 * line is JSON); it ends at the `@`, and holds no `/`, quote or space, as in any valid URL.
 */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@"\\]*:)((?:[^\s@/"\\]|\\.)+)@/gi;

export function scrubUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, `$1${REDACTED}@`);
}

/** Long enough to be unambiguous, and not a word that ordinary text could contain. */
function scrubbableByValue(secret: string): boolean {
  return secret.length >= MIN_SCRUBBED_SECRET_LENGTH && !/^\p{L}+$/u.test(secret);
}

/**
 * Returns a function that hides connection-string passwords and replaces each scrubbable secret
 * with [REDACTED]. Also covers the secrets' JSON-escaped and URL-encoded forms, since a secret
 * inside a logged string or URL is written in those forms.
 */
export function secretScrubber(secrets: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!scrubbableByValue(secret)) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
  }
  const needles = [...forms].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = scrubUrlPasswords(text);
    for (const needle of needles) {
      if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    }
    return out;
  };
}
