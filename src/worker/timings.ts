/**
 * Where a generation's time went, measured by the worker as the canonical `done` event's
 * usage and timings (the dialects' renderers turn them into `usage` and `timings`).
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
import type { DoneEvent } from '../dialects/canonical.js';

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

  finish(): Pick<DoneEvent, 'usage' | 'timings'> {
    const endedAt = performance.now();
    const used = this.#sequence.tokenMeter.diff(this.#meterBefore);
    const promptEnd = this.#firstTokenAt ?? endedAt;
    return {
      usage: { promptTokens: used.usedInputTokens + (used.usedOutputTokens > 0 ? 1 : 0), completionTokens: used.usedOutputTokens },
      timings: { promptMs: promptEnd - this.#startedAt, genMs: endedAt - promptEnd },
    };
  }
}
