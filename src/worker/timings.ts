/**
 * Where a generation's time went, measured by the worker, and OpenAI's `usage` from it
 * (llama-server's `timings` is `dialects/llama-server.ts`'s `llamaTimings`).
 *
 * Token counts come from the sequence's TokenMeter, which counts every token decoded for
 * this request: prompt tokens are decoded without logits except the last one, and every
 * sampled token but the final one is decoded back with logits. Hence
 * `prompt = input + 1` and `predicted = output` (the last prompt token stands in for the
 * final sampled token, which is never decoded). Slots are cleared between requests, so
 * nothing is ever served from cache (`cache_n` is 0).
 */
import { performance } from 'node:perf_hooks';
import type { LlamaContextSequence } from 'node-llama-cpp';
import type { GenerationStats } from '../dialects/llama-server.js';

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/**
 * Measures one generation on one sequence. Call `token()` whenever tokens arrive: the first
 * call marks the end of prompt processing (the first token is sampled right after it).
 */
export class GenerationClock {
  readonly #sequence: LlamaContextSequence;
  readonly #meterBefore: { usedInputTokens: number; usedOutputTokens: number };
  readonly #startedAt = performance.now();
  #firstTokenAt: number | undefined;

  constructor(sequence: LlamaContextSequence) {
    this.#sequence = sequence;
    this.#meterBefore = sequence.tokenMeter.getState();
  }

  token(): void {
    this.#firstTokenAt ??= performance.now();
  }

  finish(): GenerationStats {
    const endedAt = performance.now();
    const used = this.#sequence.tokenMeter.diff(this.#meterBefore);
    const promptEnd = this.#firstTokenAt ?? endedAt;
    return {
      promptTokens: used.usedInputTokens + (used.usedOutputTokens > 0 ? 1 : 0),
      predictedTokens: used.usedOutputTokens,
      promptMs: promptEnd - this.#startedAt,
      predictedMs: endedAt - promptEnd,
    };
  }
}

export function openAiUsage(s: Pick<GenerationStats, 'promptTokens' | 'predictedTokens'>): OpenAiUsage {
  return {
    prompt_tokens: s.promptTokens,
    completion_tokens: s.predictedTokens,
    total_tokens: s.promptTokens + s.predictedTokens,
  };
}
