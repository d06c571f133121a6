import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GgmlType } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { EPYC_ZEN4, HASWELL_AVX2, NEOVERSE_N1, SAPPHIRE_RAPIDS } from '../../test/fixtures/cpuinfo.js';
import type { ModelSpecInput } from '../gguf/index.js';
import { planModel } from '../gguf/layout.js';
import { parseCpuInfo } from './cpu-identity.js';
import { extraBufferFor, kernelsFor, NO_REPACK, planRepack, type WeightTensor } from './weight-repack.js';

const x86 = (text: string) => parseCpuInfo(text, 'x86_64');
const sapphire = kernelsFor(x86(SAPPHIRE_RAPIDS));
const zen4 = kernelsFor(x86(EPYC_ZEN4));
const haswell = kernelsFor(x86(HASWELL_AVX2));
const neoverse = kernelsFor(parseCpuInfo(NEOVERSE_N1, 'aarch64'));

const matrix = (type: GgmlType, cols: number, rows: number, name = 'blk.0.ffn_up.weight'): WeightTensor => ({ name, type, dims: [cols, rows] });

/** The generated model's tensors, as the GGUF lists them. */
function tensorsOf(spec: ModelSpecInput): WeightTensor[] {
  return planModel(spec).tensors.map((t) => ({ name: t.name, type: t.ggmlType as GgmlType, dims: t.dims }));
}

describe('CPU kernels from /proc/cpuinfo', () => {
  it('finds AMX on Sapphire Rapids, unless the runtime was built without it', () => {
    expect(sapphire).toEqual({ amx: true, avx2: true, avx512: true, dotprod: false, i8mm: false });
    expect(kernelsFor(x86(SAPPHIRE_RAPIDS), { amx: false }).amx).toBe(false);
  });

  it('finds AVX-512 without AMX on Zen 4, AVX2 alone on Haswell, dot-product on Neoverse N1', () => {
    expect(zen4).toEqual({ amx: false, avx2: true, avx512: true, dotprod: false, i8mm: false });
    expect(haswell).toEqual({ amx: false, avx2: true, avx512: false, dotprod: false, i8mm: false });
    expect(neoverse).toEqual({ amx: false, avx2: false, avx512: false, dotprod: true, i8mm: false });
  });
});

describe('which extra buffer takes a weight', () => {
  it('AMX copies Q8_0 with a 4-byte sum per block, and F16 as it is', () => {
    expect(extraBufferFor(matrix(GgmlType.Q8_0, 256, 256), sapphire)).toEqual({ buffer: 'AMX', bytes: (256 / 32) * 256 * 38 });
    expect(extraBufferFor(matrix(GgmlType.F16, 256, 256), sapphire)).toEqual({ buffer: 'AMX', bytes: 256 * 256 * 2 });
    expect(extraBufferFor(matrix(GgmlType.Q4_K, 512, 64), sapphire)).toEqual({ buffer: 'AMX', bytes: 2 * 64 * (144 + 4) });
  });

  it('AMX needs rows in multiples of 32; Q4_0 then falls back to CPU_REPACK, Q8_0 to nothing on x86', () => {
    expect(extraBufferFor(matrix(GgmlType.Q4_0, 256, 40), sapphire)).toEqual({ buffer: 'CPU_REPACK', bytes: 8 * 40 * 18 });
    expect(extraBufferFor(matrix(GgmlType.Q8_0, 256, 40), sapphire)).toBeUndefined();
  });

  it('AVX2 repacks Q4_0 in rows of 8 and leaves Q8_0 and F16 alone', () => {
    expect(extraBufferFor(matrix(GgmlType.Q4_0, 256, 16), haswell)).toEqual({ buffer: 'CPU_REPACK', bytes: 8 * 16 * 18 });
    expect(extraBufferFor(matrix(GgmlType.Q4_0, 256, 12), haswell)).toBeUndefined();
    expect(extraBufferFor(matrix(GgmlType.Q8_0, 256, 256), zen4)).toBeUndefined();
    expect(extraBufferFor(matrix(GgmlType.F16, 256, 256), zen4)).toBeUndefined();
  });

  it('Q2_K needs AVX-512', () => {
    expect(extraBufferFor(matrix(GgmlType.Q2_K, 256, 8), zen4)?.buffer).toBe('CPU_REPACK');
    expect(extraBufferFor(matrix(GgmlType.Q2_K, 256, 8), haswell)).toBeUndefined();
  });

  it('ARM dot-product repacks Q8_0 and Q4_0 in rows of 4', () => {
    expect(extraBufferFor(matrix(GgmlType.Q8_0, 256, 4), neoverse)).toEqual({ buffer: 'CPU_REPACK', bytes: 8 * 4 * 34 });
    expect(extraBufferFor(matrix(GgmlType.Q4_0, 256, 4), neoverse)?.buffer).toBe('CPU_REPACK');
  });

  it('never takes token embeddings, norms or vectors', () => {
    expect(extraBufferFor(matrix(GgmlType.Q4_0, 256, 256, 'token_embd.weight'), zen4)).toBeUndefined();
    expect(extraBufferFor(matrix(GgmlType.F16, 256, 256, 'blk.0.attn_norm.weight'), sapphire)).toBeUndefined();
    expect(extraBufferFor({ name: 'output_norm.weight', type: GgmlType.F16, dims: [256] }, sapphire)).toBeUndefined();
  });

  it('MoE experts (3-D) go to CPU_REPACK, never AMX', () => {
    const experts: WeightTensor = { name: 'blk.0.ffn_up_exps.weight', type: GgmlType.Q4_0, dims: [256, 64, 8] };
    expect(extraBufferFor(experts, sapphire)).toEqual({ buffer: 'CPU_REPACK', bytes: 8 * 64 * 8 * 18 });
  });
});

