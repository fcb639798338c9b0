import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'sk-live-0123456789abcdef';

/** A process that installs the guards, then fails the way `failure` says; its exit code and log lines. */
async function run(failure: string): Promise<{ code: number | null; lines: Array<Record<string, unknown>>; stderr: string }> {
  const script = `
    const { createLogger } = await import('./src/observability/logger.ts');
    const { installProcessGuards } = await import('./src/observability/process-guards.ts');
    installProcessGuards(createLogger({ secrets: [${JSON.stringify(SECRET)}] }));
    ${failure}
    setTimeout(() => { console.log(JSON.stringify({ msg: 'still serving' })); }, 200);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const lines = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { code, lines, stderr };
}

describe('process guards', () => {
  it('log an uncaught exception at fatal, without its secrets, and exit 1 for the supervisor to restart', async () => {
    const { code, lines, stderr } = await run(`setTimeout(() => { throw new Error('token ${SECRET} refused'); }, 10);`);
    expect(code).toBe(1);
    expect(lines.map((line) => line.msg)).toEqual(['uncaught exception, exiting']);
    expect(lines[0]).toMatchObject({ level: 60, err: { type: 'Error', message: 'token [REDACTED] refused' } });
    expect(JSON.stringify(lines) + stderr).not.toContain(SECRET);
  }, 20_000);

  it('log an unhandled rejection at error and keep the process serving', async () => {
    const { code, lines } = await run(`Promise.reject(new Error('late calendar answer'));`);
    expect(code).toBe(0);
    expect(lines.map((line) => line.msg)).toEqual(['unhandled promise rejection, carrying on', 'still serving']);
    expect(lines[0]).toMatchObject({ level: 50, err: { message: 'late calendar answer' } });
  }, 20_000);
});
