import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CacheArgumentError, type Cache } from './cache.js';
import { createCache } from './create-cache.js';
import { createMemoryCache } from './memory-cache.js';
import { createRedisCache } from './redis-cache.js';
import { withFallback } from './resilient-cache.js';
import { present } from '../../test/support/prerequisites.js';
import { freePort } from '../../test/support/spawn-server.js';

const redisUrl = process.env.TEST_REDIS_URL;

// Every cache a test opens is closed after it, or open sockets would keep vitest from exiting.
const opened: Cache[] = [];
function track<C extends Cache>(cache: C): C {
  opened.push(cache);
  return cache;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((cache) => cache.close()));
});

interface Backend {
  name: string;
  create(keyPrefix: string): Cache;
}

const backends: Backend[] = [{ name: 'memory', create: () => createMemoryCache() }];
if (redisUrl !== undefined && redisUrl !== '') {
  backends.push({ name: 'redis', create: (keyPrefix) => createRedisCache({ url: redisUrl, keyPrefix }) });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(backends)('$name cache', (backend) => {
  // A fresh prefix per test keeps runs (and parallel files) from seeing each other's keys.
  const open = (prefix = `test:${randomUUID()}:`) => track(backend.create(prefix));

  it('reports its kind and answers ping', async () => {
    const cache = open();
    expect(cache.kind).toBe(backend.name);
    await expect(cache.ping()).resolves.toBeUndefined();
  });

  it('misses on an unknown key', async () => {
    const cache = open();
    expect(await cache.get('nope')).toBeUndefined();
  });

  it('round-trips objects through set and get', async () => {
    const cache = open();
    const value = { id: 'c-1', name: 'Ada', vehicles: [{ year: 2019, make: 'Honda' }], vip: true, notes: null };
    await cache.set('customer:+15550001111', value, 10_000);
    expect(await cache.get<typeof value>('customer:+15550001111')).toEqual(value);
    await cache.set('n', 0, 10_000);
    expect(await cache.get<number>('n')).toBe(0);
    await cache.set('s', '', 10_000);
    expect(await cache.get<string>('s')).toBe('');
  });

  it('expires entries after their TTL', async () => {
    const cache = open();
    await cache.set('short', { a: 1 }, 60);
    await cache.set('long', { b: 2 }, 10_000);
    expect(await cache.get('short')).toEqual({ a: 1 });
    await sleep(150);
    expect(await cache.get('short')).toBeUndefined();
    expect(await cache.get('long')).toEqual({ b: 2 });
  });

  it('deletes one key, several keys, and nothing', async () => {
    const cache = open();
    await cache.set('a', 1, 10_000);
    await cache.set('b', 2, 10_000);
    await cache.set('c', 3, 10_000);
    await cache.set('d', 4, 10_000);
    await cache.delete('a');
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('b')).toBe(2);
    await cache.delete('b', 'c', 'missing');
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('c')).toBeUndefined();
    await cache.delete();
    expect(await cache.get('d')).toBe(4);
  });

  it('overwrites a value and its TTL', async () => {
    const cache = open();
    await cache.set('k', { v: 1 }, 60);
    await cache.set('k', { v: 2 }, 10_000);
    await sleep(150);
    expect(await cache.get('k')).toEqual({ v: 2 });
  });

  it('isolates caches with different key prefixes', async () => {
    const run = randomUUID();
    const left = open(`test:${run}:left:`);
    const right = open(`test:${run}:right:`);
    await left.set('shared', 'left', 10_000);
    await right.set('shared', 'right', 10_000);
    expect(await left.get('shared')).toBe('left');
    expect(await right.get('shared')).toBe('right');
    await left.delete('shared');
    expect(await left.get('shared')).toBeUndefined();
    expect(await right.get('shared')).toBe('right');
  });

  it('hands out copies, never the stored object', async () => {
    const cache = open();
    const original = { list: [1, 2] };
    await cache.set('obj', original, 10_000);
    original.list.push(3);
    const first = await cache.get<{ list: number[] }>('obj');
    expect(first).toEqual({ list: [1, 2] });
    first!.list.push(99);
    expect(await cache.get('obj')).toEqual({ list: [1, 2] });
  });

  it('rejects a missing or non-integer TTL and unserialisable values', async () => {
    const cache = open();
    for (const ttl of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(cache.set('k', 1, ttl)).rejects.toBeInstanceOf(CacheArgumentError);
    }
    await expect(cache.set('k', undefined, 1_000)).rejects.toBeInstanceOf(CacheArgumentError);
    await expect(cache.set('k', { big: 1n }, 1_000)).rejects.toBeInstanceOf(CacheArgumentError);
    expect(await cache.get('k')).toBeUndefined();
  });
});

