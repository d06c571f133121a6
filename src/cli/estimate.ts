/**
 * `warmgate estimate FILE.gguf [--ctx N] [--parallel N] [--runtime R] [--mmap M] [--json]`:
 * what a model will take once loaded (weights, the copies this CPU's kernels make of
 * repacked weights, KV cache, compute buffers, the runtime process itself), for full GPU
 * offload, half the layers on the GPU, and CPU only. Reads only the GGUF header.
 */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { llamaServerHasAmx } from '../backends/process/llama-server-binary.js';
import { estimateFootprint, loadInsights, type MemoryEstimate } from '../memory/estimate.js';
import { describeModel, type ModelInfo } from '../memory/gguf-info.js';
import { runtimeKernels, runtimeOverheadBytes, RUNTIMES, type Runtime } from '../memory/runtime-kernels.js';

const USAGE = `usage: warmgate estimate FILE.gguf [--ctx N] [--parallel N] [--runtime embedded|llama-server] [--mmap auto|on|off] [--json]
  --ctx N        context size per sequence (default: 4096, or the model's trained context if smaller)
  --parallel N   parallel sequences (slots), each with its own context (default 1)
  --runtime R    the process that will load it: embedded (node-llama-cpp, default) or llama-server
                 (the CPU kernels, and so the repacked weights, depend on it)
  --mmap M       memory-map the weights: auto (default: off exactly when weights are repacked), on, off
  --json         print one JSON document`;

const MMAP = { auto: undefined, on: true, off: false } as const;

const DEFAULT_CTX = 4096;

/** Runs the command; returns the process exit code (0 ok, 1 unreadable model, 2 bad arguments). */
export async function estimateCommand(argv: string[]): Promise<number> {
  let file: string;
  let ctxFlag: number | undefined;
  let parallel: number;
  let runtime: Runtime;
  let mmap: boolean | undefined;
  let json: boolean;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ctx: { type: 'string' },
        parallel: { type: 'string' },
        runtime: { type: 'string', default: 'embedded' },
        mmap: { type: 'string', default: 'auto' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new Error(positionals.length ? `expected one model file, got ${positionals.length}` : 'a model file is required');
    file = positionals[0];
    ctxFlag = positiveInteger(values.ctx, 'ctx');
    parallel = positiveInteger(values.parallel, 'parallel') ?? 1;
    if (!(RUNTIMES as readonly string[]).includes(values.runtime)) throw new Error(`--runtime must be one of ${RUNTIMES.join(', ')}, got ${JSON.stringify(values.runtime)}`);
    runtime = values.runtime as Runtime;
    if (!(values.mmap in MMAP)) throw new Error(`--mmap must be auto, on or off, got ${JSON.stringify(values.mmap)}`);
    mmap = MMAP[values.mmap as keyof typeof MMAP];
    json = values.json ?? false;
  } catch (err) {
    console.error(`estimate: ${err instanceof Error ? err.message : String(err)}`);
    console.error(USAGE);
    return 2;
  }

  let info: ModelInfo;
  let ctx: number;
  let scenarios: Record<'gpu_full' | 'gpu_partial' | 'cpu', MemoryEstimate>;
  const kernels = runtimeKernels(runtime, { llamaServerAmx: llamaServerHasAmx() });
  let runtimeBytes: number;
  try {
    const [insights, { size }] = await Promise.all([loadInsights(file), stat(file)]);
    info = describeModel(insights.ggufFileInfo, size, insights);
    ctx = ctxFlag ?? Math.min(DEFAULT_CTX, info.contextLength ?? DEFAULT_CTX);
    runtimeBytes = await runtimeOverheadBytes(runtime);
    const at = (gpuLayers: number) => estimateFootprint(insights, { ctx, parallel, gpuLayers, kernels, mmap });
    const layers = insights.totalLayers;
    scenarios = { gpu_full: await at(layers), gpu_partial: await at(Math.floor(layers / 2)), cpu: await at(0) };
  } catch (err) {
    console.error(`estimate: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }

  if (json) {
    console.log(JSON.stringify({ file, model: info, ctx, parallel, runtime, kernels, runtime_bytes: runtimeBytes, scenarios }, null, 2));
    return 0;
  }
  console.log(`${file}: ${info.name ?? info.architecture}, ${info.architecture}, ${info.quantization}, ` +
    `${(info.parameterCount / 1e6).toFixed(1)}M parameters, ${info.blockCount ?? '?'} blocks, ${formatBytes(info.sizeBytes)}` +
    `${info.isEmbedding ? ', embedding model' : ''}`);
  console.log(`context ${ctx} × ${parallel} sequence${parallel === 1 ? '' : 's'} (trained: ${info.contextLength ?? 'unknown'})`);
  const cpuPlan = scenarios.cpu.repack;
  const copied = cpuPlan.tensors.AMX + cpuPlan.tensors.CPU_REPACK;
  console.log(`${runtime} on this CPU: ${copied === 0 ? 'no weights repacked' : `${copied} weight tensors repacked (AMX ${cpuPlan.tensors.AMX}, CPU_REPACK ${cpuPlan.tensors.CPU_REPACK})`}; ` +
    `weights ${scenarios.cpu.mmap ? 'memory-mapped' : 'loaded without mmap'}\n`);
  const rows: Array<[string, MemoryEstimate]> = [
    ['full GPU offload', scenarios.gpu_full],
    ['partial (half the layers)', scenarios.gpu_partial],
    ['CPU only', scenarios.cpu],
  ];
  const header = ['', 'GPU layers', 'weights', 'repacked copy', 'KV cache', 'buffers', 'runtime', 'total', 'on GPU', 'in RAM'];
  const table = rows.map(([label, f]) => [
    label, `${f.gpu.layers}/${f.layers}`, formatBytes(f.weightsBytes), formatBytes(f.repack.bytes - (f.mmap ? 0 : f.repack.originalBytes)), formatBytes(f.kvCacheBytes),
    formatBytes(f.computeBytes), formatBytes(runtimeBytes), formatBytes(f.totalBytes + runtimeBytes), formatBytes(f.gpu.bytes), formatBytes(f.ram.bytes + runtimeBytes),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  for (const row of [header, ...table]) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  console.log(`\none offloaded layer costs ~${formatBytes(scenarios.gpu_full.perLayer)} of VRAM; "repacked copy" is what the copies add ` +
    `(without mmap they replace the file's bytes, so only a layout that grows adds any); "runtime" is the ${runtime} process itself`);
  return 0;
}

function positiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new Error(`--${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** 1 decimal in the largest binary unit that keeps the number >= 1 ("1.5 GiB"). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
