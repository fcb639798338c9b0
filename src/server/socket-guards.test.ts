import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { socketEndpoint } from './socket-guards.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A served socket (with the TCP connection under it) and a client that counts its TCP reads. */
async function pair(): Promise<{ served: WebSocket; connection: Socket; client: WebSocket; reads: () => number; messages: string[] }> {
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const served = new Promise<{ ws: WebSocket; connection: Socket }>((resolve) => {
    server.on('upgrade', (request, socket, head) => {
      wss.handleUpgrade(request, socket, head, (ws) => resolve({ ws, connection: request.socket }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  const client = new WebSocket(`ws://127.0.0.1:${address.port}`, { perMessageDeflate: false });
  const messages: string[] = [];
  client.on('message', (data) => messages.push(String(data)));
  await new Promise((resolve) => client.once('open', resolve));
  let reads = 0;
  (client as unknown as { _socket: Socket })._socket.on('data', () => (reads += 1));
  const { ws, connection } = await served;
  closers.push(async () => {
    client.terminate();
    ws.terminate();
    await new Promise((resolve) => server.close(resolve));
  });
  return { served: ws, connection, client, reads: () => reads, messages };
}

describe('socketEndpoint', () => {
  it('sends the messages of one event-loop turn in one write when it has the connection', async () => {
    const { served, connection, reads, messages } = await pair();
    const endpoint = socketEndpoint(served, connection);
    const writes = vi.spyOn(connection, '_writev' as never);
    endpoint.send('{"event":"media"}', false);
    endpoint.send('{"event":"mark"}', false);
    await vi.waitFor(() => expect(messages).toEqual(['{"event":"media"}', '{"event":"mark"}']));
    expect(writes).toHaveBeenCalledTimes(1);
    expect(reads()).toBe(1);
    // The next turn's message is not held back by the last one's cork.
    endpoint.send('{"event":"clear"}', false);
    await vi.waitFor(() => expect(messages).toHaveLength(3));
  });

  it('without the connection still sends every message, in order', async () => {
    const { served, messages } = await pair();
    const endpoint = socketEndpoint(served);
    endpoint.send('a', false);
    endpoint.send(new Uint8Array([1, 2]), true);
    await vi.waitFor(() => expect(messages).toHaveLength(2));
    expect(messages[0]).toBe('a');
    expect(endpoint.isOpen()).toBe(true);
  });
});
