import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestRecord } from './record.js';

const MS_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000];

interface Observer {
  observe(value: number): void;
}
interface Incrementer {
  inc(value?: number): void;
}

/** One model's series, resolved once. */
interface ModelSeries {
  model: string;
  queue: Observer;
  load: Observer;
  prompt: Observer;
  gen: Observer;
  ttft: Observer;
  total: Observer;
  promptTokens: Incrementer;
  genTokens: Incrementer;
  requests(dialect: string, status: number): Incrementer;
}

/** What the memory gauges read at each scrape (the residency's status has this shape). */
export interface MemoryView {
  /** `budget` undefined: a pool whose capacity nobody knows (no gauge). */
  pools: ReadonlyArray<{ name: string; budget: number | undefined; used: number }>;
  models: ReadonlyArray<{
    name: string;
    state: string;
    queued: number;
    inFlight: number;
    maxParallel: number;
    heldBytes: Readonly<Record<string, number>>;
    residentRam?: { anon: number; file: number };
  }>;
}

/** What the embedding cache's series read at each scrape (the embedding cache's stats have this shape). */
export interface CacheView {
  kind: string;
  hits: number;
  misses: number;
  errors: number;
  bytes: number;
  redis?: { available: boolean };
}

/** What the backend series read at each scrape (the status page's `backends` has this shape). */
export interface BackendView {
  name: string;
  breaker: { state: string; opens: number } | null;
}

