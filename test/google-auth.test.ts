/**
 * `npm run google:auth` against the Google emulator, the test playing the browser: it fetches the
 * consent URL the command prints, and the emulator's consent screen redirects (fetch follows) to
 * the command's loopback server, as Google would send the operator's browser there.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GoogleOAuthClientConfig } from '../src/config.js';
import { SetupError } from '../src/setup/cli.js';
import { runGoogleAuth } from '../src/setup/google-auth.js';
import type { GoogleAuthResult } from '../src/setup/google-auth.js';
import { startGoogleCalendarEmulator } from './emulators/google-calendar.js';
import type { GoogleCalendarEmulator } from './emulators/google-calendar.js';
import { spawnScript } from './support/spawn-server.js';

const dir = mkdtempSync(join(tmpdir(), 'sda-google-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let google: GoogleCalendarEmulator;
beforeEach(async () => {
  google = await startGoogleCalendarEmulator({ primaryCalendar: { summary: 'Main Street Auto', timeZone: 'America/New_York' } });
  google.createCalendar({ id: 'bay-1@group.calendar.google.com', summary: 'Bay 1', accessRole: 'writer' });
  google.createCalendar({ id: 'holidays@group.v.calendar.google.com', summary: 'Holidays', accessRole: 'reader' });
});
afterEach(async () => {
  await google.close();
});

function clientConfig(overrides: Partial<GoogleOAuthClientConfig> = {}): GoogleOAuthClientConfig {
  return {
    clientId: google.clientId,
    clientSecret: google.clientSecret,
    authUri: google.authUrl,
    tokenUri: google.tokenUrl,
    apiBaseUrl: google.rootUrl,
    secrets: [google.clientSecret],
    ...overrides,
  };
}

/** Runs the command in-process; `browser` is handed the consent URL once it is printed. */
async function authorise(
  browser: (consentUrl: string) => Promise<Response>,
  options: { client?: GoogleOAuthClientConfig; writeEnvFile?: string } = {},
): Promise<{ result: Promise<GoogleAuthResult>; page: Promise<Response>; lines: string[] }> {
  const lines: string[] = [];
  let showUrl: (url: string) => void = () => undefined;
  const printed = new Promise<string>((resolve) => (showUrl = resolve));
  const result = runGoogleAuth({
    client: options.client ?? clientConfig(),
    print: (line) => {
      lines.push(line);
      if (line.trim().startsWith(google.authUrl)) showUrl(line.trim());
    },
    writeEnvFile: options.writeEnvFile,
    consentTimeoutMs: 10_000,
  });
  // Kept from rejecting unobserved while the test looks at the page first.
  result.catch(() => undefined);
  return { result, page: printed.then(browser), lines };
}

