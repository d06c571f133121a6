/**
 * Embedding cache: vectors keyed by model + the options that change them (truncate,
 * dimensions) + the SHA-256 of the input text, least recently used evicted first,
 * bounded in bytes (0 disables it).
 *
 * Contracts:
 * - Values come back bit-exact with what the backend returned: JSON numbers are doubles,
 *   so they are stored as Float64Array (keeping -0, subnormals, every last bit) and
 *   handed back as a fresh number[] the caller may keep or change.
 * - An entry costs 8 bytes per dimension plus its key's length; one larger than the
 *   whole bound is not stored.
 * - The model's load options (num_ctx, which decides where truncation cuts) are pinned
 *   by the gateway per model, so they are not part of the key.
 */
import { LRUCache } from 'lru-cache';
import { digest, embedKey, type EmbedOptions } from './request-key.js';

export interface CacheStats {
  hits: number;
  misses: number;
  entries: number;
  bytes: number;
  /** hits / (hits + misses); 0 before any lookup. */
  hitRate: number;
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

export class EmbeddingCache {
  readonly #lru: LRUCache<string, Float64Array> | undefined;
  #hits = 0;
  #misses = 0;

  /** `maxBytes` 0 disables the cache: nothing is stored and lookups are not counted. */
  constructor(maxBytes: number) {
    const bound = Math.floor(maxBytes);
    this.#lru = bound > 0
      ? new LRUCache({ maxSize: bound, sizeCalculation: (value, key) => value.byteLength + key.length })
      : undefined;
  }

  get(model: string, opts: EmbedOptions, input: string): number[] | undefined {
    if (!this.#lru) return undefined;
    const stored = this.#lru.get(cacheKey(model, opts, input));
    if (stored) this.#hits += 1;
    else this.#misses += 1;
    return stored && Array.from(stored);
  }

  set(model: string, opts: EmbedOptions, input: string, embedding: number[]): void {
    this.#lru?.set(cacheKey(model, opts, input), Float64Array.from(embedding));
  }

  lookup(model: string, opts: EmbedOptions, inputs: string[]): CacheLookup {
    const found = inputs.map((input) => this.get(model, opts, input));
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

  stats(): CacheStats {
    const lookups = this.#hits + this.#misses;
    return {
      hits: this.#hits,
      misses: this.#misses,
      entries: this.#lru?.size ?? 0,
      bytes: this.#lru?.calculatedSize ?? 0,
      hitRate: lookups === 0 ? 0 : this.#hits / lookups,
    };
  }
}

function cacheKey(model: string, opts: EmbedOptions, input: string): string {
  return `${embedKey(model, opts)}${digest(input)}`;
}
