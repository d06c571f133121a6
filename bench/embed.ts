/**
 * `npm run bench -- embed [--json] [--clients 32] [--per-client 16] [--rounds 2] [--window-ms 2]
 *   [--max-phase-s 25] [--threads N] [--parallel N] [--backend embedded|llama-server] [--server-slots N] [--layers N] [--embd N]
 *   [--cache redis://host:port/db]`
 *
 * Issue 6 measured: embedding micro-batching and the cache in front of a REAL backend, the
 * gateway's embedded node-llama-cpp worker serving a generated embedding model
 * (`defaultEmbeddingSpec()`, written once into the OS temp folder).
 *
 * The Open WebUI pattern: `--clients` concurrent clients (closed loop, an undici Pool with
 * one connection each) each send single-input `/api/embed` requests (`input: "<text>"`,
 * `--clients x --per-client` distinct texts). Two gateways run in this process, each with
 * its own worker: batching ON (`window_ms` = --window-ms, cache off) and OFF (`window_ms`
 * 0, cache off). They get the same inputs, in `--rounds` rounds that alternate which goes
 * first, so drift in the machine's load hits both alike. At --max-phase-s a phase cancels
 * the requests still in flight and stops (a worker that crawls still ends the bench in
 * time; `completed` says how many were served and counted).
 *
 * - batched_eps / unbatched_eps: embeddings per second over all rounds; speedup = their ratio.
 * - backend_ms_per_input: what the backend needs per input when given 16 per call, one call
 *   at a time (the floor no batcher can beat); ceiling_speedup = the unbatched time per
 *   request over that floor: the most batching could gain on this machine and model. On a
 *   CPU the embedding's own compute dominates, so the ceiling sits far below what a GPU,
 *   which decodes a batch in about the time of one input, allows.
 * - Then a third gateway, batching ON and the cache ON, gets the same inputs once (filling
 *   the cache) and again: every second request must be a cache hit. cache_hit_p50/p99_ms are
 *   client round trips of those hits sent one at a time (the latency of a hit, not of a
 *   queue); `cache_hit_concurrent` repeats them from all clients at once, and
 *   `cache_hit_gateway_p50_ms` is the gateway's own `total_ms` for them. With `--cache URL`
 *   that gateway's cache is that Redis with no local LRU in front (`cache_local: 0`), so
 *   every hit is a Redis round trip: what a replica pays for a vector another one fetched.
 *
 * Threads (`--threads`): by default the worker picks its thread count (the cores it may
 * use). On a small shared machine llama.cpp's spinning threads collapse when oversubscribed;
 * `--threads N` sets the model's `threads`. `--backend llama-server` runs the same model on
 * the real llama-server (`npm run setup:llama-server`), `--parallel N` gives it N slots.
 *
 * Targets: speedup >= 3, cache hit p50 < 1 ms.
 */
import { setMaxListeners } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import type { EmbeddingStats } from '../src/batching/embedding-pipeline.js';
import type { ConfigInput } from '../src/config/schema.js';
import type { RunningGateway } from '../src/app/server.js';
import { cachedModel } from '../test/support/cached-model.js';
import { defaultEmbeddingSpec, parseModelSpec, type ModelSpec } from '../src/gguf/index.js';
import { testGateway } from '../test/support/gateway.js';
import { gatewayStatus, requestRecords } from '../test/support/records.js';
import type { BenchOptions, BenchResult } from './run.js';
import { percentiles, round } from './util.js';

const MODEL = 'emb';
/** Inputs per call when measuring the backend's own cost per input (about the batches the bench sees). */
const FLOOR_INPUTS = 16;

interface Settings {
  clients: number;
  perClient: number;
  rounds: number;
  windowMs: number;
  maxPhaseMs: number;
  threads: number | undefined;
  parallel: number | undefined;
  backend: 'embedded' | 'llama-server';
  /** llama-server's own slots (`-np`), apart from the gateway's `parallel`: it decodes the inputs of one call together. */
  serverSlots: number | undefined;
  spec: ModelSpec;
  /** A Redis URL for the cache phase; the in-process cache without it. */
  cache: string | undefined;
}