describe('google:auth', () => {
  it('authorises through the consent screen, exchanges the code with PKCE, prints the refresh token and the calendars', async () => {
    const { result, page, lines } = await authorise((url) => fetch(url));
    const answered = await page;
    expect(answered.status).toBe(200);
    expect(await answered.text()).toContain('authorised');
    const { refreshToken, calendars } = await result;

    // What the consent screen was asked for.
    const asked = google.authorizations[0]?.params ?? {};
    expect(asked).toMatchObject({
      client_id: google.clientId,
      response_type: 'code',
      scope: 'https://www.googleapis.com/auth/calendar',
      access_type: 'offline',
      prompt: 'consent',
      code_challenge_method: 'S256',
    });
    expect(asked.redirect_uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oauth2callback$/);
    expect(asked.state).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    // The exchange proved the verifier behind the challenge (the emulator refuses anything else).
    const exchange = google.tokenRequests().find((r) => (r.body as Record<string, string>).grant_type === 'authorization_code');
    const verifier = (exchange?.body as Record<string, string>).code_verifier ?? '';
    expect(createHash('sha256').update(verifier).digest('base64url')).toBe(asked.code_challenge);
    expect((exchange?.body as Record<string, string>).redirect_uri).toBe(asked.redirect_uri);

    // The refresh token is a real one: the token endpoint takes it.
    expect(google.issuedRefreshTokens).toEqual([refreshToken]);
    const refreshed = await fetch(google.tokenUrl, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: google.clientId, client_secret: google.clientSecret }),
    });
    expect(refreshed.status).toBe(200);

    expect(lines).toContain(`  GOOGLE_REFRESH_TOKEN=${refreshToken}`);
    expect(calendars).toEqual([
      { id: 'shop@example.com', summary: 'Main Street Auto', accessRole: 'owner', primary: true },
      { id: 'bay-1@group.calendar.google.com', summary: 'Bay 1', accessRole: 'writer', primary: false },
      { id: 'holidays@group.v.calendar.google.com', summary: 'Holidays', accessRole: 'reader', primary: false },
    ]);
    const table = lines.join('\n');
    expect(table).toMatch(/shop@example\.com\s+owner\s+Main Street Auto \(primary\)/);
    expect(table).toMatch(/bay-1@group\.calendar\.google\.com\s+writer\s+Bay 1/);
    expect(table).toMatch(/holidays@group\.v\.calendar\.google\.com\s+reader\s+Holidays\s+<- read-only/);
    expect(table).toContain('GOOGLE_BAY_CALENDAR_IDS');
    expect(table).not.toContain(google.clientSecret);
  });

  it('with --write-env, sets GOOGLE_REFRESH_TOKEN in .env, keeps every other line, and does not print the token', async () => {
    const envFile = join(dir, 'write.env');
    const before = '# the shop\nGOOGLE_CLIENT_ID=x\nGOOGLE_REFRESH_TOKEN=revoked-long-ago\nPORT=9090\n';
    writeFileSync(envFile, before);
    const { result, page, lines } = await authorise((url) => fetch(url), { writeEnvFile: envFile });
    await page;
    const { refreshToken } = await result;
    expect(readFileSync(envFile, 'utf8')).toBe(before.replace('revoked-long-ago', refreshToken));
    expect(lines.join('\n')).not.toContain(refreshToken);
    expect(lines).toContain(`Authorised. GOOGLE_REFRESH_TOKEN updated in ${envFile}.`);
  });

  it('prints the token after all when the .env file cannot be written, and says so', async () => {
    const envFile = join(dir, 'no-such-dir', '.env');
    const { result, page, lines } = await authorise((url) => fetch(url), { writeEnvFile: envFile });
    await page;
    await expect(result).rejects.toThrow(`could not write ${envFile} (ENOENT); the token is printed above`);
    expect(lines).toContain(`  GOOGLE_REFRESH_TOKEN=${google.issuedRefreshTokens[0] ?? 'none issued'}`);
  });

  it('stops with a clear error, saving nothing, when consent is denied', async () => {
    google.setConsent('deny');
    const envFile = join(dir, 'denied.env');
    writeFileSync(envFile, 'PORT=9090\n');
    const { result, page } = await authorise((url) => fetch(url), { writeEnvFile: envFile });
    expect((await page).status).toBe(400);
    await expect(result).rejects.toThrow(SetupError);
    await expect(result).rejects.toThrow(/access was denied on Google's consent screen/);
    expect(google.tokenRequests()).toEqual([]);
    expect(readFileSync(envFile, 'utf8')).toBe('PORT=9090\n');
  });

  it('refuses a redirect that does not carry its state, and never exchanges that code', async () => {
    const { result, page } = await authorise(async (url) => {
      const consent = await fetch(url, { redirect: 'manual' });
      const back = new URL(consent.headers.get('location') ?? '');
      back.searchParams.set('state', 'forged-by-someone-else');
      return fetch(back);
    });
    expect((await page).status).toBe(400);
    await expect(result).rejects.toThrow(/does not carry this run's state/);
    expect(google.tokenRequests()).toEqual([]);
  });

  it('reports a refused code exchange in one line, naming the settings to check', async () => {
    const { result, page } = await authorise((url) => fetch(url), { client: clientConfig({ clientSecret: 'not-the-secret-at-all' }) });
    expect((await page).status).toBe(400);
    const error = (await result.catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(SetupError);
    expect(error.message).toMatch(/^Google refused the authorization code: HTTP 401 invalid_client.*check GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET/);
    expect(error.message).not.toContain('\n');
    expect(error.message).not.toContain('not-the-secret-at-all');
  });

  it('runs as `npm run google:auth -- --write-env` does: reads .env, writes the token there, exit 0', async () => {
    const envFile = join(dir, 'cli.env');
    const settings = [
      `GOOGLE_CLIENT_ID=${google.clientId}`,
      `GOOGLE_CLIENT_SECRET=${google.clientSecret}`,
      `GOOGLE_AUTH_URI=${google.authUrl}`,
      `GOOGLE_TOKEN_URI=${google.tokenUrl}`,
      `GOOGLE_API_BASE_URL=${google.rootUrl}`,
      '# GOOGLE_REFRESH_TOKEN=',
      '',
    ].join('\n');
    writeFileSync(envFile, settings);
    const child = spawnScript('src/setup/google-auth-cli.ts', ['--write-env', '--no-browser', '--dotenv', envFile], {});
    const consentUrl = await waitForOutput(child.output, new RegExp(`${escapeRegExp(google.authUrl)}\\S+`));
    expect((await fetch(consentUrl)).status).toBe(200);
    expect(await child.exited).toBe(0);
    const token = google.issuedRefreshTokens[0] ?? 'none issued';
    expect(readFileSync(envFile, 'utf8')).toBe(`${settings}GOOGLE_REFRESH_TOKEN=${token}\n`);
    expect(child.output()).toContain('bay-1@group.calendar.google.com');
    expect(child.output()).not.toContain(token);
    expect(child.output()).not.toContain(google.clientSecret);
  }, 30_000);

  it('exits 1 with one line on stderr when consent is denied, and without GOOGLE_CLIENT_SECRET says what to set', async () => {
    google.setConsent('deny');
    const envFile = join(dir, 'cli-denied.env');
    writeFileSync(envFile, `GOOGLE_CLIENT_ID=${google.clientId}\nGOOGLE_CLIENT_SECRET=${google.clientSecret}\nGOOGLE_AUTH_URI=${google.authUrl}\n`);
    const denied = spawnScript('src/setup/google-auth-cli.ts', ['--no-browser', '--dotenv', envFile], {});
    await fetch(await waitForOutput(denied.output, new RegExp(`${escapeRegExp(google.authUrl)}\\S+`)));
    expect(await denied.exited).toBe(1);
    expect(denied.output().trim().split('\n').at(-1)).toMatch(/^error: access was denied on Google's consent screen/);

    const unset = spawnScript('src/setup/google-auth-cli.ts', ['--no-browser', '--dotenv', join(dir, 'missing.env')], {});
    expect(await unset.exited).toBe(1);
    expect(unset.output()).toMatch(/GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET missing: create an OAuth client/);
  }, 30_000);
});

async function waitForOutput(output: () => string, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(output());
    if (match) return match[0];
    if (Date.now() > deadline) throw new Error(`no ${String(pattern)} in the output:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
