/**
 * The account's resources in the Twilio REST emulator (twilio.ts serves them): fetch the Account,
 * and read and update its IncomingPhoneNumbers, in Twilio's documented wire format.
 *
 * - GET  /2010-04-01/Accounts/{AccountSid}.json -> the Account resource (snake_case JSON).
 * - GET  /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json?PhoneNumber=&FriendlyName=&PageSize=&Page=
 *   -> `{ incoming_phone_numbers: [...], page, page_size, start, end, uri, first_page_uri,
 *   next_page_uri, previous_page_uri }`. PhoneNumber is a partial match in which `*` stands for
 *   any digit; the query is form-decoded, so a `+` a client forgot to encode arrives as a space
 *   and matches nothing, as on Twilio.
 * - POST /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{PhoneNumberSid}.json (form) ->
 *   the updated IncomingPhoneNumber. VoiceUrl must be an http(s) URL or empty (400, code 21502
 *   "Invalid callback url"); VoiceMethod must be GET or POST (400; the code is the emulator's own);
 *   an unknown SID is 404 (20404). An empty VoiceApplicationSid clears the TwiML App.
 * https://www.twilio.com/docs/phone-numbers/api/incomingphonenumber-resource
 * https://www.twilio.com/docs/iam/api/account
 */
import { randomBytes } from 'node:crypto';

export interface IncomingNumberSpec {
  /** E.164. */
  phoneNumber: string;
  friendlyName?: string;
  voiceUrl?: string;
  voiceMethod?: 'GET' | 'POST';
  voiceApplicationSid?: string;
}

/** An IncomingPhoneNumber as Twilio sends it (the fields setup code reads, and a few more). */
export interface EmulatedIncomingNumber {
  sid: string;
  account_sid: string;
  phone_number: string;
  friendly_name: string;
  voice_url: string | null;
  voice_method: string;
  voice_fallback_url: string | null;
  voice_fallback_method: string;
  voice_application_sid: string | null;
  trunk_sid: string | null;
  sms_url: string;
  sms_method: string;
  status_callback: string;
  capabilities: { voice: boolean; sms: boolean; mms: boolean; fax: boolean };
  status: 'in-use';
  api_version: '2010-04-01';
  date_created: string;
  date_updated: string;
  uri: string;
}

export interface TwilioAccountRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  params: Record<string, string>;
  authorized: boolean;
}

export interface TwilioAccountState {
  readonly requests: TwilioAccountRequest[];
  addIncomingNumber(spec: IncomingNumberSpec): EmulatedIncomingNumber;
  /** The number as stored now (a copy), by E.164 number. */
  incomingNumber(phoneNumber: string): EmulatedIncomingNumber | undefined;
  /** Answers an account-resource request, or returns undefined when the path is not one of them. */
  handle(request: { method: string; url: URL; params: Record<string, string>; authorized: boolean }): TwilioReply | undefined;
}

export interface TwilioReply {
  status: number;
  body: unknown;
}

const ACCOUNT_PATH = /^\/2010-04-01\/Accounts\/([A-Za-z0-9]+)\.json$/;
const NUMBERS_PATH = /^\/2010-04-01\/Accounts\/([A-Za-z0-9]+)\/IncomingPhoneNumbers\.json$/;
const NUMBER_PATH = /^\/2010-04-01\/Accounts\/([A-Za-z0-9]+)\/IncomingPhoneNumbers\/([A-Za-z0-9]+)\.json$/;

