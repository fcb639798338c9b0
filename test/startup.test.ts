import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnServer, waitForHttp } from './support/spawn-server.js';

describe('starting the server as `npm start` does', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sda-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('answers /health within 10 s on embedded defaults, reports ready, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const server = spawnServer({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir });
    try {
      const started = Date.now();
      const health = await waitForHttp(`http://127.0.0.1:${port}/health`, 10_000);
      expect(health.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(10_000);

      const ready = await fetch(`http://127.0.0.1:${port}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        status: 'ready',
        checks: { database: { ok: true, kind: 'pglite' }, cache: { ok: true, kind: 'memory' } },
      });
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('shutdown complete');
    // Listening on loopback only, the harness needs no warning.
    expect(server.output()).not.toContain('loopback-only');
  }, 30_000);

  it('warns once when it listens beyond loopback without a harness token', async () => {
    const open = await startAndStop({ HOST: '0.0.0.0' });
    const guarded = await startAndStop({ HOST: '0.0.0.0', HARNESS_TOKEN: 'harness-token-0123456789' });
    const warnings = (output: string) =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string; host?: string })
        .filter((line) => line.level === 40 && line.msg.includes('harness'));
    expect(warnings(open)).toEqual([expect.objectContaining({ host: '0.0.0.0', msg: expect.stringContaining('loopback-only') })]);
    expect(warnings(guarded)).toEqual([]);
  }, 120_000);

  /** Starts the server, waits for /health, stops it; returns its output. */
  async function startAndStop(env: Record<string, string>): Promise<string> {
    const port = await freePort();
    const server = spawnServer({ PORT: String(port), DATA_DIR: mkdtempSync(join(dataDir, 'run-')), ...env });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`, 45_000);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
    return server.output();
  }

  it('refuses to start on bad configuration with one line per problem and a non-zero exit', async () => {
    const server = spawnServer({
      PORT: 'abc',
      TIMEZONE: 'Atlantis/Central',
      GOOGLE_CLIENT_ID: 'only-the-id',
      DATA_DIR: dataDir,
    });
    expect(await server.exited).toBe(1);
    const lines = server.output().trim().split('\n');
    expect(lines[0]).toBe('Invalid configuration:');
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^ {2}- PORT: must be an integer/),
      expect.stringMatching(/^ {2}- TIMEZONE: must be an IANA time zone/),
      expect.stringMatching(/^ {2}- GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_REFRESH_TOKEN go together/),
    ]);
  }, 30_000);
});
