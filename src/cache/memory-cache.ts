import { assertTtl, decodeValue, encodeValue, type Cache } from './cache.js';

export interface MemoryCacheOptions {
  /** Upper bound on stored entries; the oldest are evicted first once it is exceeded. */
  maxEntries?: number;
  /** Clock in ms since the epoch; injectable so expiry can be tested without waiting. */
  now?: () => number;
}

interface Entry {
  // Stored as JSON so no caller can mutate what another caller later reads.
  readonly json: string;
  readonly expiresAt: number;
}

/** Process-local cache for a single instance (no REDIS_URL) and for tests. */
export function createMemoryCache(options: MemoryCacheOptions = {}): Cache {
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  if (!Number.isSafeInteger(maxEntries) || maxEntries <= 0) {
    throw new RangeError(`maxEntries must be a positive integer, got ${String(maxEntries)}`);
  }
  // A Map iterates in insertion order, so its first key is always the oldest write.
  const entries = new Map<string, Entry>();
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new Error('memory cache is closed');
  }

  function evictOverflow(): void {
    for (const key of entries.keys()) {
      if (entries.size <= maxEntries) return;
      entries.delete(key);
    }
  }

  return {
    kind: 'memory',

    async get<T>(key: string): Promise<T | undefined> {
      assertOpen();
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.expiresAt <= now()) {
        entries.delete(key);
        return undefined;
      }
      return decodeValue<T>(entry.json);
    },

    async set<T>(key: string, value: T, ttlMs: number): Promise<void> {
      assertOpen();
      assertTtl(ttlMs);
      const json = encodeValue(key, value);
      // Re-inserting moves an overwritten key to the back, so eviction order follows the last write.
      entries.delete(key);
      entries.set(key, { json, expiresAt: now() + ttlMs });
      evictOverflow();
    },

    async delete(...keys: string[]): Promise<void> {
      assertOpen();
      for (const key of keys) entries.delete(key);
    },

    async ping(): Promise<void> {
      assertOpen();
    },

    async close(): Promise<void> {
      closed = true;
      entries.clear();
    },
  };
}
