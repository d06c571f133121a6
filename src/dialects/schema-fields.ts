import { z } from 'zod';
import { LOAD_OPTION_KEYS } from '../config/schema.js';
import type { SamplingOptions } from './canonical.js';

/**
 * What the dialect schemas share: field schemas whose messages are written for the client
 * (routes render them as the dialect's error body, prefixed with the field path), and the
 * sampling / load options every dialect maps onto Ollama's names.
 */

/** The `model` field every dialect but llama-server's native one requires. */
export const modelField = z
  .string({ error: (iss) => (iss.input === undefined ? 'model is required' : 'model must be a string') })
  .min(1, 'model is required');

/**
 * `string | string[]` (embedding inputs, prompts). Token arrays are refused with a message
 * saying so: the gateway cannot tokenize for every backend.
 */
export function textOrTexts(field: string) {
  return z.union([z.string(), z.array(z.string())], {
    error: (iss) =>
      isTokenArray(iss.input)
        ? `${field} as token arrays is not supported; send text`
        : `${field} must be a string or an array of strings`,
  });
}

function isTokenArray(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number' || Array.isArray(v));
}

/** A string, or a one-element array of strings, as OpenAI's and llama-server's `prompt`; refuses batches and tokens. */
export function singleText(field: string) {
  return textOrTexts(field).refine((v) => typeof v === 'string' || v.length === 1, {
    message: `${field} must be a single string; several prompts in one request are not supported`,
  });
}

/** The text of a `singleText` field. */
export function theText(value: string | string[]): string {
  return typeof value === 'string' ? value : value[0];
}

/**
 * `string | <other>` whose error explains what is wrong inside `other` (e.g. the bad
 * content part of a message) instead of zod's bare "Invalid input" for unions.
 */
export function stringOr<T extends z.ZodType>(other: T, message: string) {
  return z.union([z.string(), other], { error: (iss) => nestedProblem(iss) ?? message });
}

function nestedProblem(iss: { input?: unknown }): string | undefined {
  const branches = (iss as { errors?: z.core.$ZodIssue[][] }).errors ?? [];
  const deep = branches.find((issues) => issues.length > 0 && issues.every((i) => i.path.length > 0));
  const first = deep?.[0];
  return first ? `${first.path.map(String).join('.')}: ${first.message}` : undefined;
}

// ---- sampling and load options, under Ollama's names

type NumericKey = Exclude<keyof SamplingOptions, 'stop'>;

const NUMERIC_KEYS = [
  'temperature', 'top_p', 'top_k', 'min_p', 'seed', 'num_predict',
  'repeat_penalty', 'presence_penalty', 'frequency_penalty',
] as const satisfies readonly NumericKey[];

const stopField = z.union([z.string(), z.array(z.string())], { error: 'stop must be a string or an array of strings' });

/**
 * Zod shape of the sampling fields under their Ollama names; dialect schemas spread it.
 * `null` is accepted because some clients send explicit nulls for "unset".
 */
export const samplingShape = {
  ...(Object.fromEntries(NUMERIC_KEYS.map((k) => [k, z.number().nullish()])) as Record<NumericKey, z.ZodOptional<z.ZodNullable<z.ZodNumber>>>),
  stop: stopField.nullish(),
};

/** Anything carrying sampling fields under Ollama's names (an Ollama `options`, a renamed OpenAI body). */
export type SamplingInput = { [K in NumericKey]?: number | null } & { stop?: string | string[] | null };

/**
 * llama-server's sampling fields beyond the shared ones, read on its native and
 * OpenAI-compatible paths alike (the worker honours them; the gateway passes them through).
 */
export const llamaSamplingShape = {
  /** How many recent tokens the penalties look at; -1 = the whole context. */
  repeat_last_n: z.number().int().min(-1).nullish(),
  /** Keep generating past end-of-generation tokens (benchmarks use it for fixed lengths). */
  ignore_eos: z.boolean().nullish(),
};

/** Sampling as llama-server reads it: the shared fields and its own. */
export type LlamaSampling = SamplingInput & z.infer<z.ZodObject<typeof llamaSamplingShape>>;

/** The canonical sampling options found in `src`; unset and null fields are left out. */
export function pickSampling(src: SamplingInput): SamplingOptions {
  const out: SamplingOptions = {};
  for (const key of NUMERIC_KEYS) {
    const value = src[key];
    if (typeof value === 'number') out[key] = value;
  }
  if (src.stop !== undefined && src.stop !== null) out.stop = typeof src.stop === 'string' ? [src.stop] : src.stop;
  return out;
}

/** The load-time options (`num_ctx`, `num_gpu`, ...) in an Ollama `options` object; undefined when none. */
export function pickLoadOptions(options: Record<string, unknown> | null | undefined): Record<string, unknown> | undefined {
  if (!options) return undefined;
  const entries = LOAD_OPTION_KEYS.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]);
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/**
 * Canonical sampling as OpenAI-style body fields, the way llama-server reads them
 * (`max_tokens`; it also honours `top_k`, `min_p` and `repeat_penalty` there).
 */
export function openaiSamplingFields(sampling: SamplingOptions): Record<string, unknown> {
  const { num_predict, ...rest } = sampling;
  return num_predict === undefined ? { ...rest } : { ...rest, max_tokens: num_predict };
}
