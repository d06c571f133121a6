import type { Config } from '../config/schema.js';
import { contextOf, type ProcessBackend } from '../backends/process/process-backend.js';
import { estimateFootprint, loadInsights } from '../memory/estimate.js';
import { runtimeOverheadBytes } from '../memory/runtime-kernels.js';
import { probeSystemMemory } from '../memory/system.js';
import type { ModelEntry } from '../models/model-entry.js';
import { RAM_POOL, type Footprint } from '../scheduler/index.js';

/** The GPU pool's name; one GPU is scheduled (the first the system reports). */
export const GPU_POOL = 'gpu0';

/** Ollama reports a model's file size; its KV cache and buffers come on top (replaced by /api/ps after load). */
const OLLAMA_OVERHEAD = 1.15;

/**
 * Budgets per memory pool: from config, else what the system has free now minus the
 * reserve (measured once at start, before the gateway loads anything).
 */
export async function detectBudgets(memory: Config['memory']): Promise<Record<string, number>> {
  const budgets: Record<string, number> = {};
  const needProbe = memory.ram === undefined || memory.gpu === undefined;
  const sys = needProbe ? await probeSystemMemory() : undefined;
  budgets[RAM_POOL] = memory.ram ?? Math.max(0, (sys?.ramAvailable ?? 0) - memory.reserve);
  const gpu = sys?.gpus[0];
  const gpuBytes = memory.gpu ?? (gpu ? Math.max(0, (gpu.vramFree ?? gpu.vramTotal) - memory.reserve) : undefined);
  if (gpuBytes !== undefined && gpuBytes > 0) budgets[GPU_POOL] = gpuBytes;
  return budgets;
}

/**
 * A model's footprint before its first load, in the scheduler's terms. Process backends:
 * node-llama-cpp's GGUF estimate for the pinned context and slots, with the copies the
 * process's CPU kernels make of repacked weights and its mmap choice (both from
 * `ProcessBackend.loadSettings`, as the start will use them), plus the runtime's own RSS
 * (the embedded worker is a node process). Ollama: the size it lists, plus overhead.
 */
export async function estimateEntry(entry: ModelEntry, withGpu: boolean): Promise<Footprint> {
  const file = entry.config.file;
  if (!file) {
    const listed = (await entry.backend.catalog()).find((m) => m.name === entry.upstream || m.model === entry.upstream);
    return { totalBytes: Math.round((listed?.size ?? 0) * OLLAMA_OVERHEAD) };
  }
  const parallel = entry.config.parallel;
  // The command's context (-c / --ctx) is the total, shared by the slots.
  // llama-server allocates the logits output buffer (n_vocab x tokens) for embedding requests
  // too, so its embedding models are estimated as full contexts; the embedded worker's are not.
  const llamaServer = entry.backend.kind === 'llama-server';
  const embedding = entry.type === 'embedding' && !llamaServer;
  const settings = await (entry.backend as ProcessBackend).loadSettings(entry);
  const opts = { ctx: Math.max(1, Math.floor(contextOf(entry) / parallel)), parallel, embedding, ...settings };
  const insights = await loadInsights(file);
  const cpu = await estimateFootprint(insights, opts);
  const runtime = await runtimeOverheadBytes(llamaServer ? 'llama-server' : 'embedded');
  const footprint: Footprint = { totalBytes: cpu.totalBytes + runtime };
  if (!withGpu) return footprint;
  // The per-layer split moves a layer's weights and KV to the GPU; its repacked copy stays counted in RAM (errs high).
  const full = await estimateFootprint(insights, { ...opts, gpuLayers: cpu.layers });
  const offloadable = cpu.perLayer * cpu.layers;
  return {
    ...footprint,
    gpu: { pool: GPU_POOL, layers: cpu.layers, offloadableBytes: offloadable, overheadBytes: Math.max(0, full.gpu.bytes - offloadable) },
  };
}
