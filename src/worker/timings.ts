/**
 * Where a generation's time went, measured by the worker as the canonical `done` event's
 * usage and timings (the dialects' renderers turn them into `usage` and `timings`).
 *
 * The prompt count comes from the sequence's TokenMeter, which counts every token decoded
 * for this request: prompt tokens are decoded without logits except the last one, so
 * `prompt = input + 1` once anything was generated. The predicted count is the tokens the
 * generation released (`token(n)`, held to the limit by TokenLimit), not the meter's
 * output figure, which can count a token the limit cut. Slots are cleared between requests,
 * so nothing is ever served from cache (`cache_n` is 0).
 */
import { performance } from 'node:perf_hooks';
import type { LlamaContextSequence } from 'node-llama-cpp';
import type { DoneEvent } from '../dialects/canonical.js';

/**
 * Measures one generation on one sequence. Call `token(n)` whenever n tokens are released:
 * the first call marks the end of prompt processing (the first token is sampled right after it).
 */
export class GenerationClock {
  readonly #sequence: LlamaContextSequence;
  readonly #meterBefore: { usedInputTokens: number; usedOutputTokens: number };
  readonly #startedAt = performance.now();
  #firstTokenAt: number | undefined;
  #generated = 0;

  constructor(sequence: LlamaContextSequence) {
    this.#sequence = sequence;
    this.#meterBefore = sequence.tokenMeter.getState();
  }

  token(count: number): void {
    this.#firstTokenAt ??= performance.now();
    this.#generated += count;
  }

  finish(): Pick<DoneEvent, 'usage' | 'timings'> {
    const endedAt = performance.now();
    const used = this.#sequence.tokenMeter.diff(this.#meterBefore);
    const promptEnd = this.#firstTokenAt ?? endedAt;
    return {
      usage: { promptTokens: used.usedInputTokens + (used.usedOutputTokens > 0 ? 1 : 0), completionTokens: this.#generated },
      timings: { promptMs: promptEnd - this.#startedAt, genMs: endedAt - promptEnd },
    };
  }
}
