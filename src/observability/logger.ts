/**
 * pino JSON logs. Two layers keep secrets out: path redaction for fields that hold credentials by
 * name, and a scrubbing destination that replaces every known secret value wherever it appears
 * (inside an error message, a URL, a nested vendor response), because a field name is no guarantee.
 */
import { pino } from 'pino';
import type { DestinationStream, Level, Logger } from 'pino';

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
  'apiKey',
  'token',
  'password',
];

export interface LoggerOptions {
  level?: Level | 'silent';
  /** Secret values (API keys, tokens, passwords) to scrub from every line. */
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
      base: { service: 'service-desk-agent' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/**
 * Returns a function replacing each secret with [REDACTED]. Also covers the JSON-escaped and
 * URL-encoded forms, since a secret inside a logged string or URL is written in those forms.
 */
export function secretScrubber(secrets: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
  }
  const needles = [...forms].sort((a, b) => b.length - a.length);
  if (needles.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const needle of needles) {
      if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    }
    return out;
  };
}
