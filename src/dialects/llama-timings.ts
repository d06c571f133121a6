import type { DoneEvent } from './canonical.js';

/**
 * llama-server's per-request `timings` object: the gateway's native renderer and the worker's
 * replies send it, and the llama-server reply parser reads it back.
 */

/** llama-server's `timings` (milliseconds). */
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

/** The counts and times a `timings` object is made of. */
export interface GenerationStats {
  promptTokens: number;
  predictedTokens: number;
  promptMs: number;
  predictedMs: number;
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

/** The `timings` of a finished generation; a time the backend did not report is 0. */
export function doneTimings(done: DoneEvent): LlamaTimings {
  return llamaTimings({
    promptTokens: done.usage.promptTokens,
    predictedTokens: done.usage.completionTokens,
    promptMs: done.timings.promptMs ?? 0,
    predictedMs: done.timings.genMs ?? 0,
  });
}
