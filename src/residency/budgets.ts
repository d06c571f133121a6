import type { Config } from '../config/schema.js';
import { probeSystemMemory } from '../memory/system.js';
import { RAM_POOL } from '../scheduler/index.js';

/** The GPU pool's name; one GPU is scheduled (the first the system reports). */
export const GPU_POOL = 'gpu0';

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
