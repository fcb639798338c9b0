/**
 * One process per PGlite data directory, with real processes: a child holds a directory (the
 * server as `npm start` runs it, or a small holder that has written a row), and a second process
 * (the seed and migrate CLIs, a second server) fails at once, names the holder and changes
 * nothing. A holder killed with SIGKILL leaves a ticket behind that must not block the next start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { customers } from '../src/db/schema.js';
import { freePort, spawnScript, spawnServer, waitForHttp } from './support/spawn-server.js';
import type { SpawnedServer } from './support/spawn-server.js';

const HOLDER_PHONE = '+15550007001';
const DEMO_CUSTOMERS = 3;

describe('one process per PGlite data directory', () => {
  const children: SpawnedServer[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
      await child.exited;
    }
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'sda-lock-'));
    dirs.push(dir);
    return dir;
  }

  function run(script: string, args: string[], env: Record<string, string>): SpawnedServer {
    const child = spawnScript(script, args, env);
    children.push(child);
    return child;
  }

  async function holder(dir: string, phone = HOLDER_PHONE): Promise<SpawnedServer> {
    const child = run('test/support/hold-data-dir.ts', [dir, phone], {});
    await expect.poll(() => child.output(), { timeout: 20_000 }).toMatch(/holding \d+|error:/);
    expect(child.output()).toContain(`holding ${child.child.pid}`);
    return child;
  }

  const refusal = (pid: number | undefined) =>
    new RegExp(`is in use by another process: pid ${pid} \\(.*\\)\\. .*stop the server first.*DATABASE_URL at PostgreSQL`);

  it('the seed and migrate CLIs fail at once, naming the holder; its data is intact; after kill -9 the next opener succeeds', async () => {
    const dir = dataDir();
    const held = await holder(dir);

    for (const cli of ['src/db/seed-cli.ts', 'src/db/migrate-cli.ts']) {
      const second = run(cli, [], { DATA_DIR: dir });
      expect(await second.exited).toBe(1);
      expect(second.output()).toMatch(refusal(held.child.pid));
      expect(second.output()).toContain('hold-data-dir.ts');
      expect(second.output()).not.toContain('seeded');
    }

    held.child.kill('SIGKILL');
    await held.exited;
    const seed = run('src/db/seed-cli.ts', [], { DATA_DIR: dir });
    expect(await seed.exited).toBe(0);
    expect(seed.output()).toContain(`seeded ${DEMO_CUSTOMERS} customers`);

    // Both the killed holder's write and the seed are there, read by a third process (this one).
    const database = await openDatabase({ dataDir: dir });
    try {
      const rows = await database.db.select({ phone: customers.phone }).from(customers);
      expect(rows).toHaveLength(DEMO_CUSTOMERS + 1);
      expect(await database.db.select().from(customers).where(eq(customers.phone, HOLDER_PHONE))).toHaveLength(1);
    } finally {
      await database.close();
    }
  }, 90_000);

  it('a running server refuses a second server and the seed CLI; once it stops, the seed runs', async () => {
    const dir = dataDir();
    const port = await freePort();
    const server = spawnServer({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dir });
    children.push(server);
    expect((await waitForHttp(`http://127.0.0.1:${port}/health`, 20_000)).status).toBe(200);

    const seed = run('src/db/seed-cli.ts', [], { DATA_DIR: dir });
    expect(await seed.exited).toBe(1);
    expect(seed.output()).toMatch(refusal(server.child.pid));
    expect(seed.output()).toContain('src/main.ts');

    const second = spawnServer({ PORT: String(await freePort()), HOST: '127.0.0.1', DATA_DIR: dir });
    children.push(second);
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(refusal(server.child.pid));
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const after = run('src/db/seed-cli.ts', [], { DATA_DIR: dir });
    expect(await after.exited).toBe(0);
    expect(after.output()).toContain(`seeded ${DEMO_CUSTOMERS} customers`);
  }, 90_000);

  it('of several processes opening one directory at the same moment, at most one holds it', async () => {
    const dir = dataDir();
    const racers = Array.from({ length: 4 }, (_, i) => run('test/support/hold-data-dir.ts', [dir, `+1555000710${i}`], {}));
    await expect
      .poll(() => racers.every((r) => /holding \d+|error:/.test(r.output()) || r.child.exitCode !== null), { timeout: 40_000 })
      .toBe(true);
    const holding = racers.filter((r) => r.output().includes('holding'));
    expect(holding.length).toBeLessThanOrEqual(1);
    for (const refused of racers.filter((r) => !r.output().includes('holding'))) {
      expect(await refused.exited).toBe(1);
      expect(refused.output()).toMatch(/is in use by another process: pid \d+/);
    }
  }, 60_000);
});
