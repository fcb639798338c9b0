/**
 * Google's JSON wire conventions shared by every route of the Calendar emulator: the error body
 * `{ error: { code, message, errors: [{ domain, reason, message }], status } }`, JSON replies, and
 * request-body parsing that fails the way Google does (400 parseError).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const STATUS_TEXT: Record<number, { status: string; reason: string; message: string }> = {
  400: { status: 'INVALID_ARGUMENT', reason: 'badRequest', message: 'Bad Request' },
  401: { status: 'UNAUTHENTICATED', reason: 'authError', message: 'Invalid Credentials' },
  403: { status: 'PERMISSION_DENIED', reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' },
  404: { status: 'NOT_FOUND', reason: 'notFound', message: 'Not Found' },
  409: { status: 'ALREADY_EXISTS', reason: 'duplicate', message: 'The requested identifier already exists.' },
  410: { status: 'FAILED_PRECONDITION', reason: 'deleted', message: 'Resource has been deleted' },
  429: { status: 'RESOURCE_EXHAUSTED', reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' },
  500: { status: 'INTERNAL', reason: 'backendError', message: 'Backend Error' },
  503: { status: 'UNAVAILABLE', reason: 'backendError', message: 'Backend Error' },
};

/** Reasons Google files under the 'calendar' domain (its "Handle API errors" page); the rest are 'global'. */
const CALENDAR_REASONS = new Set(['duplicate', 'timeRangeEmpty', 'fullSyncRequired', 'requiredAccessLevel']);
const USAGE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason?: string,
    message?: string,
    readonly headers: Record<string, string> = {},
    /** Google's `location` (a parameter name) for errors about one request parameter. */
    readonly location?: string,
  ) {
    super(message ?? STATUS_TEXT[status]?.message ?? 'Error');
  }
}

export const methodNotAllowed = (): HttpError => new HttpError(405, 'methodNotAllowed', 'Method Not Allowed');
export const notFound = (): HttpError => new HttpError(404, 'notFound', 'Not Found');

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendGoogleError(res: ServerResponse, error: HttpError): void {
  const defaults = STATUS_TEXT[error.status];
  const reason = error.reason ?? defaults?.reason ?? 'unknown';
  const domain = USAGE_REASONS.has(reason) ? 'usageLimits' : CALENDAR_REASONS.has(reason) ? 'calendar' : 'global';
  const detail = {
    domain,
    reason,
    message: error.message,
    ...(error.location === undefined ? {} : { locationType: 'parameter', location: error.location }),
  };
  sendJson(
    res,
    error.status,
    { error: { code: error.status, message: error.message, errors: [detail], status: defaults?.status ?? 'UNKNOWN' } },
    error.headers,
  );
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function parseBody(raw: string, contentType: string | undefined, isForm: boolean): unknown {
  if (raw.length === 0) return undefined;
  if (isForm || contentType?.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new HttpError(400, 'parseError', 'Parse Error');
  }
}

export function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (!isPlainObject(body)) throw new HttpError(400, 'parseError', 'Parse Error');
  return body;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Patch semantics: objects merge field by field, arrays and scalars replace, null clears. */
export function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const current = result[key];
    if (value === null) {
      delete result[key];
    } else if (isPlainObject(value) && isPlainObject(current)) {
      result[key] = mergePatch(current, value);
    } else {
      result[key] = value;
    }
  }
  return result;
}

/** Opaque tokens (sync and page tokens): base64url JSON, so a mangled one fails to decode. */
export function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeToken(token: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
