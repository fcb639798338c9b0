import type { Cache } from './cache.js';
import { createMemoryCache } from './memory-cache.js';
import { createRedisCache } from './redis-cache.js';
import { withFallback } from './resilient-cache.js';

export interface CreateCacheOptions {
  /** Set: Redis shared by all instances. Unset: a process-local memory cache (one instance only). */
  redisUrl?: string | undefined;
  /** Backend failures that were tolerated (Redis down, slow, refusing auth). */
  onError: (error: unknown) => void;
  keyPrefix?: string;
  commandTimeoutMs?: number;
}

export function createCache(options: CreateCacheOptions): Cache {
  if (options.redisUrl === undefined || options.redisUrl === '') {
    return createMemoryCache();
  }
  const redis = createRedisCache({
    url: options.redisUrl,
    onError: options.onError,
    ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs }),
  });
  return withFallback(redis, options.onError);
}
