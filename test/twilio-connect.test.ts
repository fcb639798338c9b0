/** `npm run twilio:connect` against the Twilio REST emulator, in-process and as the npm script runs it. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SetupError } from '../src/setup/cli.js';
import { connectTwilioNumber } from '../src/setup/twilio-connect.js';
import { createTwilioAccountApi } from '../src/transports/twilio/account.js';
import { createTwilioRest } from '../src/transports/twilio/rest.js';
import { startTwilioRestEmulator } from './emulators/twilio.js';
import type { TwilioRestEmulator } from './emulators/twilio.js';
import { spawnScript } from './support/spawn-server.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'twilio-auth-token-0123456789abcdef';
const NUMBER = '+15551234567';
const PUBLIC_URL = 'https://agent.example.com';
const WEBHOOK = `${PUBLIC_URL}/twilio/voice`;

let twilio: TwilioRestEmulator;
beforeEach(async () => {
  twilio = await startTwilioRestEmulator({
    accountSid: ACCOUNT,
    authToken: TOKEN,
    incomingNumbers: [
      { phoneNumber: NUMBER, friendlyName: 'Main line' },
      // Matches a partial filter on the same digits: only the exact number may be taken.
      { phoneNumber: '+155512345670' },
    ],
  });
});
afterEach(async () => {
  await twilio.close();
});

function connect(options: { dryRun?: boolean; phoneNumber?: string; authToken?: string } = {}) {
  const rest = createTwilioRest({ accountSid: ACCOUNT, authToken: options.authToken ?? TOKEN, apiBaseUrl: twilio.baseUrl, timeoutMs: 3_000 });
  return connectTwilioNumber({
    api: createTwilioAccountApi(rest),
    accountSid: ACCOUNT,
    phoneNumber: options.phoneNumber ?? NUMBER,
    publicUrl: PUBLIC_URL,
    dryRun: options.dryRun ?? false,
  });
}

describe('twilio:connect', () => {
  it('points the number at POST <PUBLIC_URL>/twilio/voice and reports what it was', async () => {
    const report = await connect();
    expect(report.before).toMatchObject({ phoneNumber: NUMBER, voiceUrl: 'https://demo.twilio.com/welcome/voice/' });
    expect(twilio.incomingNumber(NUMBER)).toMatchObject({ voice_url: WEBHOOK, voice_method: 'POST' });
    expect(twilio.incomingNumber('+155512345670')?.voice_url).toBe('https://demo.twilio.com/welcome/voice/');
    expect(report.after).toMatchObject({ voiceUrl: WEBHOOK, voiceMethod: 'POST' });
    // The number reached Twilio as +1…, not as " 1…" (an unencoded plus in a query is a space).
    expect(twilio.accountRequests.map((r) => [r.method, r.query.PhoneNumber ?? r.params.VoiceUrl])).toEqual([
      ['GET', NUMBER],
      ['POST', WEBHOOK],
    ]);
  });

  it('with --dry-run changes nothing', async () => {
    const report = await connect({ dryRun: true });
    expect(report.change).toEqual({ voiceUrl: WEBHOOK, voiceMethod: 'POST' });
    expect(twilio.incomingNumber(NUMBER)?.voice_url).toBe('https://demo.twilio.com/welcome/voice/');
    expect(twilio.accountRequests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('leaves a wired number alone, and detaches a TwiML App that would take its calls', async () => {
    twilio.addIncomingNumber({ phoneNumber: '+15557654321', voiceUrl: WEBHOOK, voiceMethod: 'POST' });
    expect((await connect({ phoneNumber: '+15557654321' })).change).toBeUndefined();
    expect(twilio.accountRequests.filter((r) => r.method === 'POST')).toEqual([]);

    twilio.addIncomingNumber({ phoneNumber: '+15550001111', voiceUrl: WEBHOOK, voiceApplicationSid: 'AP0123456789abcdef0123456789abcdef' });
    await connect({ phoneNumber: '+15550001111' });
    expect(twilio.incomingNumber('+15550001111')).toMatchObject({ voice_url: WEBHOOK, voice_application_sid: null });
  });

  it('says so when the account has no such number, or refuses the credentials, without the token', async () => {
    await expect(connect({ phoneNumber: '+15559999999' })).rejects.toThrow(/account AC0123456789abcdef0123456789abcdef has no number \+15559999999/);
    const refused = (await connect({ authToken: 'wrong-token-value-123' }).catch((e: unknown) => e)) as Error;
    expect(refused).toBeInstanceOf(SetupError);
    expect(refused.message).toMatch(/Twilio refused the credentials \(.*20003.*\): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN/);
    expect(refused.message).not.toContain('wrong-token-value-123');
  });

  it('runs as `npm run twilio:connect -- --number …` does, reading the configuration like the server', async () => {
    const env = { TWILIO_ACCOUNT_SID: ACCOUNT, TWILIO_AUTH_TOKEN: TOKEN, TWILIO_API_BASE_URL: twilio.baseUrl, PUBLIC_URL, DATA_DIR: 'memory://' };
    const dry = spawnScript('src/setup/twilio-connect-cli.ts', ['--number', '(555) 123-4567', '--dry-run'], env);
    expect(await dry.exited).toBe(0);
    expect(dry.output()).toContain(`would become:         POST ${WEBHOOK}`);
    expect(twilio.incomingNumber(NUMBER)?.voice_url).toBe('https://demo.twilio.com/welcome/voice/');

    const wired = spawnScript('src/setup/twilio-connect-cli.ts', [], { ...env, TWILIO_PHONE_NUMBER: NUMBER });
    expect(await wired.exited).toBe(0);
    expect(wired.output()).toContain(`voice webhook now:    POST ${WEBHOOK}`);
    expect(twilio.incomingNumber(NUMBER)?.voice_url).toBe(WEBHOOK);
    expect(wired.output()).not.toContain(TOKEN);

    const plainHttp = spawnScript('src/setup/twilio-connect-cli.ts', ['--number', NUMBER], { ...env, PUBLIC_URL: 'http://agent.example.com' });
    expect(await plainHttp.exited).toBe(1);
    expect(plainHttp.output().trim()).toBe('error: PUBLIC_URL must be https for Twilio (the media stream is wss on the same host), got http://agent.example.com');
  }, 30_000);
});
