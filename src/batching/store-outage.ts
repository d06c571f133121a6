/**
 * The health of a shared store as its callers see it: whether to ask it now, and one log
 * line per outage (a warning when it starts, a note when it ends), never one per request.
 *
 * A failure (a timeout, a refused connection) makes the store unavailable for `retryMs`;
 * then one call is let through to probe it, and its failure starts another wait. Requests in
 * the meantime are misses at once instead of each waiting out a timeout. The clock is
 * injected so the behaviour is tested without waiting.
 */
export interface OutageOptions {
  retryMs: number;
  now?: () => number;
  /** Called once when an outage starts, with the error that started it. */
  onDown(err: Error): void;
  /** Called once when it ends, with how long it lasted. */
  onUp(downMs: number): void;
}

export class StoreOutage {
  readonly #options: OutageOptions;
  readonly #now: () => number;
  #downSince: number | undefined;
  #retryAt = 0;

  constructor(options: OutageOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get down(): boolean {
    return this.#downSince !== undefined;
  }

  /** Whether a call may go to the store now: no outage, or the wait before the next probe is over (that probe is let through alone). */
  admits(): boolean {
    if (this.#downSince === undefined) return true;
    const now = this.#now();
    if (now < this.#retryAt) return false;
    this.#retryAt = now + this.#options.retryMs;
    return true;
  }

  failed(err: Error): void {
    const now = this.#now();
    this.#retryAt = now + this.#options.retryMs;
    if (this.#downSince !== undefined) return;
    this.#downSince = now;
    this.#options.onDown(err);
  }

  succeeded(): void {
    if (this.#downSince === undefined) return;
    const downMs = this.#now() - this.#downSince;
    this.#downSince = undefined;
    this.#retryAt = 0;
    this.#options.onUp(downMs);
  }
}
