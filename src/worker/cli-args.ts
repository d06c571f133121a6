/**
 * The worker's command line, llama-server's flags in long form. `parseWorkerArgs` and
 * `toWorkerArgv` round-trip, so a process backend can build the command from a typed config.
 *
 * `--ctx` is the TOTAL context like llama-server's `-c`: each of the `--parallel` slots gets
 * `ctx / parallel` tokens. `--ctx 0` gives every slot the model's trained context.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';

const int = (min: number) => z.coerce.number().int().min(min);

export const WorkerConfigSchema = z.object({
  model: z.string().min(1, '--model FILE is required'),
  /** Name reported in `/v1/models` and replies; defaults to the file name. */
  alias: z.string().min(1).optional(),
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port; the `listening` line tells which. */
  port: int(0).max(65535).default(0),
  ctx: int(0).default(4096),
  parallel: int(1).max(256).default(1),
  gpuLayers: z.union([z.literal('auto'), int(0)]).default('auto'),
  /** Serve embeddings only (like llama-server `--embeddings`): completions answer 501. */
  embedding: z.boolean().default(false),
  /** Evaluation threads; when absent, the cores this process may use (at most the math cores). */
  threads: int(1).optional(),
  /** Memory-map the weights (llama-server's default); `--no-mmap` reads them into memory. */
  mmap: z.boolean().default(true),
  /** Exit when stdin closes: the gateway's pipe, so a worker never outlives its gateway. */
  exitWithStdin: z.boolean().default(false),
});

export type WorkerConfig = z.infer<typeof WorkerConfigSchema>;
/** What callers may pass: everything but `model` has llama-server's default. */
export type WorkerConfigInput = z.input<typeof WorkerConfigSchema>;

const options = {
  model: { type: 'string', short: 'm' },
  alias: { type: 'string', short: 'a' },
  host: { type: 'string' },
  port: { type: 'string' },
  ctx: { type: 'string', short: 'c' },
  parallel: { type: 'string' },
  'gpu-layers': { type: 'string' },
  embedding: { type: 'boolean' },
  embeddings: { type: 'boolean' },
  threads: { type: 'string', short: 't' },
  'no-mmap': { type: 'boolean' },
  'exit-with-stdin': { type: 'boolean' },
} as const;

/** Parses argv (without node and script); throws an Error whose message names every bad flag. */
export function parseWorkerArgs(argv: readonly string[]): WorkerConfig {
  const { values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  const result = WorkerConfigSchema.safeParse({
    model: values.model,
    alias: values.alias,
    host: values.host,
    port: values.port,
    ctx: values.ctx,
    parallel: values.parallel,
    gpuLayers: values['gpu-layers'],
    embedding: values.embedding === true || values.embeddings === true,
    threads: values.threads,
    mmap: values['no-mmap'] !== true,
    exitWithStdin: values['exit-with-stdin'] === true,
  });
  if (!result.success) {
    throw new Error(result.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  }
  return { ...result.data, model: resolve(result.data.model) };
}

/** The argv that `parseWorkerArgs` turns back into `config` (model path made absolute). */
export function toWorkerArgv(input: WorkerConfigInput): string[] {
  const config = WorkerConfigSchema.parse(input);
  const argv = [
    '--model', resolve(config.model),
    '--host', config.host,
    '--port', String(config.port),
    '--ctx', String(config.ctx),
    '--parallel', String(config.parallel),
    '--gpu-layers', String(config.gpuLayers),
  ];
  if (config.alias) argv.push('--alias', config.alias);
  if (config.embedding) argv.push('--embedding');
  if (config.threads !== undefined) argv.push('--threads', String(config.threads));
  if (!config.mmap) argv.push('--no-mmap');
  if (config.exitWithStdin) argv.push('--exit-with-stdin');
  return argv;
}
