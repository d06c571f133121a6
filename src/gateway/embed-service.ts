import { EmbeddingCache } from '../batching/embedding-cache.js';
import { EmbeddingPipeline, type EmbeddingStats } from '../batching/embedding-pipeline.js';
import type { EmbeddingStore } from '../batching/embedding-store.js';
import { RedisEmbeddingStore, type RedisStoreOptions } from '../batching/redis-embedding-store.js';
import type { Config } from '../config/schema.js';
import type { EmbedRequest, EmbedResult } from '../dialects/canonical.js';
import { modelNotFound, WarmgateError } from '../errors.js';
import { onSomeHost } from './host-call.js';
import type { ModelEntry } from '../models/model-entry.js';
import { loadIdentity } from '../models/registry.js';
import { digest } from '../batching/request-key.js';
import type { Residency } from '../residency/residency.js';
import { round, type RequestTimer } from '../telemetry/timer.js';

/**
 * Embeddings for every dialect: cache (in-process, or Redis shared by replicas) -> single-flight -> micro-batch -> one residency
 * lease per upstream call -> backend. The call's queue and load time are reported to each
 * request it served; a request answered from the cache never touches the scheduler.
 */
export class EmbedService {
  readonly #pipeline: EmbeddingPipeline;
  /** The pipeline's model keys, to their entries. */
  readonly #entries = new Map<string, ModelEntry>();
  /** Each entry's key (`#keyOf`). */
  readonly #keys = new WeakMap<ModelEntry, string>();

  constructor(residency: Residency, batching: Config['batching'], log: RedisStoreOptions['log']) {
    this.#pipeline = new EmbeddingPipeline(
      {
        windowMs: batching.window_ms, maxInputs: batching.max_inputs, cache: embeddingStore(batching, log), singleFlight: batching.single_flight,
        // As many calls in flight as the model has slots: requests arriving while they are
        // all busy gather into the next batch instead of queueing at the scheduler one by one.
        maxInFlight: (model) => this.#entries.get(model)?.config.parallel ?? 1,
      },
      async (model, opts, inputs, signal) => {
        const entry = this.#entries.get(model);
        if (!entry) throw modelNotFound(model);
        const { lease, result } = await onSomeHost(residency, entry, signal, ({ entry: on }) => on.backend.embed(on, { model: on.name, input: inputs, ...opts }, signal));
        lease.release();
        const backend = lease.entry.backend.name;
        if (result.embeddings.length !== inputs.length) {
          throw new WarmgateError('UPSTREAM_ERROR', `backend ${backend} returned ${result.embeddings.length} embeddings for ${inputs.length} inputs`);
        }
        const meta: RunMeta = { queueMs: lease.queueMs, loadMs: lease.loadMs + (result.timings.loadMs ?? 0), backend };
        return { ...result, meta };
      },
    );
  }

  async embed(entry: ModelEntry, req: EmbedRequest, timer: RequestTimer, signal: AbortSignal): Promise<EmbedResult> {
    const t0 = performance.now();
    const out = await this.#pipeline.embed(this.#keyOf(entry), { truncate: req.truncate, dimensions: req.dimensions }, req.input, signal);
    const r = timer.record;
    r.prompt_tokens = out.promptTokens;
    const meta = out.meta as RunMeta | undefined; // what this service's run (above) returns
    r.queue_ms = round(meta?.queueMs ?? 0);
    r.load_ms = round(meta?.loadMs ?? 0);
    if (meta) r.backend = meta.backend;
    if (out.batchedWith > 1) r.batched_with = out.batchedWith;
    if (out.coalesced) r.coalesced = true;
    if (out.cached === req.input.length) r.cache_hit = true;
    // Ollama's load_duration: from the handler until a runner is there (queue and loads).
    return { embeddings: out.embeddings, promptTokens: out.promptTokens, timings: { loadMs: r.queue_ms + r.load_ms, totalMs: performance.now() - t0 } };
  }

  /**
   * A model's key in the pipeline and the cache: its name and a digest of its load identity
   * (`loadIdentity`), the same in every replica. A model whose load a reload changed gets
   * a new key, so it never shares a cached vector or a batch with the model it replaced;
   * the newest entry of a key is the one its batches call.
   */
  #keyOf(entry: ModelEntry): string {
    let key = this.#keys.get(entry);
    if (key === undefined) {
      key = `${entry.name}@${digest(loadIdentity(entry)).slice(0, 16)}`;
      this.#keys.set(entry, key);
      this.#entries.set(key, entry);
    }
    return key;
  }

  stats(): EmbeddingStats {
    return this.#pipeline.stats();
  }

  /** Closes the cache's connection (Redis); the in-process cache is dropped. */
  close(): Promise<void> {
    return this.#pipeline.close();
  }
}

/** `batching.cache`: a byte bound is the in-process LRU, a URL the Redis the replicas share. */
function embeddingStore(batching: Config['batching'], log: RedisStoreOptions['log']): EmbeddingStore {
  if (typeof batching.cache === 'number') return new EmbeddingCache(batching.cache);
  return new RedisEmbeddingStore({
    url: batching.cache, ttlS: batching.cache_ttl_s, timeoutMs: batching.cache_timeout_ms, localBytes: batching.cache_local, log,
  });
}

/** What one upstream call tells each request it served: its wait, and the host it ran on. */
type RunMeta = {
  readonly queueMs: number;
  readonly loadMs: number;
  readonly backend: string;
};
