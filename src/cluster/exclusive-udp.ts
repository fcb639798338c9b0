/**
 * UDP sockets of a cluster worker are its own. Node's cluster shares a worker's UDP socket with
 * every other worker that binds "the same" one (same address, port and order of binding), and to
 * it port 0 is one port: the first socket each worker binds to port 0 is one socket, so an RTP or
 * ICE packet for a call on one worker can be read by another. WebRTC (werift) binds its sockets
 * without asking for them exclusively and offers no way to, so in a worker every bind is made
 * exclusive unless it says otherwise: the worker binds the port itself, and a port another worker
 * holds is refused (werift's port-range search then moves on to the next).
 */
import dgram from 'node:dgram';
import type { BindOptions } from 'node:dgram';

let installed = false;

/** Makes every later UDP bind in this process exclusive unless it passes `exclusive` itself. */
export function makeUdpBindsExclusive(): void {
  if (installed) return;
  installed = true;
  const bind = dgram.Socket.prototype.bind as (this: dgram.Socket, ...args: unknown[]) => dgram.Socket;
  const exclusiveBind = function (this: dgram.Socket, ...args: unknown[]): dgram.Socket {
    const [first, second, third] = args;
    if (first !== null && typeof first === 'object') {
      const options = first as BindOptions;
      return bind.call(this, options.exclusive === undefined ? { ...options, exclusive: true } : options, ...args.slice(1));
    }
    // bind([port][, address][, callback])
    const callback = args.find((arg): arg is () => void => typeof arg === 'function');
    const port = typeof first === 'number' ? first : undefined;
    const address = typeof second === 'string' ? second : typeof third === 'string' ? third : undefined;
    return bind.call(this, { port, ...(address === undefined ? {} : { address }), exclusive: true }, ...(callback === undefined ? [] : [callback]));
  };
  dgram.Socket.prototype.bind = exclusiveBind as typeof dgram.Socket.prototype.bind;
}
