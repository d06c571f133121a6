/**
 * Shared by the residency end-to-end test and `bench/thrash.ts`: a generated chat model and
 * embedding model on the embedded worker backend under a RAM budget that holds only one of
 * them at a time, RAG clients (embed a query, then chat), and a sampler of the memory the
 * worker processes really hold (VmRSS from /proc, each worker with its descendants).
 */
import { readdir, readFile } from 'node:fs/promises';
import { ProcessBackend } from '../../src/backends/process/process-backend.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { cachedModel, type CachedModel } from '../support/cached-model.js';
import type { RunningGateway } from '../../src/app/server.js';
import { specForSize, type TensorType } from '../../src/gguf/index.js';
import { residentMemory } from '../../src/memory/process-memory.js';
import { estimatedBytes, testGateway } from '../support/gateway.js';
import { gatewayStatus } from '../support/records.js';

export const CHAT = 'rag-chat';
export const EMB = 'rag-embed';

export interface RagModelOptions {
  /** GGUF file sizes. */
  chatBytes: number;
  embBytes: number;
  /** Their weights' type (default q8_0). */
  tensorType?: TensorType;
  /** Context per model (total; the chat model's is shared by its slots). */
  chatCtx?: number;
  embCtx?: number;
  /** The chat model's slots. */
  chatParallel?: number;
}

export interface RagModels {
  chat: CachedModel;
  emb: CachedModel;
  models: NonNullable<ConfigInput['models']>;
}

/**
 * Generates (once, cached in the OS temp folder) the two models and their config: CPU only
 * (`gpu_layers: 0`, so a GPU on the machine cannot move memory out of the RAM measured) and
 * one thread each (llama.cpp's threads spin when the shared cores are oversubscribed).
 */
export async function ragModels(o: RagModelOptions): Promise<RagModels> {
  const [chat, emb] = await Promise.all([
    cachedModel(specForSize(o.chatBytes, { tensorType: o.tensorType ?? 'q8_0', name: 'warmgate-rag-chat', seed: 11 })),
    cachedModel(specForSize(o.embBytes, { tensorType: o.tensorType ?? 'q8_0', embedding: true, name: 'warmgate-rag-embed', seed: 12 })),
  ]);
  const models: RagModels['models'] = {
    [CHAT]: { backend: 'embedded', file: chat.path, type: 'chat', ctx: o.chatCtx ?? 512, parallel: o.chatParallel ?? 1, gpu_layers: 0, threads: 1 },
    [EMB]: { backend: 'embedded', file: emb.path, type: 'embedding', ctx: o.embCtx ?? 512, gpu_layers: 0, threads: 1 },
  };
  return { chat, emb, models };
}

/**
 * The gateway's own estimates (the figures its scheduler admits loads with): a throwaway
 * gateway with the same models, `estimatedBytes` on each of its entries.
 */
export async function gatewayEstimates(models: RagModels['models']): Promise<{ chat: number; emb: number }> {
  const gw = await testGateway({ backends: { embedded: { kind: 'embedded' } }, models, memory: { ram: 1e12, gpu: 0, reserve: 0 } });
  try {
    return { chat: await estimatedBytes(gw, CHAT), emb: await estimatedBytes(gw, EMB) };
  } finally {
    await gw.close();
  }
}

/** A budget that holds the larger model alone with room to spare, never both: max + min/2. */
export function budgetForOne(a: number, b: number): number {
  return Math.max(a, b) + Math.floor(Math.min(a, b) / 2);
}

export interface RagGateway {
  gw: RunningGateway;
  backend: ProcessBackend;
}

/**
 * `batching: false` turns the gateway's embedding micro-batching off (`window_ms: 0`): every
 * embedding request is then its own call and its own turn at the scheduler.
 */
export async function startRagGateway(models: RagModels['models'], o: { budget: number; policy: 'group' | 'fifo'; maxHoldMs?: number; batching?: boolean }): Promise<RagGateway> {
  const gw = await testGateway({
    backends: { embedded: { kind: 'embedded' } },
    models,
    memory: { ram: o.budget, gpu: 0, reserve: 0 },
    scheduler: { policy: o.policy, reconcile_s: 0, ...(o.maxHoldMs === undefined ? {} : { max_hold_ms: o.maxHoldMs }) },
    ...(o.batching === false ? { batching: { window_ms: 0 } } : {}),
  });
  const backend = gw.backends.get('embedded');
  if (!(backend instanceof ProcessBackend)) throw new Error('the embedded backend is not a ProcessBackend');
  return { gw, backend };
}

