/**
 * A small key-value cache for data that is cheap to recompute (CRM look-ups, free/busy answers).
 * It is never the system of record: every caller must cope with a miss, which is what lets a Redis
 * outage degrade to "slower" instead of "broken".
 *
 * Values cross the boundary as JSON, so what comes back is a copy with JSON's shape (a Date comes
 * back as an ISO string, undefined properties vanish).
 */
export interface Cache {
  readonly kind: 'memory' | 'redis';
  get<T>(key: string): Promise<T | undefined>;
  /** `ttlMs` is required: nothing in a cache should live forever. */
  set<T>(key: string, value: T, ttlMs: number): Promise<void>;
  delete(...keys: string[]): Promise<void>;
  /** Resolves when the backend answers; throws when it does not (readiness uses this). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A programming error in how the cache is called (bad TTL, a value JSON cannot hold). Kept apart
 * from backend failures so a fallback wrapper can swallow outages without hiding bugs.
 */
export class CacheArgumentError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'CacheArgumentError';
  }
}

export function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new CacheArgumentError(`cache ttlMs must be a positive integer number of ms, got ${String(ttlMs)}`);
  }
}

export function encodeValue(key: string, value: unknown): string {
  let encoded: string | undefined;
  try {
    encoded = JSON.stringify(value);
  } catch (error) {
    throw new CacheArgumentError(
      `cache value for key "${key}" is not JSON-serialisable: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  // undefined, functions and symbols stringify to undefined; storing them would read back as a miss.
  if (encoded === undefined) {
    throw new CacheArgumentError(`cache value for key "${key}" is not JSON-serialisable (got ${typeof value})`);
  }
  return encoded;
}

export function decodeValue<T>(encoded: string): T {
  return JSON.parse(encoded) as T;
}
