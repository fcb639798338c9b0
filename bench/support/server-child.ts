/**
 * The server under test in its own process: `startApp` (the real composition root) configured
 * from the env the parent sends over IPC, so the benches measure the server's event loop, CPU and
 * heap without the emulators' or the callers' work mixed in. It answers `stats` requests with its
 * event-loop delay histogram (monitorEventLoopDelay), CPU, memory and live calls.
 *
 * Run only through `startServerChild()` (bench/support/server.ts); it exits when the parent goes.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../../src/config.js';
import { startApp } from '../../src/main.js';
import type { RunningApp } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';

type Request =
  | { type: 'start'; env: Record<string, string> }
  | { type: 'stats'; id: number; reset?: boolean; gc?: boolean }
  | { type: 'stop' };

const histogram = monitorEventLoopDelay({ resolution: 1 });
let running: RunningApp | undefined;

function reply(message: Record<string, unknown>): void {
  process.send?.(message);
}

async function handle(message: Request): Promise<void> {
  switch (message.type) {
    case 'start': {
      const config = loadConfig(message.env);
      const logger = createLogger({ level: config.logLevel, secrets: config.secrets, destination: process.stderr });
      running = await startApp(config, logger);
      histogram.enable();
      reply({ type: 'ready', url: running.url });
      return;
    }
    case 'stats': {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (message.gc === true && gc !== undefined) {
        // Twice, with a turn between: objects freed by finalizers of the first pass go in the second.
        gc();
        await new Promise((resolve) => setImmediate(resolve));
        gc();
      }
      const ns = (v: number): number => Math.round(v / 1e3) / 1e3; // ns -> ms with µs precision
      reply({
        type: 'stats',
        id: message.id,
        eventLoop: {
          count: histogram.count,
          meanMs: ns(histogram.mean || 0),
          p50Ms: ns(histogram.percentile(50) || 0),
          p99Ms: ns(histogram.percentile(99) || 0),
          maxMs: ns(histogram.max || 0),
        },
        cpu: process.cpuUsage(),
        memory: process.memoryUsage(),
        activeCalls: running?.calls.activeCalls() ?? 0,
        gcExposed: gc !== undefined,
        at: performance.timeOrigin + performance.now(),
      });
      if (message.reset === true) histogram.reset();
      return;
    }
    case 'stop': {
      histogram.disable();
      await running?.stop();
      reply({ type: 'stopped' });
      process.exit(0);
    }
  }
}

process.on('message', (message: Request) => {
  handle(message).catch((error: unknown) => {
    reply({ type: 'error', error: error instanceof Error ? error.stack ?? error.message : String(error) });
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
