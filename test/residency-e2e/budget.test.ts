import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayStatus } from '../support/records.js';
import {
  budgetForOne, CHAT, EMB, gatewayEstimates, ragMix, ragModels, ResidentSampler, startRagGateway,
  type RagGateway, type RagModels,
} from './rag-rig.js';

/**
 * Issue 4: real generated models on the embedded worker backend, under a RAM budget that
 * holds the chat model or the embedding model, never both. A RAG mix (embed, then chat)
 * from several users must all succeed, with what the workers really hold (VmRSS, sampled
 * all along) never above the budget, and with few swaps.
 */

const USERS = 4;
const ROUNDS = 3;
const MAX_TOKENS = 4;

describe('residency under a RAM budget that holds one model, on real workers', () => {
  let models: RagModels;
  let estimates: { chat: number; emb: number };
  let budget: number;
  let rig: RagGateway | undefined;

  beforeAll(async () => {
    models = await ragModels({ chatBytes: 200e6, embBytes: 120e6 });
    estimates = await gatewayEstimates(models.models);
    budget = budgetForOne(estimates.chat, estimates.emb);
  });

  afterAll(async () => {
    await rig?.gw.close();
  });

  it('serves a RAG mix with the measured resident memory within budget, swapping once per phase', async () => {
    expect(Math.max(estimates.chat, estimates.emb)).toBeLessThanOrEqual(budget);
    expect(budget).toBeLessThan(estimates.chat + estimates.emb);
    rig = await startRagGateway(models.models, { budget, policy: 'group' });
    const { gw, backend } = rig;

    // Every load the backend is asked for, with the process it started.
    const loads: Array<{ model: string; pid: number | undefined }> = [];
    const load = backend.load.bind(backend);
    backend.load = async (entry, opts) => {
      const out = await load(entry, opts);
      loads.push({ model: entry.name, pid: backend.pidOf(entry.name) });
      return out;
    };

    const sampler = new ResidentSampler(backend);
    let maxWorkers = 0;
    let maxLedger = 0;
    const probe = async () => {
      const s = await sampler.sample();
      maxWorkers = Math.max(maxWorkers, s.workers.size);
      const st = await gatewayStatus(gw.url);
      for (const pool of st.pools) maxLedger = Math.max(maxLedger, pool.used);
    };
    sampler.start(50);
    let run;
    try {
      run = await ragMix(gw.url, { users: USERS, rounds: ROUNDS, maxTokens: MAX_TOKENS, after: probe });
    } finally {
      await sampler.stop();
    }
    await probe();

    // Every request succeeded, with the shape its endpoint promises.
    // Every other user joins mid-question, with a chat (see ragMix).
    expect(run.results).toHaveLength(USERS * ROUNDS * 2 - USERS / 2);
    for (const r of run.results) {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      if (r.kind === 'embed') expect(r.body.data[0].embedding.length).toBeGreaterThan(0);
      else expect(r.body.choices[0].message.role).toBe('assistant');
    }

    // Measured: the workers' real RSS, summed over every live process, never above the budget.
    expect(sampler.samples).toBeGreaterThan(50);
    expect(sampler.peak).toBeGreaterThan(0);
    expect(sampler.peak).toBeLessThanOrEqual(budget);
    expect(maxWorkers).toBe(1);
    // The ledger agrees.
    const st = await gatewayStatus(gw.url);
    expect(st.pools.find((p) => p.name === 'ram')?.budget).toBe(budget);
    expect(maxLedger).toBeGreaterThan(0);
    expect(maxLedger).toBeLessThanOrEqual(budget);

    // Loads counted = processes started; each load was a swap to the other model.
    expect(st.counters.loads).toBe(loads.length);
    expect(new Set(loads.map((l) => l.pid)).size).toBe(loads.length);
    for (const l of loads) expect(sampler.seen.get(l.pid!)).toBe(l.model);
    for (let i = 1; i < loads.length; i++) expect(loads[i].model).not.toBe(loads[i - 1].model);
    expect(loads[0].model).toBe(EMB);
    expect(loads.map((l) => l.model)).toContain(CHAT);
    expect(st.counters.evictions).toBe(loads.length - 1);
    expect(st.counters.loadFailures).toBe(0);

    // Grouping: one load per phase (embeddings, then chats: two per round), where a
    // per-request FIFO would swap for almost every one of the interleaved requests.
    expect(loads.length).toBeLessThanOrEqual(2 * ROUNDS);
    expect(loads.length * 3).toBeLessThan(run.results.length);
    expect(st.counters.reloadsAvoided).toBeGreaterThan(0);
  }, 300_000);
});
