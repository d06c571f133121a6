/**
 * How much memory the machine has: RAM from the kernel's view, and per GPU its VRAM,
 * through `systeminformation`. Free VRAM is known only where a vendor tool reports it
 * (nvidia-smi on NVIDIA); a machine without a GPU, or a probe that fails, yields `gpus: []`
 * rather than an error, so the gateway can still budget RAM.
 */
import si from 'systeminformation';

export interface GpuMemory {
  name: string;
  vramTotal: number;
  /** Undefined when no tool reports it; callers then budget from `vramTotal`. */
  vramFree?: number;
}

export interface SystemMemory {
  ramTotal: number;
  /** What can be allocated without swapping (MemAvailable), page cache included. */
  ramAvailable: number;
  gpus: GpuMemory[];
}

const MiB = 1024 * 1024;

export async function probeSystemMemory(): Promise<SystemMemory> {
  const [mem, gpus] = await Promise.all([si.mem(), probeGpus()]);
  return { ramTotal: mem.total, ramAvailable: mem.available, gpus };
}

async function probeGpus(): Promise<GpuMemory[]> {
  let controllers: si.Systeminformation.GraphicsControllerData[];
  try {
    ({ controllers } = await si.graphics());
  } catch {
    return [];
  }
  return controllers.flatMap((c) => toGpuMemory(c) ?? []);
}

/**
 * systeminformation reports VRAM in MiB: `memoryTotal`/`memoryFree` from nvidia-smi, else `vram`.
 * Controllers without dedicated memory (integrated, virtual displays) are left out.
 */
export function toGpuMemory(c: si.Systeminformation.GraphicsControllerData): GpuMemory | undefined {
  const total = c.memoryTotal ?? c.vram ?? 0;
  if (!total || c.vramDynamic) return undefined;
  return {
    name: c.name ?? c.model,
    vramTotal: total * MiB,
    vramFree: c.memoryFree === undefined ? undefined : c.memoryFree * MiB,
  };
}