describe('a whole model', () => {
  const q4 = tensorsOf({ layers: 4, embd: 256, ff: 768, heads: 4, kvHeads: 2, vocab: 4096, tensorType: 'q4_0' });
  const opts = { blockCount: 4, gpuLayers: 0, embedding: false };

  it('repacks the 7 matrices of every block and the output head, whose copies replace the originals byte for byte', () => {
    const plan = planRepack(q4, zen4, opts);
    expect(plan.tensors).toEqual({ AMX: 0, CPU_REPACK: 4 * 7 + 1 });
    expect(plan.names).toContain('output.weight');
    expect(plan.names).not.toContain('token_embd.weight');
    expect(plan.bytes).toBe(plan.originalBytes);
  });

  it('leaves offloaded layers alone: the output head goes first, then the last blocks', () => {
    expect(planRepack(q4, zen4, { ...opts, gpuLayers: 1 }).tensors.CPU_REPACK).toBe(4 * 7);
    expect(planRepack(q4, zen4, { ...opts, gpuLayers: 3 }).tensors.CPU_REPACK).toBe(2 * 7);
    expect(planRepack(q4, zen4, { ...opts, gpuLayers: 5 }).tensors.CPU_REPACK).toBe(0);
  });

  it('copies a tied output head while the token embeddings stay where they are', () => {
    const tied = q4.filter((t) => t.name !== 'output.weight');
    const plan = planRepack(tied, zen4, opts);
    const untied = planRepack(q4, zen4, opts);
    expect(plan.names).toContain('output.weight');
    expect(plan.bytes).toBe(untied.bytes);
    expect(plan.originalBytes).toBe(untied.originalBytes - (4096 / 32) * 256 * 18);
  });

  it('repacks nothing on a CPU without the kernels, or for an F16 model without AMX', () => {
    expect(planRepack(q4, NO_REPACK, opts).names).toEqual([]);
    const f16 = tensorsOf({ layers: 2, embd: 256, ff: 512, heads: 4, kvHeads: 4, vocab: 4096 });
    expect(planRepack(f16, zen4, { ...opts, blockCount: 2 }).names).toEqual([]);
    expect(planRepack(f16, sapphire, { ...opts, blockCount: 2 }).tensors.AMX).toBe(2 * 7 + 1);
  });
});

describe('recorded load logs', () => {
  // Each log was recorded by bench/support/record-load-log.ts on the CPU its name says; its
  // first line carries the model spec. The plan must name exactly the tensors ggml repacked
  // and add up to the CPU_REPACK buffer it reported.
  const cases = [
    { log: 'epyc-zen5-avx512-q4_0.log', cpu: EPYC_ZEN4 },
    { log: 'epyc-zen5-avx512-q8_0.log', cpu: EPYC_ZEN4 },
    { log: 'epyc-zen5-avx512-f16.log', cpu: EPYC_ZEN4 },
  ];
  for (const { log, cpu } of cases) {
    it(`predicts ${log}`, () => {
      const text = readFileSync(join(import.meta.dirname, '../../test/fixtures/load-logs', log), 'utf8');
      const spec = JSON.parse(/model: (\{.*?\})/.exec(text)![1]) as ModelSpecInput;
      const repacked = [...text.matchAll(/repack tensor (\S+) with/g)].map((m) => m[1]);
      const reported = Number(/CPU_REPACK model buffer size =\s+([\d.]+) MiB/.exec(text)?.[1] ?? 0);
      const plan = planRepack(tensorsOf(spec), kernelsFor(x86(cpu)), { blockCount: spec.layers, gpuLayers: 0, embedding: spec.embedding ?? false });
      expect([...plan.names].sort()).toEqual([...repacked].sort());
      expect(plan.bytes / 1024 ** 2).toBeCloseTo(reported, 1);
    });
  }
});
