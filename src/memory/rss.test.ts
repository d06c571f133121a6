/**
 * The RAM estimate against reality, on the machine the test runs on: a child process loads a
 * generated model with node-llama-cpp (CPU, mmap as the estimate chose it), creates the
 * context, runs one tiny inference and reports its RSS; estimate + runtime baseline must be
 * within 10% of it. Whether this CPU repacks the weights (AMX for Q8_0/F16, AVX2 for Q4_0)
 * is the estimate's business: the same assertions hold on every CPU.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultEmbeddingSpec, specForSize, writeModel } from '../gguf/index.js';
import { estimateFootprint } from './estimate.js';
import { measureRss, runtimeBaselineBytes } from './measure.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmgate-rss-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function errorPct(file: string, ctx: number, opts: { parallel?: number; embedding?: boolean } = {}): Promise<number> {
  const estimate = await estimateFootprint(file, { ctx, ...opts });
  const [baseline, measured] = await Promise.all([runtimeBaselineBytes(), measureRss({ file, ctx, mmap: estimate.mmap, ...opts })]);
  const error = ((estimate.ram.bytes + baseline - measured.rss) / measured.rss) * 100;
  console.info(`${file.split('/').at(-1)} ctx ${ctx}: estimated ${estimate.ram.bytes + baseline} (repacked ${estimate.repack.bytes}, mmap ${estimate.mmap}), measured ${measured.rss} (anon ${measured.anon}, file ${measured.file}): ${error.toFixed(1)}%`);
  return error;
}

describe('RAM estimate vs measured RSS', () => {
  it('measures a runtime baseline for node + node-llama-cpp', async () => {
    const baseline = await runtimeBaselineBytes();
    expect(baseline).toBeGreaterThan(30e6);
    expect(baseline).toBeLessThan(1e9);
  });

  it('is within 10% for a 300 MB chat model with two sequences', async () => {
    const file = join(dir, 'chat-300mb.gguf');
    await writeModel(file, specForSize(300e6, { tensorType: 'q8_0', ctx: 4096 }));
    expect(Math.abs(await errorPct(file, 2048, { parallel: 2 }))).toBeLessThan(10);
  });

  it('is within 10% for a 200 MB Q4_0 chat model, which AVX2 and AMX CPUs repack', async () => {
    const file = join(dir, 'chat-q4.gguf');
    await writeModel(file, specForSize(200e6, { tensorType: 'q4_0', ctx: 2048 }));
    expect(Math.abs(await errorPct(file, 1024))).toBeLessThan(10);
  });

  it('is within 10% for an embedding model', async () => {
    const file = join(dir, 'embed.gguf');
    await writeModel(file, { ...defaultEmbeddingSpec(), layers: 8, embd: 512, ff: 1536, heads: 8, kvHeads: 8 });
    expect(Math.abs(await errorPct(file, 2048, { embedding: true }))).toBeLessThan(10);
  });
});
