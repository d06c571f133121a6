/**
 * The two runtimes a process backend runs, as the memory estimates see them: which CPU
 * kernels they use (that decides which weights are repacked) and what the process costs
 * before any model.
 */
import { readCpuIdentity } from './cpu-identity.js';
import { runtimeBaselineBytes } from './measure.js';
import { kernelsFor, type CpuKernels } from './weight-repack.js';

export const RUNTIMES = ['embedded', 'llama-server'] as const;
export type Runtime = (typeof RUNTIMES)[number];

/**
 * llama-server's own RSS before any model: its binary's file pages (~14.3 MB for the static
 * build) and ~2 MB anonymous, read from /proc/<pid>/smaps.
 */
const LLAMA_SERVER_RUNTIME_BYTES = 16 * 1024 ** 2;

/**
 * node-llama-cpp picks the best of its prebuilt CPU variants at run time (AMX included);
 * llama-server runs what it was built with: a `portable` build has no AMX kernels.
 * `llamaServerAmx` says whether the llama-server binary has them (default: a native build).
 */
export function runtimeKernels(runtime: Runtime, opts: { llamaServerAmx?: boolean } = {}): CpuKernels {
  const amx = runtime === 'embedded' ? true : (opts.llamaServerAmx ?? true);
  return kernelsFor(readCpuIdentity(), { amx });
}

/** RSS of the runtime process without a model (the embedded worker's is measured once). */
export async function runtimeOverheadBytes(runtime: Runtime): Promise<number> {
  return runtime === 'llama-server' ? LLAMA_SERVER_RUNTIME_BYTES : runtimeBaselineBytes();
}
