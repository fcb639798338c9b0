import { CacheArgumentError, type Cache } from './cache.js';

/**
 * Makes a cache optional at run time: with its backend down, reads miss and writes are dropped,
 * so a call carries on against the database instead of failing. Backend errors go to `onError`
 * (log them; the caller cannot do anything better). Misuse (a bad TTL, a value JSON cannot hold)
 * still throws, because swallowing it would hide a bug until Redis is configured in production.
 * `ping` is passed through untouched: readiness must see the outage this wrapper hides.
 */
export function withFallback(cache: Cache, onError: (error: unknown) => void): Cache {
  function report(error: unknown): void {
    if (error instanceof CacheArgumentError) throw error;
    try {
      onError(error);
    } catch {
      // A failing logger must not turn a tolerated cache outage into a failed call.
    }
  }

  /**
   * Keys whose delete (an invalidation) failed while the backend was away: what it holds for them
   * may be stale, so they are deleted before anything is read again; until then every read misses.
   */
  const staleKeys = new Set<string>();
  async function deleteStale(): Promise<void> {
    if (staleKeys.size === 0) return;
    const keys = [...staleKeys];
    await cache.delete(...keys);
    for (const key of keys) staleKeys.delete(key);
  }

  return {
    kind: cache.kind,

    async get<T>(key: string): Promise<T | undefined> {
      try {
        await deleteStale();
        return await cache.get<T>(key);
      } catch (error) {
        report(error);
        return undefined;
      }
    },

    async set<T>(key: string, value: T, ttlMs: number): Promise<void> {
      try {
        await cache.set(key, value, ttlMs);
      } catch (error) {
        report(error);
      }
    },

    async delete(...keys: string[]): Promise<void> {
      try {
        await cache.delete(...keys);
      } catch (error) {
        // Bounded: past it, reads miss until the backend is back (deleteStale fails meanwhile).
        for (const key of keys) if (staleKeys.size < 10_000) staleKeys.add(key);
        report(error);
      }
    },

    ping: () => cache.ping(),
    close: () => cache.close(),
  };
}
