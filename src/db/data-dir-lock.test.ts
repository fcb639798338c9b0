/**
 * The data directory lock on its own, against real processes holding it (a small child that takes
 * the lock and waits), without the cost of PGlite. test/data-dir-lock.test.ts runs the real CLIs
 * and the server against it.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireDataDirLock, DataDirInUseError, LOCK_DIR_NAME } from './data-dir-lock.js';

const MODULE = fileURLToPath(new URL('./data-dir-lock.ts', import.meta.url));
const hasProc = existsSync('/proc/self/stat');

/** Node code that takes the lock on argv[1], then `then` (e.g. waits, or exits without releasing). */
const lockingScript = (then: string) =>
  `const { acquireDataDirLock } = await import(${JSON.stringify(MODULE)}); acquireDataDirLock(process.argv[1]); console.log('held'); ${then}`;
const nodeArgs = (script: string, dir: string) => ['--import', 'tsx', '--input-type=module', '-e', script, dir];

describe('data directory lock', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'sda-lock-unit-'));
    dirs.push(dir);
    return dir;
  }
  const tickets = (dir: string) => readdirSync(join(dir, LOCK_DIR_NAME));

  /** A live process that holds `dir`; resolves once it does. */
  async function holder(dir: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, nodeArgs(lockingScript('setInterval(() => {}, 60_000);'), dir), { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
      child.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
    });
    return child;
  }

  function refusalOf(dir: string): DataDirInUseError {
    try {
      acquireDataDirLock(dir).release();
    } catch (error) {
      if (error instanceof DataDirInUseError) return error;
      throw error;
    }
    throw new Error('the lock was granted');
  }

  it('refuses while another process holds the directory, naming its pid and command, and leaves no ticket of its own', async () => {
    const dir = dataDir();
    const child = await holder(dir);
    const error = refusalOf(dir);
    expect(error.holderPid).toBe(child.pid);
    expect(error.message).toContain(`is in use by another process: pid ${child.pid} (`);
    expect(error.message).toContain('--input-type=module');
    expect(error.message).toMatch(/stop the server first.*point DATABASE_URL at PostgreSQL/);
    expect(tickets(dir)).toEqual([expect.stringMatching(new RegExp(`^${child.pid}\\.`))]);
  });

  it('takes over from a holder killed with SIGKILL', async () => {
    const dir = dataDir();
    const child = await holder(dir);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(tickets(dir)).toHaveLength(1);
    const lock = acquireDataDirLock(dir);
    expect(tickets(dir)).toEqual([expect.stringMatching(new RegExp(`^${process.pid}\\.`))]);
    lock.release();
    expect(tickets(dir)).toEqual([]);
  });

  it.skipIf(!hasProc)('takes over when the pid now belongs to another process (pid reuse, told apart by start time)', async () => {
    const dir = dataDir();
    const child = await holder(dir);
    // The same live pid with another start time: what a ticket looks like after the pid was reused.
    const [name] = tickets(dir);
    renameSync(join(dir, LOCK_DIR_NAME, name!), join(dir, LOCK_DIR_NAME, `${child.pid}.s1`));
    const lock = acquireDataDirLock(dir);
    expect(tickets(dir)).toEqual([expect.stringMatching(new RegExp(`^${process.pid}\\.`))]);
    lock.release();
  });

  it('takes over from a ticket of an earlier process that had this pid', () => {
    const dir = dataDir();
    acquireDataDirLock(dir).release();
    writeFileSync(join(dir, LOCK_DIR_NAME, `${process.pid}.m1`), '');
    acquireDataDirLock(dir).release();
    expect(tickets(dir)).toEqual([]);
  });

  it('refuses a second open in the same process until the first is released', () => {
    const dir = dataDir();
    const lock = acquireDataDirLock(dir);
    expect(refusalOf(dir).message).toContain(`is already open in this process (pid ${process.pid})`);
    expect(tickets(dir)).toHaveLength(1);
    lock.release();
    lock.release();
    acquireDataDirLock(dir).release();
  });

  it('is released when the holder exits without closing', () => {
    const dir = dataDir();
    const result = spawnSync(process.execPath, nodeArgs(lockingScript('process.exit(0);'), dir), { encoding: 'utf8' });
    expect(result.stdout).toContain('held');
    expect(tickets(dir)).toEqual([]);
  });

  it('ignores files in the lock directory that are not tickets', () => {
    const dir = dataDir();
    acquireDataDirLock(dir).release();
    writeFileSync(join(dir, LOCK_DIR_NAME, 'README'), 'notes');
    acquireDataDirLock(dir).release();
    expect(tickets(dir)).toEqual(['README']);
  });
});
