/**
 * The embedding store several gateway replicas share: Redis, with a local LRU in front.
 *
 * Contracts (beyond `EmbeddingStore`'s):
 * - Keys are `warmgate:embed:v1:` + `cacheKey` (the namespace keeps them apart from other
 *   data; v1 is the value format); each value is the vector's Float64 bytes, little-endian,
 *   so a hit is bit-exact with what the backend returned, and set with a TTL (`ttlS`).
 * - The size cap is Redis's own: `maxmemory` with an LRU policy evicts across every replica's
 *   writes, which a per-replica count could not. At connect the store warns when the
 *   server has no `maxmemory` or evicts nothing (`noeviction` makes writes fail when full).
 * - Redis down or slow never fails a request: every call has `timeoutMs`; a failed one
 *   is a miss, the outage is logged once (`StoreOutage`), lookups and writes skip Redis
 *   until it answers again (a reconnect, or a PING every second), and the client reconnects
 *   by itself.
 * - Lookups the local LRU answers entirely are synchronous and never touch Redis; Redis
 *   hits are copied into it. Writes go to both, Redis's without waiting for the reply.
 */
import { endianness } from 'node:os';
import { Redis, ReplyError } from 'ioredis';
import { EmbeddingCache } from './embedding-cache.js';
import { cacheKey, hitRate, lookupOf, type CacheLookup, type CacheStats, type EmbeddingStore } from './embedding-store.js';
import type { EmbedOptions } from './request-key.js';
import { StoreOutage } from './store-outage.js';

const PREFIX = 'warmgate:embed:v1:';
/** How often an unavailable Redis is asked (PING) whether it answers again. */
const RETRY_MS = 1000;
/** A server that does not accept a connection in this time is down; the client retries. */
const CONNECT_TIMEOUT_MS = 2000;
const LITTLE_ENDIAN = endianness() === 'LE';

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://` for TLS. */
  url: string;
  ttlS: number;
  /** The most a lookup or write may wait for Redis. */
  timeoutMs: number;
  /** Bytes of the LRU in front of Redis; 0 sends every lookup to Redis. */
  localBytes: number;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

export class RedisEmbeddingStore implements EmbeddingStore {
  readonly #redis: Redis;
  readonly #local: EmbeddingCache;
  readonly #outage: StoreOutage;
  readonly #ttlS: number;
  readonly #log: RedisStoreOptions['log'];
  /** Redis's own error replies already logged (a full `noeviction` server repeats one). */
  readonly #replyErrorsLogged = new Set<string>();
  #hits = 0;
  #misses = 0;
  #redisHits = 0;
  #errors = 0;

