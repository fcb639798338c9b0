/** A loopback HTTP endpoint that records what is POSTed to it, standing in for our push-notification route. */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { listenOnLoopback } from '../emulators/listen.js';

export interface ReceivedHook {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status the receiver answered with. */
  status: number;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedHook[];
  /** The next requests get these statuses, in order; after them every request gets 200. */
  respondWith(statuses: number[]): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(path = '/google/calendar/notifications'): Promise<WebhookReceiver> {
  const received: ReceivedHook[] = [];
  let statuses: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = statuses.shift() ?? 200;
      received.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        status,
      });
      res.writeHead(status).end();
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    respondWith(next) {
      statuses = [...next];
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
