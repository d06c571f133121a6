/**
 * Sampling fields shared by every generation endpoint, in llama-server's names and with its
 * defaults (temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, no repeat penalty), mapped to
 * node-llama-cpp's generation options. Unknown fields are ignored, as llama-server does.
 */
import { randomInt } from 'node:crypto';
import { z } from 'zod';

/** Fields accepted by /completion, /v1/completions and /v1/chat/completions alike. */
export const samplingFields = {
  temperature: z.number().min(0).nullish(),
  top_k: z.number().int().min(0).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  /** -1 (llama-server's default) picks a random seed. */
  seed: z.number().int().nullish(),
  repeat_penalty: z.number().min(0).nullish(),
  /** How many recent tokens the penalties look at; -1 = the whole context. */
  repeat_last_n: z.number().int().min(-1).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  /** Keep generating past end-of-generation tokens (benchmarks use it for fixed lengths). */
  ignore_eos: z.boolean().nullish(),
};

const SamplingSchema = z.object(samplingFields);
export type Sampling = z.infer<typeof SamplingSchema>;

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
export function toGenerationParams(s: Sampling, maxTokens: number | null | undefined, contextSize: number): GenerationParams {
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
    // node-llama-cpp's own default seed follows the clock: identical requests within the same
    // second would get identical text. llama-server draws one per request.
    seed: s.seed == null || s.seed < 0 ? randomInt(2 ** 31) : s.seed,
    repeatPenalty: penalised
      ? { lastTokens: lastN < 0 ? contextSize : lastN, penalty, presencePenalty, frequencyPenalty }
      : false,
    stop: s.stop == null ? [] : (typeof s.stop === 'string' ? [s.stop] : s.stop).filter((w) => w.length > 0),
    ignoreEos: s.ignore_eos ?? false,
  };
}