/** Parent of every process (from /proc/<pid>/stat), to find a worker's descendants. */
async function parents(): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const names = await readdir('/proc').catch(() => [] as string[]);
  await Promise.all(names.filter((n) => /^\d+$/.test(n)).map(async (n) => {
    try {
      const stat = await readFile(`/proc/${n}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.set(Number(n), ppid);
    } catch {
      // gone meanwhile
    }
  }));
  return out;
}

export interface ResidentSample {
  /** Sum of the RSS of every live worker and its descendants. */
  bytes: number;
  /** Model of each live worker (pid -> model). */
  workers: Map<number, string>;
}

/**
 * Samples what the workers really hold: every live process of the backend (loading,
 * serving or stopping) plus its descendants (node-llama-cpp tests its binary in a child
 * process), VmRSS summed. Keeps the peak, the count, and every worker pid ever seen.
 */
export class ResidentSampler {
  readonly #backend: ProcessBackend;
  readonly seen = new Map<number, string>();
  peak = 0;
  samples = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<ResidentSample> | undefined;
  #error: unknown;

  constructor(backend: ProcessBackend) {
    this.#backend = backend;
  }

  async sample(): Promise<ResidentSample> {
    const workers = this.#backend.pids();
    const tree = new Set(workers.keys());
    if (workers.size > 0) {
      const ppid = await parents();
      let grew = true;
      while (grew) {
        grew = false;
        for (const [pid, parent] of ppid) {
          if (tree.has(parent) && !tree.has(pid)) {
            tree.add(pid);
            grew = true;
          }
        }
      }
    }
    const sizes = await Promise.all([...tree].map(async (pid) => (await residentMemory(pid)).rss));
    const bytes = sizes.reduce((a, b) => a + b, 0);
    for (const [pid, model] of workers) this.seen.set(pid, model);
    this.peak = Math.max(this.peak, bytes);
    this.samples++;
    return { bytes, workers };
  }

  /** Samples every `ms` (one at a time: a slow read skips a tick rather than piling up). */
  start(ms: number): void {
    this.#timer = setInterval(() => {
      if (this.#inFlight) return;
      this.#inFlight = this.sample().catch((err: unknown) => {
        this.#error ??= err;
        return { bytes: 0, workers: new Map() };
      }).finally(() => {
        this.#inFlight = undefined;
      });
    }, ms);
  }

  /** Stops the interval; rethrows a sampling error rather than reporting a peak that missed samples. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#inFlight;
    if (this.#error) throw this.#error;
  }
}

export interface Timed {
  kind: 'embed' | 'chat';
  status: number;
  ms: number;
  body: any;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

type Step = { kind: 'embed' | 'chat'; query: string; context: string };

/**
 * A user's requests: `rounds` questions, each "embed the query (unique, so the embedding
 * cache cannot answer it), then chat with the retrieved context". Prompts are short: the
 * chat's cost is then mostly its load, as with small max_tokens in a real RAG pipeline
 * whose answers are cut short. A user who joins `midQuestion` has fetched its first
 * question's embedding before the run: it starts with that question's chat.
 */
function steps(user: number, rounds: number, midQuestion: boolean): Step[] {
  const out: Step[] = [];
  for (let r = 0; r < rounds; r++) {
    const query = `what is part ${user * 1000 + r}?`;
    if (!(midQuestion && r === 0)) out.push({ kind: 'embed', query, context: '' });
    out.push({ kind: 'chat', query, context: `doc ${user}.${r}` });
  }
  return out;
}

async function send(url: string, step: Step, maxTokens: number): Promise<Timed> {
  const t0 = performance.now();
  const r = step.kind === 'embed'
    ? await post(`${url}/v1/embeddings`, { model: EMB, input: step.query })
    : await post(`${url}/v1/chat/completions`, {
      model: CHAT, max_tokens: maxTokens, temperature: 0,
      messages: [{ role: 'user', content: `[${step.context}] ${step.query}` }],
    });
  return { kind: step.kind, status: r.status, ms: performance.now() - t0, body: r.body };
}

export interface RagRun {
  results: Timed[];
  wallMs: number;
}

/**
 * Requests the scheduler has taken in so far (granted, rejected or waiting), and whether an
 * embedding call is already out: the gateway then gathers further embeddings into the
 * next batch until that call returns, so they reach the scheduler only later.
 */
async function admitted(url: string): Promise<{ count: number; embedBusy: boolean }> {
  const st = await gatewayStatus(url);
  const emb = st.models.find((m) => m.name === EMB);
  return {
    count: st.counters.grants + st.counters.rejections + st.models.reduce((n, m) => n + m.queued, 0),
    embedBusy: (emb?.queued ?? 0) + (emb?.inFlight ?? 0) > 0,
  };
}

/**
 * `users` clients, each sending its next request as soon as the last one is answered.
 * Users are out of phase, as independent users are: every other user joins mid-question
 * (its first request is a chat), and users join one at a time, each once the gateway has
 * queued the previous user's first request, so the first arrivals are "embed, chat, embed,
 * chat, ..." in that order (not a burst of embeddings that one micro-batch would merge).
 * Even users send `2 * rounds` requests, odd ones one fewer.
 * `after` sees every response; it runs beside the user's next request, not before it.
 */
export async function ragMix(url: string, o: { users: number; rounds: number; maxTokens: number; batching?: boolean; after: (t: Timed) => Promise<void> | void }): Promise<RagRun> {
  const results: Timed[] = [];
  const observers: Array<Promise<void>> = [];
  let failure: { err: unknown } | undefined;
  const t0 = performance.now();
  const user = async (u: number, first: (p: Promise<Timed>) => void) => {
    for (const [i, step] of steps(u, o.rounds, u % 2 === 1).entries()) {
      const pending = send(url, step, o.maxTokens);
      if (i === 0) first(pending);
      const t = await pending;
      results.push(t);
      // Settled at once (no unhandled rejection while the others run); rethrown at the end.
      observers.push(Promise.resolve().then(() => o.after(t)).then(() => undefined, (err: unknown) => {
        failure ??= { err };
      }));
      if (t.status !== 200) return;
    }
  };
  const users: Array<Promise<void>> = [];
  for (let u = 0; u < o.users; u++) {
    const before = await admitted(url);
    const embedFirst = u % 2 === 0;
    let answered = false;
    users.push(user(u, (p) => void p.then(() => (answered = true), () => (answered = true))));
    // Bounded polling of the gateway's status until it has this user's first request (an
    // embedding behind one already out is held in the next batch: nothing to wait for).
    if (embedFirst && before.embedBusy && o.batching !== false) continue;
    for (let polls = 0; !answered && (await admitted(url)).count <= before.count; polls++) {
      if (polls > 2_000) throw new Error(`user ${u}'s first request never reached the scheduler`);
    }
  }
  await Promise.all(users);
  const wallMs = performance.now() - t0;
  await Promise.all(observers);
  if (failure) throw failure.err;
  return { results, wallMs };
}
