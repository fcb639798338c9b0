/**
 * Call control over Twilio's REST API, apart from the serializer (which never does I/O): hang up,
 * or redirect a live call to new TwiML that dials the shop. Both are one update of the Call
 * resource: POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json, form-encoded, Basic auth
 * (spoken by rest.ts).
 * https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource
 */
import { ProviderError } from '../../core/errors.js';
import { createTwilioRest, TWILIO_SID } from './rest.js';
import type { TwilioRestOptions } from './rest.js';
import { dialTwiml } from './twiml.js';

export type TwilioCallControlOptions = TwilioRestOptions;

export interface TwilioCallControl {
  /** Ends the call (Status=completed). */
  hangup(callSid: string, signal?: AbortSignal): Promise<void>;
  /** Replaces the call's TwiML with a <Dial> to `number`; the media stream ends with it. */
  redirectToDial(callSid: string, number: string, options?: { say?: string; signal?: AbortSignal }): Promise<void>;
}

export function createTwilioCallControl(options: TwilioCallControlOptions): TwilioCallControl {
  const rest = createTwilioRest(options);

  async function updateCall(operation: string, callSid: string, form: Record<string, string>, signal?: AbortSignal): Promise<void> {
    if (!TWILIO_SID.test(callSid)) throw new ProviderError('twilio', `${operation}: malformed call SID`, { retryable: false });
    await rest.request({ operation: `${operation}: call ${callSid} update`, method: 'POST', path: `/Calls/${callSid}.json`, form, signal });
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
