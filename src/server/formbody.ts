/**
 * Parses application/x-www-form-urlencoded bodies (Twilio posts its webhooks that way) into a
 * flat record. Repeated keys keep the last value, which is what Twilio's signature check expects
 * for its own parameters.
 */
import type { FastifyInstance } from 'fastify';

export default async function formbody(app: FastifyInstance): Promise<void> {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
// fastify-plugin semantics (no encapsulation) without the dependency: the parser must apply to
// routes registered outside this plugin.
(formbody as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
