/**
 * Call control over Twilio's REST API, apart from the serializer (which never does I/O): hang up,
 * or redirect a live call to new TwiML that dials the shop. Both are one update of the Call
 * resource: POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json, form-encoded, Basic auth.
 * https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource
 */
import { isAbortError, ProviderError } from '../../core/errors.js';
import { retry } from '../../core/retry.js';
import { dialTwiml } from './twiml.js';

const PROVIDER = 'twilio';
export const TWILIO_API_BASE_URL = 'https://api.twilio.com';
/** SIDs are letters and digits; anything else must not reach a URL path. */
const SID = /^[A-Za-z0-9]{2,64}$/;

export interface TwilioCallControlOptions {
  accountSid: string;
  authToken: string;
  apiBaseUrl?: string | undefined;
  /** Budget of one operation, retries included. */
  timeoutMs: number;
}

export interface TwilioCallControl {
  /** Ends the call (Status=completed). */
  hangup(callSid: string, signal?: AbortSignal): Promise<void>;
  /** Replaces the call's TwiML with a <Dial> to `number`; the media stream ends with it. */
  redirectToDial(callSid: string, number: string, options?: { say?: string; signal?: AbortSignal }): Promise<void>;
}

export function createTwilioCallControl(options: TwilioCallControlOptions): TwilioCallControl {
  if (!SID.test(options.accountSid)) throw new Error('Twilio account SID is malformed');
  const base = (options.apiBaseUrl ?? TWILIO_API_BASE_URL).replace(/\/+$/, '');
  const authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;

  async function updateCall(operation: string, callSid: string, form: Record<string, string>, signal?: AbortSignal): Promise<void> {
    if (!SID.test(callSid)) throw new ProviderError(PROVIDER, `${operation}: malformed call SID`, { retryable: false });
    const url = `${base}/2010-04-01/Accounts/${options.accountSid}/Calls/${callSid}.json`;
    const body = new URLSearchParams(form).toString();
    try {
      await retry(
        async (_attempt, attemptSignal) => {
          let response: Response;
          try {
            response = await fetch(url, {
              method: 'POST',
              headers: {
                authorization,
                'content-type': 'application/x-www-form-urlencoded',
                accept: 'application/json',
              },
              body,
              signal: attemptSignal,
            });
          } catch {
            if (attemptSignal.aborted) throw attemptSignal.reason;
            // fetch's own errors carry no credentials, but the cause chain is not ours to vouch for.
            throw new ProviderError(PROVIDER, `${operation}: network error`, { retryable: true });
          }
          if (response.ok) {
            await response.body?.cancel();
            return;
          }
          const code = await twilioErrorCode(response);
          const retryable = response.status >= 500 || response.status === 429;
          throw new ProviderError(
            PROVIDER,
            `${operation}: call ${callSid} update failed with HTTP ${response.status}${code === undefined ? '' : ` (Twilio error ${code})`}`,
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

  return {
    hangup(callSid, signal) {
      return updateCall('hangup', callSid, { Status: 'completed' }, signal);
    },
    redirectToDial(callSid, number, redirectOptions = {}) {
      const twiml = redirectOptions.say === undefined ? dialTwiml(number) : dialTwiml(number, { say: redirectOptions.say });
      return updateCall('transfer', callSid, { Twiml: twiml }, redirectOptions.signal);
    },
  };
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
