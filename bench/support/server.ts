/**
 * Parent side of bench/support/server-child.ts: forks the server (startApp) into its own process
 * on 127.0.0.1 and talks to it over IPC. Its logs go to our stderr.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ServerStats {
  eventLoop: { count: number; meanMs: number; p50Ms: number; p99Ms: number; maxMs: number };
  cpu: NodeJS.CpuUsage;
  memory: NodeJS.MemoryUsage;
  activeCalls: number;
  gcExposed: boolean;
  at: number;
}

export interface ServerChild {
  url: string;
  pid: number;
  stats(options?: { reset?: boolean; gc?: boolean }): Promise<ServerStats>;
  stop(): Promise<void>;
}

/** `--server-prof DIR`: the server child writes a V8 CPU profile (.cpuprofile) into DIR on exit. */
export function profileArgs(): { execArgv?: string[] } {
  const at = process.argv.indexOf('--server-prof');
  const dir = at >= 0 ? process.argv[at + 1] : undefined;
  return dir === undefined ? {} : { execArgv: ['--cpu-prof', '--cpu-prof-dir', dir] };
}

const CHILD = fileURLToPath(new URL('./server-child.ts', import.meta.url));

export async function startServerChild(env: Record<string, string>, options: { execArgv?: string[] } = {}): Promise<ServerChild> {
  const child: ChildProcess = fork(CHILD, [], {
    execArgv: [...(options.execArgv ?? []), '--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  let nextId = 1;
  const waiting = new Map<number, (stats: ServerStats) => void>();
  let failed: ((error: Error) => void) | undefined;
  child.on('message', (message: { type: string; id?: number; error?: string } & ServerStats) => {
    if (message.type === 'stats' && message.id !== undefined) {
      waiting.get(message.id)?.(message);
      waiting.delete(message.id);
    } else if (message.type === 'error') {
      failed?.(new Error(`server child failed: ${message.error ?? ''}`));
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server child did not start in 60 s')), 60_000);
    failed = (error) => {
      clearTimeout(timer);
      reject(error);
    };
    child.on('message', (message: { type: string; url?: string }) => {
      if (message.type === 'ready' && message.url !== undefined) {
        clearTimeout(timer);
        resolve(message.url);
      }
    });
    child.once('exit', (code) => reject(new Error(`server child exited with ${String(code)} before it was ready`)));
    child.send({ type: 'start', env });
  });

  return {
    url,
    pid: child.pid ?? -1,
    stats(opts = {}) {
      const id = nextId++;
      return new Promise<ServerStats>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error('server child stats timed out'));
        }, 30_000);
        waiting.set(id, (stats) => {
          clearTimeout(timer);
          resolve(stats);
        });
        child.send({ type: 'stats', id, ...opts });
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
