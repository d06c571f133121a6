/**
 * `npm run bench -- estimate [--json] [--sizes 50MB,300MB,1GB] [--ctx 512,4096] [--type f16|q8_0|q4_0|f32] [--mmap auto|on|off]`:
 * estimated vs measured RAM of generated models. Each case loads the model in a fresh child
 * process (CPU; mmap as the estimate chooses it, or forced), creates the context, runs one
 * tiny inference and reads its RSS (anonymous and file-backed apart); the estimate is
 * `estimateFootprint(...).ram.bytes` plus the measured runtime baseline, and includes the
 * copies this CPU's kernels make of repacked weights.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseBytes } from '../src/config/units.js';
import { specForSize, TENSOR_TYPES, writeModel, type TensorType } from '../src/gguf/index.js';
import { estimateFootprint } from '../src/memory/estimate.js';
import { runtimeKernels } from '../src/memory/runtime-kernels.js';
import { measureRss, runtimeBaselineBytes } from '../src/memory/measure.js';
import type { BenchOptions, BenchResult } from './run.js';

interface Case {
  size_bytes: number;
  ctx: number;
  mmap: boolean;
  repacked_bytes: number;
  estimated_bytes: number;
  measured_bytes: number;
  measured_anon_bytes: number;
  measured_file_bytes: number;
  load_ms: number;
  error_pct: number;
}

const MMAP = { auto: undefined, on: true, off: false } as const;

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const { values } = parseArgs({
    args: opts.args,
    options: {
      sizes: { type: 'string', default: '50MB,300MB,1GB' }, ctx: { type: 'string', default: '512,4096' },
      type: { type: 'string', default: 'f16' }, mmap: { type: 'string', default: 'auto' },
    },
  });
  const sizes = values.sizes.split(',').map((s) => parseBytes(s) ?? fail(`bad size ${s}`));
  const contexts = values.ctx.split(',').map((c) => (/^\d+$/.test(c) ? Number(c) : fail(`bad context size ${c}`)));
  const mmapFlag = values.mmap in MMAP ? MMAP[values.mmap as keyof typeof MMAP] : fail(`bad --mmap ${values.mmap} (auto, on or off)`);
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
        const estimate = await estimateFootprint(file, { ctx, mmap: mmapFlag });
        const measured = await measureRss({ file, ctx, mmap: estimate.mmap });
        const estimated = estimate.ram.bytes + baseline;
        const c: Case = {
          size_bytes: size, ctx, mmap: estimate.mmap, repacked_bytes: estimate.repack.bytes, estimated_bytes: estimated,
          measured_bytes: measured.rss, measured_anon_bytes: measured.anon, measured_file_bytes: measured.file, load_ms: measured.loadMs,
          error_pct: round1(((estimated - measured.rss) / measured.rss) * 100),
        };
        opts.log(`${mb(size).padStart(9)} ctx ${String(ctx).padStart(5)} mmap ${estimate.mmap ? 'on ' : 'off'}: estimated ${mb(estimated)} (repacked ${mb(estimate.repack.bytes)}), measured ${mb(measured.rss)} (anon ${mb(measured.anon)}, file ${mb(measured.file)}), load ${measured.loadMs} ms, error ${c.error_pct}%`);
        cases.push(c);
      }
      await rm(file, { force: true });
    }
    return {
      tensor_type: tensorType,
      cpu_kernels: runtimeKernels('embedded'),
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
