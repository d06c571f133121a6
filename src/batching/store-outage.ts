/**
 * The health of a shared store as its callers see it: whether to ask it now, and one log
 * line per outage (a warning when it starts, a note when it ends), never one per request.
 *
 * A failure (a timeout, a refused connection) makes the store unavailable: callers skip it
 * (a miss at once, instead of each waiting out a timeout) until it answers again, which a
 * probe asks every `retryMs` on its own, so recovery needs no traffic and costs no request a
 * timeout. The store may also report success itself (a reconnect). Timers are injected so
 * the behaviour is tested without waiting.
 */
import type { Schedule } from './micro-batcher.js';

export interface OutageOptions {
  retryMs: number;
  /** Asks the store whether it answers (a PING); rejects when it does not. */
  probe(): Promise<unknown>;
  /** Called once when an outage starts, with the error that started it. */
  onDown(err: Error): void;
  /** Called once when it ends, with how long it lasted. */
  onUp(downMs: number): void;
  now?: () => number;
  schedule?: Schedule;
}

/** Timers that never keep the process alive: a gateway stopping does not wait for a probe. */
const unrefSchedule: Schedule = (fn, ms) => {
  setTimeout(fn, ms).unref();
};

export class StoreOutage {
  readonly #options: OutageOptions;
  readonly #now: () => number;
  readonly #schedule: Schedule;
  #downSince: number | undefined;
  #probeDue = false;
  #closed = false;

  constructor(options: OutageOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#schedule = options.schedule ?? unrefSchedule;
  }

  get down(): boolean {
    return this.#downSince !== undefined;
  }

  failed(err: Error): void {
    if (this.#downSince !== undefined || this.#closed) return;
    this.#downSince = this.#now();
    this.#options.onDown(err);
    this.#probeLater();
  }

  succeeded(): void {
    if (this.#downSince === undefined) return;
    const downMs = this.#now() - this.#downSince;
    this.#downSince = undefined;
    this.#options.onUp(downMs);
  }

  /** Stops probing. */
  close(): void {
    this.#closed = true;
  }

  #probeLater(): void {
    if (this.#probeDue) return;
    this.#probeDue = true;
    this.#schedule(() => {
      this.#probeDue = false;
      if (this.#closed || !this.down) return;
      this.#options.probe().then(() => this.succeeded(), () => this.#probeLater());
    }, this.#options.retryMs);
  }
}
