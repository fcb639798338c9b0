/**
 * The server as it is deployed: `tsx src/main.ts` with its configuration in the environment (WORKERS,
 * DATABASE_URL and REDIS_URL passed through), each of its processes measured by the probe that
 * NODE_OPTIONS preloads into it (process-probe.mjs). Nothing in the server knows it is measured.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/spawn-server.js';
import { sleep } from './stats.js';

export interface ProcessReport {
  pid: number;
  role: string;
  cpu: NodeJS.CpuUsage;
  eventLoop: { count: number; p50Ms: number; p99Ms: number; maxMs: number };
  memory: { rss: number; heapUsed: number };
  /** Main-thread garbage-collection pauses since the last reset. */
  gc: { count: number; totalMs: number; maxMs: number; majorCount: number; majorMaxMs: number };
}

export interface ServerProcess {
  url: string;
  pid: number;
  /**
   * One report from every server process (the launcher excluded); a process whose event loop is
   * too busy to answer within 5 s is listed in `silent`.
   */
  report(reset: boolean): Promise<{ reports: ProcessReport[]; silent: number[] }>;
  /** Starts or stops the CPU profiler in every server process (with LOAD_PROFILE_DIR in its env). */
  profile(action: 'start' | 'stop'): void;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROBE = fileURLToPath(new URL('./process-probe.mjs', import.meta.url));

export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const probes = new Map<number, { port: number; role: string }>();
  const answers = new Map<number, (report: ProcessReport) => void>();
  const udp = dgram.createSocket('udp4');
  udp.on('message', (data, from) => {
    const message = JSON.parse(data.toString()) as { type: string; pid: number; role: string; id?: number } & ProcessReport;
    probes.set(message.pid, { port: from.port, role: message.role });
    if (message.type === 'report' && message.id !== undefined) answers.get(message.id * 1e7 + message.pid)?.(message);
  });
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const probePort = udp.address().port;

  const port = await freePort();
  const nodeOptions = [process.env.NODE_OPTIONS ?? '', `--import=${PROBE}`].join(' ').trim();
  const child: ChildProcess = spawn(`${ROOT}node_modules/.bin/tsx`, ['src/main.ts'], {
    cwd: ROOT,
    // The server logs to stdout; ours is the one JSON object, so its logs go to our stderr.
    stdio: ['ignore', process.stderr, 'inherit'],
    env: { ...process.env, NODE_ENV: 'production', ...env, HOST: '127.0.0.1', PORT: String(port), LOAD_PROBE_PORT: String(probePort), NODE_OPTIONS: nodeOptions },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before it was ready`);
    const ready = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error('server not ready in 90 s');
    await sleep(250);
  }
  const expected = Number(env.WORKERS) > 1 ? Number(env.WORKERS) + 1 : 1;
  // Workers report once they have loaded; give them the time a cluster takes to come up.
  for (let i = 0; i < 40 && probes.size < expected; i++) await sleep(250);

  let nextId = 1;
  return {
    url,
    pid: child.pid ?? -1,
    async report(reset) {
      const id = nextId++;
      const silent: number[] = [];
      const waits = [...probes].map(
        ([pid, probe]) =>
          new Promise<ProcessReport | undefined>((resolve) => {
            const key = id * 1e7 + pid;
            const timer = setTimeout(() => {
              answers.delete(key);
              silent.push(pid);
              resolve(undefined);
            }, 5_000);
            answers.set(key, (report) => {
              clearTimeout(timer);
              answers.delete(key);
              resolve(report);
            });
            udp.send(JSON.stringify({ type: 'report', id, reset }), probe.port, '127.0.0.1');
          }),
      );
      const reports = await Promise.all(waits);
      // A process that exited (a restarted worker) stays silent: forgotten until it says hello again.
      for (const pid of silent) probes.delete(pid);
      return { reports: reports.filter((r): r is ProcessReport => r !== undefined).sort((a, b) => a.pid - b.pid), silent };
    },
    profile(action) {
      for (const probe of probes.values()) udp.send(JSON.stringify({ type: 'profile', action }), probe.port, '127.0.0.1');
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      udp.close();
    },
  };
}
