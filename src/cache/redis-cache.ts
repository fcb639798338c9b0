import { Redis, type RedisStatus } from 'ioredis';
import { ProviderError } from '../core/errors.js';
import { assertTtl, decodeValue, encodeValue, type Cache } from './cache.js';

export interface RedisCacheOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://...` for TLS. */
  url: string;
  /** Prepended to every key, so several apps (or test runs) can share one Redis. */
  keyPrefix?: string;
  /** Longest a single command may take before it fails; a cache slower than this is not worth waiting for. */
  commandTimeoutMs?: number;
  /** Connection-level problems (refused, reset, auth), reported once per outage rather than per retry. */
  onError?: (error: Error) => void;
}

// A dead host (packets dropped, not refused) would otherwise hold a connect attempt for 10 s.
const CONNECT_TIMEOUT_MS = 2_000;
const RECONNECT_BASE_MS = 100;
const RECONNECT_CAP_MS = 2_000;
const CLOSE_TIMEOUT_MS = 1_000;

/**
 * Redis-backed cache shared by every instance. Tuned to fail fast: no offline queue (a command
 * issued while disconnected fails at once instead of waiting for a reconnect), a per-command
 * timeout, and reconnects in the background with capped backoff so the cache heals by itself.
 */
export function createRedisCache(options: RedisCacheOptions): Cache {
  const keyPrefix = options.keyPrefix ?? 'sda:';
  const commandTimeoutMs = options.commandTimeoutMs ?? 250;
  const onError = options.onError ?? (() => {});
  const secrets = urlSecrets(options.url);
  const redact = (text: string): string => secrets.reduce((out, secret) => out.split(secret).join('***'), text);

  const client = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => {
      const backoff = Math.min(RECONNECT_BASE_MS * 2 ** Math.min(attempt - 1, 10), RECONNECT_CAP_MS);
      // Jitter keeps many instances from reconnecting in lock-step after a Redis restart.
      return backoff + Math.floor(Math.random() * 100);
    },
  });

  // Without a listener ioredis prints every reconnect failure to stderr. One report per distinct
  // message per outage: a 10-minute outage should not log 300 identical lines.
  const reportedThisOutage = new Set<string>();
  let lastConnectionError: string | undefined;
  client.on('error', (error: Error) => {
    const message = redact(error.message);
    lastConnectionError = message;
    if (reportedThisOutage.has(message)) return;
    reportedThisOutage.add(message);
    try {
      onError(new ProviderError('redis', `redis connection error: ${message}`, { cause: error }));
    } catch {
      // Thrown inside ioredis's event emission it would break its reconnect loop.
    }
  });
  client.on('ready', () => {
    reportedThisOutage.clear();
    lastConnectionError = undefined;
  });

  // Only the very first connection is waited for, once, for at most one command timeout in all:
  // with the offline queue off, the first command after a lazy connect would otherwise always fail.
  // After that, commands never wait for a connection; they fail at once while Redis is away.
  let firstConnection: Promise<void> | undefined;
  let firstConnectionSettled = false;
  let closing = false;

  function waitForFirstConnection(): Promise<void> {
    if (firstConnection === undefined) {
      firstConnection = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, commandTimeoutMs);
        // The failure itself reaches onError through the 'error' event, and the command that
        // follows reports its own error, so the rejection carries nothing new.
        client.connect().then(
          () => {
            clearTimeout(timer);
            resolve();
          },
          () => {
            clearTimeout(timer);
            resolve();
          },
        );
      }).then(() => {
        firstConnectionSettled = true;
      });
    }
    return firstConnection;
  }

  async function run<R>(operation: string, command: () => Promise<R>): Promise<R> {
    if (closing) throw new ProviderError('redis', `redis ${operation} failed: cache is closed`, { retryable: false });
    if (!firstConnectionSettled && client.status !== 'ready') {
      await waitForFirstConnection();
    }
    if (client.status !== 'ready') {
      // Checked here rather than left to ioredis, whose "Stream isn't writeable" says nothing useful.
      const reason = lastConnectionError === undefined ? client.status : `${client.status}, ${lastConnectionError}`;
      throw new ProviderError('redis', `redis ${operation} failed: not connected (${reason})`);
    }
    try {
      return await command();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ProviderError('redis', `redis ${operation} failed: ${redact(message)}`, { cause: error });
    }
  }

  const prefixed = (key: string): string => keyPrefix + key;

  return {
    kind: 'redis',

    async get<T>(key: string): Promise<T | undefined> {
      const raw = await run('get', () => client.get(prefixed(key)));
      if (raw === null) return undefined;
      try {
        return decodeValue<T>(raw);
      } catch (error) {
        // Someone else wrote this key (or a format changed): treat it like an outage, not a crash.
        throw new ProviderError('redis', `redis get failed: value at "${key}" is not JSON`, { cause: error });
      }
    },

    async set<T>(key: string, value: T, ttlMs: number): Promise<void> {
      assertTtl(ttlMs);
      const json = encodeValue(key, value);
      await run('set', () => client.set(prefixed(key), json, 'PX', ttlMs));
    },

    async delete(...keys: string[]): Promise<void> {
      if (keys.length === 0) return;
      await run('delete', () => client.del(...keys.map(prefixed)));
    },

    async ping(): Promise<void> {
      await run('ping', () => client.ping());
    },

    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      if (client.status === 'ready') {
        try {
          await client.quit();
        } catch {
          // QUIT timed out or the link dropped mid-way: fall through and cut the socket.
        }
      }
      const status = statusOf(client);
      if (status === 'end') return;
      // Between reconnect attempts there is no socket, so no 'end' will come: clearing the retry
      // timer (disconnect does) is all that is left to do.
      const hasSocket = status === 'connecting' || status === 'connect' || status === 'ready';
      const ended = hasSocket ? once(client, 'end', CLOSE_TIMEOUT_MS) : Promise.resolve();
      // For a never-connected client this just ends it, whereas quit() would first open a
      // connection only to close it.
      client.disconnect();
      await ended;
    },
  };
}

function once(client: Redis, event: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off(event, done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    client.once(event, done);
  });
}

function statusOf(client: Redis): RedisStatus {
  return client.status;
}

/** The URL's password, raw and percent-decoded, so error text can be scrubbed of both spellings. */
function urlSecrets(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Deliberately not echoing the input: it may carry the password.
    throw new TypeError('redis url is not a valid URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TypeError(`redis url must start with redis:// or rediss://, got ${parsed.protocol}//`);
  }
  const secrets = new Set<string>();
  if (parsed.password !== '') {
    secrets.add(parsed.password);
    try {
      secrets.add(decodeURIComponent(parsed.password));
    } catch {
      // A malformed escape: the raw form is still scrubbed.
    }
  }
  // Longest first, so a password that contains another spelling is replaced whole.
  return [...secrets].sort((a, b) => b.length - a.length);
}
