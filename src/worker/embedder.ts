/**
 * Pooled embeddings on the model's embedding context. Vectors are L2-normalised like
 * llama-server's default (`embd_normalize: 2`). The context evaluates one input at a time
 * (node-llama-cpp locks it), so concurrent requests are served in turn; an aborted request
 * stops between inputs.
 */
import type { LlamaEmbeddingContext, Token } from 'node-llama-cpp';
import { WarmgateError } from '../errors.js';

export type EmbeddingInput = string | readonly Token[];

export interface EmbeddingResult {
  vectors: number[][];
  /** Tokens evaluated over all inputs (special tokens included). */
  promptTokens: number;
}

export class Embedder {
  readonly #context: LlamaEmbeddingContext;
  readonly #contextSize: number;

  constructor(context: LlamaEmbeddingContext, contextSize: number) {
    this.#context = context;
    this.#contextSize = contextSize;
  }

  async embed(inputs: readonly EmbeddingInput[], signal: AbortSignal): Promise<EmbeddingResult> {
    const lengths = inputs.map((input, i) => this.#checkedLength(input, i));
    const vectors: number[][] = [];
    for (const input of inputs) {
      signal.throwIfAborted();
      const embedding = await this.#context.getEmbeddingFor(typeof input === 'string' ? input : [...input]);
      vectors.push(normalise(embedding.vector));
    }
    return { vectors, promptTokens: lengths.reduce((a, b) => a + b, 0) };
  }

  #checkedLength(input: EmbeddingInput, index: number): number {
    if (input.length === 0) throw new WarmgateError('BAD_REQUEST', `input ${index} is empty`);
    const length = this.#context.calculateInputLength(typeof input === 'string' ? input : [...input]);
    if (length >= this.#contextSize) {
      throw new WarmgateError('BAD_REQUEST', `input ${index} (${length} tokens) is too large to process; the context holds ${this.#contextSize}`);
    }
    return length;
  }
}

function normalise(vector: readonly number[]): number[] {
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
  return norm > 0 ? vector.map((x) => x / norm) : [...vector];
}
