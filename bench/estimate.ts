/**
 * `npm run bench -- estimate [--json] [--sizes 50MB,300MB,1GB] [--ctx 512,4096] [--type f16|q8_0|f32]`:
 * estimated vs measured RAM of generated models. Each case loads the model in a fresh child
 * process (mmap, CPU), creates the context, runs one tiny inference and reads its RSS; the
 * estimate is `estimateFootprint(...).ram.bytes` plus the measured runtime baseline.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseBytes } from '../src/config/units.js';
import { specForSize, TENSOR_TYPES, writeModel, type TensorType } from '../src/gguf/index.js';
import { estimateFootprint } from '../src/memory/estimate.js';
import { measureRss, runtimeBaselineBytes } from '../src/memory/measure.js';
import type { BenchOptions, BenchResult } from './run.js';

interface Case {
  size_bytes: number;
  ctx: number;
  estimated_bytes: number;
  measured_bytes: number;
  error_pct: number;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const { values } = parseArgs({
    args: opts.args,
    options: { sizes: { type: 'string', default: '50MB,300MB,1GB' }, ctx: { type: 'string', default: '512,4096' }, type: { type: 'string', default: 'f16' } },
  });
  const sizes = values.sizes.split(',').map((s) => parseBytes(s) ?? fail(`bad size ${s}`));
  const contexts = values.ctx.split(',').map((c) => (/^\d+$/.test(c) ? Number(c) : fail(`bad context size ${c}`)));
  const tensorType = (TENSOR_TYPES as readonly string[]).includes(values.type) ? (values.type as TensorType) : fail(`bad --type ${values.type}`);

  const dir = await mkdtemp(join(tmpdir(), 'warmgate-bench-estimate-'));
  try {
    const baseline = await runtimeBaselineBytes();
    opts.log(`runtime baseline (node + node-llama-cpp + getLlama): ${mb(baseline)}`);
    const cases: Case[] = [];
    for (const size of sizes) {
      const file = join(dir, `model-${size}.gguf`);
      await writeModel(file, specForSize(size, { tensorType, ctx: Math.max(...contexts) }));
      for (const ctx of contexts) {
        const [estimate, measured] = [await estimateFootprint(file, { ctx }), await measureRss({ file, ctx })];
        const estimated = estimate.ram.bytes + baseline;
        const c: Case = { size_bytes: size, ctx, estimated_bytes: estimated, measured_bytes: measured.rss, error_pct: round1(((estimated - measured.rss) / measured.rss) * 100) };
        opts.log(`${mb(size).padStart(9)} ctx ${String(ctx).padStart(5)}: estimated ${mb(estimated)}, measured ${mb(measured.rss)}, error ${c.error_pct}%`);
        cases.push(c);
      }
      await rm(file, { force: true });
    }
    return {
      tensor_type: tensorType,
      runtime_baseline_bytes: baseline,
      cases,
      max_error_pct: Math.max(...cases.map((c) => Math.abs(c.error_pct))),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function fail(message: string): never {
  throw new Error(`bench estimate: ${message}`);
}
