/**
 * Memory a model will take once loaded with a context: weights, KV cache and compute
 * buffers, split between GPU and RAM for a given number of offloaded layers. The figures are
 * node-llama-cpp's own (`GgufInsights`, which follows llama.cpp's allocation code); this
 * module only asks the right questions and names the parts.
 *
 * Accuracy (bench/estimate.ts, CPU, mmap): estimate + runtime baseline is within ~3% of the
 * RSS of a process that loaded the model and ran one tiny inference. Two effects that
 * GgufInsights leaves out roughly cancel, so no correction is applied: loading adds ~10-30 MB
 * of its own (vocabulary, ggml contexts, JS), and the compute and logits buffers are
 * allocated in full but only touched as large batches run.
 */
import { GgmlType, GgufInsights, readGgufFileInfo } from 'node-llama-cpp';
import { isEmbeddingModel } from './gguf-info.js';
import { runtimeKernels } from './runtime-kernels.js';
import { planRepack, type CpuKernels, type RepackPlan } from './weight-repack.js';

export interface FootprintOptions {
  /** Context size per sequence (the pinned `num_ctx` / `-c`). */
  ctx: number;
  /** Parallel sequences (slots); each gets its own `ctx` of KV cache. Default 1. */
  parallel?: number;
  /** Layers offloaded to the GPU, 0..`layers`; default 0 (CPU only). */
  gpuLayers?: number;
  /** An embedding context (no logits); defaults to what the file says it is. */
  embedding?: boolean;
  /** Tokens evaluated per batch; default node-llama-cpp's (llama-server embeddings use 2048). */
  batchSize?: number;
  /** The runtime's CPU kernels (they decide weight repacking); default node-llama-cpp's on this CPU. */
  kernels?: CpuKernels;
  /** Weights memory-mapped; default `chooseMmap`: off exactly when some weights are repacked. */
  mmap?: boolean;
}

export interface MemoryEstimate {
  /** All weights as the file holds them, wherever they live. */
  weightsBytes: number;
  /** Copies the CPU backend makes of weights in its repacked layouts (AMX, CPU_REPACK). */
  repack: RepackPlan;
  /** Whether the weights are memory-mapped: then the file pages of repacked weights stay resident too. */
  mmap: boolean;
  /** KV cache for `ctx` × `parallel`. */
  kvCacheBytes: number;
  /** Everything else the context allocates: compute buffers, graph, logits/embeddings output. */
  computeBytes: number;
  /** weights + repacked copies (less the originals they replace without mmap) + KV cache + compute = gpu.bytes + ram.bytes. */
  totalBytes: number;
  /** Offloadable layers: the repeating blocks plus the output layer. */
  layers: number;
  /** GPU bytes one more offloaded repeating layer costs (its weights, KV and buffer share). */
  perLayer: number;
  gpu: { bytes: number; layers: number };
  /** Excludes the runtime itself; a process per model adds `runtimeBaselineBytes()`. */
  ram: { bytes: number };
}

/** Parses the GGUF header (no tensor data) into the insights the estimates are made from. */
export async function loadInsights(file: string): Promise<GgufInsights> {
  // No Llama instance: node-llama-cpp uses one without a backend, so no GPU is touched here.
  return GgufInsights.from(await readGgufFileInfo(file, { logWarnings: false }));
}

export async function estimateFootprint(source: string | GgufInsights, opts: FootprintOptions): Promise<MemoryEstimate> {
  return footprintOf(await resolve(source), opts);
}

/**
 * The most layers that fit in `freeGpuBytes` with this context (0 when not even one does,
 * `layers` when the whole model does). GPU bytes grow with every offloaded layer, so a
 * binary search over the count finds it.
 */
