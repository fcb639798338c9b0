import { randomUUID } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseBackends } from '../../test/support/databases.js';
import { openDatabase } from './client.js';
import type { Database } from './client.js';
import { usedStreamTokens } from './schema.js';
import { createStreamTokenLedger } from './stream-token-ledger.js';

const MINUTE = 60_000;
const inFiveMinutes = () => new Date(Date.now() + 5 * MINUTE);

describe.each(databaseBackends())('stream token ledger on $name', (backend) => {
  let shared: Awaited<ReturnType<typeof backend.openShared>>;
  let database: Database;

  beforeAll(async () => {
    shared = await backend.openShared();
    database = shared.handles[0];
  });
  afterAll(async () => {
    await shared?.close();
  });

  it('grants a claim once; every later claim of the id is refused', async () => {
    const ledger = createStreamTokenLedger(database.db);
    const id = randomUUID();
    expect(await ledger.claim(id, inFiveMinutes())).toBe(true);
    expect(await ledger.claim(id, inFiveMinutes())).toBe(false);
    expect(await ledger.claim(id, inFiveMinutes())).toBe(false);
    expect(await ledger.claim(randomUUID(), inFiveMinutes())).toBe(true);
  });

  it('grants exactly one of many concurrent claims of one id', async () => {
    const ledgers = [createStreamTokenLedger(shared.handles[0].db), createStreamTokenLedger(shared.handles[1].db)];
    const id = randomUUID();
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => ledgers[i % 2]!.claim(id, inFiveMinutes())));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('an id claimed through one instance’s handle is refused through the other’s', async () => {
    const [first, second] = shared.handles.map((handle) => createStreamTokenLedger(handle.db));
    const id = randomUUID();
    expect(await first!.claim(id, inFiveMinutes())).toBe(true);
    expect(await second!.claim(id, inFiveMinutes())).toBe(false);
  });

  it('sweeps rows long expired when claiming, and keeps live and recently expired ones', async () => {
    const ledger = createStreamTokenLedger(database.db, { sweepGraceMs: 10 * MINUTE, sweepBatch: 50 });
    const now = Date.now();
    const longExpired = Array.from({ length: 3 }, () => ({ tokenId: randomUUID(), expiresAt: new Date(now - 60 * MINUTE) }));
    const recentlyExpired = { tokenId: randomUUID(), expiresAt: new Date(now - MINUTE) };
    const live = { tokenId: randomUUID(), expiresAt: new Date(now + MINUTE) };
    await database.db.insert(usedStreamTokens).values([...longExpired, recentlyExpired, live]);

    expect(await ledger.claim(randomUUID(), inFiveMinutes())).toBe(true);

    const ids = [...longExpired, recentlyExpired, live].map((row) => row.tokenId);
    const left = await database.db.select({ tokenId: usedStreamTokens.tokenId }).from(usedStreamTokens).where(inArray(usedStreamTokens.tokenId, ids));
    expect(left.map((row) => row.tokenId).sort()).toEqual([recentlyExpired.tokenId, live.tokenId].sort());
    // Still used: a recently expired token cannot be claimed again on an instance whose clock lags.
    expect(await ledger.claim(recentlyExpired.tokenId, new Date(now - MINUTE))).toBe(false);
  });

  it('sweeps a bounded batch per claim', async () => {
    const ledger = createStreamTokenLedger(database.db, { sweepBatch: 2 });
    const expired = Array.from({ length: 5 }, () => ({ tokenId: randomUUID(), expiresAt: new Date(Date.now() - 24 * 60 * MINUTE) }));
    await database.db.insert(usedStreamTokens).values(expired);
    const remaining = async () =>
      (await database.db.select().from(usedStreamTokens).where(inArray(usedStreamTokens.tokenId, expired.map((row) => row.tokenId)))).length;
    await ledger.claim(randomUUID(), inFiveMinutes());
    expect(await remaining()).toBe(3);
    await ledger.claim(randomUUID(), inFiveMinutes());
    await ledger.claim(randomUUID(), inFiveMinutes());
    expect(await remaining()).toBe(0);
  });
});

describe('stream token ledger without its database', () => {
  it('rejects, with a message that does not carry the id', async () => {
    const database = await openDatabase({ dataDir: 'memory://' });
    await database.close();
    const id = 'digest-of-a-token-0123456789';
    const claim = createStreamTokenLedger(database.db).claim(id, inFiveMinutes());
    await expect(claim).rejects.toThrow(/^the stream token ledger is unavailable: /);
    await expect(claim).rejects.not.toThrow(id);
  });
});
