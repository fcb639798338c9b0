/**
 * A single-consumer async queue: producers push without waiting, one consumer pulls with
 * `for await` (or next()). It is the one buffer-with-a-waiter behind every stream that hands
 * items from callbacks to an iterator (TTS audio, texts waiting for synthesis, prefetched speech).
 *
 * Unbounded on purpose: every producer here is paced by something else (a vendor socket, a
 * process, the text of one reply), and blocking one would only move the buffer elsewhere.
 * Hot path (20 ms audio frames, hundreds of calls): a push while the consumer is not waiting only
 * appends to an array; a Promise is made only when the consumer has to wait.
 */

export type AsyncQueueState =
  /** Taking items. */
  | 'open'
  /** end(): what is buffered is still delivered, then the iterator is done. */
  | 'ended'
  /** fail(): what is buffered is still delivered, then the iterator throws the error once. */
  | 'failed'
  /** close() or abort: what was buffered is dropped, the iterator is done, pushes are ignored. */
  | 'closed';

export interface AsyncQueueOptions {
  /** Names the queue in misuse errors, e.g. 'TtsStream.audio'. */
  name?: string;
  /** Aborting closes the queue, waking a waiting consumer with `done`. */
  signal?: AbortSignal;
  /**
   * The consumer stopped before the end (a `break` out of `for await`, or return()): the place to
   * stop the producer. Called at most once, before the queue closes.
   */
  onReturn?: () => void;
}

export interface AsyncQueue<T> extends AsyncIterableIterator<T> {
  /** Adds an item (or hands it to the waiting consumer). Ignored once closed; an error after end() or fail(). */
  push(item: T): void;
  /** No more items. No-op unless open. */
  end(): void;
  /** No more items; the consumer gets `error` after the buffered ones. No-op unless open (the first outcome wins). */
  fail(error: unknown): void;
  /** Stops at once: drops what is buffered, the consumer is done, later pushes are ignored. Idempotent. */
  close(): void;
  /** Removes and returns every buffered item, without waiting (for consumers that batch). */
  takeAll(): T[];
  /** The consumer stops early: calls onReturn (unless the iteration had finished), then closes. */
  return(): Promise<IteratorReturnResult<undefined>>;
  /** Items buffered and not yet taken. */
  readonly size: number;
  readonly state: AsyncQueueState;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

export function createAsyncQueue<T>(options: AsyncQueueOptions = {}): AsyncQueue<T> {
  const name = options.name ?? 'AsyncQueue';
  const { signal, onReturn } = options;
  let items: T[] = [];
  let state: AsyncQueueState = 'open';
  let error: unknown;
  /** The consumer saw the end (done or the error), stopped, or the queue was closed. */
  let finished = false;
  let iterated = false;
  let waiter: { resolve: (result: IteratorResult<T>) => void; reject: (reason: unknown) => void } | undefined;

  const stopListening = (): void => signal?.removeEventListener('abort', close);

  function finish(): void {
    finished = true;
    stopListening();
  }

  function close(): void {
    if (state === 'closed') return;
    state = 'closed';
    items = [];
    error = undefined;
    finish();
    const pending = waiter;
    waiter = undefined;
    pending?.resolve(DONE);
  }

  /** Settles the waiting consumer after end() or fail(); a waiter only exists while nothing is buffered. */
  function settleWaiter(): void {
    const pending = waiter;
    if (pending === undefined) return;
    waiter = undefined;
    finish();
    if (state === 'failed') {
      const reason = error;
      error = undefined;
      pending.reject(reason);
    } else {
      pending.resolve(DONE);
    }
  }

  const queue: AsyncQueue<T> = {
    push(item) {
      if (state === 'open') {
        const pending = waiter;
        if (pending === undefined) {
          items.push(item);
        } else {
          waiter = undefined;
          pending.resolve({ value: item, done: false });
        }
        return;
      }
      if (state === 'closed') return; // the consumer is gone or was aborted: dropping is the point
      throw new Error(`${name}: push() after ${state === 'ended' ? 'end()' : 'fail()'}`);
    },

    end() {
      if (state !== 'open') return;
      state = 'ended';
      settleWaiter();
    },

    fail(reason) {
      if (state !== 'open') return;
      state = 'failed';
      error = reason;
      settleWaiter();
    },

    close,

    takeAll() {
      const taken = items;
      items = [];
      return taken;
    },

    get size() {
      return items.length;
    },

    get state() {
      return state;
    },

    next() {
      if (items.length > 0) return Promise.resolve({ value: items.shift() as T, done: false });
      if (finished || state === 'ended' || state === 'closed') {
        finish();
        return Promise.resolve(DONE);
      }
      if (state === 'failed') {
        const reason = error;
        error = undefined;
        finish();
        return Promise.reject(reason);
      }
      if (waiter !== undefined) {
        return Promise.reject(new Error(`${name}: next() called while a previous next() is pending`));
      }
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        waiter = { resolve, reject };
      });
    },

    return() {
      if (!finished) {
        finished = true;
        onReturn?.();
      }
      close();
      return Promise.resolve(DONE);
    },

    [Symbol.asyncIterator]() {
      if (iterated) throw new Error(`${name} can be iterated once`);
      iterated = true;
      return queue;
    },
  };

  if (signal?.aborted) close();
  else signal?.addEventListener('abort', close, { once: true });
  return queue;
}
