import { z } from 'zod';
import { bytes, keepAlive, parseBytes } from './units.js';

/**
 * The configuration file. Every key has a default so an empty file (or none) is valid;
 * `config/warmgate.example.yaml` documents each one. Types are inferred from this schema.
 */

/**
 * The embedding cache: a byte bound for the in-process LRU (0 disables it), or the URL of a
 * Redis the replicas share (`redis://`, `rediss://` for TLS, the database index as its path).
 */
const embeddingCache = z.union([z.number(), z.string()]).transform((v, ctx): number | string => {
  if (typeof v === 'string' && /^rediss?:/i.test(v)) {
    if (redisUrl.safeParse(v).success) return v;
    ctx.addIssue({ code: 'custom', message: 'expected a Redis URL like redis://host:6379/0 (the path is a database index)' });
    return z.NEVER;
  }
  const size = parseBytes(v);
  if (size !== undefined) return size;
  ctx.addIssue({ code: 'custom', message: 'expected a size like 64MiB (0 disables the cache) or a Redis URL like redis://host:6379/0' });
  return z.NEVER;
});
const redisUrl = z.url({ protocol: /^rediss?$/, hostname: /^.+$/ }).refine((url) => /^\/?\d*$/.test(new URL(url).pathname));

/** Load-time options that make Ollama reload a model when they change (RUNTIMES.md). */
export const LOAD_OPTION_KEYS = [
  'num_ctx', 'num_batch', 'num_gpu', 'main_gpu', 'use_mmap', 'use_mlock', 'num_thread',
  'low_vram', 'f16_kv', 'logits_all', 'vocab_only', 'numa',
] as const;
export type LoadOptionKey = (typeof LOAD_OPTION_KEYS)[number];

const loadOptions = z
  .object({
    num_ctx: z.number().int().positive(),
    num_batch: z.number().int().positive(),
    num_gpu: z.number().int(),
    main_gpu: z.number().int().nonnegative(),
    use_mmap: z.boolean(),
    use_mlock: z.boolean(),
    num_thread: z.number().int().positive(),
    low_vram: z.boolean(),
    f16_kv: z.boolean(),
    logits_all: z.boolean(),
    vocab_only: z.boolean(),
    numa: z.boolean(),
  })
  .partial()
  .strict();

/**
 * Host health (issue 15): a backend that stops answering is taken out after `failures`
 * connection-level failures in a row; requests to it then fail at once (503) until a probe,
 * sent `open_s` later (doubling after each failed probe, up to `max_open_s`), gets a reply.
 * `false` disables it. External upstreams only (ollama, warmgate, llama-server with `url`):
 * the processes Warmgate runs have their own crash handling.
 */
const breaker = z.union([
  z.literal(false),
  z.object({
    failures: z.number().int().positive().default(3),
    open_s: z.number().positive().default(5),
    /** Default 60, or `open_s` when that is longer. */
    max_open_s: z.number().positive().optional(),
  }).strict()
    .refine((b) => b.max_open_s === undefined || b.max_open_s >= b.open_s, { message: 'max_open_s must not be shorter than open_s' })
    .transform((b) => ({ ...b, max_open_s: b.max_open_s ?? Math.max(60, b.open_s) })),
]).prefault({});
export type BreakerConfig = z.infer<typeof breaker>;

