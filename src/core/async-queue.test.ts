import { describe, expect, it, vi } from 'vitest';
import { createAsyncQueue } from './async-queue.js';
import type { AsyncQueue } from './async-queue.js';

const boom = new Error('boom');

/** Everything the consumer receives with `for await`, and the error it ends with, if any. */
async function consume<T>(queue: AsyncIterable<T>): Promise<{ values: T[]; error: unknown }> {
  const values: T[] = [];
  try {
    for await (const value of queue) values.push(value);
    return { values, error: undefined };
  } catch (error) {
    return { values, error };
  }
}

/** Lets a started consumer run until it waits on the queue. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Case {
  name: string;
  /** Before the consumer starts. */
  before?: (queue: AsyncQueue<string>, abort: () => void) => void;
  /** Once the consumer has taken what was buffered and waits. */
  after?: (queue: AsyncQueue<string>, abort: () => void) => void;
  values: string[];
  error?: unknown;
}

const cases: Case[] = [
  {
    name: 'push before pull: buffered items in order, then done',
    before: (q) => (q.push('a'), q.push('b'), q.end()),
    values: ['a', 'b'],
  },
  {
    name: 'pull before push: a waiting consumer gets each item as it comes',
    after: (q) => (q.push('a'), q.push('b'), q.end()),
    values: ['a', 'b'],
  },
  { name: 'end with a pending waiter: done', after: (q) => q.end(), values: [] },
  { name: 'end with items buffered: they are delivered first', before: (q) => (q.push('a'), q.end()), values: ['a'] },
  { name: 'fail with a pending waiter: it rejects', after: (q) => q.fail(boom), values: [], error: boom },
  {
    name: 'fail after items: they are delivered, then the error',
    before: (q) => (q.push('a'), q.push('b')),
    after: (q) => (q.push('c'), q.fail(boom)),
    values: ['a', 'b', 'c'],
    error: boom,
  },
  {
    name: 'fail with items buffered: the error waits behind them',
    before: (q) => (q.push('a'), q.fail(boom)),
    values: ['a'],
    error: boom,
  },
  { name: 'close drops what is buffered', before: (q) => (q.push('a'), q.push('b'), q.close()), values: [] },
  { name: 'close with a pending waiter: done', before: (q) => q.push('a'), after: (q) => q.close(), values: ['a'] },
  { name: 'close after fail: the error is dropped too', before: (q) => (q.fail(boom), q.close()), values: [] },
  { name: 'pushes after close are ignored', before: (q) => (q.close(), q.push('a')), values: [] },
  { name: 'abort with a pending waiter: done', after: (_q, abort) => abort(), values: [] },
  {
    name: 'abort drops what is buffered',
    before: (q, abort) => (q.push('a'), q.push('b'), abort(), q.push('c')),
    values: [],
  },
  { name: 'the first outcome wins: end, then fail', before: (q) => (q.end(), q.fail(boom)), values: [] },
  {
    name: 'the first outcome wins: fail, then end',
    before: (q) => (q.push('a'), q.fail(boom), q.end()),
    values: ['a'],
    error: boom,
  },
];

