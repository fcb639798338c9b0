/**
 * Preloaded into every server process by the load bench (NODE_OPTIONS="--import <this file>"), so
 * the server's own event-loop delay and CPU are measured without any server code: every worker of
 * a cluster, and the primary, loads it. Plain JavaScript because it runs before tsx's loader.
 *
 * It says hello over UDP to LOAD_PROBE_PORT on 127.0.0.1 every second (so workers that start or
 * restart later are found), and answers `{ type: 'report', id, reset }` with its cumulative CPU
 * time and the event-loop delay since the last reset. Loopback UDP, unref'd: it neither keeps the
 * process alive nor costs anything between steps. The tsx launcher process (which only relays
 * signals to the real server) does not report.
 *
 * With LOAD_PROFILE_DIR set, `{ type: 'profile', action: 'start' | 'stop' }` runs the V8 CPU profiler
 * over just the measured window (--cpu-prof is not allowed in NODE_OPTIONS, and would profile
 * start-up too) and writes <pid>.cpuprofile there.
 */
import cluster from 'node:cluster';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';

const port = Number(process.env.LOAD_PROBE_PORT);
const launcher = /[\\/](?:tsx[\\/]dist[\\/]cli\.[cm]?js|\.bin[\\/]tsx)$/.test(process.argv[1] ?? "");

if (Number.isInteger(port) && port > 0 && !launcher) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  // Pauses of the main thread for garbage collection since the last reset: a long one is a stall
  // every call on the process hears at once.
  let gc = { count: 0, totalMs: 0, maxMs: 0, majorCount: 0, majorMaxMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count += 1;
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        gc.majorCount += 1;
        gc.majorMaxMs = Math.max(gc.majorMaxMs, entry.duration);
      }
    }
  }).observe({ entryTypes: ['gc'] });
  // A process that forks no workers is the server itself; with WORKERS > 1 the primary only supervises.
  const role = cluster.isWorker ? 'worker' : 'primary';
  const socket = dgram.createSocket('udp4');
  const send = (message) => {
    const body = Buffer.from(JSON.stringify({ pid: process.pid, role, ...message }));
    socket.send(body, port, '127.0.0.1', () => undefined);
  };
  const ms = (ns) => Math.round((ns || 0) / 1e3) / 1e3;
  socket.on('error', () => undefined);
  socket.on('message', (data) => {
    let request;
    try {
      request = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (request?.type === 'profile') {
      profile(request.action);
      return;
    }
    if (request?.type !== 'report') return;
    const memory = process.memoryUsage();
    send({
      type: 'report',
      id: request.id,
      cpu: process.cpuUsage(),
      eventLoop: { count: histogram.count, p50Ms: ms(histogram.percentile(50)), p99Ms: ms(histogram.percentile(99)), maxMs: ms(histogram.max) },
      memory: { rss: memory.rss, heapUsed: memory.heapUsed },
      gc: { count: gc.count, totalMs: Math.round(gc.totalMs * 10) / 10, maxMs: Math.round(gc.maxMs * 10) / 10, majorCount: gc.majorCount, majorMaxMs: Math.round(gc.majorMaxMs * 10) / 10 },
    });
    if (request.reset === true) {
      histogram.reset();
      gc = { count: 0, totalMs: 0, maxMs: 0, majorCount: 0, majorMaxMs: 0 };
    }
  });
  let session;
  function profile(action) {
    const dir = process.env.LOAD_PROFILE_DIR;
    if (dir === undefined || dir === '') return;
    if (action === 'start' && session === undefined) {
      session = new Session();
      session.connect();
      session.post('Profiler.enable', () => session.post('Profiler.start'));
    } else if (action === 'stop' && session !== undefined) {
      const done = session;
      session = undefined;
      done.post('Profiler.stop', (error, result) => {
        if (error === null) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
        done.disconnect();
      });
    }
  }

  // exclusive: cluster workers would otherwise share one socket (through the primary), and a
  // request could reach another worker than the one that said hello.
  socket.bind({ port: 0, address: '127.0.0.1', exclusive: true }, () => {
    socket.unref();
    send({ type: 'hello' });
    setInterval(() => send({ type: 'hello' }), 1_000).unref();
  });
}
