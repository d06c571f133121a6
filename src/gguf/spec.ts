/**
 * The shape of a synthetic llama-architecture model: its dimensions, tensor type, seed and
 * whether it is an embedding model. Everything the writer produces is a pure function of
 * a parsed `ModelSpec`, so the same spec always yields the same bytes.
 */
import { z } from 'zod';
import { MIN_VOCAB } from './vocab.js';

export const TENSOR_TYPES = ['f32', 'f16', 'q8_0', 'q4_0'] as const;
export const TensorTypeSchema = z.enum(TENSOR_TYPES);
export type TensorType = z.infer<typeof TensorTypeSchema>;

const dim = (what: string) =>
  z.number().int().positive().refine((n) => n % 32 === 0, `${what} must be a multiple of 32 (Q8_0 and Q4_0 blocks hold 32 values)`);

export const ModelSpecSchema = z
  .object({
    name: z.string().min(1).optional(),
    layers: z.number().int().min(1).max(1024),
    embd: dim('embd'),
    ff: dim('ff'),
    heads: z.number().int().positive(),
    kvHeads: z.number().int().positive(),
    vocab: z.number().int().min(MIN_VOCAB).max(1 << 20),
    ctx: z.number().int().min(64).default(4096),
    tensorType: TensorTypeSchema.default('f16'),
    embedding: z.boolean().default(false),
    seed: z.number().int().min(0).max(0xffffffff).default(0),
  })
  .superRefine((s, ctx) => {
    const issue = (message: string, path: string) => ctx.addIssue({ code: 'custom', message, path: [path] });
    if (s.embd % s.heads !== 0) issue(`embd (${s.embd}) must be divisible by heads (${s.heads})`, 'heads');
    else if ((s.embd / s.heads) % 2 !== 0) issue('embd / heads (the head size) must be even for RoPE', 'heads');
    if (s.heads % s.kvHeads !== 0) issue(`heads (${s.heads}) must be divisible by kvHeads (${s.kvHeads})`, 'kvHeads');
  });

/** A complete spec, as `parseModelSpec` returns it. */
export type ModelSpec = z.infer<typeof ModelSpecSchema>;
/** What callers may pass: optional fields fall back to their defaults. */
export type ModelSpecInput = z.input<typeof ModelSpecSchema>;

/** Validates and fills defaults; throws a ZodError naming every bad field. */
export function parseModelSpec(input: ModelSpecInput): ModelSpec {
  return ModelSpecSchema.parse(input);
}

/** The `general.name` written into the file; embedding models always carry "embed" in it. */
export function modelName(spec: ModelSpec): string {
  if (spec.name) return spec.name;
  return spec.embedding ? 'warmgate-synthetic-embed' : 'warmgate-synthetic-chat';
}

/** ~10 MB F16 chat model: 4 layers, GQA, 4096-token context; generates fast on a CPU. */
export function defaultChatSpec(): ModelSpec {
  return parseModelSpec({ layers: 4, embd: 256, ff: 768, heads: 4, kvHeads: 2, vocab: 4096, ctx: 4096, tensorType: 'f16' });
}

/** ~7 MB F16 embedding model (mean pooling, 256-wide vectors, no output head). */
export function defaultEmbeddingSpec(): ModelSpec {
  return parseModelSpec({
    layers: 4, embd: 256, ff: 768, heads: 4, kvHeads: 4, vocab: 4096, ctx: 2048, tensorType: 'f16', embedding: true,
  });
}
