/**
 * A TCP relay on 127.0.0.1 in front of a real service (PostgreSQL, Redis) that a fault test can
 * break the way networks break:
 *   - cut(): every open connection is reset and the port stops listening (connections refused);
 *   - restore(): listening again on the same port, so clients configured with it recover by themselves;
 *   - blackhole(true): connections stay open (and new ones are accepted) but nothing gets through,
 *     like a partition where packets are silently dropped;
 *   - cutOnClientData(pattern): the first client chunk containing `pattern` is not forwarded; the
 *     relay is cut at that very moment (e.g. mid-transaction, on a given SQL statement).
 */
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  blackhole(on: boolean): void;
  /** Arms a one-shot trigger; resolves once it fired (the relay is then cut). */
  cutOnClientData(pattern: string): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let accepted = 0;
  let dropping = false;
  let trigger: { pattern: string; fire: () => void } | undefined;

  function track(socket: Socket): void {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  function onConnection(client: Socket): void {
    accepted += 1;
    track(client);
    const upstream = connect(target.port, target.host);
    track(upstream);
    const pending: Buffer[] = [];
    let upstreamReady = false;
    upstream.on('connect', () => {
      upstreamReady = true;
      for (const chunk of pending.splice(0)) upstream.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      if (dropping) return;
      if (trigger !== undefined && chunk.includes(trigger.pattern)) {
        const fired = trigger;
        trigger = undefined;
        void cut().then(fired.fire);
        return;
      }
      if (upstreamReady) upstream.write(chunk);
      else pending.push(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!dropping) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  async function listen(onPort: number): Promise<void> {
    const next = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(onPort, '127.0.0.1', () => {
        next.off('error', reject);
        resolve();
      });
    });
    server = next;
    port = (next.address() as { port: number }).port;
  }

  async function cut(): Promise<void> {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (current !== undefined) await new Promise<void>((resolve) => current.close(() => resolve()));
  }

  await listen(0);
  return {
    get port() {
      return port;
    },
    get accepted() {
      return accepted;
    },
    cut,
    async restore() {
      dropping = false;
      if (server === undefined) await listen(port);
    },
    blackhole(on) {
      dropping = on;
    },
    cutOnClientData(pattern) {
      return new Promise<void>((resolve) => {
        trigger = { pattern, fire: resolve };
      });
    },
    async close() {
      trigger = undefined;
      await cut();
    },
  };
}

/** `url` with its host and port replaced by the proxy's. */
export function viaProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return parsed.toString();
}
