import type { Logger } from 'pino';
import { Metrics } from './metrics.js';
import type { Dialect, RequestRecord } from './record.js';
import { RequestTimer } from './timer.js';

/**
 * Where finished records go: one JSON log line each, Prometheus metrics, and a ring of
 * the last N for `GET /warmgate/requests` and the dashboard.
 */
export class Telemetry {
  readonly metrics = new Metrics();
  readonly #ring: RequestRecord[] = [];
  readonly #keep: number;
  readonly #log: Logger;

  constructor(log: Logger, keep: number) {
    this.#log = log;
    this.#keep = keep;
  }

  start(dialect: Dialect, route: string): RequestTimer {
    return new RequestTimer(dialect, route, (r) => this.#finish(r));
  }

  /** Most recent first. */
  recent(limit = this.#keep): RequestRecord[] {
    return this.#ring.slice(-limit).reverse();
  }

  #finish(r: RequestRecord): void {
    if (this.#keep > 0) {
      this.#ring.push(r);
      if (this.#ring.length > this.#keep) this.#ring.splice(0, this.#ring.length - this.#keep);
    }
    this.metrics.observe(r);
    const level = r.status >= 500 ? 'error' : r.status >= 400 ? 'warn' : 'info';
    this.#log[level]({ request: r }, `${r.route} ${r.model ?? '-'} ${r.status} ${r.total_ms}ms`);
  }
}
