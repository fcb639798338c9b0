/**
 * Twilio's REST API (2010-04-01) as every caller here speaks it: Basic auth with the account SID
 * and auth token, form-encoded bodies, JSON answers, one time budget per operation with retries
 * of 5xx/429/network failures, and errors that carry Twilio's numeric code but never its free text
 * or a credential. Call control (hang-up, transfer) and the setup commands (number wiring, doctor)
 * both go through here.
 * https://www.twilio.com/docs/usage/requests-to-twilio
 */
import { isAbortError, ProviderError } from '../../core/errors.js';
import { retry } from '../../core/retry.js';

const PROVIDER = 'twilio';
export const TWILIO_API_BASE_URL = 'https://api.twilio.com';
/** SIDs are letters and digits; anything else must not reach a URL path. */
export const TWILIO_SID = /^[A-Za-z0-9]{2,64}$/;

export interface TwilioRestOptions {
  accountSid: string;
  authToken: string;
  apiBaseUrl?: string | undefined;
  /** Budget of one operation, retries included. */
  timeoutMs: number;
}

export interface TwilioRequest {
  /** Names the operation in errors ("hangup", "find number"). */
  operation: string;
  method: 'GET' | 'POST';
  /** Below /2010-04-01/Accounts/{AccountSid}, e.g. '/Calls/CA….json'; '.json' for the account itself. */
  path: string;
  query?: Record<string, string>;
  form?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

export interface TwilioRest {
  readonly accountSid: string;
  /** Resolves with the parsed JSON body of a 2xx answer; throws ProviderError otherwise. */
  request<T>(request: TwilioRequest): Promise<T>;
}

export function createTwilioRest(options: TwilioRestOptions): TwilioRest {
  if (!TWILIO_SID.test(options.accountSid)) throw new Error('Twilio account SID is malformed');
  const base = `${(options.apiBaseUrl ?? TWILIO_API_BASE_URL).replace(/\/+$/, '')}/2010-04-01/Accounts/${options.accountSid}`;
  const authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;

  async function request<T>({ operation, method, path, query, form, signal }: TwilioRequest): Promise<T> {
    const url = `${base}${path}${query === undefined ? '' : `?${new URLSearchParams(query).toString()}`}`;
    const headers: Record<string, string> = { authorization, accept: 'application/json' };
    if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const body = form === undefined ? undefined : new URLSearchParams(form).toString();
    try {
      return await retry(
        async (_attempt, attemptSignal) => {
          let response: Response;
          try {
            response = await fetch(url, { method, headers, body, signal: attemptSignal });
          } catch {
            if (attemptSignal.aborted) throw attemptSignal.reason;
            // fetch's own errors carry no credentials, but the cause chain is not ours to vouch for.
            throw new ProviderError(PROVIDER, `${operation}: network error`, { retryable: true });
          }
          if (response.ok) {
            const text = await response.text();
            try {
              return (text === '' ? undefined : JSON.parse(text)) as T;
            } catch {
              throw new ProviderError(PROVIDER, `${operation}: answer is not JSON`, { status: response.status, retryable: false });
            }
          }
          const code = await twilioErrorCode(response);
          const retryable = response.status >= 500 || response.status === 429;
          throw new ProviderError(
            PROVIDER,
            `${operation} failed with HTTP ${response.status}${code === undefined ? '' : ` (Twilio error ${code})`}`,
            { status: response.status, retryable },
          );
        },
        {
          budgetMs: options.timeoutMs,
          maxAttempts: 3,
          baseDelayMs: 200,
          isRetryable: (error) => error instanceof ProviderError && error.retryable,
          signal,
        },
      );
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      if (signal?.aborted) throw error;
      if (isAbortError(error)) {
        throw new ProviderError(PROVIDER, `${operation}: no answer within ${options.timeoutMs} ms`, { retryable: true });
      }
      throw new ProviderError(PROVIDER, `${operation}: failed`, { retryable: false });
    }
  }

  return { accountSid: options.accountSid, request };
}

/** Twilio's numeric error code from an error body, if any: safe to log, unlike free text. */
async function twilioErrorCode(response: Response): Promise<number | undefined> {
  try {
    const body = (await response.json()) as { code?: unknown };
    return typeof body.code === 'number' ? body.code : undefined;
  } catch {
    return undefined;
  }
}
