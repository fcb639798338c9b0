/**
 * The phone line and the doors of the server: Twilio's credentials (GET the Account), the shop's
 * number sending its calls to `<PUBLIC_URL>/twilio/voice` (the number: --number, else
 * TWILIO_PHONE_NUMBER), PUBLIC_URL fit for Twilio, and the harness token when the server listens
 * beyond loopback.
 */
import type { Config } from '../../config.js';
import { ProviderError } from '../../core/errors.js';
import { isLoopbackHost } from '../../server/admission.js';
import { createTwilioAccountApi } from '../../transports/twilio/account.js';
import type { TwilioAccountApi } from '../../transports/twilio/account.js';
import { createTwilioRest } from '../../transports/twilio/rest.js';
import { voiceWebhookUrl, webhookProblem } from '../twilio-connect.js';
import { fail, ok, skip, warn } from './report.js';
import type { CheckLine } from './report.js';
import type { DoctorCheck } from './run-checks.js';

const CONNECT = 'run npm run twilio:connect';
/** The README's advice: shorter tokens are hidden from logs only by field name. */
const MIN_HARNESS_TOKEN_LENGTH = 16;

export function twilioCheck(config: Pick<Config, 'twilio' | 'publicUrl'>, numberOverride?: string): DoctorCheck {
  const name = 'twilio account';
  return {
    name,
    async run(signal) {
      const { accountSid, authToken, apiBaseUrl } = config.twilio;
      if (accountSid === undefined && authToken === undefined) return [skip('twilio', 'TWILIO_* not set: no phone calls (browser and CLI harness only)')];
      if (authToken === undefined) {
        return [fail(name, 'TWILIO_AUTH_TOKEN not set: every Twilio webhook is refused (its signature cannot be checked)', 'set TWILIO_AUTH_TOKEN')];
      }
      if (accountSid === undefined) {
        return [
          warn(name, 'TWILIO_ACCOUNT_SID not set: calls are answered, but hang-up and transfer are off and the number cannot be checked', 'set TWILIO_ACCOUNT_SID'),
        ];
      }
      let api: TwilioAccountApi;
      try {
        api = createTwilioAccountApi(createTwilioRest({ accountSid, authToken, apiBaseUrl, timeoutMs: 4_000 }));
      } catch {
        return [fail(name, 'TWILIO_ACCOUNT_SID is malformed (AC followed by 32 hex digits)', 'copy it from the Twilio Console')];
      }
      try {
        const account = await api.fetchAccount(signal);
        if (account.status !== 'active') {
          return [fail(name, `account ${accountSid} is ${account.status || 'not active'}`, 'reactivate it in the Twilio Console')];
        }
        const lines: CheckLine[] = [ok(name, `credentials valid; account "${account.friendlyName}" active`)];
        lines.push(await numberLine(api, numberOverride ?? config.twilio.phoneNumber, config.publicUrl, signal));
        return lines;
      } catch (error) {
        if (signal.aborted || !(error instanceof ProviderError)) throw error;
        if (error.status === 401 || error.status === 403) {
          return [fail(name, `Twilio refused the credentials (${error.message})`, 'check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN')];
        }
        return [fail(name, `Twilio: ${error.message}`, apiBaseUrl === undefined ? undefined : 'check TWILIO_API_BASE_URL')];
      }
    },
  };
}

async function numberLine(
  api: TwilioAccountApi,
  phoneNumber: string | undefined,
  publicUrl: string | undefined,
  signal: AbortSignal,
): Promise<CheckLine> {
  const name = 'twilio number';
  if (phoneNumber === undefined) {
    return warn(name, 'no number to check', 'set TWILIO_PHONE_NUMBER to the shop\'s Twilio number (or pass --number)');
  }
  if (publicUrl === undefined) return skip(name, `${phoneNumber}: not checked, PUBLIC_URL is not set`);
  const wanted = voiceWebhookUrl(publicUrl);
  const number = await api.findIncomingNumber(phoneNumber, signal);
  if (number === undefined) return fail(name, `${phoneNumber} is not a number of this account`, 'check TWILIO_PHONE_NUMBER and TWILIO_ACCOUNT_SID');
  const problem = webhookProblem(number, wanted);
  if (problem === undefined) return ok(name, `${phoneNumber} calls POST ${wanted}`);
  return fail(name, `${phoneNumber}: ${problem}, not POST ${wanted}`, `${CONNECT} -- --number ${phoneNumber}`);
}

/** PUBLIC_URL as Twilio needs it; only when Twilio is configured does it matter. */
export function publicUrlLine(config: Pick<Config, 'twilio' | 'publicUrl'>): CheckLine {
  const name = 'public url';
  const phone = config.twilio.authToken !== undefined || config.twilio.accountSid !== undefined;
  if (config.publicUrl === undefined) {
    return phone
      ? fail(name, 'PUBLIC_URL not set: Twilio\'s webhook is refused and no media stream URL can be given', 'set PUBLIC_URL to the https address Twilio reaches this server at')
      : skip(name, 'PUBLIC_URL not set (needed for phone calls only)');
  }
  if (!config.publicUrl.startsWith('https://')) {
    return (phone ? fail : warn)(name, `${config.publicUrl} is not https: Twilio's media stream needs wss on the same host`, 'put the server behind TLS (a proxy or tunnel) and set the https URL');
  }
  return ok(name, config.publicUrl);
}

/** The harness socket starts calls as any customer: beyond loopback it needs a token. */
export function harnessLine(config: Pick<Config, 'host' | 'harnessToken'>): CheckLine {
  const name = 'harness';
  if (config.harnessToken !== undefined) {
    return config.harnessToken.length < MIN_HARNESS_TOKEN_LENGTH
      ? warn(name, `HARNESS_TOKEN is shorter than ${MIN_HARNESS_TOKEN_LENGTH} characters`, 'use a longer one, e.g. openssl rand -hex 16')
      : ok(name, 'HARNESS_TOKEN set: the harness admits whoever presents it');
  }
  if (isLoopbackHost(config.host)) return ok(name, `listening on ${config.host} (loopback): the harness needs no token`);
  return warn(
    name,
    `HOST=${config.host} without HARNESS_TOKEN: the harness page and CLI work from this machine only`,
    'set HARNESS_TOKEN (openssl rand -hex 16) to call in from elsewhere, or HOST=127.0.0.1',
  );
}
