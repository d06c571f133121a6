/**
 * `npm run bench -- thrash [--json] [--users 10] [--rounds 2] [--max-tokens 8] [--chat-mb 200]
 *   [--embed-mb 120] [--max-hold-ms 10000] [--sample-ms 50] [--batching off|on] [--only group|fifo] [--type q8_0|q4_0|f16]`
 *
 * The RAG pattern that makes a naive runtime thrash: `users` clients, each doing `rounds`
 * questions of "embed the query, then chat" (`max_tokens` small, short prompts) against
 * the embedded worker backend, with a generated Q8_0 chat model and embedding model and a
 * RAM budget that holds either one but not both (max <= budget < sum, from the gateway's
 * own estimates). Users are out of phase, as independent users are: every other user joins
 * mid-question (with that question's chat), and users join one at a time in that order,
 * so the first arrivals are "embed, chat, embed, chat, ..." (see `ragMix`).
 *
 * Run twice, a fresh gateway each: `scheduler.policy: group`, then `fifo` (swap whenever
 * the oldest waiter wants the other model: what Ollama and llama-swap do). For each:
 * - loads: `/warmgate/status` counters.loads;
 * - p50_ms, p95_ms: per-request latency as the client sees it (embeds and chats together);
 * - throughput_rps: requests / wall time of the run;
 * - peak_resident_bytes: the highest sum of VmRSS over every live worker process (and its
 *   descendants), sampled every `sample-ms` and after every response; budget_bytes beside it.
 * Then load_ratio = fifo loads / group loads and p95_ratio = fifo p95 / group p95
 * (targets: >= 5 and >= 2, with peak_resident_bytes <= budget_bytes in both runs).
 *
 * `--batching off` (the default) sets `batching.window_ms: 0` in BOTH runs, so the two
 * differ only in the scheduler's ordering. With the gateway's embedding micro-batching on
 * (`--batching on`, the product default), embeddings that arrive while one embedding call
 * is out (waiting for its turn or its load) are held and merged into the next call, so at
 * most one embedding turn waits at the scheduler: that groups the embeddings under fifo
 * too, and fifo no longer thrashes per request (it swaps about twice per embedding batch).
 *
 * A load here is a worker process start (node, node-llama-cpp, model, warm-up): seconds on
 * a small shared machine, whatever the model size, so `rounds` is kept low to bound fifo's
 * run (a load for nearly every one of its ~users x rounds x 2 requests).
 */
import { parseArgs } from 'node:util';
import { TENSOR_TYPES, type TensorType } from '../src/gguf/index.js';
import { gatewayStatus } from '../test/support/records.js';
import {
  budgetForOne, gatewayEstimates, ragMix, ragModels, ResidentSampler, startRagGateway, type RagModels, type Timed,
} from '../test/residency-e2e/rag-rig.js';
import type { BenchOptions, BenchResult } from './run.js';
import { percentiles, round } from './util.js';

interface Settings {
  users: number;
  rounds: number;
  maxTokens: number;
  chatMb: number;
  embedMb: number;
  maxHoldMs: number;
  sampleMs: number;
  only?: 'group' | 'fifo';
  batching: boolean;
  tensorType: TensorType;
}

function settings(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      users: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '2' },
      'max-tokens': { type: 'string', default: '8' },
      'chat-mb': { type: 'string', default: '200' },
      'embed-mb': { type: 'string', default: '120' },
      'max-hold-ms': { type: 'string', default: '10000' },
      'sample-ms': { type: 'string', default: '50' },
      /** The gateway's embedding micro-batching in both runs: off (window_ms 0) or on (the default config). */
      batching: { type: 'string', default: 'off' },
      /** Run one policy only (to study it); the ratios need both. */
      only: { type: 'string' },
      /** The models' weights: q8_0 (AMX repacks it), q4_0 (AVX2 and ARM repack it), f16. */
      type: { type: 'string', default: 'q8_0' },
    },
  });
  if (values.batching !== 'on' && values.batching !== 'off') throw new Error('--batching takes on or off');
  if (!(TENSOR_TYPES as readonly string[]).includes(values.type)) throw new Error(`--type takes one of ${TENSOR_TYPES.join(', ')}`);
  if (values.only !== undefined && values.only !== 'group' && values.only !== 'fifo') throw new Error('--only takes group or fifo');
  const s: Omit<Settings, 'only' | 'batching' | 'tensorType'> = {
    users: Number(values.users), rounds: Number(values.rounds), maxTokens: Number(values['max-tokens']),
    chatMb: Number(values['chat-mb']), embedMb: Number(values['embed-mb']), maxHoldMs: Number(values['max-hold-ms']), sampleMs: Number(values['sample-ms']),
  };
  const only = values.only as Settings['only'];
  for (const [k, v] of Object.entries(s)) if (!Number.isInteger(v) || v < 0 || (v === 0 && k !== 'maxHoldMs')) throw new Error(`--${k} must be a positive integer`);
  return { ...s, only, batching: values.batching === 'on', tensorType: values.type as TensorType };
}

