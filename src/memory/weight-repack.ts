/**
 * Which weights ggml's CPU backend copies into a repacked buffer, and how big the copies
 * are. llama.cpp offers each CPU-resident weight to the CPU backend's "extra" buffer types
 * first (AMX, then CPU_REPACK) and keeps it in the plain (mmapped) buffer only if none takes
 * it; a weight that is taken is read from the file once and copied, in a new layout, into
 * anonymous memory. The rules below follow the bundled llama.cpp
 * (ggml/src/ggml-cpu/amx/amx.cpp `supports_op`, amx/mmq.cpp `get_row_size`, repack.cpp
 * `ggml_repack_get_optimal_repack_type`); `test/fixtures/load-logs/` holds load logs that
 * show them at work.
 */
import { GgmlType } from 'node-llama-cpp';
import { isX86, type CpuIdentity } from './cpu-identity.js';

/** The CPU kernels a runtime runs with: what decides repacking. */
export interface CpuKernels {
  /** ggml's AMX buffer: compiled in (AMX-INT8 + AVX512-VNNI) and allowed by the OS. */
  amx: boolean;
  avx2: boolean;
  avx512: boolean;
  /** ARM dot-product and int8 matrix-multiply extensions. */
  dotprod: boolean;
  i8mm: boolean;
}

export const NO_REPACK: CpuKernels = { amx: false, avx2: false, avx512: false, dotprod: false, i8mm: false };

/**
 * The kernels a runtime picks on this CPU. node-llama-cpp loads the best of its CPU
 * variants at run time (AMX included: its `sapphirerapids` variant); a llama-server built
 * natively has them all; a `portable` one is built without AMX (`amx: false`).
 */
export function kernelsFor(cpu: CpuIdentity, opts: { amx: boolean } = { amx: true }): CpuKernels {
  const x86 = isX86(cpu.arch);
  const has = (flag: string) => cpu.flags.includes(flag);
  return {
    // ggml compiles its AMX path for AMX-INT8 with AVX512-VNNI.
    amx: opts.amx && x86 && has('amx_int8') && has('amx_tile') && has('avx512_vnni'),
    avx2: x86 && has('avx2'),
    // ggml_cpu_has_avx512(): AVX-512 Foundation.
    avx512: x86 && has('avx512f'),
    dotprod: !x86 && has('asimddp'),
    i8mm: !x86 && has('i8mm'),
  };
}

export interface WeightTensor {
  name: string;
  type: GgmlType;
  /** ggml order: dims[0] is the row length (inputs), dims[1] the row count (outputs). */
  dims: readonly number[];
}

export type ExtraBuffer = 'AMX' | 'CPU_REPACK';

export interface RepackPlan {
  /** Tensors copied into an extra buffer, by buffer. */
  tensors: Record<ExtraBuffer, number>;
  /** Their names, in file order (a tied output head is `output.weight`). */
  names: string[];
  /** Size of the copies (anonymous memory). */
  bytes: number;
  /** File bytes of the weights that were copied: never touched again after the load. */
  originalBytes: number;
}

/** Bytes per block and values per block of the types the extra buffers take. */
const BLOCKS: Partial<Record<GgmlType, { bytes: number; values: number }>> = {
  [GgmlType.F16]: { bytes: 2, values: 1 },
  [GgmlType.Q4_0]: { bytes: 18, values: 32 },
  [GgmlType.Q4_1]: { bytes: 20, values: 32 },
  [GgmlType.Q8_0]: { bytes: 34, values: 32 },
  [GgmlType.Q2_K]: { bytes: 84, values: 256 },
  [GgmlType.Q4_K]: { bytes: 144, values: 256 },
  [GgmlType.Q5_K]: { bytes: 176, values: 256 },
  [GgmlType.Q6_K]: { bytes: 210, values: 256 },
  [GgmlType.IQ4_NL]: { bytes: 18, values: 32 },
  [GgmlType.IQ4_XS]: { bytes: 136, values: 256 },
  [GgmlType.MXFP4]: { bytes: 17, values: 32 },
};

/**
 * AMX takes 2-D matrices of these types whose row count is a multiple of 32 and whose
 * row length is a multiple of `align`; `extra` bytes per block are added by its layout
 * (Q8_0 keeps a compensation sum per block, the K-quants unpacked scales).
 */
const AMX: Partial<Record<GgmlType, { align: number; extra: number }>> = {
  [GgmlType.Q4_0]: { align: 32, extra: 0 },
  [GgmlType.Q4_1]: { align: 32, extra: 0 },
  [GgmlType.Q8_0]: { align: 32, extra: 4 },
  [GgmlType.Q4_K]: { align: 256, extra: 4 },
  [GgmlType.Q5_K]: { align: 256, extra: 4 },
  [GgmlType.Q6_K]: { align: 256, extra: 0 },
  [GgmlType.IQ4_XS]: { align: 256, extra: 2 },
  [GgmlType.F16]: { align: 16, extra: 0 },
};