describe('memory cache', () => {
  it('evicts the oldest entries beyond maxEntries', async () => {
    const cache = track(createMemoryCache({ maxEntries: 3 }));
    await cache.set('a', 1, 10_000);
    await cache.set('b', 2, 10_000);
    await cache.set('c', 3, 10_000);
    // Rewriting "a" makes it the newest, so "b" is now the oldest.
    await cache.set('a', 11, 10_000);
    await cache.set('d', 4, 10_000);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toBe(11);
    expect(await cache.get('c')).toBe(3);
    expect(await cache.get('d')).toBe(4);
    await cache.set('e', 5, 10_000);
    expect(await cache.get('c')).toBeUndefined();
  });

  it('expires by the injected clock', async () => {
    let now = 1_000_000;
    const cache = track(createMemoryCache({ now: () => now }));
    await cache.set('k', 'v', 500);
    now += 499;
    expect(await cache.get('k')).toBe('v');
    now += 1;
    expect(await cache.get('k')).toBeUndefined();
  });

  it('refuses use after close', async () => {
    const cache = createMemoryCache();
    await cache.close();
    await expect(cache.get('k')).rejects.toThrow(/closed/);
  });
});

describe('createCache', () => {
  it('picks memory without a URL and redis with one', async () => {
    const memory = track(createCache({ onError: () => {} }));
    expect(memory.kind).toBe('memory');
    const redis = track(createCache({ redisUrl: 'redis://127.0.0.1:1', onError: () => {} }));
    expect(redis.kind).toBe('redis');
  });
});

describe('withFallback', () => {
  const broken: Cache = {
    kind: 'redis',
    get: () => Promise.reject(new Error('down')),
    set: () => Promise.reject(new Error('down')),
    delete: () => Promise.reject(new Error('down')),
    ping: () => Promise.reject(new Error('down')),
    close: () => Promise.resolve(),
  };

  it('turns failures into misses and reports them, but ping still throws', async () => {
    const errors: unknown[] = [];
    const cache = withFallback(broken, (error) => errors.push(error));
    expect(await cache.get('k')).toBeUndefined();
    await expect(cache.set('k', 1, 1_000)).resolves.toBeUndefined();
    await expect(cache.delete('k', 'j')).resolves.toBeUndefined();
    expect(errors).toHaveLength(3);
    await expect(cache.ping()).rejects.toThrow('down');
  });

  it('still throws on misuse, which is a bug rather than an outage', async () => {
    const cache = withFallback(createMemoryCache(), () => {});
    await expect(cache.set('k', 1, 0)).rejects.toBeInstanceOf(CacheArgumentError);
    await cache.close();
  });

  it('survives an onError that throws', async () => {
    const cache = withFallback(broken, () => {
      throw new Error('logger broke');
    });
    expect(await cache.get('k')).toBeUndefined();
  });
});

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `${error.cause.message}\n${error.cause.stack ?? ''}` : '';
  return `${error.message}\n${error.stack ?? ''}\n${cause}\n${JSON.stringify(error)}`;
}

