import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { buildServer } from './app.js';
import type { ReadinessCheck } from './readiness.js';

const logger = createLogger({ level: 'silent' });
const ok = (name: string, kind: string): ReadinessCheck => ({ name, kind, probe: async () => {} });

describe('server', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function server(checks: ReadinessCheck[], options: { draining?: boolean } = {}) {
    const app = await buildServer({
      logger,
      readinessChecks: checks,
      readinessTimeoutMs: 200,
      isDraining: () => options.draining ?? false,
    });
    close = () => app.close();
    return app;
  }

  it('answers /health', async () => {
    const app = await server([]);
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('reports ready with each dependency and its kind', async () => {
    const app = await server([ok('database', 'pglite'), ok('cache', 'memory')]);
    const response = await app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      status: 'ready',
      checks: { database: { ok: true, kind: 'pglite' }, cache: { ok: true, kind: 'memory' } },
    });
  });

  it('reports not ready, naming the failing dependency, without hanging on a stuck one', async () => {
    const app = await server([
      ok('database', 'postgres'),
      { name: 'cache', kind: 'redis', probe: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')) },
      { name: 'calendar', kind: 'google', probe: () => new Promise(() => {}) },
    ]);
    const started = Date.now();
    const response = await app.inject({ method: 'GET', url: '/ready' });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({
      status: 'not_ready',
      checks: {
        database: { ok: true },
        cache: { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:6379' },
        calendar: { ok: false, error: 'no answer within 200 ms' },
      },
    });
  });

  it('turns not ready while draining so the load balancer stops sending calls', async () => {
    const app = await server([ok('database', 'pglite')], { draining: true });
    const response = await app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ status: 'draining' });
  });

  it('parses form-encoded webhook bodies', async () => {
    const app = await server([]);
    app.post('/echo', async (request) => request.body);
    const response = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'CallSid=CA1&From=%2B15551234567',
    });
    expect(response.json()).toEqual({ CallSid: 'CA1', From: '+15551234567' });
  });
});
