import { WarmgateError } from '../../errors.js';
import { estimateFootprint, loadInsights } from '../../memory/estimate.js';
import { runtimeOverheadBytes } from '../../memory/runtime-kernels.js';
import type { CpuKernels } from '../../memory/weight-repack.js';
import type { Footprint } from '../../scheduler/index.js';
import type { BackendModel } from '../backend.js';

/** Default context when neither the model nor the GGUF says otherwise. */
const DEFAULT_CTX = 4096;

/** The context a model's process starts with: the total (`-c`), shared by its slots. */
export function contextOf(entry: BackendModel): number {
  return entry.config.ctx ?? entry.config.pin.num_ctx ?? DEFAULT_CTX;
}

/**
 * A process model's footprint before its first load, in the scheduler's terms:
 * node-llama-cpp's GGUF estimate for the pinned context and slots, with the copies the
 * process's CPU kernels make of repacked weights and its mmap choice (`settings`, as the
 * start will use them), plus the runtime's own RSS (the embedded worker is a node process).
 */
export async function processFootprint(
  entry: BackendModel,
  opts: { runtime: 'embedded' | 'llama-server'; settings: { kernels: CpuKernels; mmap: boolean | 'auto' }; gpuPool: string | undefined },
): Promise<Footprint> {
  const file = modelFile(entry);
  const parallel = entry.config.parallel;
  // llama-server allocates the logits output buffer (n_vocab x tokens) for embedding requests
  // too, so its embedding models are estimated as full contexts; the embedded worker's are not.
  const embedding = entry.type === 'embedding' && opts.runtime !== 'llama-server';
  // `auto` is left to the estimate, which decides it from the GGUF it has read anyway.
  const { kernels, mmap } = opts.settings;
  const estimateOpts = { ctx: Math.max(1, Math.floor(contextOf(entry) / parallel)), parallel, embedding, kernels, mmap: mmap === 'auto' ? undefined : mmap };
  const insights = await loadInsights(file);
  const cpu = await estimateFootprint(insights, estimateOpts);
  const runtime = await runtimeOverheadBytes(opts.runtime);
  const footprint: Footprint = { totalBytes: cpu.totalBytes + runtime };
  if (!opts.gpuPool) return footprint;
  // The per-layer split moves a layer's weights and KV to the GPU; its repacked copy stays counted in RAM (errs high).
  const full = await estimateFootprint(insights, { ...estimateOpts, gpuLayers: cpu.layers });
  const offloadable = cpu.perLayer * cpu.layers;
  return {
    ...footprint,
    gpu: { pool: opts.gpuPool, layers: cpu.layers, offloadableBytes: offloadable, overheadBytes: Math.max(0, full.gpu.bytes - offloadable) },
  };
}

/** The model's GGUF file; a model without one cannot load (LOAD_FAILED, naming the key to set). */
export function modelFile(entry: BackendModel): string {
  if (!entry.config.file) throw new WarmgateError('LOAD_FAILED', `model ${entry.name} has no GGUF file (models.${entry.name}.file)`);
  return entry.config.file;
}
