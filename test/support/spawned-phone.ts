/**
 * A server process (`tsx src/main.ts`, as `npm start` runs it) wired to the emulators, with the
 * Twilio side played over the network: the signed webhook POSTed over HTTP, then the media stream
 * connected over WebSocket. For suites where the server's processes are what is under test
 * (workers sharing a port, instances sharing a database).
 */
import { connectTwilioCaller } from '../emulators/twilio.js';
import type { TwilioCaller } from '../emulators/twilio.js';
import { ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL } from './phone-app.js';
import { freePort, spawnServer, waitForHttp } from './spawn-server.js';
import type { SpawnedServer } from './spawn-server.js';
import { postSignedWebhookOverHttp, streamParameters } from './twilio-webhook.js';

export interface SpawnedPhoneServer {
  readonly url: string;
  readonly process: SpawnedServer;
  /** The JSON log lines written so far. */
  logs(): Array<Record<string, unknown>>;
  webhook(callSid: string, from: string): Promise<{ statusCode: number; body: string }>;
  connectStream(callSid: string, twiml: string): Promise<TwilioCaller>;
  /** SIGTERM (what Docker and systemd send), then the exit code. */
  terminate(): Promise<number | null>;
}

/** `env` on top of the emulators' environment (phoneAppEnv); PORT and HOST are chosen here. */
export async function spawnPhoneServer(env: Record<string, string>, options: { readyMs?: number } = {}): Promise<SpawnedPhoneServer> {
  const port = await freePort();
  const server = spawnServer({ ...env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: env.LOG_LEVEL ?? 'debug' });
  const url = `http://127.0.0.1:${port}`;
  const exitedEarly = server.exited.then((code) => {
    throw new Error(`server exited (${code}) before answering:\n${server.output()}`);
  });
  exitedEarly.catch(() => undefined);
  await Promise.race([waitForHttp(`${url}/health`, options.readyMs ?? 60_000), exitedEarly]);

  const logs = (): Array<Record<string, unknown>> =>
    server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });

  return {
    url,
    process: server,
    logs,
    async webhook(callSid, from) {
      const params = { CallSid: callSid, AccountSid: ACCOUNT_SID, From: from, To: '+15550000000', CallStatus: 'ringing' };
      return postSignedWebhookOverHttp(url, { authToken: AUTH_TOKEN, publicUrl: PUBLIC_URL, params });
    },
    connectStream(callSid, twiml) {
      return connectTwilioCaller({
        url: `${url.replace('http', 'ws')}/twilio/stream`,
        callSid,
        customParameters: streamParameters(twiml),
        speed: 20,
      });
    },
    async terminate() {
      if (server.child.exitCode === null) server.child.kill('SIGTERM');
      return server.exited;
    },
  };
}

/** Prometheus text's samples of `name` whose labels include every pair in `labels`. */
export function samples(text: string, name: string, labels: Record<string, string> = {}): number[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
}
