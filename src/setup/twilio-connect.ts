/**
 * `npm run twilio:connect`: points a Twilio number's "A call comes in" webhook at this server
 * (`POST <PUBLIC_URL>/twilio/voice`), saying what it was before; `--dry-run` only says what would
 * change. The pure parts (what the webhook must be, what is wrong with it, the report) are shared
 * with the doctor.
 */
import { ProviderError } from '../core/errors.js';
import { TWILIO_VOICE_PATH } from '../server/twilio-routes.js';
import type { IncomingNumber, TwilioAccountApi, VoiceWebhookUpdate } from '../transports/twilio/account.js';
import { SetupError } from './cli.js';

export interface TwilioConnectOptions {
  api: TwilioAccountApi;
  accountSid: string;
  /** E.164. */
  phoneNumber: string;
  /** Checked here: set and https. */
  publicUrl: string | undefined;
  dryRun: boolean;
  signal?: AbortSignal;
}

export interface TwilioConnectReport {
  accountSid: string;
  before: IncomingNumber;
  /** What was (or, in a dry run, would be) sent; undefined when the number was already wired. */
  change: VoiceWebhookUpdate | undefined;
  /** The number as Twilio holds it after the update; undefined in a dry run or when nothing changed. */
  after: IncomingNumber | undefined;
  dryRun: boolean;
}

/** The webhook Twilio must call for this server: the signature check is over exactly this URL. */
export function voiceWebhookUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${TWILIO_VOICE_PATH}`;
}

/** PUBLIC_URL as Twilio must reach it: set, and https (Twilio signs and the stream is wss). */
export function requireHttpsPublicUrl(publicUrl: string | undefined): string {
  if (publicUrl === undefined) {
    throw new SetupError('PUBLIC_URL is not set: set it to the https address Twilio reaches this server at (e.g. https://agent.example.com)');
  }
  if (!publicUrl.startsWith('https://')) {
    throw new SetupError(`PUBLIC_URL must be https for Twilio (the media stream is wss on the same host), got ${publicUrl}`);
  }
  return publicUrl;
}

/** Why calls to `number` would not reach `wantedUrl` by POST, or undefined when they would. */
export function webhookProblem(number: IncomingNumber, wantedUrl: string): string | undefined {
  if (number.trunkSid !== '') return `it belongs to SIP trunk ${number.trunkSid}, so calls never reach a webhook`;
  if (number.voiceApplicationSid !== '') return `calls go to TwiML App ${number.voiceApplicationSid}, not to a webhook`;
  if (number.voiceUrl === '') return 'it has no voice webhook';
  if (!sameUrl(number.voiceUrl, wantedUrl)) return `its voice webhook is ${number.voiceUrl}`;
  if (number.voiceMethod.toUpperCase() !== 'POST') return `its voice webhook is called with ${number.voiceMethod}, not POST`;
  return undefined;
}

/** The update that wires `number` to `wantedUrl`, or undefined when it already is. */
export function webhookChange(number: IncomingNumber, wantedUrl: string): VoiceWebhookUpdate | undefined {
  if (number.trunkSid !== '') {
    throw new SetupError(
      `${number.phoneNumber} belongs to SIP trunk ${number.trunkSid}: calls to it never reach a webhook; take it off the trunk in the Twilio Console first`,
    );
  }
  if (webhookProblem(number, wantedUrl) === undefined) return undefined;
  return { voiceUrl: wantedUrl, voiceMethod: 'POST', ...(number.voiceApplicationSid === '' ? {} : { clearVoiceApplication: true }) };
}

export async function connectTwilioNumber(options: TwilioConnectOptions): Promise<TwilioConnectReport> {
  const wantedUrl = voiceWebhookUrl(requireHttpsPublicUrl(options.publicUrl));
  const before = await twilioCall(() => options.api.findIncomingNumber(options.phoneNumber, options.signal));
  if (before === undefined) {
    throw new SetupError(
      `account ${options.accountSid} has no number ${options.phoneNumber}: check the number (E.164, as the Twilio Console lists it) and TWILIO_ACCOUNT_SID`,
    );
  }
  const change = webhookChange(before, wantedUrl);
  const report: TwilioConnectReport = { accountSid: options.accountSid, before, change, after: undefined, dryRun: options.dryRun };
  if (change === undefined || options.dryRun) return report;
  report.after = await twilioCall(() => options.api.updateVoiceWebhook(before.sid, change, options.signal));
  return report;
}

export function describeConnect(report: TwilioConnectReport): string[] {
  const { before, change } = report;
  const lines = [
    `${before.phoneNumber} (${before.sid}${before.friendlyName !== '' && before.friendlyName !== before.phoneNumber ? `, "${before.friendlyName}"` : ''}) on account ${report.accountSid}`,
    `  voice webhook before: ${describeWebhook(before)}`,
  ];
  if (change === undefined) {
    lines.push('  already wired to this server: nothing to change');
    return lines;
  }
  const wanted = `${change.voiceMethod} ${change.voiceUrl}`;
  if (report.dryRun) {
    lines.push(`  would become:         ${wanted}`);
    if (change.clearVoiceApplication === true) lines.push(`  and TwiML App ${before.voiceApplicationSid} would be detached (it takes calls before any webhook)`);
    lines.push('  dry run: nothing was changed');
    return lines;
  }
  lines.push(`  voice webhook now:    ${report.after === undefined ? wanted : describeWebhook(report.after)}`);
  if (change.clearVoiceApplication === true) lines.push(`  TwiML App ${before.voiceApplicationSid} detached (it took calls before any webhook)`);
  return lines;
}

function describeWebhook(number: IncomingNumber): string {
  if (number.voiceApplicationSid !== '') return `TwiML App ${number.voiceApplicationSid}${number.voiceUrl === '' ? '' : ` (webhook ${number.voiceUrl} unused)`}`;
  return number.voiceUrl === '' ? '(none)' : `${number.voiceMethod.toUpperCase() || 'POST'} ${number.voiceUrl}`;
}

/** URLs equal as Twilio would call them (case of the host, a default :443). */
function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return a === b;
  }
}

/** Twilio failures as one line saying what to check. */
async function twilioCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    if (error.status === 401 || error.status === 403) {
      throw new SetupError(`Twilio refused the credentials (${error.message}): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN`);
    }
    throw new SetupError(`Twilio: ${error.message}`);
  }
}