describe('async queue', () => {
  it.each(cases)('$name', async ({ before, after, values, error }) => {
    const controller = new AbortController();
    const queue = createAsyncQueue<string>({ signal: controller.signal });
    const abort = (): void => controller.abort();
    before?.(queue, abort);
    let settled = false;
    const result = consume(queue).finally(() => (settled = true));
    if (after) {
      await settle();
      expect(settled).toBe(false); // the consumer really is waiting
      after(queue, abort);
    }
    expect(await result).toEqual({ values, error });
    // Once the end is delivered, the iterator stays done.
    await expect(queue.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('a signal aborted before creation gives a closed queue', async () => {
    const queue = createAsyncQueue<string>({ signal: AbortSignal.abort() });
    queue.push('a');
    expect(queue.state).toBe('closed');
    expect(await consume(queue)).toEqual({ values: [], error: undefined });
  });

  it('stops listening to the signal once the queue is finished', async () => {
    const controller = new AbortController();
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    const queue = createAsyncQueue<string>({ signal: controller.signal });
    queue.push('a');
    queue.end();
    expect(remove).not.toHaveBeenCalled(); // 'a' is still to be delivered: an abort must drop it
    await consume(queue);
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
  });

  it('hands an item straight to a waiting consumer, buffering nothing', async () => {
    const queue = createAsyncQueue<number>();
    const next = queue.next();
    queue.push(1);
    expect(queue.size).toBe(0);
    await expect(next).resolves.toEqual({ value: 1, done: false });
  });

  it('takeAll() removes and returns everything buffered, in order, without waiting', async () => {
    const queue = createAsyncQueue<number>();
    expect(queue.takeAll()).toEqual([]);
    queue.push(1);
    queue.push(2);
    queue.push(3);
    expect(queue.size).toBe(3);
    await expect(queue.next()).resolves.toEqual({ value: 1, done: false });
    expect(queue.takeAll()).toEqual([2, 3]);
    expect(queue.size).toBe(0);
    queue.push(4);
    queue.end();
    expect(await consume(queue)).toEqual({ values: [4], error: undefined });
  });

  it('reports its state', () => {
    const ended = createAsyncQueue<number>();
    expect(ended.state).toBe('open');
    ended.end();
    expect(ended.state).toBe('ended');
    const failed = createAsyncQueue<number>();
    failed.fail(boom);
    expect(failed.state).toBe('failed');
    failed.close();
    expect(failed.state).toBe('closed');
  });

  it('a push while nobody waits makes no Promise (the audio hot path)', () => {
    const queue = createAsyncQueue<number>();
    const RealPromise = globalThis.Promise;
    let made = 0;
    class CountingPromise<T> extends RealPromise<T> {
      constructor(executor: ConstructorParameters<typeof Promise<T>>[0]) {
        super(executor);
        made += 1;
      }
    }
    globalThis.Promise = CountingPromise as PromiseConstructor;
    try {
      for (let i = 0; i < 1000; i += 1) queue.push(i);
    } finally {
      globalThis.Promise = RealPromise;
    }
    expect(made).toBe(0);
    expect(queue.size).toBe(1000);
  });
});

describe('async queue: early return of the iterator', () => {
  it('a break closes the queue and tells the producer once', async () => {
    const onReturn = vi.fn();
    const queue = createAsyncQueue<string>({ onReturn });
    queue.push('a');
    queue.push('b');
    for await (const value of queue) {
      expect(value).toBe('a');
      break;
    }
    expect(onReturn).toHaveBeenCalledTimes(1);
    expect(queue.state).toBe('closed');
    queue.push('c'); // a producer that has not heard yet is ignored, not an error
    expect(queue.size).toBe(0);
    await queue.return();
    expect(onReturn).toHaveBeenCalledTimes(1);
  });

  it('return() while next() is pending resolves it done', async () => {
    const onReturn = vi.fn();
    const queue = createAsyncQueue<string>({ onReturn });
    const pending = queue.next();
    await expect(queue.return()).resolves.toEqual({ value: undefined, done: true });
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(onReturn).toHaveBeenCalledTimes(1);
  });

  it('return() with the end buffered still tells the producer: the consumer stopped early', async () => {
    const onReturn = vi.fn();
    const queue = createAsyncQueue<string>({ onReturn });
    queue.push('a');
    queue.end();
    await queue.return();
    expect(onReturn).toHaveBeenCalledTimes(1);
    expect(queue.size).toBe(0);
  });

  it.each([
    { name: 'the iteration ran to its end', finish: (q: AsyncQueue<string>) => q.end() },
    { name: 'the error was delivered', finish: (q: AsyncQueue<string>) => q.fail(boom) },
    { name: 'the producer closed the queue', finish: (q: AsyncQueue<string>) => q.close() },
  ])('the producer is not told when $name', async ({ finish }) => {
    const onReturn = vi.fn();
    const queue = createAsyncQueue<string>({ onReturn });
    finish(queue);
    await consume(queue);
    await queue.return();
    expect(onReturn).not.toHaveBeenCalled();
  });
});

describe('async queue: misuse fails loudly', () => {
  it('can be iterated once', () => {
    const queue = createAsyncQueue<string>({ name: 'TtsStream.audio' });
    queue[Symbol.asyncIterator]();
    expect(() => queue[Symbol.asyncIterator]()).toThrow('TtsStream.audio can be iterated once');
  });

  it('a second next() while one is pending rejects, and the first still gets its item', async () => {
    const queue = createAsyncQueue<string>({ name: 'audio' });
    const first = queue.next();
    await expect(queue.next()).rejects.toThrow('audio: next() called while a previous next() is pending');
    queue.push('a');
    await expect(first).resolves.toEqual({ value: 'a', done: false });
  });

  it.each([
    { name: 'end()', finish: (q: AsyncQueue<string>) => q.end() },
    { name: 'fail()', finish: (q: AsyncQueue<string>) => q.fail(boom) },
  ])('push() after $name throws', ({ name, finish }) => {
    const queue = createAsyncQueue<string>();
    finish(queue);
    expect(() => queue.push('late')).toThrow(`AsyncQueue: push() after ${name}`);
  });
});
