/**
 * The deployed system for fault suites: `startApp` (the real composition root) against emulators
 * of every vendor (OpenAI, Deepgram, ElevenLabs, Twilio REST, and Google Calendar unless told
 * otherwise), with helpers to place a call the way Twilio does (signed webhook, then the media
 * stream with the TwiML's parameters) and to speak on it.
 */
import { afterEach, expect } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { PHONE_AUDIO } from '../../src/core/frames.js';
import { startApp } from '../../src/main.js';
import type { RunningApp } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { startGoogleCalendarEmulator } from '../emulators/google-calendar.js';
import type { GoogleCalendarEmulator } from '../emulators/google-calendar.js';
import { connectTwilioCaller, startTwilioRestEmulator, twilioSid } from '../emulators/twilio.js';
import type { TwilioCaller, TwilioRestEmulator } from '../emulators/twilio.js';
import type { DatabaseBackend } from './databases.js';
import { postSignedWebhook, streamParameters } from './twilio-webhook.js';
import { startVoiceStack, utteranceFrames } from './voice-stack.js';
import type { VoiceStack } from './voice-stack.js';

export const AUTH_TOKEN = 'tw-auth-token-0123456789abcdef';
export const ACCOUNT_SID = `AC${'a1'.repeat(16)}`;
export const PUBLIC_URL = 'https://agent.example.test';

export interface PhoneApp {
  running: RunningApp;
  stack: VoiceStack;
  rest: TwilioRestEmulator;
  google: GoogleCalendarEmulator | undefined;
  logLines: string[];
  /** Every secret value in the app's configuration (to check that none reaches the logs). */
  secrets: readonly string[];
  /** POSTs the signed incoming-call webhook; returns status and TwiML. */
  webhook(callSid: string, from: string): Promise<{ statusCode: number; body: string }>;
  /** Webhook, then the media stream with the TwiML's parameters. */
  placeCall(from: string, callSid?: string): Promise<TwilioCaller>;
  /** Opens a media stream for `callSid` as Twilio does for this TwiML: presenting its <Parameter>s. */
  connectStream(callSid: string, twiml: string): Promise<TwilioCaller>;
  /** Stops the app (if not stopped yet) and every emulator. */
  close(): Promise<void>;
}

/**
 * The environment of a server wired to these emulators: what startPhoneApp loads in-process, and
 * what a spawned server process (test/support/spawned-phone.ts) is given.
 */
export function phoneAppEnv(emulators: {
  stack: VoiceStack;
  rest: TwilioRestEmulator;
  google: GoogleCalendarEmulator | undefined;
}): Record<string, string> {
  const { stack, rest, google } = emulators;
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: 'memory://',
    LOG_LEVEL: 'debug',
    PUBLIC_URL,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_API_BASE_URL: rest.baseUrl,
    OPENAI_API_KEY: stack.openai.apiKey,
    OPENAI_BASE_URL: stack.openai.baseUrl,
    DEEPGRAM_API_KEY: stack.deepgram.apiKey,
    DEEPGRAM_BASE_URL: stack.deepgram.url,
    ELEVENLABS_API_KEY: stack.elevenlabs.apiKey,
    ELEVENLABS_BASE_URL: stack.elevenlabs.baseUrl,
    GREETING: 'Thanks for calling Test Garage. How can I help?',
    IDLE_PROMPT_MS: '60000',
    ...(google === undefined
      ? {}
      : {
          GOOGLE_CLIENT_ID: google.clientId,
          GOOGLE_CLIENT_SECRET: google.clientSecret,
          GOOGLE_REFRESH_TOKEN: google.refreshToken,
          GOOGLE_API_BASE_URL: google.rootUrl,
          GOOGLE_TOKEN_URI: google.tokenUrl,
        }),
  };
}

/**
 * For a describe block: the returned function boots a phone app (no Google) on a fresh database of
 * `backend`'s kind, with `env` added; after each test the app is closed and its database dropped.
 */
export function phoneAppOnFreshDatabase(backend: DatabaseBackend): (env?: Record<string, string>) => Promise<PhoneApp> {
  let phone: PhoneApp | undefined;
  let removeDatabase: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await phone?.close();
    await removeDatabase?.();
    phone = undefined;
    removeDatabase = undefined;
  });
  return async (env = {}) => {
    const storage = await backend.appEnv();
    removeDatabase = storage.remove;
    phone = await startPhoneApp({ google: false, env: { ...storage.env, ...env } });
    return phone;
  };
}

export async function startPhoneApp(options: { env?: Record<string, string>; google?: boolean } = {}): Promise<PhoneApp> {
  const [stack, rest, google] = await Promise.all([
    startVoiceStack(),
    startTwilioRestEmulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }),
    options.google === false ? Promise.resolve(undefined) : startGoogleCalendarEmulator(),
  ]);
  const config = loadConfig({ ...phoneAppEnv({ stack, rest, google }), ...options.env });
  const logLines: string[] = [];
  const logger = createLogger({ level: 'debug', secrets: config.secrets, destination: { write: (line) => logLines.push(line) } });
  let running: RunningApp;
  try {
    running = await startApp(config, logger);
  } catch (error) {
    await Promise.all([stack.close(), rest.close(), google?.close()]);
    throw error;
  }

  function webhook(callSid: string, from: string) {
    const params = { CallSid: callSid, AccountSid: ACCOUNT_SID, From: from, To: '+15550000000', CallStatus: 'ringing' };
    return postSignedWebhook(running.app, { authToken: AUTH_TOKEN, publicUrl: PUBLIC_URL, params });
  }

  function connectStream(callSid: string, twiml: string): Promise<TwilioCaller> {
    return connectTwilioCaller({
      url: `${running.url.replace('http', 'ws')}/twilio/stream`,
      callSid,
      customParameters: streamParameters(twiml),
      speed: 20,
    });
  }

  return {
    running,
    stack,
    rest,
    google,
    logLines,
    secrets: config.secrets,
    webhook,
    connectStream,
    async placeCall(from, callSid = twilioSid('CA')) {
      const { statusCode, body } = await webhook(callSid, from);
      expect(statusCode).toBe(200);
      expect(body).toContain('<Connect><Stream');
      return connectStream(callSid, body);
    },
    async close() {
      await running.stop();
      await Promise.all([stack.close(), rest.close(), google?.close()]);
    },
  };
}

/** The caller says something: speech-like audio then silence, as 20 ms media messages. */
export function say(caller: TwilioCaller, speechMs = 800): void {
  for (const frame of utteranceFrames(PHONE_AUDIO, speechMs)) caller.sendAudio(frame);
}

export async function waitUntil(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A weekday 7-13 days out (UTC date), far from the lead time; `weekday` 1 = Monday. */
export function dayAhead(weekday = 1): string {
  const d = new Date();
  const daysAhead = ((7 + weekday - d.getUTCDay()) % 7) + 7;
  d.setUTCDate(d.getUTCDate() + daysAhead);
  return d.toISOString().slice(0, 10);
}