function settings(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      clients: { type: 'string', default: '32' },
      'per-client': { type: 'string', default: '16' },
      rounds: { type: 'string', default: '2' },
      'window-ms': { type: 'string', default: '2' },
      'max-phase-s': { type: 'string', default: '25' },
      threads: { type: 'string' },
      parallel: { type: 'string' },
      backend: { type: 'string', default: 'embedded' },
      'server-slots': { type: 'string' },
      layers: { type: 'string' },
      embd: { type: 'string' },
      cache: { type: 'string' },
    },
  });
  const positive = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
    return n;
  };
  const base = defaultEmbeddingSpec();
  const layers = positive('layers', values.layers);
  const embd = positive('embd', values.embd);
  if (values.cache !== undefined && !/^rediss?:\/\//.test(values.cache)) throw new Error('--cache must be a redis:// URL');
  const spec = parseModelSpec({ ...base, ...(layers ? { layers } : {}), ...(embd ? { embd, ff: embd * 3 } : {}) });
  return {
    clients: positive('clients', values.clients)!,
    perClient: positive('per-client', values['per-client'])!,
    rounds: positive('rounds', values.rounds)!,
    windowMs: positive('window-ms', values['window-ms'])!,
    maxPhaseMs: positive('max-phase-s', values['max-phase-s'])! * 1000,
    threads: positive('threads', values.threads),
    parallel: positive('parallel', values.parallel),
    backend: backendKind(values.backend!),
    serverSlots: positive('server-slots', values['server-slots']),
    spec,
    cache: values.cache,
  };
}

function backendKind(v: string): 'embedded' | 'llama-server' {
  if (v !== 'embedded' && v !== 'llama-server') throw new Error('--backend must be embedded or llama-server');
  return v;
}

/** Open WebUI-like chunks of a document: distinct, a sentence or two each. */
function texts(count: number, tag: string): string[] {
  const words = ['gateway', 'model', 'resident', 'memory', 'batch', 'vector', 'query', 'context', 'token', 'latency', 'cache', 'window'];
  return Array.from({ length: count }, (_, i) => {
    const pick = (k: number) => words[(i * 7 + k * 5) % words.length];
    return `${tag} chunk ${i}: the ${pick(1)} keeps the ${pick(2)} warm while each ${pick(3)} waits for its ${pick(4)} (${i * 7919}).`;
  });
}

interface Side {
  name: string;
  gw: RunningGateway;
  pool: Pool;
  close(): Promise<void>;
}

async function startSide(name: string, file: string, s: Settings, batching: NonNullable<ConfigInput['batching']>): Promise<Side> {
  const gw = await testGateway({
    models: {
      [MODEL]: {
        backend: 'engine', file, type: 'embedding', ctx: 2048, threads: s.threads, parallel: s.parallel,
        extra_args: s.serverSlots ? ['-np', String(s.serverSlots)] : [],
      },
    },
    backends: { engine: { kind: s.backend } },
    batching,
    log: { level: 'silent' },
  });
  const pool = new Pool(gw.url, { connections: s.clients });
  return {
    name,
    gw,
    pool,
    async close() {
      await pool.close();
      await gw.close();
    },
  };
}

/** One `/api/embed` with a single string input; returns its vector and the client's round trip. */
async function embedOne(side: Side, input: string, signal?: AbortSignal): Promise<{ vector: number[]; ms: number }> {
  const t0 = performance.now();
  const res = await side.pool.request({
    method: 'POST', path: '/api/embed', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input }), signal,
  });
  const text = await res.body.text();
  const ms = performance.now() - t0;
  if (res.statusCode !== 200) throw new Error(`${side.name}: /api/embed answered ${res.statusCode}: ${text.slice(0, 300)}`);
  const { embeddings } = JSON.parse(text) as { embeddings: number[][] };
  if (embeddings?.length !== 1 || embeddings[0].length === 0) throw new Error(`${side.name}: expected one vector, got ${text.slice(0, 200)}`);
  return { vector: embeddings[0], ms };
}

interface Phase {
  completed: number;
  wallMs: number;
  latencies: number[];
}

/**
 * The closed loop: `clients` in flight at once, each sending the next input when its last
 * one is answered. At `maxMs` the requests still in flight are cancelled and not counted,
 * so a crawling worker cannot stretch the phase. The first failure ends the phase and is thrown.
 */
