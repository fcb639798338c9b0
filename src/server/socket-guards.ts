/**
 * What every WebSocket the server serves gets, whatever its route:
 *
 *   - a bound on the bytes it holds for a client that is not reading (`bufferedAmount`: ws's queue
 *     plus the socket's own buffer). A call is real-time: audio seconds behind is of no use, and a
 *     stuck or hostile client must not make the server hold an ever-growing backlog. Past the
 *     bound the call ends (call-stream.ts, through socketEndpoint);
 *   - a close that cannot hang: a client that never answers the close handshake is dropped after
 *     CLOSE_HANDSHAKE_TIMEOUT_MS (ws's `closeTimeout`, set server-wide in app.ts);
 *   - errors on an open socket (a frame over the payload limit, a protocol violation, a reset) are
 *     the client's doing: one warn line, no stack. Anything else is our bug and logged as an error.
 */
import type { Duplex } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { StreamEndpoint } from './call-stream.js';

export const CLOSE_HANDSHAKE_TIMEOUT_MS = 1_000;

/**
 * A ws socket as a call stream's endpoint (src/server/call-stream.ts keeps the bound on it).
 * `connection` is the upgraded TCP connection under it (`request.socket`): messages sent in one
 * turn of the event loop (a piece of audio and the mark after it) then leave in one write, not
 * one each; a write per message is most of what sending costs.
 */
export function socketEndpoint(socket: WebSocket, connection?: Duplex): StreamEndpoint {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    connection?.uncork();
  };
  return {
    isOpen: () => socket.readyState === socket.OPEN,
    // ws's queue plus the socket's own buffer.
    bufferedAmount: () => socket.bufferedAmount,
    send: (data, binary) => {
      if (connection !== undefined && !corked && connection.writable) {
        corked = true;
        connection.cork();
        process.nextTick(uncork);
      }
      socket.send(data, { binary });
    },
    close: (code, reason) => closeSocket(socket, code, reason),
  };
}

/** Sockets a route chose to close: it has said why, so their later errors are only noise. */
const closedByRoute = new WeakSet<WebSocket>();

/** Closes with a code and reason; terminates when close itself throws (a broken socket). */
export function closeSocket(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState === socket.CLOSING || socket.readyState === socket.CLOSED) return;
  closedByRoute.add(socket);
  try {
    // Close reasons are limited to 123 bytes.
    socket.close(code, reason.slice(0, 100));
  } catch {
    socket.terminate();
  }
}

/**
 * The WebSocket plugin's error handler: the one place socket errors are logged, for every route.
 * ws has already started closing the socket with the matching code (1009 for an oversize frame);
 * the close timeout finishes the job. Errors of another kind are terminated at once.
 */
export function handleSocketError(error: unknown, socket: WebSocket, request: FastifyRequest): void {
  const logger = request.log;
  const context = { route: request.routeOptions.url, remote: request.socket.remoteAddress };
  if (isClientFault(error)) {
    const summary = { ...context, error: { name: error.name, code: error.code, message: error.message } };
    // A socket refused or ended by its route gets one line, the route's, not one more per frame.
    if (closedByRoute.has(socket)) {
      logger.debug(summary, 'websocket client error on a closing socket');
      return;
    }
    logger.warn(summary, 'websocket client error: closing the socket');
    // ws closes on its own receiver errors; anything else still open is closed here.
    if (socket.readyState === socket.OPEN) closeSocket(socket, 1002, 'protocol error');
    return;
  }
  logger.error({ ...context, err: error }, 'websocket handler failed');
  socket.terminate();
}

type CodedError = Error & { code: string };

function isClientFault(error: unknown): error is CodedError {
  if (!(error instanceof Error)) return false;
  const code = (error as Partial<CodedError>).code;
  if (typeof code !== 'string') return false;
  // ws's receiver errors (WS_ERR_*), and the peer vanishing mid-write.
  return code.startsWith('WS_ERR_') || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT';
}
