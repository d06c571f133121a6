import { totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import { probeSystemMemory, toGpuMemory } from './system.js';

const controller = { vendor: 'NVIDIA', model: 'H100', bus: 'PCI', vram: 81559, vramDynamic: false };

describe('probeSystemMemory', () => {
  it('reports this machine\'s RAM, and GPUs only with dedicated memory', async () => {
    const mem = await probeSystemMemory();
    expect(mem.ramTotal).toBe(totalmem());
    expect(mem.ramAvailable).toBeGreaterThan(0);
    expect(mem.ramAvailable).toBeLessThanOrEqual(mem.ramTotal);
    for (const gpu of mem.gpus) expect(gpu.vramTotal).toBeGreaterThan(0);
  });
});

describe('toGpuMemory', () => {
  it('converts nvidia-smi figures from MiB', () => {
    expect(toGpuMemory({ ...controller, name: 'NVIDIA H100 80GB', memoryTotal: 81559, memoryFree: 80000 })).toEqual({
      name: 'NVIDIA H100 80GB',
      vramTotal: 81559 * 1024 * 1024,
      vramFree: 80000 * 1024 * 1024,
    });
  });

  it('falls back to the controller VRAM, without a free figure', () => {
    expect(toGpuMemory(controller)).toEqual({ name: 'H100', vramTotal: 81559 * 1024 * 1024, vramFree: undefined });
  });

  it('leaves out shared-memory and memoryless controllers', () => {
    expect(toGpuMemory({ ...controller, vramDynamic: true })).toBeUndefined();
    expect(toGpuMemory({ ...controller, vram: null })).toBeUndefined();
  });
});
