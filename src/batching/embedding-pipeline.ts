/**
 * The embedding path: cache lookup -> single-flight on the missing inputs -> micro-batcher
 * -> upstream `run`, filling the cache on the way back. The cache is any `EmbeddingStore`
 * (in-process, or Redis shared by replicas); the pipeline closes it in `close`.
 *
 * Contracts:
 * - Only the inputs the cache lacks go upstream, each distinct one once per request.
 * - Concurrent requests that miss the same inputs (same model and options) share one
 *   flight; concurrent flights for the same model and options share one upstream call.
 * - `promptTokens` is the request's share of the upstream call that served it (see the
 *   micro-batcher: in proportion to characters); inputs served from the cache count 0,
 *   and a coalesced request reports the share of the flight it joined.
 * - Embeddings handed to coalesced callers are the same arrays: treat them as read-only.
 */
import type { EmbedResult } from '../dialects/canonical.js';
import type { CacheStats, EmbeddingStore } from './embedding-store.js';
import { MicroBatcher, type BatchedResult, type BatchStats, type CallMeta, type Schedule } from './micro-batcher.js';
import { canonicalJson, digest, embedKey, type EmbedOptions } from './request-key.js';
import { SingleFlight, type FlightStats } from './single-flight.js';

/** One upstream embedding call; `signal` aborts when no caller wants the result any more. */
export type EmbedRun = (
  model: string,
  opts: EmbedOptions,
  inputs: string[],
  signal: AbortSignal,
) => Promise<Pick<EmbedResult, 'embeddings' | 'promptTokens'> & { meta?: CallMeta }>;

export interface EmbeddingPipelineOptions {
  /** Milliseconds to gather concurrent requests; 0 sends each alone. */
  windowMs: number;
  maxInputs: number;
  /** Cap on the characters of one upstream call; default unlimited. */
  maxChars?: number;
  /** Where vectors are kept: `new EmbeddingCache(0)` keeps none. */
  cache: EmbeddingStore;
  singleFlight: boolean;
  /** Most upstream calls in flight at once per model and options (see the micro-batcher); default unlimited. */
  maxInFlight?: (model: string) => number;
  schedule?: Schedule;
}

export interface EmbedOutcome {
  /** One per input, in input order. */
  embeddings: number[][];
  promptTokens: number;
  /** Inputs served from the cache. */
  cached: number;
  /** Requests that shared the upstream call; 0 when the cache served everything. */
  batchedWith: number;
  /** Whether an identical request's flight served this one. */
  coalesced: boolean;
  /** What the upstream call reported for all its callers (absent on a full cache hit). */
  meta?: CallMeta;
}

export interface EmbeddingStats {
  batching: BatchStats;
  singleFlight: FlightStats;
  cache: CacheStats;
}

interface Group {
  model: string;
  opts: EmbedOptions;
}

type Fetched = BatchedResult<number[]>;

export class EmbeddingPipeline {
  readonly #cache: EmbeddingStore;
  readonly #flights = new SingleFlight<Fetched>();
  readonly #singleFlight: boolean;
  readonly #batcher: MicroBatcher<Group, string, number[]>;

  constructor(options: EmbeddingPipelineOptions, run: EmbedRun) {
    this.#cache = options.cache;
    this.#singleFlight = options.singleFlight;
    this.#batcher = new MicroBatcher<Group, string, number[]>({
      run: async ({ model, opts }, inputs, signal) => {
        const { embeddings, promptTokens, meta } = await run(model, opts, inputs, signal);
        return { outputs: embeddings, promptTokens, meta };
      },
      keyOf: ({ model, opts }) => embedKey(model, opts),
      windowMs: options.windowMs,
      maxInputs: options.maxInputs,
      maxWeight: options.maxChars,
      weigh: (input) => input.length,
      maxInFlight: options.maxInFlight && (({ model }) => options.maxInFlight!(model)),
      schedule: options.schedule,
    });
  }

  async embed(model: string, opts: EmbedOptions, inputs: string[], signal?: AbortSignal): Promise<EmbedOutcome> {
    const found = this.#cache.lookup(model, opts, inputs);
    // Only a store that must ask elsewhere answers with a promise: the in-process path stays synchronous.
    const lookup = found instanceof Promise ? await found : found;
    const { cached, missing } = lookup;
    if (missing.length === 0) {
      return { embeddings: lookup.merge([]), promptTokens: 0, cached, batchedWith: 0, coalesced: false };
    }
    const fetch = (upstream?: AbortSignal): Promise<Fetched> => this.#fetch({ model, opts }, missing, upstream);
    const { value, coalesced } = this.#singleFlight
      ? await this.#flights.call(digest(`${embedKey(model, opts)}${canonicalJson(missing)}`), fetch, signal)
      : { value: await fetch(signal), coalesced: false };
    const { outputs, promptTokens, batchedWith, meta } = value;
    return { embeddings: lookup.merge(outputs), promptTokens, cached, batchedWith, coalesced, meta };
  }

  close(): Promise<void> {
    return this.#cache.close();
  }

  stats(): EmbeddingStats {
    return { batching: this.#batcher.stats(), singleFlight: this.#flights.stats(), cache: this.#cache.stats() };
  }

  async #fetch(group: Group, inputs: string[], signal: AbortSignal | undefined): Promise<Fetched> {
    const fetched = await this.#batcher.submit(group, inputs, signal);
    this.#cache.fill(group.model, group.opts, inputs, fetched.outputs);
    return fetched;
  }
}
