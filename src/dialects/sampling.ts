import { z } from 'zod';
import { LOAD_OPTION_KEYS } from '../config/schema.js';
import type { SamplingOptions } from './canonical.js';

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
