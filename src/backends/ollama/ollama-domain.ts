import { runsUpstream, type LoadResult, type MemoryDomain, type RunningModel } from '../backend.js';
import type { Footprint } from '../../scheduler/index.js';

/** Ollama lists a model's file size; its KV cache and buffers come on top (until `/api/ps` shows the real size). */
const OLLAMA_OVERHEAD = 1.15;

/**
 * An Ollama daemon's memory: two pools of its own, `<backend>:gpu` and `<backend>:ram`, as
 * `/api/ps` splits a loaded model (`size_vram`, and `size` minus it). Their capacity is
 * what `backends.X.memory` says, else not known (Infinity): the gateway then never refuses
 * a model for size nor evicts one for room, and learns instead, from what the daemon shows,
 * which models do not fit together. Configuring only `ram` says the daemon has no GPU.
 */
export class OllamaDomain implements MemoryDomain {
  readonly budgets: Readonly<Record<string, number>>;
  readonly #gpuPool: string;
  readonly #ramPool: string;
  readonly #forget: Array<(upstream: string | undefined) => void> = [];

  constructor(backend: string, memory: { gpu?: number; ram?: number }) {
    this.#gpuPool = `${backend}:gpu`;
    this.#ramPool = `${backend}:ram`;
    const gpu = memory.gpu ?? (memory.ram === undefined ? Infinity : 0);
    this.budgets = { [this.#gpuPool]: gpu, [this.#ramPool]: memory.ram ?? Infinity };
  }

  onForget(listener: (upstream: string | undefined) => void): void {
    this.#forget.push(listener);
  }

  /** What was learned about `upstream` (a deleted model), or about everything (undefined), no longer holds. */
  forget(upstream: string | undefined): void {
    for (const listener of this.#forget) listener(upstream);
  }

  /**
   * A model of `listedBytes` as Ollama places it: on the GPU as far as it fits there, the
   * rest in the daemon's RAM. Admitted whole (one "layer"): Ollama loads a second model only
   * where it fits, and evicts otherwise.
   */
  footprint(listedBytes: number): Footprint {
    const totalBytes = Math.round(listedBytes * OLLAMA_OVERHEAD);
    const offloadableBytes = Math.min(totalBytes, this.budgets[this.#gpuPool]);
    return { totalBytes, ramPool: this.#ramPool, gpu: { pool: this.#gpuPool, layers: 1, offloadableBytes, overheadBytes: 0 } };
  }
}


/**
 * What a load of `upstream` did to the others: the models resident before it (`before`,
 * from `/api/ps` just before) that are gone after it. Undefined when none left.
 */
export function displacedBy(upstream: string, before: readonly RunningModel[], after: readonly RunningModel[]): LoadResult['displaced'] {
  const others = before.filter((m) => !runsUpstream(m, upstream));
  const dropped = others.filter((m) => !after.some((a) => a.name === m.name));
  if (dropped.length === 0) return undefined;
  return { dropped: dropped.map((m) => m.name), before: others.map((m) => m.name) };
}