export const backendSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('ollama'),
    /** Base URL of the Ollama daemon. */
    url: z.url(),
    /** Serve every model the daemon lists, not only those declared under `models`. */
    discover: z.boolean().default(true),
    /**
     * Requests per model let through to the daemon at once (it queues beyond its own
     * OLLAMA_NUM_PARALLEL): a model's default `parallel`. More than 1 keeps the daemon busy
     * without a round trip between requests; a swap still waits for all of them to finish.
     */
    parallel: z.number().int().positive().default(4),
    /**
     * The daemon's own memory, never the gateway host's: `gpu` (VRAM it may fill) and `ram`.
     * Unset: not known; the gateway then never refuses or evicts a model for size, and
     * learns from /api/ps which models do not fit together. Only `ram`: a daemon without GPU.
     */
    memory: z.object({ gpu: bytes.optional(), ram: bytes.optional() }).strict().prefault({}),
    /** Headers sent on every call to the daemon (e.g. `Authorization` for an auth proxy in front of it); never logged. */
    headers: z.record(
      z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a header name is a token (letters, digits, -)')
        .refine((name) => !['host', 'content-type', 'content-length', 'accept', 'connection', 'transfer-encoding'].includes(name.toLowerCase()), 'the gateway sets this header itself'),
      z.string().regex(/^[^\r\n]*$/, 'a header value is one line'),
    ).default({}),
    breaker,
  }).strict(),
  // A remote Warmgate (issue 15: a gateway per GPU host, this one in front).
  z.object({
    kind: z.literal('warmgate'),
    /** Base URL of the remote Warmgate (its Ollama API). */
    url: z.url(),
    /** Sent as `Authorization: Bearer <key>` on every call; an inference key of the remote is enough (it is never sent an admin call). */
    api_key: z.lazy(() => apiKey).optional(),
    /** Serve every model the remote lists, not only those declared under `models`. */
    discover: z.boolean().default(true),
    breaker,
  }).strict(),
  z.object({
    kind: z.literal('embedded'),
    /** Seconds to wait for `/health` to turn 200 after start. */
    health_timeout_s: z.number().positive().default(300),
  }).strict(),
  z.object({
    kind: z.literal('llama-server'),
    /**
     * Command template; macros: ${PORT} ${MODEL} ${CTX} ${PARALLEL} ${GPU_LAYERS}, and ${EMBEDDING}
     * ${THREADS} as words of their own. Default: the binary `npm run setup:llama-server` built,
     * else `llama-server` on PATH.
     */
    command: z.string().min(1).optional(),
    /** A llama-server Warmgate does not manage: it cannot load or unload it. */
    url: z.url().optional(),
    health_timeout_s: z.number().positive().default(300),
    /** Only with `url`. */
    breaker,
  }).strict().refine((b) => !(b.command && b.url), { message: 'set `command` (a server Warmgate runs) or `url` (one it does not), not both' }),
]);

export const modelSchema = z.object({
  backend: z.string().min(1).optional(),
  /**
   * Several backends serving the same model (instead of `backend`; all of one kind): each
   * request is placed on one of them, where the model is warm first (see `replicas`).
   */
  backends: z.array(z.string().min(1)).min(1).optional(),
  /**
   * With several backends: copies started on demand without pressure. Beyond that a
   * further copy starts only when none could serve within `scheduler.max_hold_ms`.
   */
  replicas: z.number().int().positive().default(1),
  aliases: z.array(z.string().min(1)).default([]),
  /** Name of the model at the backend (Ollama tag); defaults to the model's own name. */
  upstream: z.string().min(1).optional(),
  /** GGUF file, for process backends. */
  file: z.string().min(1).optional(),
  type: z.enum(['chat', 'embedding']).optional(),
  /**
   * Load-time options pinned on every request (Ollama). Unset ones are pinned to the first
   * value seen, except `num_ctx`: set here it is fixed; unset it grows (see `max_ctx`).
   */
  pin: loadOptions.default({}),
  /** Largest context a growing `num_ctx` pin may reach (Ollama); default: the model's own `context_length`. */
  max_ctx: z.number().int().positive().optional(),
  /** Context size (process backends; for Ollama, `pin.num_ctx`). */
  ctx: z.number().int().positive().optional(),
  /** Requests served at once. Default: the backend's `parallel` (Ollama), or 1 slot (process backends). */
  parallel: z.number().int().positive().optional(),
  /** GPU layers: `auto` fits as many as the budget allows. */
  gpu_layers: z.union([z.literal('auto'), z.number().int().nonnegative()]).default('auto'),
  keep_alive: keepAlive.default(-1),
  /** Honour a client's `keep_alive: 0` (Open WebUI's unload button). */
  allow_client_unload: z.boolean().default(false),
  preload: z.boolean().default(false),
  /** Never evicted by the scheduler. */
  pinned: z.boolean().default(false),
  extra_args: z.array(z.string()).default([]),
  /** CPU threads for a process backend's inference; default: the server's own choice. */
  threads: z.number().int().positive().optional(),
  /**
   * Memory-map the weights (process backends). `auto`: off exactly when the CPU backend
   * repacks some of them, so the file pages are not resident beside the copies.
   */
  mmap: z.union([z.literal('auto'), z.boolean()]).default('auto'),
}).strict().refine((m) => !(m.backend && m.backends), { message: 'set `backend` (one) or `backends` (several), not both' });

/** What clients send when they have no key (they are never keys, and a request carrying one has none). */
export const NO_KEY_PLACEHOLDERS = ['null', 'undefined', 'sk-no-key', 'sk-no-key-required'] as const;

/** Shortest API key accepted: shorter ones can be guessed. */
export const API_KEY_MIN_LENGTH = 16;