async function phase(side: Side, inputs: string[], clients: number, maxMs: number, vectors?: Map<string, number[]>): Promise<Phase> {
  const latencies: number[] = [];
  const stop = new AbortController();
  setMaxListeners(inputs.length + clients, stop.signal); // every request listens to it
  const timer = setTimeout(() => stop.abort(), maxMs);
  const t0 = performance.now();
  let next = 0;
  let failure: { err: unknown } | undefined;
  const client = async (): Promise<void> => {
    while (!stop.signal.aborted && next < inputs.length) {
      const input = inputs[next++];
      try {
        const { vector, ms } = await embedOne(side, input, stop.signal);
        latencies.push(ms);
        vectors?.set(input, vector);
      } catch (err) {
        if (stop.signal.aborted) return;
        failure ??= { err };
        stop.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(clients, inputs.length) }, client));
  clearTimeout(timer);
  if (failure) throw failure.err;
  return { completed: latencies.length, wallMs: performance.now() - t0, latencies };
}

interface Floor {
  calls: number;
  inputsPerCall: number;
  msPerInput: number;
}

/**
 * What the backend itself needs per input when it gets them batched: calls of FLOOR_INPUTS
 * inputs each, one call at a time, through the unbatched gateway (one call in, one call
 * out, so the gateway's share is spread over all its inputs). No batcher can serve inputs
 * faster than this, so 1 / (unbatched_eps x this) is the most batching can gain here.
 */
