import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessBackend } from '../../src/backends/process/process-backend.js';
import type { RunningGateway } from '../../src/app/server.js';
import { residentMemory, type ResidentMemory } from '../../src/memory/process-memory.js';
import { gatewayStatus, type GatewayStatus } from '../support/records.js';
import { gatewayEstimates, llamaGateway, llamaModels, requireLlamaServer, type ModelsConfig } from './llama-rig.js';

/**
 * Issue 5: the gateway swapping two real llama-server processes under a RAM budget that holds
 * either model but never both (sized from the gateway's own estimates: max <= budget < sum).
 * An `ollama` npm client chats with A, embeds with B, chats with A again: three loads, one
 * process at a time, the ledger within budget, and each process's measured memory within 10%
 * of the estimate the scheduler admitted it with.
 */

const A = 'swap-chat';
const B = 'swap-embed';
const TOLERANCE = 0.1;
/**
 * Requests of a few hundred tokens (contexts are 512): a full batch touches the compute
 * buffers the estimate counts, so the RSS read afterwards is what the process holds in use
 * (right after load, llama-server's one-token warm-up has touched only part of them).
 */
const passage = (topic: string) => Array.from({ length: 40 }, (_, i) => `${topic} part ${i} says things`).join(' ');

interface Load {
  model: string;
  pid: number;
  /** Live processes when the load began (a swap must have stopped the other one first). */
  liveBefore: number;
  measuredRam: number;
}

describe('the gateway swapping two real llama-server processes under a RAM budget that holds one', () => {
  let models: ModelsConfig;
  let estimates: Record<string, number>;
  let budget: number;
  let gw: RunningGateway | undefined;
  let backend: ProcessBackend;

  beforeAll(async () => {
    requireLlamaServer();
    ({ models } = await llamaModels({
      [A]: { bytes: 150e6, type: 'chat', seed: 21 },
      [B]: { bytes: 100e6, type: 'embedding', seed: 22 },
    }));
    estimates = await gatewayEstimates(models);
    budget = Math.max(estimates[A], estimates[B]) + Math.floor(Math.min(estimates[A], estimates[B]) / 2);
    ({ gw, backend } = await llamaGateway(models, { ram: budget }));
  });

  afterAll(async () => {
    await gw?.close();
  });

  it('chat A, embed B, chat A from an ollama client: three loads, one process at a time, ledger within budget, RSS within 10% of each estimate', async () => {
    expect(Math.max(estimates[A], estimates[B])).toBeLessThanOrEqual(budget);
    expect(budget).toBeLessThan(estimates[A] + estimates[B]);
    const url = gw!.url;

    // Every load the backend is asked for: how many processes were alive as it began, and the one it started.
    const loads: Load[] = [];
    const load = backend.load.bind(backend);
    backend.load = async (entry, opts) => {
      const liveBefore = backend.pids().size;
      const out = await load(entry, opts);
      loads.push({ model: entry.name, pid: backend.pidOf(entry.name)!, liveBefore, measuredRam: out.measured?.ram ?? 0 });
      return out;
    };
    // Live processes, sampled all along (synchronous reads of the backend's own table).
    let maxLive = 0;
    const sampler = setInterval(() => (maxLive = Math.max(maxLive, backend.pids().size)), 10);

    const seen: Array<{ step: string; status: GatewayStatus; proc: ResidentMemory; model: string }> = [];
    const check = async (step: string, model: string) => {
      const st = await gatewayStatus(url);
      const pid = backend.pidOf(model);
      expect(pid, `${model} is running after ${step}`).toBeDefined();
      seen.push({ step, status: st, proc: await residentMemory(pid!), model });
      maxLive = Math.max(maxLive, backend.pids().size);
      for (const pool of st.pools) expect(pool.used, `pool ${pool.name} after ${step}`).toBeLessThanOrEqual(pool.budget ?? Infinity);
      expect(st.models.filter((m) => m.state !== 'unloaded').map((m) => m.name), `resident after ${step}`).toEqual([model]);
    };

    const ollama = new Ollama({ host: url });
    const opts = { num_predict: 4, temperature: 0 };
    try {
      const first = await ollama.chat({ model: A, messages: [{ role: 'user', content: passage('manual') }], stream: false, options: opts });
      expect(first.done).toBe(true);
      expect(first.eval_count).toBeGreaterThan(0);
      expect(first.prompt_eval_count).toBeGreaterThan(256);
      await check('chat A', A);

      const embedded = await ollama.embed({ model: B, input: passage('query') });
      expect(embedded.embeddings).toHaveLength(1);
      expect(embedded.embeddings[0].length).toBeGreaterThan(0);
      await check('embed B', B);

      const again = await ollama.chat({ model: A, messages: [{ role: 'user', content: passage('guide') }], stream: false, options: opts });
      expect(again.done).toBe(true);
      await check('chat A again', A);
    } finally {
      clearInterval(sampler);
    }

    const st = await gatewayStatus(url);
    expect(st.counters.loads).toBe(3);
    expect(st.counters.evictions).toBe(2);
    expect(st.counters.loadFailures).toBe(0);
    expect(st.pools.find((p) => p.name === 'ram')?.budget).toBe(budget);
    expect(loads.map((l) => l.model)).toEqual([A, B, A]);
    expect(new Set(loads.map((l) => l.pid)).size).toBe(3);
    for (const l of loads) expect(l.liveBefore, `processes alive when ${l.model} began loading`).toBe(0);
    expect(maxLive).toBe(1);

    // Measured memory against the estimate each residency was admitted with: the process's RSS
    // from /proc after it served its request. Also shown: the RSS the backend measured when the
    // process turned healthy (before any request: compute buffers partly untouched) and what the
    // ledger holds (the larger of that and the estimate).
    const figures = seen.map(({ step, status: s, proc, model }, i) => {
      const m = s.models.find((x) => x.name === model)!;
      return {
        step, model, estimated: m.estimatedBytes.ram, ledger: m.measuredBytes?.ram, measuredAtLoad: loads[i].measuredRam,
        rssAfter: proc.rss, anonAfter: proc.anon, fileAfter: proc.file,
      };
    });
    console.log(JSON.stringify({ budget, estimates, figures }, null, 1));
    for (const f of figures) {
      expect(f.estimated, `${f.step}: the estimate is the gateway's own`).toBe(estimates[f.model]);
      expect(f.ledger, `${f.step}: the ledger holds the larger of measured and estimated`).toBe(Math.max(f.measuredAtLoad, f.estimated));
      expect.soft(Math.abs(f.rssAfter - f.estimated) / f.estimated, `${f.step}: RSS after the request ${f.rssAfter} (anon ${f.anonAfter}, file ${f.fileAfter}) vs estimated ${f.estimated}`).toBeLessThanOrEqual(TOLERANCE);
    }
  }, 600_000);
});