interface PolicyRun {
  requests: number;
  loads: number;
  evictions: number;
  reloads_avoided: number;
  p50_ms: number;
  p95_ms: number;
  embed_p95_ms: number;
  chat_p95_ms: number;
  throughput_rps: number;
  wall_s: number;
  peak_resident_bytes: number;
  peak_ledger_bytes: number;
  max_live_workers: number;
  rss_samples: number;
  budget_bytes: number;
}

async function runPolicy(policy: 'group' | 'fifo', models: RagModels, budget: number, s: Settings, log: (l: string) => void): Promise<PolicyRun> {
  const { gw, backend } = await startRagGateway(models.models, { budget, policy, maxHoldMs: s.maxHoldMs, batching: s.batching });
  const sampler = new ResidentSampler(backend);
  let maxWorkers = 0;
  let peakLedger = 0;
  let done = 0;
  const total = s.users * s.rounds * 2 - Math.floor(s.users / 2);
  try {
    sampler.start(s.sampleMs);
    const after = async (t: Timed) => {
      if (t.status !== 200) throw new Error(`${policy}: a ${t.kind} request failed with ${t.status}: ${JSON.stringify(t.body)}`);
      const sample = await sampler.sample();
      maxWorkers = Math.max(maxWorkers, sample.workers.size);
      const st = await gatewayStatus(gw.url);
      for (const pool of st.pools) peakLedger = Math.max(peakLedger, pool.used);
      if (++done % s.users === 0) log(`  ${policy}: ${done}/${total} requests, ${st.counters.loads} loads`);
    };
    let run;
    try {
      run = await ragMix(gw.url, { users: s.users, rounds: s.rounds, maxTokens: s.maxTokens, batching: s.batching, after });
    } finally {
      await sampler.stop();
    }
    const st = await gatewayStatus(gw.url);
    const ms = (kind?: Timed['kind']) => run.results.filter((r) => !kind || r.kind === kind).map((r) => r.ms);
    const [p50, p95] = percentiles(ms(), [50, 95]);
    return {
      requests: run.results.length,
      loads: st.counters.loads,
      evictions: st.counters.evictions,
      reloads_avoided: st.counters.reloadsAvoided,
      p50_ms: Math.round(p50),
      p95_ms: Math.round(p95),
      embed_p95_ms: Math.round(percentiles(ms('embed'), [95])[0]),
      chat_p95_ms: Math.round(percentiles(ms('chat'), [95])[0]),
      throughput_rps: round(run.results.length / (run.wallMs / 1000)),
      wall_s: round(run.wallMs / 1000, 1),
      peak_resident_bytes: sampler.peak,
      peak_ledger_bytes: peakLedger,
      max_live_workers: maxWorkers,
      rss_samples: sampler.samples,
      budget_bytes: budget,
    };
  } finally {
    await gw.close();
  }
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const s = settings(opts.args);
  const models = await ragModels({ chatBytes: s.chatMb * 1e6, embBytes: s.embedMb * 1e6, tensorType: s.tensorType });
  const estimates = await gatewayEstimates(models.models);
  const budget = budgetForOne(estimates.chat, estimates.emb);
  opts.log(`models: chat ${models.chat.bytes} B, embed ${models.emb.bytes} B (Q8_0); estimates: chat ${estimates.chat} B, embed ${estimates.emb} B; budget ${budget} B`);
  opts.log(`${s.users} users x ${s.rounds} rounds (embed, then chat with max_tokens ${s.maxTokens}); max_hold_ms ${s.maxHoldMs}; embedding batching ${s.batching ? 'on' : 'off'}`);

  const runs: Partial<Record<'group' | 'fifo', PolicyRun>> = {};
  for (const policy of ['group', 'fifo'] as const) {
    if (s.only && s.only !== policy) continue;
    const r = await runPolicy(policy, models, budget, s, opts.log);
    opts.log(`${policy}: ${r.loads} loads, p95 ${r.p95_ms} ms, peak resident ${r.peak_resident_bytes} B`);
    runs[policy] = r;
  }
  const { group, fifo } = runs;
  const ratios = group && fifo ? { load_ratio: round(fifo.loads / group.loads, 2), p95_ratio: round(fifo.p95_ms / group.p95_ms, 2) } : undefined;
  return {
    users: s.users,
    rounds: s.rounds,
    max_tokens: s.maxTokens,
    max_hold_ms: s.maxHoldMs,
    embedding_batching: s.batching,
    tensor_type: s.tensorType,
    chat_model_bytes: models.chat.bytes,
    embed_model_bytes: models.emb.bytes,
    chat_estimate_bytes: estimates.chat,
    embed_estimate_bytes: estimates.emb,
    budget_bytes: budget,
    ...runs,
    ...ratios,
    targets_met: {
      ...(ratios ? { load_ratio_5x: ratios.load_ratio >= 5, p95_ratio_2x: ratios.p95_ratio >= 2 } : {}),
      peak_within_budget: Object.values(runs).every((r) => r.peak_resident_bytes <= budget),
    },
  };
}