async function batchFloor(side: Side): Promise<Floor> {
  const calls = 8;
  const inputs = texts(calls * FLOOR_INPUTS, 'floor');
  const send = async (input: string[]) => {
    const res = await side.pool.request({
      method: 'POST', path: '/api/embed', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${side.name}: /api/embed of ${input.length} inputs answered ${res.statusCode}: ${text.slice(0, 300)}`);
  };
  await send(inputs.slice(0, FLOOR_INPUTS)); // warm: the same path the timed calls take
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await send(inputs.slice(i * FLOOR_INPUTS, (i + 1) * FLOOR_INPUTS));
  return { calls, inputsPerCall: FLOOR_INPUTS, msPerInput: (performance.now() - t0) / (calls * FLOOR_INPUTS) };
}

const eps = (phases: Phase[]) => {
  const done = phases.reduce((n, p) => n + p.completed, 0);
  const ms = phases.reduce((n, p) => n + p.wallMs, 0);
  return ms === 0 ? 0 : (1000 * done) / ms;
};
const p = (xs: number[], q: number) => percentiles(xs, [q])[0];

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const s = settings(opts.args);
  const model = await cachedModel(s.spec);
  const requests = s.clients * s.perClient;
  const inputs = texts(requests, 'doc');
  opts.log(
    `model: ${(model.bytes / 1e6).toFixed(1)} MB embedding GGUF (${s.spec.layers} layers, embd ${s.spec.embd}); ${s.clients} clients x ${s.perClient} requests, `
    + `${s.rounds} round(s); backend ${s.backend}${s.serverSlots ? ` (${s.serverSlots} server slots)` : ''}, threads: ${s.threads ?? 'server default'}; ${cpus().length} cores, load ${loadavg()[0].toFixed(1)}`,
  );

  const started = performance.now();
  const on = await startSide('batched', model.path, s, { window_ms: s.windowMs, cache: 0 });
  const off = await startSide('unbatched', model.path, s, { window_ms: 0, cache: 0 });
  const onPhases: Phase[] = [];
  const offPhases: Phase[] = [];
  const onVectors = new Map<string, number[]>();
  const offVectors = new Map<string, number[]>();
  let batching: EmbeddingStats['batching'];
  let floor: Floor;
  try {
    // Each first request starts its worker (and JIT-warms the path); not measured.
    for (const side of [on, off]) await embedOne(side, `warm-up for ${side.name}`);
    opts.log(`workers ready in ${Math.round(performance.now() - started)} ms`);
    const before = (await gatewayStatus(on.gw.url)).embeddings.batching;
    for (let r = 0; r < s.rounds; r++) {
      const order = r % 2 === 0 ? [on, off] : [off, on];
      for (const side of order) {
        const result = await phase(side, inputs, s.clients, s.maxPhaseMs, side === on ? onVectors : offVectors);
        (side === on ? onPhases : offPhases).push(result);
        opts.log(`round ${r + 1} ${side.name.padEnd(9)}: ${result.completed}/${requests} in ${Math.round(result.wallMs)} ms = ${round((1000 * result.completed) / result.wallMs, 1)} eps, p50 ${round(p(result.latencies, 50), 1)} ms`);
      }
    }
    floor = await batchFloor(off);
    opts.log(`floor: ${floor.calls} calls of ${floor.inputsPerCall} inputs, one at a time: ${round(floor.msPerInput, 2)} ms per input`);
    const after = (await gatewayStatus(on.gw.url)).embeddings.batching;
    const batches = after.batches - before.batches;
    const sent = after.requests - before.requests;
    batching = { ...after, batches, requests: sent, meanBatchSize: batches === 0 ? 0 : sent / batches };
  } finally {
    await on.close();
    await off.close();
  }

  // Same text, batched or not: the same vector (the worker embeds each input alone either way).
  let maxDiff = 0;
  for (const [text, a] of onVectors) {
    const b = offVectors.get(text);
    if (b) for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  }

  const cached = await startSide('cached', model.path, s, { window_ms: s.windowMs, ...(s.cache ? { cache: s.cache, cache_local: 0 } : {}) });
  let cache: BenchResult;
  try {
    await embedOne(cached, 'warm-up for cached');
    const served = new Map<string, number[]>();
    // Redis outlives the run: texts of this run only, so the fill is made of misses.
    const fillInputs = s.cache ? texts(requests, `doc ${Date.now()}`) : inputs;
    const fill = await phase(cached, fillInputs, s.clients, s.maxPhaseMs, served);
    opts.log(`cache fill: ${fill.completed} requests in ${Math.round(fill.wallMs)} ms`);
    const filled = [...served.keys()];
    const hitsBefore = (await gatewayStatus(cached.gw.url)).embeddings.cache.hits;
    // One at a time: the latency of a hit.
    const sequential: number[] = [];
    for (const input of filled) sequential.push((await embedOne(cached, input)).ms);
    const gatewayMs = (await requestRecords(cached.gw.url, filled.length)).map((rec) => {
      if (!rec.cache_hit) throw new Error(`a repeated input was not a cache hit: ${JSON.stringify(rec)}`);
      return rec.total_ms;
    });
    // From every client at once: what a burst of repeats costs.
    const concurrent = await phase(cached, filled, s.clients, s.maxPhaseMs);
    const stats = (await gatewayStatus(cached.gw.url)).embeddings.cache;
    const repeats = filled.length + concurrent.completed;
    if (stats.hits - hitsBefore !== repeats) throw new Error(`expected ${repeats} cache hits, saw ${stats.hits - hitsBefore}`);
    cache = {
      cache_hit_p50_ms: round(p(sequential, 50)),
      cache_hit_p99_ms: round(p(sequential, 99)),
      cache_hit_gateway_p50_ms: round(p(gatewayMs, 50)),
      cache_hit_concurrent: {
        eps: round((1000 * concurrent.completed) / concurrent.wallMs, 0),
        p50_ms: round(p(concurrent.latencies, 50)),
        p99_ms: round(p(concurrent.latencies, 99)),
      },
      cache_hit_rate: round(stats.hitRate),
      cache: stats.kind,
    };
  } finally {
    await cached.close();
  }

  const batchedEps = eps(onPhases);
  const unbatchedEps = eps(offPhases);
  return {
    batched_eps: round(batchedEps, 1),
    unbatched_eps: round(unbatchedEps, 1),
    speedup: round(batchedEps / unbatchedEps, 2),
    backend_ms_per_input: round(floor.msPerInput, 3),
    ceiling_speedup: round(1000 / unbatchedEps / floor.msPerInput, 2),
    ...cache,
    requests,
    clients: s.clients,
    completed: { batched: onPhases.reduce((n, x) => n + x.completed, 0), unbatched: offPhases.reduce((n, x) => n + x.completed, 0), per_mode: requests * s.rounds },
    latency_p50_ms: { batched: round(p(onPhases.flatMap((x) => x.latencies), 50), 1), unbatched: round(p(offPhases.flatMap((x) => x.latencies), 50), 1) },
    mean_batch_size: round(batching.meanBatchSize, 1),
    max_batch_size: batching.maxBatchSize,
    max_vector_diff: maxDiff,
    window_ms: s.windowMs,
    backend: s.backend,
    server_slots: s.serverSlots ?? 'gateway parallel',
    worker_threads: s.threads ?? 'default',
    model_bytes: model.bytes,
    seconds: round((performance.now() - started) / 1000, 1),
    targets: { speedup: '>= 3', cache_hit_p50_ms: '< 1' },
  };
}
