/**
 * Sampling as llama-server reads it (the one schema is `dialects/`'s, shared with the
 * gateway) mapped to node-llama-cpp's generation options, with llama-server's defaults
 * (temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, no repeat penalty). Values outside a
 * sampler's range are not refused, as llama-server does not: node-llama-cpp treats them as
 * llama.cpp does (temperature <= 0 is greedy, top_k <= 0 and min_p <= 0 switch that sampler off).
 */
import { randomInt } from 'node:crypto';
import type { LlamaSampling } from '../dialects/schema-fields.js';

/** What the generator needs, in node-llama-cpp's terms. */
export interface GenerationParams {
  /** At most the slot's context (what llama-server's `n_predict: -1` means). */
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  seed: number | undefined;
  repeatPenalty: false | {
    lastTokens: number;
    penalty: number;
    presencePenalty: number;
    frequencyPenalty: number;
  };
  stop: string[];
  ignoreEos: boolean;
}

/**
 * Maps the request's fields; `maxTokens` is whichever limit the dialect sent
 * (n_predict, max_tokens or max_completion_tokens), negative meaning "until the context is
 * full", and never more than the slot's context: node-llama-cpp would otherwise shift the
 * context and go on for ever (`num_predict: -2` once ran past 11,000 tokens in a 4,096
 * context), where llama-server and Ollama stop.
 */
export function toGenerationParams(s: LlamaSampling, maxTokens: number | null | undefined, contextSize: number): GenerationParams {
  const penalty = s.repeat_penalty ?? 1;
  const presencePenalty = s.presence_penalty ?? 0;
  const frequencyPenalty = s.frequency_penalty ?? 0;
  const lastN = s.repeat_last_n ?? 64;
  const penalised = lastN !== 0 && (penalty !== 1 || presencePenalty !== 0 || frequencyPenalty !== 0);
  return {
    maxTokens: maxTokens == null || maxTokens < 0 ? contextSize : Math.min(maxTokens, contextSize),
    temperature: s.temperature ?? 0.8,
    topK: s.top_k ?? 40,
    topP: s.top_p ?? 0.95,
    minP: s.min_p ?? 0.05,
    seed: seedOf(s.seed),
    repeatPenalty: penalised
      ? { lastTokens: lastN < 0 ? contextSize : lastN, penalty, presencePenalty, frequencyPenalty }
      : false,
    stop: s.stop == null ? [] : (typeof s.stop === 'string' ? [s.stop] : s.stop).filter((w) => w.length > 0),
    ignoreEos: s.ignore_eos ?? false,
  };
}

/**
 * The sampler's seed: the request's, or a fresh one per request when it sends none or -1
 * (llama-server's "random"). node-llama-cpp's own default follows the clock: identical
 * requests within the same second would get identical text.
 */
function seedOf(seed: number | null | undefined): number {
  return seed == null || seed < 0 ? randomInt(2 ** 31) : seed;
}