const apiKey = z
  .string()
  .min(API_KEY_MIN_LENGTH, `an API key must be at least ${API_KEY_MIN_LENGTH} characters (make one with: openssl rand -hex 24)`)
  .regex(/^[\x21-\x7e]+$/, 'an API key may hold only printable ASCII characters, no spaces (it travels in an HTTP header)')
  .refine((k) => !(NO_KEY_PLACEHOLDERS as readonly string[]).includes(k.toLowerCase()), 'this is what clients send when they have no key; choose another');

/**
 * A key and what it opens: `inference` (chat, generate, embed, model lists) or `admin` (that
 * and load/unload, pull, create, ...). A bare string is an admin key.
 */
export const apiKeyEntry = z.preprocess(
  (v) => (typeof v === 'string' ? { key: v, scope: 'admin' } : v),
  z.object({ key: apiKey, scope: z.enum(['inference', 'admin']) }).strict(),
) as z.ZodType<{ key: string; scope: 'inference' | 'admin' }, string | { key: string; scope: 'inference' | 'admin' }>;
export type ApiKey = z.output<typeof apiKeyEntry>;

export const configSchema = z.object({
  server: z.object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(11435),
    body_limit: bytes.default(64 * 1024 * 1024),
    /** Longest wait for an upstream's first byte; must not be shorter than the clients' own. */
    first_byte_timeout_s: z.number().positive().default(600),
    /** How many request records `GET /warmgate/requests` keeps. */
    records_kept: z.number().int().nonnegative().default(500),
    /** Longest silence of a backend between two pieces of a reply (a long prompt evaluated on a CPU counts); 0 = none. */
    upstream_idle_timeout_s: z.number().nonnegative().default(600),
    /** A client that stops sending its request body this long gets 408 and its connection closed. */
    body_idle_timeout_s: z.number().positive().default(60),
    /** On SIGTERM: how long requests in flight may take to finish before they are ended with an error. */
    drain_s: z.number().nonnegative().default(30),
    /** Browser origins allowed besides the default list (localhost, 127.0.0.1, 0.0.0.0 on any port, app://, file://, ...); `*` is a wildcard. */
    origins: z.array(z.string().min(1)).default([]),
    /** API keys; none = no key asked. A bare string is an admin key. */
    api_keys: z.array(apiKeyEntry).default([]),
    /** `/metrics` asks for an admin key (when keys are set). */
    metrics_need_key: z.boolean().default(false),
  }).strict().prefault({}),
  log: z.object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }).strict().prefault({}),
  backends: z.record(z.string().min(1), backendSchema).default({}),
  models: z.record(z.string().min(1), modelSchema).default({}),
  /** Every `*.gguf` in this folder becomes a model on the `embedded` backend. */
  models_dir: z.string().min(1).optional(),
  /** Where generated default models and cached binaries live. */
  data_dir: z.string().min(1).default('.warmgate'),
  memory: z.object({
    ram: bytes.optional(),
    gpu: bytes.optional(),
    /** Kept free of models in each pool. */
    reserve: bytes.default(1024 ** 3),
  }).strict().prefault({}),
  scheduler: z.object({
    /** `group` batches requests per model; `fifo` loads whatever the next request wants. */
    policy: z.enum(['group', 'fifo']).default('group'),
    max_hold_ms: z.number().int().nonnegative().default(10_000),
    max_queue_per_model: z.number().int().positive().default(256),
    max_queue_total: z.number().int().positive().default(1024),
    load_timeout_s: z.number().positive().default(600),
    unload_timeout_s: z.number().positive().default(60),
    /** How often resident models are checked against the backends (Ollama's /api/ps, live processes); 0 disables. */
    reconcile_s: z.number().nonnegative().default(10),
  }).strict().prefault({}),
  batching: z.object({
    /** Milliseconds to gather concurrent embedding requests; 0 disables. */
    window_ms: z.number().nonnegative().default(2),
    max_inputs: z.number().int().positive().default(256),
    single_flight: z.boolean().default(true),
    // The embedding cache (one block: issue 15's shared store).
    /** In-process LRU bound in bytes (0 disables), or `redis://host:port/db` shared by replicas. */
    cache: embeddingCache.default(64 * 1024 * 1024),
    /** Redis only: seconds an entry lives in Redis (and in the LRU in front of it). */
    cache_ttl_s: z.number().int().positive().default(24 * 3600),
    /** Redis only: the most a cache lookup or write waits; past it the request is a miss. */
    cache_timeout_ms: z.number().int().positive().default(50),
    /** Redis only: bytes of the in-process LRU in front of Redis; 0 asks Redis every time. */
    cache_local: bytes.default(16 * 1024 * 1024),
  }).strict().prefault({}),
}).strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type BackendConfig = z.infer<typeof backendSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type LoadOptions = z.infer<typeof loadOptions>;