describe('redis cache with Redis unreachable', () => {
  const password = 'hunter2-S3cr3t!';
  const encoded = encodeURIComponent(password);

  it('fails ping fast, and with withFallback misses and drops writes fast', async () => {
    // A loopback port nothing listens on: connections are refused at once.
    const port = await freePort();
    const connectionErrors: unknown[] = [];
    const fallbackErrors: unknown[] = [];
    const redis = track(
      createRedisCache({ url: `redis://:${encoded}@127.0.0.1:${port}`, onError: (e) => connectionErrors.push(e) }),
    );
    const cache = withFallback(redis, (e) => fallbackErrors.push(e));

    let started = performance.now();
    const pingError = await cache.ping().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(pingError).toBeInstanceOf(Error);
    expect(performance.now() - started).toBeLessThan(1_000);

    started = performance.now();
    expect(await cache.get('k')).toBeUndefined();
    await cache.set('k', { a: 1 }, 1_000);
    await cache.delete('k', 'j');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(fallbackErrors).toHaveLength(3);
    expect(connectionErrors.length).toBeGreaterThan(0);

    for (const error of [pingError, ...fallbackErrors, ...connectionErrors]) {
      const text = errorText(error);
      expect(text).not.toContain(password);
      expect(text).not.toContain(encoded);
    }
  });

  it('keeps failing fast while it retries in the background', async () => {
    // A loopback port nothing listens on: connections are refused at once.
    const port = await freePort();
    const cache = track(withFallback(createRedisCache({ url: `redis://127.0.0.1:${port}` }), () => {}));
    await cache.get('warm-up');
    await sleep(300);
    const started = performance.now();
    for (let i = 0; i < 20; i += 1) expect(await cache.get(`k${i}`)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('waits at most one command timeout on a server that never answers, then fails at once', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const cache = track(createRedisCache({ url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 200 }));
      let started = performance.now();
      await expect(cache.ping()).rejects.toThrow(/redis ping failed/);
      expect(performance.now() - started).toBeLessThan(600);
      started = performance.now();
      await expect(cache.get('k')).rejects.toThrow(/not connected/);
      expect(performance.now() - started).toBeLessThan(50);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('closes a client that never connected, and one that is retrying', async () => {
    const idle = createRedisCache({ url: 'redis://127.0.0.1:1' });
    await idle.close();
    // A loopback port nothing listens on: connections are refused at once.
    const port = await freePort();
    const retrying = createRedisCache({ url: `redis://127.0.0.1:${port}` });
    await expect(retrying.ping()).rejects.toThrow();
    await retrying.close();
    await expect(retrying.get('k')).rejects.toThrow(/closed/);
  });

  it('never echoes the password of an invalid URL', () => {
    expect(() => createRedisCache({ url: `redis://:${password}@bad host:6379` })).toThrow(TypeError);
    try {
      createRedisCache({ url: `redis://:${password}@bad host:6379` });
    } catch (error) {
      expect(errorText(error)).not.toContain(password);
    }
    expect(() => createRedisCache({ url: `http://:${password}@127.0.0.1:6379` })).toThrow(/redis:\/\//);
  });

  it.skipIf(!present(Boolean(redisUrl), 'TEST_REDIS_URL'))('keeps a rejected password out of errors', async () => {
    const url = new URL(redisUrl!);
    // An unknown user fails AUTH on any server; a bare password would pass one that has none set.
    url.username = `nobody-${randomUUID()}`;
    url.password = encoded;
    const errors: unknown[] = [];
    const cache = track(createRedisCache({ url: url.toString(), onError: (e) => errors.push(e) }));
    const error = await cache.ping().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    for (const e of [error, ...errors]) {
      expect(errorText(e)).not.toContain(password);
      expect(errorText(e)).not.toContain(encoded);
    }
  });
});

describe.skipIf(!present(Boolean(redisUrl), 'TEST_REDIS_URL'))('redis cache through an outage', () => {
  // A TCP relay in front of the test Redis lets the test cut the link and restore it.
  function relay(target: URL, port: number): Promise<{ server: Server; sockets: Set<Socket>; port: number }> {
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    return new Promise((resolve) =>
      server.listen(port, '127.0.0.1', () => resolve({ server, sockets, port: (server.address() as { port: number }).port })),
    );
  }
  async function cut(link: { server: Server; sockets: Set<Socket> }): Promise<void> {
    const closed = new Promise<void>((resolve) => link.server.close(() => resolve()));
    for (const socket of link.sockets) socket.destroy();
    await closed;
  }

  it('misses fast while Redis is away and heals by itself when it returns', async () => {
    const target = new URL(redisUrl!);
    let link = await relay(target, 0);
    const url = new URL(redisUrl!);
    url.hostname = '127.0.0.1';
    url.port = String(link.port);
    const errors: unknown[] = [];
    const cache = track(
      withFallback(createRedisCache({ url: url.toString(), keyPrefix: `test:${randomUUID()}:` }), (e) => errors.push(e)),
    );
    await cache.set('k', 'before', 10_000);
    expect(await cache.get('k')).toBe('before');

    await cut(link);
    await sleep(50);
    const started = performance.now();
    for (let i = 0; i < 10; i += 1) {
      expect(await cache.get('k')).toBeUndefined();
      await cache.set('k', i, 10_000);
    }
    expect(performance.now() - started).toBeLessThan(200);
    await expect(cache.ping()).rejects.toThrow(/redis ping failed/);
    expect(errors).toHaveLength(20);

    link = await relay(target, link.port);
    try {
      const deadline = performance.now() + 5_000;
      let healthy = false;
      while (!healthy && performance.now() < deadline) {
        healthy = await cache.ping().then(
          () => true,
          () => false,
        );
        if (!healthy) await sleep(100);
      }
      expect(healthy).toBe(true);
      expect(await cache.get('k')).toBe('before');
    } finally {
      await cache.close();
      await cut(link);
    }
  });
});
