/**
 * A fixed set of slots (the context's sequences) lent one request at a time, like
 * llama-server's `-np` slots. Waiters are served strictly first-in first-out; a waiter whose
 * signal aborts leaves the queue. A slot is reset (its KV state cleared) before it is lent
 * again, so no request sees another's tokens.
 */

interface Waiter<T> {
  resolve: (slot: T) => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort: () => void;
}

export class SlotPool<T> {
  readonly #free: T[];
  readonly #waiters: Waiter<T>[] = [];
  readonly #reset: (slot: T) => Promise<void>;
  readonly #total: number;

  constructor(slots: readonly T[], reset: (slot: T) => Promise<void>) {
    if (slots.length === 0) throw new Error('a slot pool needs at least one slot');
    this.#free = [...slots];
    this.#total = slots.length;
    this.#reset = reset;
  }

  get total(): number {
    return this.#total;
  }

  get idle(): number {
    return this.#free.length;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Runs `fn` on a free slot (waiting FIFO for one), then resets and returns the slot. */
  async use<R>(signal: AbortSignal | undefined, fn: (slot: T) => Promise<R>): Promise<R> {
    const slot = await this.#acquire(signal);
    try {
      return await fn(slot);
    } finally {
      await this.#resetAndRelease(slot);
    }
  }

  /** Rejects every waiter (shutdown); slots in use are returned by their own `use`. */
  rejectWaiters(reason: unknown): void {
    for (const waiter of this.#waiters.splice(0)) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.reject(reason);
    }
  }

  #acquire(signal: AbortSignal | undefined): Promise<T> {
    signal?.throwIfAborted();
    const slot = this.#free.shift();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = this.#waiters.indexOf(waiter);
          if (at >= 0) this.#waiters.splice(at, 1);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  async #resetAndRelease(slot: T): Promise<void> {
    try {
      await this.#reset(slot);
    } finally {
      const next = this.#waiters.shift();
      if (next) {
        next.signal?.removeEventListener('abort', next.onAbort);
        next.resolve(slot);
      } else {
        this.#free.push(slot);
      }
    }
  }
}
