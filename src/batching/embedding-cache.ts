/**
 * The in-process embedding store: vectors keyed by model + the options that change them
 * (truncate, dimensions) + the SHA-256 of the input text, least recently used evicted first,
 * bounded in bytes (0 disables it). The default store, and the local LRU in front of Redis.
 *
 * Contracts:
 * - Values come back bit-exact with what the backend returned: JSON numbers are doubles,
 *   so they are stored as Float64Array (keeping -0, subnormals, every last bit) and
 *   handed back as a fresh number[] the caller may keep or change.
 * - An entry costs 8 bytes per dimension plus its key's length; one larger than the
 *   whole bound is not stored. With `ttlMs` an entry is dropped that long after it was set.
 * - The model's load options (num_ctx, which decides where truncation cuts) are pinned
 *   by the gateway per model, so they are not part of the key.
 */
import { LRUCache } from 'lru-cache';
import { cacheKey, hitRate, lookupOf, type CacheLookup, type CacheStats, type EmbeddingStore } from './embedding-store.js';
import type { EmbedOptions } from './request-key.js';

export class EmbeddingCache implements EmbeddingStore {
  readonly #lru: LRUCache<string, Float64Array> | undefined;
  #hits = 0;
  #misses = 0;

  /** `maxBytes` 0 disables the cache: nothing is stored and lookups are not counted. */
  constructor(maxBytes: number, opts: { ttlMs?: number } = {}) {
    const bound = Math.floor(maxBytes);
    this.#lru = bound > 0
      ? new LRUCache({ maxSize: bound, ttl: opts.ttlMs, sizeCalculation: (value, key) => value.byteLength + key.length })
      : undefined;
  }

  get(model: string, opts: EmbedOptions, input: string): number[] | undefined {
    return this.getByKey(cacheKey(model, opts, input));
  }

  /** `get` by a key `cacheKey` made. */
  getByKey(key: string): number[] | undefined {
    if (!this.#lru) return undefined;
    const stored = this.#lru.get(key);
    if (stored) this.#hits += 1;
    else this.#misses += 1;
    return stored && Array.from(stored);
  }

  set(model: string, opts: EmbedOptions, input: string, embedding: number[]): void {
    this.setByKey(cacheKey(model, opts, input), Float64Array.from(embedding));
  }

  /** `set` by a key `cacheKey` made; the array is kept, not copied. */
  setByKey(key: string, embedding: Float64Array): void {
    this.#lru?.set(key, embedding);
  }

  lookup(model: string, opts: EmbedOptions, inputs: string[]): CacheLookup {
    return lookupOf(inputs, inputs.map((input) => this.get(model, opts, input)));
  }

  fill(model: string, opts: EmbedOptions, inputs: string[], embeddings: number[][]): void {
    inputs.forEach((input, i) => this.set(model, opts, input, embeddings[i]));
  }

  stats(): CacheStats {
    return {
      kind: this.#lru ? 'memory' : 'off',
      hits: this.#hits,
      misses: this.#misses,
      entries: this.#lru?.size ?? 0,
      bytes: this.#lru?.calculatedSize ?? 0,
      hitRate: hitRate(this.#hits, this.#misses),
      errors: 0,
    };
  }

  async close(): Promise<void> {
    this.#lru?.clear();
  }
}