/** CPU_REPACK's choice: the row-count multiple it needs for this type on these kernels, if any. */
function repackRows(type: GgmlType, k: CpuKernels): number | undefined {
  switch (type) {
    case GgmlType.Q4_0: return k.avx2 || k.i8mm ? 8 : k.dotprod ? 4 : undefined;
    case GgmlType.Q4_K: return k.avx2 || k.i8mm || k.dotprod ? 8 : undefined;
    case GgmlType.Q2_K: return k.avx512 ? 8 : undefined;
    case GgmlType.Q5_K:
    case GgmlType.Q6_K: return k.i8mm || k.dotprod ? 8 : undefined;
    case GgmlType.IQ4_NL:
    case GgmlType.MXFP4: return k.avx2 ? 8 : k.dotprod ? 4 : undefined;
    case GgmlType.Q8_0: return k.i8mm || k.dotprod ? 4 : undefined;
    default: return undefined;
  }
}

/**
 * Weights that feed a matrix multiplication: every 2-D `*.weight` except the token
 * embeddings (read by row look-up) and norms; 3-D ones are MoE experts (`MUL_MAT_ID`).
 */
function multipliedWeight(t: WeightTensor): boolean {
  if (!t.name.endsWith('.weight') || t.dims.length < 2 || t.dims.length > 3) return false;
  if (t.dims.length === 3 && (t.dims[2] ?? 1) <= 1) return false;
  return !/^(token_embd|token_types|position_embd)\.|_norm\.weight$|norm\.weight$/.test(t.name);
}

/** Which extra buffer takes this weight, and the size of its copy there. */
export function extraBufferFor(t: WeightTensor, k: CpuKernels): { buffer: ExtraBuffer; bytes: number } | undefined {
  const block = BLOCKS[t.type];
  if (!block || !multipliedWeight(t)) return undefined;
  const [cols, rows] = [t.dims[0] ?? 0, t.dims[1] ?? 0];
  const matrices = t.dims[2] ?? 1;
  const blocks = (cols / block.values) * rows * matrices;
  const amx = AMX[t.type];
  if (k.amx && amx && t.dims.length === 2 && rows % 32 === 0 && cols % amx.align === 0) {
    return { buffer: 'AMX', bytes: blocks * (block.bytes + amx.extra) };
  }
  const multiple = repackRows(t.type, k);
  if (multiple !== undefined && rows % multiple === 0) return { buffer: 'CPU_REPACK', bytes: blocks * block.bytes };
  return undefined;
}

/**
 * The copies a load makes of the weights that stay on the CPU. With `gpuLayers` g the
 * output layer is offloaded first (g >= 1), then the last g - 1 blocks, as in llama.cpp. A
 * tied output head (no `output.weight`: the token embeddings serve both) is a second tensor
 * that may be copied while the embeddings stay where they are.
 */
export function planRepack(tensors: readonly WeightTensor[], k: CpuKernels, opts: { blockCount: number; gpuLayers: number; embedding: boolean }): RepackPlan {
  const plan: RepackPlan = { tensors: { AMX: 0, CPU_REPACK: 0 }, names: [], bytes: 0, originalBytes: 0 };
  const firstGpuBlock = opts.blockCount + 1 - Math.max(0, opts.gpuLayers);
  const onCpu = (name: string) => {
    const block = /^blk\.(\d+)\./.exec(name);
    return block ? Number(block[1]) < firstGpuBlock : opts.gpuLayers === 0;
  };
  const add = (t: WeightTensor, original: boolean) => {
    const extra = extraBufferFor(t, k);
    if (!extra) return;
    plan.tensors[extra.buffer]++;
    plan.names.push(t.name);
    plan.bytes += extra.bytes;
    if (original) plan.originalBytes += fileBytes(t);
  };
  for (const t of tensors) if (onCpu(t.name)) add(t, true);
  const tiedHead = !opts.embedding && !tensors.some((t) => t.name === 'output.weight');
  const embeddings = tensors.find((t) => t.name === 'token_embd.weight');
  if (tiedHead && embeddings && opts.gpuLayers === 0) add({ ...embeddings, name: 'output.weight' }, false);
  return plan;
}

function fileBytes(t: WeightTensor): number {
  const block = BLOCKS[t.type]!;
  return (t.dims.reduce((a, b) => a * b, 1) / block.values) * block.bytes;
}

/** The weight types each extra buffer takes on these kernels (for `warmgate doctor`). */
export function repackedTypes(k: CpuKernels): Record<ExtraBuffer, string[]> {
  const out: Record<ExtraBuffer, string[]> = { AMX: [], CPU_REPACK: [] };
  for (const type of Object.keys(BLOCKS).map(Number) as GgmlType[]) {
    // A matrix every rule accepts the shape of: 256 × 256.
    const extra = extraBufferFor({ name: 'blk.0.ffn_up.weight', type, dims: [256, 256] }, k);
    if (extra) out[extra.buffer].push(GgmlType[type]);
  }
  return out;
}
