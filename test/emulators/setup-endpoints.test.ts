/**
 * The emulator endpoints the setup commands rely on, checked on the wire (and through the vendors'
 * own clients where we have them): Twilio's Account and IncomingPhoneNumbers, OpenAI's Models API,
 * Deepgram's projects, ElevenLabs' voices, Google's calendarList.get.
 */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { googleApiFor } from '../support/google-client.js';
import { startDeepgramEmulator } from './deepgram.js';
import { startElevenLabsEmulator } from './elevenlabs.js';
import { startGoogleCalendarEmulator } from './google-calendar.js';
import { startOpenAiEmulator } from './openai.js';
import { startTwilioRestEmulator } from './twilio.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'twilio-auth-token-0123456789abcdef';
const basic = (token = TOKEN) => `Basic ${Buffer.from(`${ACCOUNT}:${token}`).toString('base64')}`;

describe('Twilio Account and IncomingPhoneNumbers (emulated)', () => {
  it('fetches the account, lists numbers by partial match, updates a webhook, and refuses a bad one', async () => {
    const twilio = await startTwilioRestEmulator({
      accountSid: ACCOUNT,
      authToken: TOKEN,
      incomingNumbers: [{ phoneNumber: '+15551234567' }, { phoneNumber: '+15551234999' }, { phoneNumber: '+447700900123' }],
    });
    try {
      const base = `${twilio.baseUrl}/2010-04-01/Accounts/${ACCOUNT}`;
      const get = (path: string, token?: string) => fetch(`${base}${path}`, { headers: { authorization: basic(token) } });

      expect(await (await get('.json')).json()).toMatchObject({ sid: ACCOUNT, status: 'active' });
      expect((await get('.json', 'wrong')).status).toBe(401);

      const list = async (query: string) => {
        const body = (await (await get(`/IncomingPhoneNumbers.json?${query}`)).json()) as { incoming_phone_numbers: Array<{ phone_number: string }> };
        return body.incoming_phone_numbers.map((n) => n.phone_number);
      };
      expect(await list(new URLSearchParams({ PhoneNumber: '+15551234' }).toString())).toEqual(['+15551234567', '+15551234999']);
      expect(await list(new URLSearchParams({ PhoneNumber: '+1555123**67' }).toString())).toEqual(['+15551234567']);
      // An unencoded plus is a space on the wire: nothing matches, as on Twilio.
      expect(await list('PhoneNumber=+15551234567')).toEqual([]);
      const page = (await (await get('/IncomingPhoneNumbers.json?PageSize=2')).json()) as { next_page_uri: string | null; page_size: number };
      expect(page).toMatchObject({ page_size: 2, next_page_uri: expect.stringContaining('Page=1') });

      const sid = twilio.incomingNumber('+15551234567')?.sid ?? '';
      const post = (form: Record<string, string>, numberSid = sid) =>
        fetch(`${base}/IncomingPhoneNumbers/${numberSid}.json`, {
          method: 'POST',
          headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form),
        });
      const updated = await post({ VoiceUrl: 'https://agent.example.com/twilio/voice', VoiceMethod: 'post' });
      expect(await updated.json()).toMatchObject({ sid, voice_url: 'https://agent.example.com/twilio/voice', voice_method: 'POST' });
      expect(await (await post({ VoiceUrl: 'not a url' })).json()).toMatchObject({ status: 400, code: 21502 });
      expect((await post({ VoiceMethod: 'PUT' })).status).toBe(400);
      expect((await post({ VoiceUrl: 'https://x.example.com/' }, `PN${'0'.repeat(32)}`)).status).toBe(404);
      expect(twilio.incomingNumber('+15551234567')?.voice_url).toBe('https://agent.example.com/twilio/voice');
      // Calls updates are still recorded apart, as before.
      expect(twilio.requests).toEqual([]);
    } finally {
      await twilio.close();
    }
  });
});

describe('vendor key checks (emulated)', () => {
  it('OpenAI retrieves and lists models through the real SDK, 404 for one the key lacks, 401 for a wrong key', async () => {
    const openai = await startOpenAiEmulator({ models: ['gpt-4o-mini'] });
    try {
      const client = new OpenAI({ apiKey: openai.apiKey, baseURL: openai.baseUrl, maxRetries: 0 });
      expect(await client.models.retrieve('gpt-4o-mini')).toMatchObject({ id: 'gpt-4o-mini', object: 'model', owned_by: 'system' });
      expect((await client.models.list()).data.map((m) => m.id)).toEqual(['gpt-4o-mini']);
      await expect(client.models.retrieve('gpt-unknown')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
      const wrong = new OpenAI({ apiKey: 'sk-wrong-key-000000000000', baseURL: openai.baseUrl, maxRetries: 0 });
      await expect(wrong.models.retrieve('gpt-4o-mini')).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    } finally {
      await openai.close();
    }
  });

  it('Deepgram lists the key\'s projects, and refuses another key', async () => {
    const deepgram = await startDeepgramEmulator();
    try {
      const http = deepgram.url.replace(/^ws/, 'http');
      const good = await fetch(`${http}/v1/projects`, { headers: { authorization: `Token ${deepgram.apiKey}` } });
      expect(await good.json()).toEqual({ projects: [{ project_id: expect.any(String), name: 'Service desk' }] });
      const bad = await fetch(`${http}/v1/projects`, { headers: { authorization: 'Token nope' } });
      expect(bad.status).toBe(401);
      expect(await bad.json()).toMatchObject({ err_code: 'INVALID_AUTH' });
    } finally {
      await deepgram.close();
    }
  });

  it('ElevenLabs answers a voice of the account, 404 voice_not_found for another, 401 for a wrong key', async () => {
    const elevenlabs = await startElevenLabsEmulator({ voices: { voice123: 'Shop voice' } });
    try {
      const voice = (id: string, key = elevenlabs.apiKey) => fetch(`${elevenlabs.baseUrl}/v1/voices/${id}`, { headers: { 'xi-api-key': key } });
      expect(await (await voice('voice123')).json()).toMatchObject({ voice_id: 'voice123', name: 'Shop voice' });
      const missing = await voice('21m00Tcm4TlvDq8ikWAM');
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ detail: { status: 'voice_not_found' } });
      expect((await voice('voice123', 'wrong')).status).toBe(401);
    } finally {
      await elevenlabs.close();
    }
  });

  it('Google answers calendarList.get with the account\'s role, the primary alias included', async () => {
    const google = await startGoogleCalendarEmulator();
    google.createCalendar({ id: 'bay@group.calendar.google.com', summary: 'Bay', accessRole: 'reader' });
    try {
      const api = googleApiFor(google);
      expect((await api.calendarList.get({ calendarId: 'primary' })).data).toMatchObject({ id: 'shop@example.com', accessRole: 'owner', primary: true });
      expect((await api.calendarList.get({ calendarId: 'bay@group.calendar.google.com' })).data).toMatchObject({ accessRole: 'reader' });
      await expect(api.calendarList.get({ calendarId: 'nobody@example.com' })).rejects.toMatchObject({ status: 404 });
    } finally {
      await google.close();
    }
  });
});