export async function fitGpuLayers(
  source: string | GgufInsights,
  freeGpuBytes: number,
  opts: Omit<FootprintOptions, 'gpuLayers'>,
): Promise<number> {
  const insights = await resolve(source);
  let lo = 0;
  let hi = insights.totalLayers;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (footprintOf(insights, { ...opts, gpuLayers: mid }).gpu.bytes <= freeGpuBytes) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function footprintOf(insights: GgufInsights, opts: FootprintOptions): MemoryEstimate {
  const layers = insights.totalLayers;
  const gpuLayers = Math.max(0, Math.min(layers, Math.floor(opts.gpuLayers ?? 0)));
  const { weights, kv, context } = split(insights, opts, gpuLayers);
  const gpuBytes = (n: number) => {
    const s = split(insights, opts, n);
    return s.weights.gpuVram + s.context.gpuVram;
  };
  const perLayer = layers > 2 ? (gpuBytes(layers - 1) - gpuBytes(1)) / (layers - 2) : gpuBytes(layers);
  const repack = repackOf(insights, opts.kernels ?? runtimeKernels('embedded'), gpuLayers);
  const mmap = opts.mmap ?? chooseMmap(repack);
  // Under mmap the file pages of a repacked weight were read to make the copy and stay
  // resident beside it; without mmap the copy takes the place of the original.
  const repackRam = repack.bytes - (mmap ? 0 : repack.originalBytes);
  const gpu = weights.gpuVram + context.gpuVram;
  const ram = weights.cpuRam + context.cpuRam + repackRam;
  const kvCacheBytes = kv.gpuVram + kv.cpuRam;
  const weightsBytes = weights.gpuVram + weights.cpuRam;
  // node-llama-cpp splits graph overhead by layer fraction, so figures can carry fractions of a byte.
  return {
    weightsBytes: Math.round(weightsBytes),
    repack,
    mmap,
    kvCacheBytes: Math.round(kvCacheBytes),
    computeBytes: Math.round(gpu + ram - weightsBytes - repackRam - kvCacheBytes),
    totalBytes: Math.round(gpu + ram),
    layers,
    perLayer: Math.round(perLayer),
    gpu: { bytes: Math.round(gpu), layers: gpuLayers },
    ram: { bytes: Math.round(ram) },
  };
}

/**
 * Decision: load without mmap exactly when the CPU backend repacks some weights. Their file
 * pages would otherwise stay resident beside the copies (counted twice in RSS until the
 * kernel reclaims them under pressure); without repacking, mmap keeps reloads cheap (the
 * page cache survives the process) and costs nothing extra.
 */
export function chooseMmap(repack: RepackPlan): boolean {
  return repack.tensors.AMX + repack.tensors.CPU_REPACK === 0;
}

/** Whether a load maps the weights under `setting` ('auto': `chooseMmap` for these kernels and layers). */
export async function mmapFor(source: string | GgufInsights, setting: boolean | 'auto', kernels: CpuKernels, gpuLayers = 0): Promise<boolean> {
  if (setting !== 'auto') return setting;
  return chooseMmap(repackOf(await resolve(source), kernels, gpuLayers));
}

function repackOf(insights: GgufInsights, kernels: CpuKernels, gpuLayers: number): RepackPlan {
  const info = insights.ggufFileInfo;
  const tensors = (info.fullTensorInfo ?? []).map((t) => ({ name: t.name, type: t.ggmlType, dims: t.dimensions.map(Number) }));
  return planRepack(tensors, kernels, { blockCount: insights.totalLayers - 1, gpuLayers, embedding: isEmbeddingModel(info) });
}


function split(insights: GgufInsights, opts: FootprintOptions, gpuLayers: number) {
  const weights = insights.estimateModelResourceRequirements({ gpuLayers });
  const contextFor = (kvType: GgmlType) =>
    insights.estimateContextResourceRequirements({
      contextSize: opts.ctx,
      batchSize: opts.batchSize,
      modelGpuLayers: gpuLayers,
      sequences: opts.parallel ?? 1,
      isEmbeddingContext: opts.embedding ?? isEmbeddingModel(insights.ggufFileInfo),
      // node-llama-cpp's default ("auto") turns flash attention on wherever the model supports it;
      // without it the estimate would budget a ctx × batch × heads attention matrix never allocated.
      flashAttention: insights.flashAttentionSupported,
      kvCacheKeyType: kvType,
      kvCacheValueType: kvType,
    });
  const context = contextFor(GgmlType.F16);
  // The KV cache is the one part that doubles with F32 cells instead of F16 (the default), so
  // the difference is node-llama-cpp's own KV figure, whatever the architecture (SWA, GQA...).
  const f32 = contextFor(GgmlType.F32);
  const kv = { gpuVram: f32.gpuVram - context.gpuVram, cpuRam: f32.cpuRam - context.cpuRam };
  return { weights, kv, context };
}

async function resolve(source: string | GgufInsights): Promise<GgufInsights> {
  return typeof source === 'string' ? loadInsights(source) : source;
}
