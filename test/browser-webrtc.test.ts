/**
 * The must-show of WebRTC callers: the harness page in real headless Chromium places a voice call
 * over a peer connection to the deployed system (`startApp` against the vendor emulators). The fake
 * microphone plays a WAV (espeak-ng speech, looped), which goes through the browser's own audio
 * processing and Opus to the server; the Deepgram emulator hears it (it transcribes only audio with
 * speech energy); the agent's reply comes back on the remote track, measured in the page by a
 * WebAudio analyser; the caller's next words (the WAV's next loop) barge in on a long reply.
 *
 * Needs /usr/bin/chromium (Debian package `chromium`); skipped with a message without it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resampleAny } from '../src/audio/fractional-resample.js';
import { decodeWav, encodeWav } from '../src/audio/wav.js';
import { BROWSER_AUDIO } from '../src/core/frames.js';
import { CHROMIUM, launchWithFakeMicrophone } from './support/chromium.js';
import { startPhoneApp, waitUntil } from './support/phone-app.js';
import type { PhoneApp } from './support/phone-app.js';
import { present } from './support/prerequisites.js';

const ESPEAK = '/usr/bin/espeak-ng';
const LONG_REPLY = 'We do brakes, tires, alignments, batteries, air conditioning, inspections and diagnostics. '.repeat(6).trim();

const ready = present(existsSync(CHROMIUM) && existsSync(ESPEAK), `${CHROMIUM} or ${ESPEAK} (apt-get install chromium espeak-ng)`);

describe.skipIf(!ready)('a WebRTC call from headless Chromium', () => {
  let phone: PhoneApp;
  let workDir: string;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    phone = await startPhoneApp({ google: false });
    workDir = mkdtempSync(join(tmpdir(), 'webrtc-chromium-'));
    const wav = join(workDir, 'caller.wav');
    writeFileSync(wav, callerWav(workDir));
    ({ context, page, pageErrors } = await launchWithFakeMicrophone(workDir, wav));
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await phone?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('is heard by the STT, plays the agent on the remote track, and stops on a barge-in', { timeout: 90_000 }, async () => {
    phone.stack.deepgram.script(['I need an oil change', 'Sorry, one more thing']);
    phone.stack.openai.script([{ text: LONG_REPLY, interChunkDelayMs: 20 }]);
    phone.stack.openai.setDefault({ text: 'Of course, go ahead.' });
    await page.goto(`${phone.running.url}/`);
    await page.fill('#caller-number', '+15550102000');
    await page.click('#call');

    await page.locator('#status.live', { hasText: 'voice over WebRTC' }).waitFor({ timeout: 15_000 });
    // The greeting comes back as audio with energy on the remote track.
    await waitUntil(async () => Number(await page.getAttribute('#agent-level', 'data-peak')) > 0.01, 15_000, 'agent audio in the page');

    // The fake microphone's speech crossed the peer connection and the STT heard it.
    await page.locator('#transcript li.caller', { hasText: 'I need an oil change' }).waitFor({ timeout: 20_000 });
    await page.locator('#transcript li.agent', { hasText: 'We do brakes' }).waitFor({ timeout: 10_000 });

    // The WAV loops: the caller speaks again over the long reply, and the agent stops.
    await page.locator('#transcript li.agent.interrupted del.unheard').first().waitFor({ timeout: 20_000 });
    await page.locator('#transcript li.caller', { hasText: 'Sorry, one more thing' }).waitFor({ timeout: 10_000 });
    const calls = await phone.running.metrics.render();
    expect(calls).toMatch(/agent_active_calls\{transport="webrtc"\} 1/);

    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/harness-webrtc.png', fullPage: true });
    await page.click('#hangup');
    await page.locator('#status', { hasText: 'Call ended (caller_hung_up)' }).waitFor({ timeout: 10_000 });
    await waitUntil(() => phone.running.calls.activeCalls() === 0, 10_000, 'the call to end');
    expect(pageErrors).toEqual([]);
  });

  it('falls back to the WebSocket when no peer connection can be made, and says so', { timeout: 60_000 }, async () => {
    phone.stack.deepgram.script(['I need an oil change']);
    phone.stack.openai.setDefault({ text: 'Sure, an oil change.' });
    // As behind a network that drops UDP: both sides' candidates lead nowhere, so ICE never connects.
    const nowhere = (sdp: string) => sdp.replace(/^a=candidate:(\S+) (\d) udp (\d+) \S+ \d+ typ host(.*)$/gm, 'a=candidate:$1 $2 udp $3 127.0.0.1 9 typ host$4');
    await page.route('**/webrtc/offer', async (route) => {
      const offer = route.request().postDataJSON() as { sdp: string };
      const response = await route.fetch({ postData: JSON.stringify({ ...offer, sdp: nowhere(offer.sdp) }) });
      const body = (await response.json()) as { sdp: string };
      await route.fulfill({ response, json: { ...body, sdp: nowhere(body.sdp) } });
    });
    await page.goto(`${phone.running.url}/`);
    await page.click('#call');
    await page.locator('#transcript li.notice', { hasText: 'WebRTC unavailable' }).waitFor({ timeout: 20_000 });
    await page.locator('#status.live', { hasText: 'voice over WebSocket' }).waitFor({ timeout: 10_000 });
    await page.locator('#transcript li.caller', { hasText: 'I need an oil change' }).waitFor({ timeout: 20_000 });
    const metrics = await phone.running.metrics.render();
    expect(metrics).toMatch(/agent_active_calls\{transport="browser"\} 1/);
    // The offer that never connected started no call: the socket's is the only one.
    expect(phone.running.calls.activeCalls()).toBe(1);
    await page.unroute('**/webrtc/offer');
    await page.click('#hangup');
    await page.locator('#status', { hasText: 'Call ended (caller_hung_up)' }).waitFor({ timeout: 10_000 });
  });
});

/** espeak-ng saying a line, then four seconds of silence, PCM16 16 kHz (Chromium loops it). */
function callerWav(dir: string): Uint8Array {
  const file = join(dir, 'espeak.wav');
  execFileSync(ESPEAK, ['-w', file, 'I need an oil change for my car please'], { stdio: 'ignore', timeout: 10_000 });
  const decoded = decodeWav(readFileSync(file));
  const samples = new Int16Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length / 2);
  const speech = resampleAny(samples, decoded.sampleRate, BROWSER_AUDIO.sampleRate);
  const out = new Int16Array(speech.length + BROWSER_AUDIO.sampleRate * 4);
  out.set(speech);
  return encodeWav(out, BROWSER_AUDIO);
}
