/**
 * Where a generation's time went, measured by the worker, and the two shapes clients read
 * it in: llama-server's `timings` and OpenAI's `usage`.
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

export interface GenerationStats {
  promptTokens: number;
  predictedTokens: number;
  promptMs: number;
  predictedMs: number;
}

export interface LlamaTimings {
  cache_n: number;
  prompt_n: number;
  prompt_ms: number;
  prompt_per_token_ms: number;
  prompt_per_second: number;
  predicted_n: number;
  predicted_ms: number;
  predicted_per_token_ms: number;
  predicted_per_second: number;
}

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

const perToken = (ms: number, n: number) => (n > 0 ? ms / n : 0);
const perSecond = (ms: number, n: number) => (ms > 0 ? (1000 * n) / ms : 0);

export function llamaTimings(s: GenerationStats): LlamaTimings {
  return {
    cache_n: 0,
    prompt_n: s.promptTokens,
    prompt_ms: s.promptMs,
    prompt_per_token_ms: perToken(s.promptMs, s.promptTokens),
    prompt_per_second: perSecond(s.promptMs, s.promptTokens),
    predicted_n: s.predictedTokens,
    predicted_ms: s.predictedMs,
    predicted_per_token_ms: perToken(s.predictedMs, s.predictedTokens),
    predicted_per_second: perSecond(s.predictedMs, s.predictedTokens),
  };
}

export function openAiUsage(s: Pick<GenerationStats, 'promptTokens' | 'predictedTokens'>): OpenAiUsage {
  return {
    prompt_tokens: s.promptTokens,
    completion_tokens: s.predictedTokens,
    total_tokens: s.promptTokens + s.predictedTokens,
  };
}
