/** Parent side of emulator-child.ts. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface EmulatorProcessOptions {
  sttFinalDelayMs: number;
  llmFirstTokenMs: number;
  ttsFirstByteDelayMs: number;
  ttsChunkMs: number;
  ttsInterChunkDelayMs: number;
  msPerChar: number;
  replyText: string;
}

export interface EmulatorProcess {
  env: Record<string, string>;
  pid: number;
  stats(reset?: boolean): Promise<{ eventLoop: { p50Ms: number; p99Ms: number; maxMs: number }; cpu: NodeJS.CpuUsage }>;
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./emulator-child.ts', import.meta.url));

export async function startEmulatorProcess(options: EmulatorProcessOptions): Promise<EmulatorProcess> {
  const child = fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let nextId = 1;
  const waiting = new Map<number, (m: never) => void>();
  child.on('message', (m: { type: string; id?: number }) => {
    if (m.type === 'stats' && m.id !== undefined) {
      waiting.get(m.id)?.(m as never);
      waiting.delete(m.id);
    }
  });
  const env = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('emulator child did not start in 30 s')), 30_000);
    child.on('message', (m: { type: string; env?: Record<string, string> }) => {
      if (m.type === 'ready' && m.env) {
        clearTimeout(timer);
        resolve(m.env);
      }
    });
    child.once('exit', (code) => reject(new Error(`emulator child exited with ${String(code)}`)));
    child.send({ type: 'start', ...options });
  });
  return {
    env,
    pid: child.pid ?? -1,
    stats(reset = false) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('emulator stats timed out')), 30_000);
        waiting.set(id, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        child.send({ type: 'stats', id, reset });
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
