import { randomUUID } from 'node:crypto';
import type { Dialect, RequestRecord } from './record.js';

/**
 * Builds one RequestRecord. Times are taken with a monotonic clock (`performance.now`)
 * and reported in ms rounded to 0.01. `finish` is idempotent: the first call wins, so a
 * stream that errors after its done line is recorded once.
 */
export class RequestTimer {
  readonly record: RequestRecord;
  #t0 = performance.now();
  #firstToken?: number;
  #finished = false;
  readonly #onFinish: (r: RequestRecord) => void;

  constructor(dialect: Dialect, route: string, onFinish: (r: RequestRecord) => void) {
    this.record = {
      id: randomUUID(), dialect, route, status: 200, start: Date.now(),
      queue_ms: 0, load_ms: 0, total_ms: 0, stream: false,
    };
    this.#onFinish = onFinish;
  }

  elapsed(): number {
    return round(performance.now() - this.#t0);
  }

  /** Marks the first generated token (or first byte of a streamed reply); later calls are ignored. */
  firstToken(): void {
    if (this.#firstToken === undefined) this.#firstToken = performance.now();
  }

  override(key: string, sent: unknown, pinned: unknown): void {
    (this.record.overrides ??= {})[key] = { sent, pinned };
  }

  get finished(): boolean {
    return this.#finished;
  }

  finish(status: number, error?: { message: string; code?: string }): RequestRecord {
    if (this.#finished) return this.record;
    this.#finished = true;
    const r = this.record;
    r.status = status;
    r.total_ms = this.elapsed();
    if (this.#firstToken !== undefined) r.ttft_ms = round(this.#firstToken - this.#t0);
    if (r.gen_tokens && r.gen_ms) r.tokens_per_s = round((r.gen_tokens * 1000) / r.gen_ms);
    if (error) {
      r.error = error.message;
      if (error.code) r.error_code = error.code;
    }
    this.#onFinish(r);
    return r;
  }
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** `Server-Timing` header value for a finished record. */
export function serverTiming(r: RequestRecord): string {
  const parts = [`queue;dur=${r.queue_ms}`, `load;dur=${r.load_ms}`];
  if (r.prompt_ms !== undefined) parts.push(`prompt;dur=${r.prompt_ms}`);
  if (r.gen_ms !== undefined) parts.push(`gen;dur=${r.gen_ms}`);
  parts.push(`total;dur=${r.total_ms}`);
  return parts.join(', ');
}