export function createTwilioAccountState(options: {
  accountSid: string;
  authToken: string;
  friendlyName?: string;
  numbers?: readonly IncomingNumberSpec[];
}): TwilioAccountState {
  const numbers = new Map<string, EmulatedIncomingNumber>();
  const requests: TwilioAccountRequest[] = [];
  const base = `/2010-04-01/Accounts/${options.accountSid}`;

  function addIncomingNumber(spec: IncomingNumberSpec): EmulatedIncomingNumber {
    const sid = `PN${randomBytes(16).toString('hex')}`;
    const now = new Date().toUTCString();
    const number: EmulatedIncomingNumber = {
      sid,
      account_sid: options.accountSid,
      phone_number: spec.phoneNumber,
      friendly_name: spec.friendlyName ?? spec.phoneNumber,
      // A new number answers with Twilio's demo TwiML until someone wires it.
      voice_url: spec.voiceUrl ?? 'https://demo.twilio.com/welcome/voice/',
      voice_method: spec.voiceMethod ?? 'POST',
      voice_fallback_url: null,
      voice_fallback_method: 'POST',
      voice_application_sid: spec.voiceApplicationSid ?? null,
      trunk_sid: null,
      sms_url: '',
      sms_method: 'POST',
      status_callback: '',
      capabilities: { voice: true, sms: true, mms: true, fax: false },
      status: 'in-use',
      api_version: '2010-04-01',
      date_created: now,
      date_updated: now,
      uri: `${base}/IncomingPhoneNumbers/${sid}.json`,
    };
    numbers.set(sid, number);
    return { ...number };
  }
  for (const spec of options.numbers ?? []) addIncomingNumber(spec);

  function account(): unknown {
    return {
      sid: options.accountSid,
      owner_account_sid: options.accountSid,
      friendly_name: options.friendlyName ?? 'My first Twilio account',
      status: 'active',
      type: 'Full',
      // Twilio does send the token back on a fetch: a client must never print this body.
      auth_token: options.authToken,
      date_created: 'Tue, 01 Sep 2026 10:00:00 +0000',
      date_updated: 'Tue, 01 Sep 2026 10:00:00 +0000',
      uri: `${base}.json`,
      subresource_uris: { incoming_phone_numbers: `${base}/IncomingPhoneNumbers.json`, calls: `${base}/Calls.json` },
    };
  }

  function list(query: URLSearchParams): TwilioReply {
    const pageSize = Math.min(1000, Math.max(1, Number(query.get('PageSize') ?? 50) || 50));
    const page = Math.max(0, Number(query.get('Page') ?? 0) || 0);
    const pattern = query.get('PhoneNumber');
    const friendly = query.get('FriendlyName');
    const matches = [...numbers.values()].filter(
      (n) => (pattern === null || phonePattern(pattern).test(n.phone_number)) && (friendly === null || n.friendly_name === friendly),
    );
    const items = matches.slice(page * pageSize, (page + 1) * pageSize);
    const pageUri = (p: number): string => {
      const q = new URLSearchParams(query);
      q.set('PageSize', String(pageSize));
      q.set('Page', String(p));
      return `${base}/IncomingPhoneNumbers.json?${q.toString()}`;
    };
    return {
      status: 200,
      body: {
        incoming_phone_numbers: items,
        page,
        page_size: pageSize,
        start: page * pageSize,
        end: page * pageSize + Math.max(0, items.length - 1),
        uri: pageUri(page),
        first_page_uri: pageUri(0),
        next_page_uri: (page + 1) * pageSize < matches.length ? pageUri(page + 1) : null,
        previous_page_uri: page > 0 ? pageUri(page - 1) : null,
      },
    };
  }

  function update(sid: string, params: Record<string, string>): TwilioReply {
    const number = numbers.get(sid);
    if (number === undefined) return notFound();
    for (const field of ['VoiceMethod', 'VoiceFallbackMethod'] as const) {
      const method = params[field];
      if (method !== undefined && !['GET', 'POST'].includes(method.toUpperCase())) {
        return error(400, 20001, `${field} must be GET or POST`);
      }
    }
    for (const field of ['VoiceUrl', 'VoiceFallbackUrl'] as const) {
      const url = params[field];
      if (url !== undefined && url !== '' && !isHttpUrl(url)) return error(400, 21502, `${field} is not a valid URL: ${url}`);
    }
    if (params.VoiceUrl !== undefined) number.voice_url = params.VoiceUrl;
    if (params.VoiceMethod !== undefined) number.voice_method = params.VoiceMethod.toUpperCase();
    if (params.VoiceFallbackUrl !== undefined) number.voice_fallback_url = params.VoiceFallbackUrl;
    if (params.VoiceApplicationSid !== undefined) number.voice_application_sid = params.VoiceApplicationSid === '' ? null : params.VoiceApplicationSid;
    if (params.FriendlyName !== undefined) number.friendly_name = params.FriendlyName;
    number.date_updated = new Date().toUTCString();
    return { status: 200, body: { ...number } };
  }

  return {
    requests,
    addIncomingNumber,
    incomingNumber(phoneNumber) {
      const found = [...numbers.values()].find((n) => n.phone_number === phoneNumber);
      return found === undefined ? undefined : { ...found };
    },
    handle({ method, url, params, authorized }) {
      const path = url.pathname;
      const accountMatch = ACCOUNT_PATH.exec(path);
      const listMatch = NUMBERS_PATH.exec(path);
      const numberMatch = NUMBER_PATH.exec(path);
      const sid = accountMatch?.[1] ?? listMatch?.[1] ?? numberMatch?.[1];
      if (sid === undefined) return undefined;
      requests.push({ method, path, query: Object.fromEntries(url.searchParams), params, authorized });
      if (!authorized || sid !== options.accountSid) return error(401, 20003, 'Authenticate');
      if (accountMatch && method === 'GET') return { status: 200, body: account() };
      if (listMatch && method === 'GET') return list(url.searchParams);
      if (numberMatch?.[2] !== undefined && method === 'POST') return update(numberMatch[2], params);
      if (numberMatch?.[2] !== undefined && method === 'GET') {
        const number = numbers.get(numberMatch[2]);
        return number === undefined ? notFound() : { status: 200, body: { ...number } };
      }
      return error(405, 20004, 'Method not allowed');
    },
  };
}

/** Twilio's PhoneNumber filter: a substring match where `*` is any one digit. */
function phonePattern(pattern: string): RegExp {
  const source = [...pattern].map((c) => (c === '*' ? '\\d' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(source);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function notFound(): TwilioReply {
  return error(404, 20404, 'The requested resource was not found');
}

function error(status: number, code: number, message: string): TwilioReply {
  return { status, body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status } };
}
