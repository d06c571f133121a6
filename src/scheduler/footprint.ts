import type { Footprint, GpuLayers, MeasuredBytes, PoolBytes, PoolName } from './types.js';

/** The gateway host's RAM: the pool a footprint's RAM share goes to unless it names another. */
export const RAM_POOL: PoolName = 'ram';

/** The pool this footprint's RAM share is charged to. */
export function ramPoolOf(memory: Footprint): PoolName {
  return memory.ramPool ?? RAM_POOL;
}

/**
 * Bytes per pool with `gpuLayers` layers offloaded (undefined or 0: all in RAM).
 * Rounded against the GPU: the device share is rounded up, the RAM share keeps the rest.
 */
export function bytesAt(memory: Footprint, gpuLayers: number | undefined): PoolBytes {
  const gpu = memory.gpu;
  const ram = ramPoolOf(memory);
  if (!gpu || !gpuLayers || gpu.layers === 0) return { [ram]: memory.totalBytes };
  const moved = (gpu.offloadableBytes * gpuLayers) / gpu.layers;
  return {
    [ram]: Math.max(0, memory.totalBytes - Math.floor(moved)),
    [gpu.pool]: Math.ceil(moved) + gpu.overheadBytes,
  };
}

/**
 * Layer counts worth trying, best first: all of them down to none for `'auto'`, the one
 * asked for otherwise, and `undefined` alone for a CPU-only model.
 */
export function layerChoices(memory: Footprint, preference: GpuLayers): readonly (number | undefined)[] {
  const gpu = memory.gpu;
  if (!gpu) return [undefined];
  if (preference !== 'auto') return [Math.min(preference, gpu.layers)];
  return Array.from({ length: gpu.layers + 1 }, (_, i) => gpu.layers - i);
}

/** The layer count a model gets when nothing competes with it. */
export function preferredLayers(memory: Footprint, preference: GpuLayers): number | undefined {
  return layerChoices(memory, preference)[0];
}

/** Every pool a load of this model may touch, whatever its layer count. */
export function poolsOf(memory: Footprint): readonly PoolName[] {
  return memory.gpu ? [ramPoolOf(memory), memory.gpu.pool] : [ramPoolOf(memory)];
}

/** Pools the bytes actually occupy (a load holds these while it runs). */
export function poolsHeld(bytes: PoolBytes): readonly PoolName[] {
  return Object.keys(bytes).filter((pool) => bytes[pool] > 0);
}

export function fitsIn(bytes: PoolBytes, free: (pool: PoolName) => number): boolean {
  return Object.entries(bytes).every(([pool, n]) => n <= free(pool));
}

/** A measurement in the shell's two figures, filed under this model's pools. */
export function measuredPools(memory: Footprint, measured: MeasuredBytes): PoolBytes {
  const ram = ramPoolOf(memory);
  return memory.gpu ? { [ram]: measured.ram, [memory.gpu.pool]: measured.gpu } : { [ram]: measured.ram };
}
