/**
 * Debian's headless Chromium (no browser download) with a fake microphone playing a WAV file
 * (looped), driven by playwright-core: what the browser suites of the harness page run in.
 */
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface FakeMicBrowser {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors, in order. */
  pageErrors: string[];
}

/** A persistent profile under `workDir`; the microphone plays `wav` (PCM16) over and over. */
export async function launchWithFakeMicrophone(workDir: string, wav: string): Promise<FakeMicBrowser> {
  const context = await chromium.launchPersistentContext(join(workDir, 'profile'), {
    executablePath: CHROMIUM,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`,
    ],
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  return { context, page, pageErrors };
}