/** Prometheus metrics fed from finished request records (`GET /metrics`), and memory gauges read at scrape time. */
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

  readonly #models = new Map<string, ModelSeries>();
  #memory: (() => MemoryView) | undefined;
  /** The view one `text()` scrape took, which every memory gauge reads (building it costs a scheduler snapshot). */
  #scraped: MemoryView | undefined;

  /**
   * Reads `view` at each scrape: pool budgets, use and free room; each model's state, queue,
   * slots in use and memory held (its RAM anonymous and file-backed apart).
   */
  watchMemory(view: () => MemoryView): void {
    this.#memory = view;
    const metrics = this;
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, v: MemoryView) => void) =>
      new Gauge({
        name, help, labelNames, registers: [this.registry],
        collect() {
          const v = metrics.#scraped ?? metrics.#memory?.();
          this.reset();
          if (v) fill(this, v);
        },
      });
    gauge('warmgate_pool_budget_bytes', 'Memory budget per pool', ['pool'], (g, v) => {
      for (const p of v.pools) if (p.budget !== undefined) g.set({ pool: p.name }, p.budget);
    });
    gauge('warmgate_pool_used_bytes', 'Memory the ledger holds per pool', ['pool'], (g, v) => {
      for (const p of v.pools) g.set({ pool: p.name }, p.used);
    });
    gauge('warmgate_pool_free_bytes', 'Memory budget per pool that the ledger does not hold: room for a load without an eviction (pools with a known budget only)', ['pool'], (g, v) => {
      for (const p of v.pools) if (p.budget !== undefined) g.set({ pool: p.name }, Math.max(0, p.budget - p.used));
    });
    // Per host, for a router that places requests itself (README: "More than one box").
    gauge('warmgate_model_resident', 'Whether a model this gateway schedules is loaded and ready (1) or not (0: unloaded, loading, unloading)', ['model'], (g, v) => {
      for (const m of v.models) g.set({ model: m.name }, m.state === 'ready' ? 1 : 0);
    });
    gauge('warmgate_model_queue_depth', 'Requests waiting for a model (not yet granted a slot)', ['model'], (g, v) => {
      for (const m of v.models) g.set({ model: m.name }, m.queued);
    });
    gauge('warmgate_model_in_flight', 'Requests a model is serving now', ['model'], (g, v) => {
      for (const m of v.models) g.set({ model: m.name }, m.inFlight);
    });
    gauge('warmgate_model_slots', 'Requests a model may serve at once (its parallel slots)', ['model'], (g, v) => {
      for (const m of v.models) g.set({ model: m.name }, m.maxParallel);
    });
    gauge('warmgate_model_held_bytes', 'Memory the ledger holds for a model, per pool (measured once loaded, estimated before)', ['model', 'pool'], (g, v) => {
      for (const m of v.models) for (const [pool, bytes] of Object.entries(m.heldBytes)) g.set({ model: m.name, pool }, bytes);
    });
    gauge('warmgate_model_resident_ram_bytes', "A loaded process model's measured RAM by kind: anon (heap, KV, repacked weights), file (binary, mapped weights)", ['model', 'kind'], (g, v) => {
      for (const m of v.models) {
        if (!m.residentRam) continue;
        g.set({ model: m.name, kind: 'anon' }, m.residentRam.anon);
        g.set({ model: m.name, kind: 'file' }, m.residentRam.file);
      }
    });
  }

  /** Reads `view` at each scrape: the embedding cache's kind, lookups, errors, local bytes and whether Redis answers. */
  watchEmbeddingCache(view: () => CacheView): void {
    const registers = [this.registry];
    /** A series set from `view` at each scrape; `put` is `inc` for a counter, `set` for a gauge. */
    const series = (type: typeof Counter | typeof Gauge, name: string, help: string, labelNames: string[], fill: (put: (labels: Record<string, string>, value: number) => void, v: CacheView) => void) =>
      new (type as typeof Gauge)({
        name, help, labelNames, registers,
        collect() {
          this.reset();
          fill((labels, value) => (type === Counter ? this.inc(labels, value) : this.set(labels, value)), view());
        },
      });
    series(Counter, 'warmgate_embedding_cache_lookups_total', 'Embedding cache lookups per input, by cache kind (memory, redis, off) and result (hit, miss)', ['kind', 'result'], (put, v) => {
      put({ kind: v.kind, result: 'hit' }, v.hits);
      put({ kind: v.kind, result: 'miss' }, v.misses);
    });
    series(Counter, 'warmgate_embedding_cache_errors_total', 'Calls to the shared embedding cache (Redis) that failed or timed out, and its connection errors', ['kind'], (put, v) => put({ kind: v.kind }, v.errors));
    series(Gauge, 'warmgate_embedding_cache_bytes', 'Bytes the embedding cache holds in this process (the in-process cache, or the LRU in front of Redis)', ['kind'], (put, v) => put({ kind: v.kind }, v.bytes));
    series(Gauge, 'warmgate_embedding_cache_available', 'Whether lookups go to the shared embedding cache now (1) or are misses while it is unreachable (0); 1 in-process', ['kind'], (put, v) => put({ kind: v.kind }, v.redis?.available === false ? 0 : 1));
  }

  /** Reads `view` at each scrape: whether each backend with a breaker is up (closed) and how often it opened. */
  watchBackends(view: () => BackendView[]): void {
    const registers = [this.registry];
    new Gauge({
      name: 'warmgate_backend_up', help: "1 while a backend's circuit breaker is closed, 0 while open or half-open (backends without a breaker have no series)",
      labelNames: ['backend'], registers,
      collect() {
        this.reset();
        for (const b of view()) if (b.breaker) this.set({ backend: b.name }, b.breaker.state === 'closed' ? 1 : 0);
      },
    });
    new Counter({
      name: 'warmgate_backend_breaker_opens_total', help: "Times a backend's circuit breaker opened (it stopped answering)",
      labelNames: ['backend'], registers,
      collect() {
        this.reset();
        for (const b of view()) if (b.breaker) this.inc({ backend: b.name }, b.breaker.opens);
      },
    });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'warmgate_process_' });
  }

  observe(r: RequestRecord): void {
    const m = this.#perModel(r.model ?? '');
    m.requests(r.dialect, r.status).inc();
    if (r.queue_ms !== undefined) m.queue.observe(r.queue_ms);
    if (r.load_ms !== undefined) m.load.observe(r.load_ms);
    if (r.prompt_ms !== undefined) m.prompt.observe(r.prompt_ms);
    if (r.gen_ms !== undefined) m.gen.observe(r.gen_ms);
    if (r.ttft_ms !== undefined) m.ttft.observe(r.ttft_ms);
    m.total.observe(r.total_ms);
    // A counter only grows (prom-client throws on a negative step): whatever a record says, never fail a request here.
    if (r.prompt_tokens && r.prompt_tokens > 0) m.promptTokens.inc(r.prompt_tokens);
    if (r.gen_tokens && r.gen_tokens > 0) m.genTokens.inc(r.gen_tokens);
    for (const option of Object.keys(r.overrides ?? {})) this.#overrides.inc({ model: m.model, option });
    if (r.cache_hit) this.#embedPath.inc({ model: m.model, path: 'cache' });
    else if (r.coalesced) this.#embedPath.inc({ model: m.model, path: 'coalesced' });
    else if (r.batched_with && r.batched_with > 1) this.#embedPath.inc({ model: m.model, path: 'batched' });
  }

  /** Label children per model, made once: label lookup is the costly part of an update. */
  #perModel(model: string): ModelSeries {
    let m = this.#models.get(model);
    if (m) return m;
    const phase = (name: string) => this.#phase.labels({ model, phase: name });
    const byStatus = new Map<string, Incrementer>();
    m = {
      model,
      queue: phase('queue'), load: phase('load'), prompt: phase('prompt'), gen: phase('gen'), ttft: phase('ttft'), total: phase('total'),
      promptTokens: this.#tokens.labels({ model, kind: 'prompt' }),
      genTokens: this.#tokens.labels({ model, kind: 'gen' }),
      requests: (dialect, status) => {
        const key = `${dialect} ${status}`;
        let child = byStatus.get(key);
        if (!child) byStatus.set(key, (child = this.#requests.labels({ dialect, model, status: String(status) })));
        return child;
      },
    };
    this.#models.set(model, m);
    return m;
  }

  /** The exposition text; the residency is viewed once for all of its gauges. */
  async text(): Promise<string> {
    this.#scraped = this.#memory?.();
    try {
      return await this.registry.metrics();
    } finally {
      this.#scraped = undefined;
    }
  }
}
