/**
 * `warmgate estimate FILE.gguf [--ctx N] [--parallel N] [--json]`: what a model will take
 * once loaded (weights, KV cache, compute buffers), for full GPU offload, half the layers on
 * the GPU, and CPU only. Reads only the GGUF header.
 */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { estimateFootprint, loadInsights, type Footprint } from '../memory/estimate.js';
import { describeModel, type ModelInfo } from '../memory/gguf-info.js';

const USAGE = `usage: warmgate estimate FILE.gguf [--ctx N] [--parallel N] [--json]
  --ctx N        context size per sequence (default: 4096, or the model's trained context if smaller)
  --parallel N   parallel sequences (slots), each with its own context (default 1)
  --json         print one JSON document`;

const DEFAULT_CTX = 4096;

/** Runs the command; returns the process exit code (0 ok, 1 unreadable model, 2 bad arguments). */
export async function estimateCommand(argv: string[]): Promise<number> {
  let file: string;
  let ctxFlag: number | undefined;
  let parallel: number;
  let json: boolean;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ctx: { type: 'string' },
        parallel: { type: 'string' },
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
    json = values.json ?? false;
  } catch (err) {
    console.error(`estimate: ${err instanceof Error ? err.message : String(err)}`);
    console.error(USAGE);
    return 2;
  }

  let info: ModelInfo;
  let ctx: number;
  let scenarios: Record<'gpu_full' | 'gpu_partial' | 'cpu', Footprint>;
  try {
    const [insights, { size }] = await Promise.all([loadInsights(file), stat(file)]);
    info = describeModel(insights.ggufFileInfo, size, insights);
    ctx = ctxFlag ?? Math.min(DEFAULT_CTX, info.contextLength ?? DEFAULT_CTX);
    const at = (gpuLayers: number) => estimateFootprint(insights, { ctx, parallel, gpuLayers });
    const layers = insights.totalLayers;
    scenarios = { gpu_full: await at(layers), gpu_partial: await at(Math.floor(layers / 2)), cpu: await at(0) };
  } catch (err) {
    console.error(`estimate: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }

  if (json) {
    console.log(JSON.stringify({ file, model: info, ctx, parallel, scenarios }, null, 2));
    return 0;
  }
  console.log(`${file}: ${info.name ?? info.architecture}, ${info.architecture}, ${info.quantization}, ` +
    `${(info.parameterCount / 1e6).toFixed(1)}M parameters, ${info.blockCount ?? '?'} blocks, ${formatBytes(info.sizeBytes)}` +
    `${info.isEmbedding ? ', embedding model' : ''}`);
  console.log(`context ${ctx} × ${parallel} sequence${parallel === 1 ? '' : 's'} (trained: ${info.contextLength ?? 'unknown'})\n`);
  const rows: Array<[string, Footprint]> = [
    ['full GPU offload', scenarios.gpu_full],
    ['partial (half the layers)', scenarios.gpu_partial],
    ['CPU only', scenarios.cpu],
  ];
  const header = ['', 'GPU layers', 'weights', 'KV cache', 'buffers', 'total', 'on GPU', 'in RAM'];
  const table = rows.map(([label, f]) => [
    label, `${f.gpu.layers}/${f.layers}`, formatBytes(f.weightsBytes), formatBytes(f.kvCacheBytes),
    formatBytes(f.computeBytes), formatBytes(f.totalBytes), formatBytes(f.gpu.bytes), formatBytes(f.ram.bytes),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  for (const row of [header, ...table]) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  console.log(`\none offloaded layer costs ~${formatBytes(scenarios.gpu_full.perLayer)} of VRAM; RAM figures exclude the runtime itself (node + llama.cpp, per engine process)`);
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
