import { describe, expect, it } from 'vitest';
import type { IncomingNumber } from '../transports/twilio/account.js';
import { SetupError } from './cli.js';
import { describeConnect, requireHttpsPublicUrl, voiceWebhookUrl, webhookChange, webhookProblem } from './twilio-connect.js';

const WANTED = 'https://agent.example.com/twilio/voice';
const number = (overrides: Partial<IncomingNumber> = {}): IncomingNumber => ({
  sid: 'PN0123456789abcdef0123456789abcdef',
  phoneNumber: '+15551234567',
  friendlyName: 'Main line',
  voiceUrl: WANTED,
  voiceMethod: 'POST',
  voiceApplicationSid: '',
  trunkSid: '',
  ...overrides,
});

describe('the webhook a number needs', () => {
  it('is POST <PUBLIC_URL>/twilio/voice, under a path prefix too', () => {
    expect(voiceWebhookUrl('https://agent.example.com')).toBe(WANTED);
    expect(voiceWebhookUrl('https://example.com/shop-7/')).toBe('https://example.com/shop-7/twilio/voice');
  });

  it('needs an https PUBLIC_URL', () => {
    expect(requireHttpsPublicUrl('https://agent.example.com')).toBe('https://agent.example.com');
    expect(() => requireHttpsPublicUrl(undefined)).toThrow(/PUBLIC_URL is not set/);
    expect(() => requireHttpsPublicUrl('http://agent.example.com')).toThrow(SetupError);
  });

  it.each<[string, Partial<IncomingNumber>, RegExp | undefined]>([
    ['wired', {}, undefined],
    ['wired, spelled with a default port and an upper-case host', { voiceUrl: 'https://AGENT.example.com:443/twilio/voice' }, undefined],
    ['pointing elsewhere', { voiceUrl: 'https://demo.twilio.com/welcome/voice/' }, /its voice webhook is https:\/\/demo\.twilio\.com/],
    ['on another path of this server', { voiceUrl: 'https://agent.example.com/voice' }, /its voice webhook is/],
    ['called with GET', { voiceMethod: 'GET' }, /called with GET, not POST/],
    ['without a webhook', { voiceUrl: '' }, /no voice webhook/],
    ['taken by a TwiML App', { voiceApplicationSid: 'AP0123' }, /TwiML App AP0123/],
    ['on a SIP trunk', { trunkSid: 'TK0123' }, /SIP trunk TK0123/],
  ])('finds a number %s %s', (_case, overrides, problem) => {
    const found = webhookProblem(number(overrides), WANTED);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });

  it('changes only what needs changing, detaches a TwiML App, and refuses a trunked number', () => {
    expect(webhookChange(number(), WANTED)).toBeUndefined();
    expect(webhookChange(number({ voiceUrl: 'https://old.example.com/' }), WANTED)).toEqual({ voiceUrl: WANTED, voiceMethod: 'POST' });
    expect(webhookChange(number({ voiceApplicationSid: 'AP0123' }), WANTED)).toEqual({
      voiceUrl: WANTED,
      voiceMethod: 'POST',
      clearVoiceApplication: true,
    });
    expect(() => webhookChange(number({ trunkSid: 'TK0123' }), WANTED)).toThrow(/take it off the trunk/);
  });
});

describe('describeConnect', () => {
  const before = number({ voiceUrl: 'https://demo.twilio.com/welcome/voice/', voiceMethod: 'POST' });
  const change = { voiceUrl: WANTED, voiceMethod: 'POST' as const };

  it('shows before and after of a change', () => {
    expect(describeConnect({ accountSid: 'AC1', before, change, after: number(), dryRun: false })).toEqual([
      '+15551234567 (PN0123456789abcdef0123456789abcdef, "Main line") on account AC1',
      '  voice webhook before: POST https://demo.twilio.com/welcome/voice/',
      `  voice webhook now:    POST ${WANTED}`,
    ]);
  });

  it('in a dry run says what would change and that nothing did', () => {
    expect(describeConnect({ accountSid: 'AC1', before, change, after: undefined, dryRun: true }).slice(1)).toEqual([
      '  voice webhook before: POST https://demo.twilio.com/welcome/voice/',
      `  would become:         POST ${WANTED}`,
      '  dry run: nothing was changed',
    ]);
  });

  it('says when there is nothing to do', () => {
    expect(describeConnect({ accountSid: 'AC1', before: number(), change: undefined, after: undefined, dryRun: false }).at(-1)).toBe(
      '  already wired to this server: nothing to change',
    );
  });
});
