/**
 * The account's own resources on Twilio's REST API, for setting a number up and checking it:
 * the Account (are the credentials good, is it active) and its IncomingPhoneNumbers (which URL a
 * call to the number fetches).
 * https://www.twilio.com/docs/iam/api/account#fetch-an-account-resource
 * https://www.twilio.com/docs/phone-numbers/api/incomingphonenumber-resource
 */
import { ProviderError } from '../../core/errors.js';
import { TWILIO_SID } from './rest.js';
import type { TwilioRest } from './rest.js';

export interface TwilioAccount {
  sid: string;
  friendlyName: string;
  /** active, suspended or closed. */
  status: string;
}

export interface IncomingNumber {
  sid: string;
  /** E.164. */
  phoneNumber: string;
  friendlyName: string;
  voiceUrl: string;
  voiceMethod: string;
  /** When set, calls follow this TwiML App and voiceUrl is ignored. */
  voiceApplicationSid: string;
  /** When set, calls go to this SIP trunk and voiceUrl is ignored. */
  trunkSid: string;
}

export interface VoiceWebhookUpdate {
  voiceUrl: string;
  voiceMethod: 'POST' | 'GET';
  /** Clears a TwiML App that would otherwise take the calls instead of voiceUrl. */
  clearVoiceApplication?: boolean;
}

export interface TwilioAccountApi {
  fetchAccount(signal?: AbortSignal): Promise<TwilioAccount>;
  /** The account's number equal to `phoneNumber` (E.164), or undefined when the account has none such. */
  findIncomingNumber(phoneNumber: string, signal?: AbortSignal): Promise<IncomingNumber | undefined>;
  updateVoiceWebhook(numberSid: string, update: VoiceWebhookUpdate, signal?: AbortSignal): Promise<IncomingNumber>;
}

interface IncomingNumberWire {
  sid?: unknown;
  phone_number?: unknown;
  friendly_name?: unknown;
  voice_url?: unknown;
  voice_method?: unknown;
  voice_application_sid?: unknown;
  trunk_sid?: unknown;
}

export function createTwilioAccountApi(rest: TwilioRest): TwilioAccountApi {
  return {
    async fetchAccount(signal) {
      const body = await rest.request<{ sid?: unknown; friendly_name?: unknown; status?: unknown }>({
        operation: 'fetch account',
        method: 'GET',
        path: '.json',
        signal,
      });
      return { sid: text(body?.sid), friendlyName: text(body?.friendly_name), status: text(body?.status) };
    },

    async findIncomingNumber(phoneNumber, signal) {
      // PhoneNumber is a partial-match filter ("*" is a digit wildcard): keep only the exact number.
      const body = await rest.request<{ incoming_phone_numbers?: unknown }>({
        operation: 'find number',
        method: 'GET',
        path: '/IncomingPhoneNumbers.json',
        query: { PhoneNumber: phoneNumber, PageSize: '50' },
        signal,
      });
      const list = Array.isArray(body?.incoming_phone_numbers) ? (body.incoming_phone_numbers as IncomingNumberWire[]) : [];
      return list.map(fromWire).find((number) => number.phoneNumber === phoneNumber);
    },

    async updateVoiceWebhook(numberSid, update, signal) {
      if (!TWILIO_SID.test(numberSid)) throw new ProviderError('twilio', 'update number: malformed number SID', { retryable: false });
      const form: Record<string, string> = { VoiceUrl: update.voiceUrl, VoiceMethod: update.voiceMethod };
      if (update.clearVoiceApplication === true) form.VoiceApplicationSid = '';
      const body = await rest.request<IncomingNumberWire>({
        operation: 'update number',
        method: 'POST',
        path: `/IncomingPhoneNumbers/${numberSid}.json`,
        form,
        signal,
      });
      return fromWire(body ?? {});
    },
  };
}

function fromWire(wire: IncomingNumberWire): IncomingNumber {
  return {
    sid: text(wire.sid),
    phoneNumber: text(wire.phone_number),
    friendlyName: text(wire.friendly_name),
    voiceUrl: text(wire.voice_url),
    voiceMethod: text(wire.voice_method),
    voiceApplicationSid: text(wire.voice_application_sid),
    trunkSid: text(wire.trunk_sid),
  };
}

/** Twilio sends null for unset fields. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
