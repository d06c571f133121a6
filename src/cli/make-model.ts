/**
 * `warmgate make-model --out FILE [--size 500MB | --layers N --embd N ...] [--type f16] [--embedding] [--seed N]`
 * writes a synthetic llama-architecture GGUF with random weights (see src/gguf). Without
 * --size, dimensions default to the small demo models and each flag overrides one.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseBytes } from '../config/units.js';
import { defaultChatSpec, defaultEmbeddingSpec, parseModelSpec, specForSize, TENSOR_TYPES, writeModel, type ModelSpec } from '../gguf/index.js';

const USAGE = `usage: warmgate make-model --out FILE [--size SIZE | --layers N --embd N --ff N --heads N --kv-heads N --vocab N --ctx N]
                           [--type ${TENSOR_TYPES.join('|')}] [--embedding] [--seed N] [--name NAME]
  --size SIZE   target file size (e.g. 500MB, 2GiB); dimensions are chosen to land within 2%
  --embedding   a mean-pooling embedding model instead of a chat model`;

/** Flags that set one dimension, and the spec field each sets. */
const DIMENSIONS = { layers: 'layers', embd: 'embd', ff: 'ff', heads: 'heads', 'kv-heads': 'kvHeads', vocab: 'vocab' } as const;

class UsageError extends Error {}

/** Runs the command; returns the process exit code (0 ok, 1 write failed, 2 bad arguments). */
export async function makeModelCommand(argv: string[]): Promise<number> {
  let out: string;
  let spec: ModelSpec;
  try {
    const parsed = parse(argv);
    if (parsed === 'help') {
      console.log(USAGE);
      return 0;
    }
    ({ out, spec } = parsed);
  } catch (err) {
    console.error(`make-model: ${err instanceof Error ? describe(err) : String(err)}`);
    console.error(USAGE);
    return 2;
  }
  try {
    const started = Date.now();
    const { bytes } = await writeModel(out, spec);
    const kind = spec.embedding ? 'embedding' : 'chat';
    console.log(
      `wrote ${out}: ${bytes} bytes, ${kind} model, ${spec.tensorType}, ${spec.layers} layers, embd ${spec.embd}, ` +
        `ff ${spec.ff}, heads ${spec.heads}/${spec.kvHeads}, vocab ${spec.vocab}, ctx ${spec.ctx}, seed ${spec.seed} ` +
        `(${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    return 0;
  } catch (err) {
    console.error(`make-model: cannot write ${out}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

function parse(argv: string[]): { out: string; spec: ModelSpec } | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      size: { type: 'string' },
      type: { type: 'string' },
      embedding: { type: 'boolean' },
      seed: { type: 'string' },
      ctx: { type: 'string' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...Object.fromEntries(Object.keys(DIMENSIONS).map((flag) => [flag, { type: 'string' as const }])),
    },
  });
  if (values.help) return 'help';
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (!values.out) throw new UsageError('--out FILE is required');

  const tensorType = values.type?.toLowerCase();
  if (tensorType !== undefined && !isTensorType(tensorType)) {
    throw new UsageError(`--type must be one of ${TENSOR_TYPES.join(', ')}, got ${JSON.stringify(values.type)}`);
  }
  const common = {
    tensorType,
    embedding: values.embedding ?? false,
    seed: integer(values.seed, 'seed'),
    ctx: integer(values.ctx, 'ctx'),
    name: values.name,
  };
  const dimensionFlags = Object.keys(DIMENSIONS).filter((flag) => values[flag as keyof typeof values] !== undefined);

  if (values.size !== undefined) {
    if (dimensionFlags.length) throw new UsageError(`--size cannot be combined with --${dimensionFlags.join(', --')}`);
    const target = parseBytes(values.size);
    if (!target) throw new UsageError(`--size must be a size like 500MB or 2GiB, got ${JSON.stringify(values.size)}`);
    try {
      return { out: values.out, spec: specForSize(target, common) };
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
  }
  const base = common.embedding ? defaultEmbeddingSpec() : defaultChatSpec();
  const overrides = Object.fromEntries(
    Object.entries(DIMENSIONS).flatMap(([flag, field]) => {
      const n = integer(values[flag as keyof typeof values] as string | undefined, flag);
      return n === undefined ? [] : [[field, n]];
    }),
  );
  const defined = Object.fromEntries(Object.entries(common).filter(([, v]) => v !== undefined));
  return { out: values.out, spec: parseModelSpec({ ...base, ...defined, ...overrides }) };
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

function isTensorType(value: string): value is (typeof TENSOR_TYPES)[number] {
  return (TENSOR_TYPES as readonly string[]).includes(value);
}

function describe(err: Error): string {
  if (!(err instanceof z.ZodError)) return err.message;
  return err.issues.map((i) => `${i.path.length ? `--${flagFor(String(i.path[0]))}: ` : ''}${i.message}`).join('; ');
}

function flagFor(field: string): string {
  const entry = Object.entries(DIMENSIONS).find(([, f]) => f === field);
  return entry ? entry[0] : field;
}