  constructor(options: RedisStoreOptions) {
    const { url, ttlS, timeoutMs, localBytes, log } = options;
    this.#ttlS = ttlS;
    this.#log = log;
    this.#local = new EmbeddingCache(localBytes, { ttlMs: ttlS * 1000 });
    const target = redisTarget(url);
    this.#outage = new StoreOutage({
      retryMs: RETRY_MS,
      probe: () => this.#redis.ping(),
      onDown: (err) => log.warn({ redis: target, err: err.message }, 'embedding cache: Redis unavailable, embeddings are computed without it until it answers again'),
      onUp: (downMs) => log.info({ redis: target, down_ms: downMs }, 'embedding cache: Redis answers again'),
    });
    this.#redis = new Redis(url, {
      commandTimeout: timeoutMs,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Calls fail at once while disconnected, instead of queueing until a timeout.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    });
    this.#redis.on('error', (err: Error) => this.#failed(err));
    this.#redis.on('close', () => this.#outage.failed(new Error('connection closed')));
    this.#redis.on('ready', () => {
      this.#outage.succeeded();
      this.#checkEviction();
    });
  }

  lookup(model: string, opts: EmbedOptions, inputs: string[]): CacheLookup | Promise<CacheLookup> {
    const keys = inputs.map((input) => cacheKey(model, opts, input));
    const found = keys.map((key) => this.#local.getByKey(key));
    const localHits = found.filter((v) => v !== undefined).length;
    if (localHits === inputs.length || !this.#usable()) return this.#counted(inputs, found, localHits);
    return this.#remote(inputs, keys, found, localHits);
  }

  fill(model: string, opts: EmbedOptions, inputs: string[], embeddings: number[][]): void {
    const batch = this.#usable() ? this.#redis.pipeline() : undefined;
    inputs.forEach((input, i) => {
      const key = cacheKey(model, opts, input);
      const vector = Float64Array.from(embeddings[i]);
      this.#local.setByKey(key, vector);
      batch?.set(PREFIX + key, encodeVector(vector), 'EX', this.#ttlS);
    });
    batch?.exec().then(
      (results) => {
        const err = results?.find(([e]) => e)?.[0];
        if (err) this.#failed(err);
        else this.#outage.succeeded();
      },
      (err: Error) => this.#failed(err),
    );
  }

  stats(): CacheStats {
    const local = this.#local.stats();
    return {
      kind: 'redis',
      hits: this.#hits,
      misses: this.#misses,
      entries: local.entries,
      bytes: local.bytes,
      hitRate: hitRate(this.#hits, this.#misses),
      errors: this.#errors,
      redis: { hits: this.#redisHits, available: this.#usable() },
    };
  }

  async close(): Promise<void> {
    this.#outage.close(); // before the disconnect, whose 'close' is no outage
    this.#redis.disconnect();
    await this.#local.close();
  }

  async #remote(inputs: string[], keys: string[], found: Array<number[] | undefined>, localHits: number): Promise<CacheLookup> {
    const wanted = [...new Set(keys.filter((_, i) => found[i] === undefined))];
    let redisHits = 0;
    try {
      const values = await this.#redis.mgetBuffer(...wanted.map((key) => PREFIX + key));
      this.#outage.succeeded();
      const byKey = new Map<string, Float64Array>();
      values.forEach((value, j) => {
        const vector = value && decodeVector(value);
        if (!vector) return;
        byKey.set(wanted[j], vector);
        this.#local.setByKey(wanted[j], vector);
      });
      keys.forEach((key, i) => {
        const vector = found[i] === undefined ? byKey.get(key) : undefined;
        if (!vector) return;
        found[i] = Array.from(vector);
        redisHits += 1;
      });
    } catch (err) {
      this.#failed(err as Error);
    }
    this.#redisHits += redisHits;
    return this.#counted(inputs, found, localHits + redisHits);
  }

  #counted(inputs: string[], found: Array<number[] | undefined>, hits: number): CacheLookup {
    this.#hits += hits;
    this.#misses += inputs.length - hits;
    return lookupOf(inputs, found);
  }

  #usable(): boolean {
    return this.#redis.status === 'ready' && !this.#outage.down;
  }

  /** A reply error (the server answered: full, read-only...) is logged once per message; anything else is an outage. */
  #failed(err: Error): void {
    this.#errors += 1;
    if (!(err instanceof ReplyError)) {
      this.#outage.failed(err);
    } else if (!this.#replyErrorsLogged.has(err.message)) {
      this.#replyErrorsLogged.add(err.message);
      this.#log.warn({ err: err.message }, 'embedding cache: Redis refused a call');
    }
  }

  /** Warns when nothing bounds the cache but the TTL, or when a full server refuses writes. */
  #checkEviction(): void {
    this.#redis.info('memory').then(
      (info) => {
        const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
        const maxmemory = Number(field('maxmemory') ?? 0);
        const policy = field('maxmemory_policy') ?? 'unknown';
        if (maxmemory === 0) {
          this.#log.warn({ maxmemory_policy: policy }, 'embedding cache: Redis has no maxmemory, so only the TTL bounds the cache; set maxmemory and maxmemory-policy allkeys-lru');
        } else if (policy === 'noeviction') {
          this.#log.warn({ maxmemory }, 'embedding cache: Redis evicts nothing (maxmemory-policy noeviction), so writes fail once it is full; set allkeys-lru');
        }
      },
      // Managed servers may refuse INFO: the check is advice, not a condition.
      () => undefined,
    );
  }
}

/** The vector's bytes as Redis keeps them: Float64, little-endian. */
export function encodeVector(vector: Float64Array): Buffer {
  const bytes = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  return LITTLE_ENDIAN ? bytes : Buffer.from(bytes).swap64();
}

/** The vector `encodeVector` wrote; undefined for a value that cannot be one (another writer's key). */
export function decodeVector(value: Buffer): Float64Array | undefined {
  if (value.length === 0 || value.length % 8 !== 0) return undefined;
  const copy = new Uint8Array(value); // its own ArrayBuffer at offset 0: aligned, and ours to swap
  if (!LITTLE_ENDIAN) Buffer.from(copy.buffer).swap64();
  return new Float64Array(copy.buffer);
}

/** host:port/db of a Redis URL, without its credentials (for log lines). */
export function redisTarget(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}
