/**
 * Where the embedding pipeline keeps vectors: the in-process LRU (`EmbeddingCache`) or Redis
 * shared by several replicas (`RedisEmbeddingStore`, with a local LRU in front). The pipeline
 * sees only this interface.
 *
 * Contracts every store keeps:
 * - Keys are the model, the options that change the vectors (truncate, dimensions) and the
 *   SHA-256 of the input (`cacheKey`); values come back bit-exact, as a fresh number[].
 * - `lookup` answers synchronously when it can (the in-process store always does; the Redis
 *   store when its local LRU holds every input), so the in-process path pays no promise turn.
 * - A store never fails a request: a store it cannot reach is a miss, and `fill` never throws.
 */
import { digest, embedKey, type EmbedOptions } from './request-key.js';

export interface CacheStats {
  /** `off` is the in-process store with a bound of 0: nothing stored, nothing counted. */
  kind: 'memory' | 'redis' | 'off';
  hits: number;
  misses: number;
  /** Entries and bytes in this process (the in-process store, or the LRU in front of Redis). */
  entries: number;
  bytes: number;
  /** hits / (hits + misses); 0 before any lookup. */
  hitRate: number;
  /** Calls to the shared store that failed or timed out, and connection errors; always 0 in-process. */
  errors: number;
  /** The Redis store only. */
  redis?: {
    /** Hits Redis served (the rest of `hits` came from the local LRU). */
    hits: number;
    /** Whether lookups go to Redis now (connected, and no failure in the last back-off). */
    available: boolean;
  };
}

/** A multi-input request served partly from the cache. */
export interface CacheLookup {
  /** How many of the request's inputs the cache served. */
  cached: number;
  /** The distinct inputs the cache lacks, in first-seen order: only these go upstream. */
  missing: string[];
  /** The request's embeddings in input order, given `fetched[i]` for `missing[i]`. */
  merge(fetched: number[][]): number[][];
}

export interface EmbeddingStore {
  lookup(model: string, opts: EmbedOptions, inputs: string[]): CacheLookup | Promise<CacheLookup>;
  /** Stores what the backend returned for `inputs` (`embeddings[i]` for `inputs[i]`). */
  fill(model: string, opts: EmbedOptions, inputs: string[], embeddings: number[][]): void;
  stats(): CacheStats;
  /** Releases connections; lookups after it are misses. */
  close(): Promise<void>;
}

/** The key of one input's vector under a model and options. */
export function cacheKey(model: string, opts: EmbedOptions, input: string): string {
  return `${embedKey(model, opts)}${digest(input)}`;
}

/** The lookup of `inputs` given what the store found for each (`found[i]` for `inputs[i]`). */
export function lookupOf(inputs: string[], found: ReadonlyArray<number[] | undefined>): CacheLookup {
  const missing = [...new Set(inputs.filter((_, i) => found[i] === undefined))];
  return {
    cached: found.filter((embedding) => embedding !== undefined).length,
    missing,
    merge: (fetched) => {
      if (fetched.length !== missing.length) {
        throw new Error(`expected ${missing.length} embeddings, got ${fetched.length}`);
      }
      const byInput = new Map(missing.map((input, i) => [input, fetched[i]]));
      return inputs.map((input, i) => found[i] ?? (byInput.get(input) as number[]));
    },
  };
}

/** hits / (hits + misses), 0 before any lookup. */
export function hitRate(hits: number, misses: number): number {
  const lookups = hits + misses;
  return lookups === 0 ? 0 : hits / lookups;
}
