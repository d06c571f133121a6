/**
 * A Q4_0 model on the embedded worker, with mmap left to the gateway (`auto`) and forced on.
 * Whether this CPU repacks Q4_0 (AVX2, ARM dot-product, AMX) decides `auto`; the assertions
 * follow the estimate's own plan, so they hold on every CPU: without mmap the weights are
 * anonymous memory and the file pages stay small, with mmap the file's pages are resident.
 * The status, the dashboard's source and /metrics show both parts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessBackend } from '../../src/backends/process/process-backend.js';
import { cachedModel, type CachedModel } from '../support/cached-model.js';
import type { RunningGateway } from '../../src/app/server.js';
import { estimateFootprint } from '../../src/memory/estimate.js';
import { testGateway } from '../support/gateway.js';
import { gatewayStatus, type GatewayStatus } from '../support/records.js';

type StatusModel = GatewayStatus['models'][number];

let model: CachedModel;
let gw: RunningGateway;

beforeAll(async () => {
  // ~66 MB: well above the worker's own file pages (node and its libraries, ~55 MB), which both processes have.
  model = await cachedModel({ layers: 8, embd: 1024, ff: 2816, heads: 8, kvHeads: 8, vocab: 8192, ctx: 1024, tensorType: 'q4_0' });
  gw = await testGateway({
    backends: { embedded: { kind: 'embedded' } },
    models: {
      auto: { backend: 'embedded', file: model.path, type: 'chat', threads: 1, ctx: 512 },
      mapped: { backend: 'embedded', file: model.path, type: 'chat', threads: 1, ctx: 512, mmap: true },
    },
  });
});
afterAll(async () => {
  await gw?.close();
});

async function load(name: string): Promise<StatusModel> {
  const res = await fetch(`${gw.url}/warmgate/models/${name}/load`, { method: 'POST' });
  expect(res.status).toBe(200);
  const status = await gatewayStatus(gw.url);
  return status.models.find((m) => m.name === name)!;
}

describe('repacked weights on the embedded worker', () => {
  it('maps the weights exactly when this CPU does not repack them; mapped, their pages are resident and charged', async () => {
    const entry = gw.registry.known().find((e) => e.name === 'auto')!;
    const backend = entry.backend as ProcessBackend;
    const plan = (await estimateFootprint(model.path, { ctx: 512, kernels: backend.loadSettings(entry).kernels })).repack;
    const maps = await backend.mapsWeights(entry);
    expect(maps).toBe(plan.names.length === 0);

    const [auto, mapped] = [await load('auto'), await load('mapped')];
    for (const m of [auto, mapped]) {
      expect(m.state).toBe('ready');
      expect(m.heldBytes.ram).toBeGreaterThanOrEqual(m.residentRam!.anon + m.residentRam!.file);
    }
    // The two processes differ only in mmap: the mapped one's file pages hold the weights.
    const fileDifference = mapped.residentRam!.file - auto.residentRam!.file;
    if (maps) expect(Math.abs(fileDifference)).toBeLessThan(model.bytes * 0.2);
    else expect(fileDifference).toBeGreaterThan(model.bytes * 0.8);
  });

  it('exports both parts to Prometheus', async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(/warmgate_model_resident_ram_bytes\{model="auto",kind="anon"\} \d+/);
    expect(text).toMatch(/warmgate_model_resident_ram_bytes\{model="mapped",kind="file"\} \d+/);
    expect(text).toMatch(/warmgate_pool_budget_bytes\{pool="ram"\} \d+/);
  });
});
