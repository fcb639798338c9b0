/**
 * A cluster of two workers that each bind three UDP sockets (port 0, the three ways Node takes a
 * bind) and report their ports on stdout as JSON, one line per worker. With `--exclusive` the
 * workers first call makeUdpBindsExclusive(), as the server's workers do.
 *
 *   node --import tsx test/support/cluster-udp-ports.ts [--exclusive]
 */
import cluster from 'node:cluster';
import dgram from 'node:dgram';
import { makeUdpBindsExclusive } from '../../src/cluster/exclusive-udp.js';

if (cluster.isPrimary) {
  // Both workers live until both have reported, as a server's do: a socket shared between them
  // is closed (and its port freed) once every worker using it has gone.
  const workers = [cluster.fork(), cluster.fork()];
  const reports: number[][] = [];
  for (const worker of workers) {
    worker.on('message', (ports: number[]) => {
      reports.push(ports);
      if (reports.length < workers.length) return;
      for (const report of reports) process.stdout.write(`${JSON.stringify(report)}\n`);
      for (const each of workers) each.kill();
    });
  }
} else {
  if (process.argv.includes('--exclusive')) makeUdpBindsExclusive();
  const bound = (socket: dgram.Socket): Promise<number> => new Promise((resolve) => socket.once('listening', () => resolve(socket.address().port)));
  const a = dgram.createSocket('udp4');
  const b = dgram.createSocket('udp4');
  const c = dgram.createSocket('udp4');
  const ports = [bound(a), bound(b), bound(c)];
  a.bind({ port: 0, address: '127.0.0.1' });
  b.bind(0, '127.0.0.1');
  c.bind();
  process.send?.(await Promise.all(ports));
}
