/**
 * The HTTP + WebSocket edge. Routes are registered here; what they do lives in the modules they
 * call. `buildServer` does no I/O beyond fastify's own setup, so tests build one per suite and
 * drive it with `inject` or a real listen on an ephemeral port.
 */
import formbody from './formbody.js';
import websocket from '@fastify/websocket';
import { fastify } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Logger } from '../observability/logger.js';
import { runReadinessChecks } from './readiness.js';
import type { ReadinessCheck } from './readiness.js';
import { CLOSE_HANDSHAKE_TIMEOUT_MS, handleSocketError } from './socket-guards.js';

export interface ServerDeps {
  logger: Logger;
  readinessChecks: readonly ReadinessCheck[];
  /** True once shutdown began: /ready turns 503 so the load balancer stops sending calls. */
  isDraining?: () => boolean;
  readinessTimeoutMs?: number;
  /** Prometheus text for GET /metrics. */
  metrics?: { render(): Promise<string>; contentType: string };
  /** Route plugins of the callers' edges (Twilio webhook and media stream, browser harness). */
  routes?: readonly FastifyPluginAsync[];
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = fastify({
    // pino's Logger is fastify's base logger; the cast only widens the generic.
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Vendor webhooks and media streams are small; anything bigger is a mistake or an attack.
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
  });
  await app.register(formbody);
  await app.register(websocket, {
    // closeTimeout (ws >= 8.18; its types lag): a client that never answers our close is dropped.
    options: { maxPayload: 256 * 1024, closeTimeout: CLOSE_HANDSHAKE_TIMEOUT_MS } as websocket.WebsocketPluginOptions['options'],
    // Replaces the plugin's default, which logs every client's oversize frame as an error with a stack.
    errorHandler: (error, socket, request) => handleSocketError(error, socket, request),
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (_request, reply) => {
    const result = await runReadinessChecks(deps.readinessChecks, deps.readinessTimeoutMs ?? 2_000);
    const draining = deps.isDraining?.() ?? false;
    const ready = result.ready && !draining;
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : draining ? 'draining' : 'not_ready',
      checks: result.checks,
    });
  });

  const metrics = deps.metrics;
  if (metrics !== undefined) {
    app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()));
  }

  for (const routes of deps.routes ?? []) await app.register(routes);

  return app;
}
