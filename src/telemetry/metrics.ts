import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestRecord } from './record.js';

const MS_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000];

/** Prometheus metrics fed from finished request records (`GET /metrics`). */
export class Metrics {
  readonly registry = new Registry();
  readonly #requests = new Counter({
    name: 'warmgate_requests_total', help: 'Requests by dialect, model and status',
    labelNames: ['dialect', 'model', 'status'] as const, registers: [this.registry],
  });
  readonly #phase = new Histogram({
    name: 'warmgate_request_phase_ms', help: 'Where request time went (queue, load, prompt, gen, ttft, total), in ms',
    labelNames: ['model', 'phase'] as const, buckets: MS_BUCKETS, registers: [this.registry],
  });
  readonly #tokens = new Counter({
    name: 'warmgate_tokens_total', help: 'Tokens processed, by kind (prompt, gen)',
    labelNames: ['model', 'kind'] as const, registers: [this.registry],
  });
  readonly #overrides = new Counter({
    name: 'warmgate_pinned_overrides_total', help: 'Load-time options replaced by pinned values',
    labelNames: ['model', 'option'] as const, registers: [this.registry],
  });
  readonly #embedPath = new Counter({
    name: 'warmgate_embedding_requests_total', help: 'Embedding requests by how they were served (cache, coalesced, batched, alone)',
    labelNames: ['model', 'path'] as const, registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'warmgate_process_' });
  }

  observe(r: RequestRecord): void {
    const model = r.model ?? '';
    this.#requests.inc({ dialect: r.dialect, model, status: String(r.status) });
    const phases: Array<[string, number | undefined]> = [
      ['queue', r.queue_ms], ['load', r.load_ms], ['prompt', r.prompt_ms], ['gen', r.gen_ms], ['ttft', r.ttft_ms], ['total', r.total_ms],
    ];
    for (const [phase, v] of phases) if (v !== undefined) this.#phase.observe({ model, phase }, v);
    if (r.prompt_tokens) this.#tokens.inc({ model, kind: 'prompt' }, r.prompt_tokens);
    if (r.gen_tokens) this.#tokens.inc({ model, kind: 'gen' }, r.gen_tokens);
    for (const option of Object.keys(r.overrides ?? {})) this.#overrides.inc({ model, option });
    if (r.cache_hit) this.#embedPath.inc({ model, path: 'cache' });
    else if (r.coalesced) this.#embedPath.inc({ model, path: 'coalesced' });
    else if (r.batched_with && r.batched_with > 1) this.#embedPath.inc({ model, path: 'batched' });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
