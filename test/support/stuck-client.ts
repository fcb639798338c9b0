/**
 * A client that stops reading: its TCP socket is paused so nothing more is read from the kernel,
 * and the server's writes pile up as they would behind a stuck or hostile client. Writes still go
 * out. ws resumes a socket it paused itself when its parser drains, so resume is held off until
 * resumeReading().
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

type HeldSocket = Socket & { heldResume?: Socket['resume'] };

function rawSocket(socket: WebSocket): HeldSocket {
  return (socket as unknown as { _socket: HeldSocket })._socket;
}

export function stopReading(socket: WebSocket): void {
  const raw = rawSocket(socket);
  if (raw.heldResume !== undefined) return;
  raw.heldResume = raw.resume;
  raw.resume = () => raw;
  raw.pause();
}

export function resumeReading(socket: WebSocket): void {
  const raw = rawSocket(socket);
  if (raw.heldResume === undefined) return;
  raw.resume = raw.heldResume;
  raw.heldResume = undefined;
  raw.resume();
}
